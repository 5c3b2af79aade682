// Small helpers of the DiskStore tests (disk_store_*_test.cc): opening a store, and the two
// facts of its layout the tests look at.
//
// Example:
//   ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> store, OpenStore(dir));
//   EXPECT_TRUE(IsDir(absl::StrCat(dir, "/cas/", ShardOf(d))));
//
// Thread safety: the functions keep no state.
#ifndef MLOPS_STORE_DISK_STORE_TESTING_H_
#define MLOPS_STORE_DISK_STORE_TESTING_H_

#include <sys/stat.h>
#include <time.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "mlops/hash/digest.h"
#include "mlops/store/disk_store.h"
#include "mlops/testing/check_sys.h"

namespace mlops {
namespace test {

// DiskStore::Open(dir, options).
inline absl::StatusOr<std::unique_ptr<DiskStore>> OpenStore(const std::string& dir,
                                                            DiskStoreOptions options = {}) {
  return DiskStore::Open(dir, options);
}

// The shard directory of `d` below cas/: its first two hex digits.
inline std::string ShardOf(const Digest& d) { return d.ToHex().substr(0, 2); }

// The mtime of `path`, in whole seconds. Aborts the test binary if `path` cannot be stat'ed.
inline time_t MtimeOf(const std::string& path) {
  struct stat st;
  CHECK_SYS(::stat(path.c_str(), &st) == 0);
  return st.st_mtim.tv_sec;
}

}  // namespace test
}  // namespace mlops

#endif  // MLOPS_STORE_DISK_STORE_TESTING_H_
