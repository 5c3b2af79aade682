// DiskStore and the temporary files of crashed writers: Open removes old unlocked ones and
// keeps young ones, locked ones and those of live writers.
#include "mlops/store/disk_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/hash/digest.h"
#include "mlops/store/content_store.h"
#include "mlops/store/disk_store_testing.h"
#include "mlops/testing/bytes.h"
#include "mlops/testing/check_sys.h"
#include "mlops/testing/files.h"
#include "mlops/testing/status_matchers.h"

namespace mlops {
namespace {

using ::mlops::test::Exists;
using ::mlops::test::FreshDir;
using ::mlops::test::ListDir;
using ::mlops::test::OpenStore;
using ::mlops::test::Pattern;
using ::mlops::test::SetAge;
using ::mlops::test::Spit;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

// ---------------------------------------------------------------------------------------
// Temporary files of crashed writers.

TEST(DiskStoreTest, OpenRemovesOldUnlockedTempFiles) {
  const std::string dir = FreshDir() + "/store";
  { ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> store, OpenStore(dir)); }
  const std::string tmp = dir + "/tmp";
  for (const char* name : {"12345.0.1700000000", "12345.1.1700000000", "junk"}) {
    Spit(absl::StrCat(tmp, "/", name), Pattern(5000, 1));
    SetAge(absl::StrCat(tmp, "/", name), 3600);
  }
  ASSERT_THAT(ListDir(tmp), SizeIs(3));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> store, OpenStore(dir));
  EXPECT_THAT(ListDir(tmp), IsEmpty());
  ASSERT_OK_AND_ASSIGN(const StoreStats stats, store->Stats());
  EXPECT_EQ(stats.entries, 0);
}

TEST(DiskStoreTest, OpenKeepsAnOldTempFileThatIsLocked) {
  const std::string dir = FreshDir() + "/store";
  { ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> store, OpenStore(dir)); }
  const std::string locked = dir + "/tmp/999.0.1700000000";
  Spit(locked, "a live writer's bytes");
  const int fd = ::open(locked.c_str(), O_RDWR | O_CLOEXEC);
  CHECK_SYS(fd >= 0);
  CHECK_SYS(::flock(fd, LOCK_EX) == 0);
  SetAge(locked, 3600);
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> store, OpenStore(dir));
    EXPECT_TRUE(Exists(locked)) << "a locked temporary file was removed";
  }
  // Once its writer is gone, the next Open removes it.
  CHECK_SYS(::close(fd) == 0);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> store, OpenStore(dir));
  EXPECT_FALSE(Exists(locked));
}

TEST(DiskStoreTest, OpenKeepsYoungUnlockedTempFiles) {
  const std::string dir = FreshDir() + "/store";
  { ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> store, OpenStore(dir)); }
  const std::string young = dir + "/tmp/1.0.1";
  const std::string five = dir + "/tmp/1.1.1";
  Spit(young, "just created");
  Spit(five, "five seconds old");
  SetAge(five, 5);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> store, OpenStore(dir));
  EXPECT_TRUE(Exists(young));
  EXPECT_TRUE(Exists(five));
}

TEST(DiskStoreTest, OpenKeepsTheTempFileOfALiveWriterEvenIfOld) {
  const std::string dir = FreshDir() + "/store";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> store, OpenStore(dir));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<BlobWriter> w, store->NewWriter());
  ASSERT_OK(w->Append("first half, "));
  const std::vector<std::string> temps = ListDir(dir + "/tmp");
  ASSERT_THAT(temps, SizeIs(1));
  SetAge(dir + "/tmp/" + temps[0], 3600);  // a slow writer
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> other, OpenStore(dir));
    EXPECT_THAT(ListDir(dir + "/tmp"), ElementsAre(temps[0]));
  }
  ASSERT_OK(w->Append("second half"));
  ASSERT_OK_AND_ASSIGN(const Digest d, w->Commit());
  EXPECT_EQ(d, Digest::Of("first half, second half"));
  ASSERT_OK_AND_ASSIGN(const Blob blob, store->Get(d));
  EXPECT_EQ(blob.view(), "first half, second half");
  EXPECT_THAT(ListDir(dir + "/tmp"), IsEmpty());
}

}  // namespace
}  // namespace mlops
