// The fixture of the ContentStore contract tests (content_store_*_test.cc), which run
// against every implementation: ContentStoreTest is parameterized by a StoreFactory, and each
// test file instantiates it for AllStoreFactories():
//
//   TEST_P(ContentStoreTest, PutIsIdempotent) { ... store_->Put(...) ... }
//   INSTANTIATE_TEST_SUITE_P(AllStores, ContentStoreTest, ::testing::ValuesIn(AllStoreFactories()),
//                            StoreFactoryName);
//
// The fixture's helpers reach a store's bytes only through what each store offers for it
// (MemoryStore::CorruptForTesting, the file at DiskStore::PathOf), and otherwise only through
// the ContentStore interface.
//
// Thread safety: a fixture belongs to its test's thread; store_ itself may be shared.
#ifndef MLOPS_STORE_CONTENT_STORE_TESTING_H_
#define MLOPS_STORE_CONTENT_STORE_TESTING_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "mlops/hash/digest.h"
#include "mlops/store/content_store.h"
#include "mlops/store/disk_store.h"
#include "mlops/store/memory_store.h"

namespace mlops {
namespace test {

constexpr size_t kKiB = 1024;
constexpr size_t kMiB = 1024 * 1024;
constexpr size_t kMapThreshold = 64 * kKiB;  // DiskStoreOptions::map_threshold default

// The parameter: how to make a store of one kind.
enum class Kind { kDisk, kMemory };

struct StoreFactory {
  const char* name;
  Kind kind;
  // Opens a new, empty store; a DiskStore in `dir` (which need not exist yet).
  std::function<absl::StatusOr<std::unique_ptr<ContentStore>>(const std::string& dir)> open;
};

void PrintTo(const StoreFactory& f, std::ostream* os);

// DiskStore with default options, then MemoryStore.
std::vector<StoreFactory> AllStoreFactories();

// The factory's name ("DiskStore", "MemoryStore"), for the names of instantiated tests.
std::string StoreFactoryName(const ::testing::TestParamInfo<StoreFactory>& info);

// How ContentStoreTest::Corrupt damages a stored value.
enum class Damage { kFlipByte, kTruncate };

const char* DamageName(Damage d);

class ContentStoreTest : public ::testing::TestWithParam<StoreFactory> {
 protected:
  // A fresh store in FreshDir() + "/store".
  void SetUp() override;

  bool is_disk() const { return GetParam().kind == Kind::kDisk; }
  DiskStore* disk() { return dynamic_cast<DiskStore*>(store_.get()); }
  MemoryStore* memory() { return dynamic_cast<MemoryStore*>(store_.get()); }

  // Put that must succeed; returns the digest (Digest::Of on failure, after recording it).
  Digest MustPut(absl::string_view bytes);

  // Damages the stored copy of `original` (stored under `d`) as a disk error would, through
  // the only means each store offers: CorruptForTesting, or the file at PathOf(d).
  // REQUIRES: original.size() >= 2 (a fatal failure otherwise).
  void Corrupt(const Digest& d, const std::string& original, Damage damage);

  // Makes `oldest_first` the order of last access, oldest first. DiskStore: the entries'
  // mtimes, set hours into the past a minute apart (far enough that a Get refreshes them).
  // MemoryStore: a Get of each in order, a few milliseconds apart. Then checks (fatally)
  // that List reports that order.
  void SetAccessOrder(const std::vector<Digest>& oldest_first);

  // The names in a DiskStore's tmp/ directory.
  std::vector<std::string> TmpFiles();

  // Stats that must succeed ({-1, -1} on failure, after recording it).
  StoreStats MustStats();

  // digest → size, from a List that must succeed; a digest listed twice is a failure.
  std::map<Digest, int64_t> MustList();

  // Four values for the garbage-collection tests: a_ .. d_, of 1000, 2000, 3000 and 4000
  // bytes (Pattern(1000, 41) .. Pattern(4000, 44)).
  void PutFour();

  // Contains that must succeed (false on failure, after recording it).
  bool Has(const Digest& d);

  // Checks what CollectGarbage reported against the store before and after.
  void ExpectConsistent(const GcResult& r, const StoreStats& before);

  std::string dir_;
  std::unique_ptr<ContentStore> store_;
  Digest a_, b_, c_, d_;  // see PutFour
};

}  // namespace test
}  // namespace mlops

#endif  // MLOPS_STORE_CONTENT_STORE_TESTING_H_
