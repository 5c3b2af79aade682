// DiskStore with a damaged layout (a removed shard, stray files, repeated quarantine) and
// opened read-only (reads without touching, quarantining or removing anything).
#include "mlops/store/disk_store.h"

#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
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
using ::mlops::test::IsDir;
using ::mlops::test::ListDir;
using ::mlops::test::MtimeOf;
using ::mlops::test::OpenStore;
using ::mlops::test::Pattern;
using ::mlops::test::SameBytes;
using ::mlops::test::SetAge;
using ::mlops::test::ShardOf;
using ::mlops::test::Slurp;
using ::mlops::test::Spit;
using ::mlops::test::StatusIs;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::testing::StartsWith;

constexpr size_t kKiB = 1024;

// ---------------------------------------------------------------------------------------
// Damage to the layout.

TEST(DiskStoreTest, ARemovedShardDirectoryIsRecreatedByPut) {
  const std::string dir = FreshDir() + "/store";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> store, OpenStore(dir));
  // Two values in different shards: one for Put, one for a writer.
  const std::string a = Pattern(100, 1);
  std::string b;
  for (uint64_t seed = 2; b.empty() || ShardOf(Digest::Of(b)) == ShardOf(Digest::Of(a));
       ++seed) {
    b = Pattern(100 * kKiB, seed);
  }
  for (const std::string* bytes : {&a, static_cast<const std::string*>(&b)}) {
    const std::string shard = absl::StrCat(dir, "/cas/", ShardOf(Digest::Of(*bytes)));
    CHECK_SYS(::rmdir(shard.c_str()) == 0);
  }

  ASSERT_OK_AND_ASSIGN(const Digest da, store->Put(a));
  EXPECT_TRUE(IsDir(absl::StrCat(dir, "/cas/", ShardOf(da))));
  ASSERT_OK_AND_ASSIGN(const Blob blob_a, store->Get(da));
  EXPECT_TRUE(SameBytes(blob_a.view(), a));

  ASSERT_OK_AND_ASSIGN(std::unique_ptr<BlobWriter> w, store->NewWriter());
  ASSERT_OK(w->Append(b));
  ASSERT_OK_AND_ASSIGN(const Digest db, w->Commit());
  EXPECT_TRUE(IsDir(absl::StrCat(dir, "/cas/", ShardOf(db))));
  ASSERT_OK_AND_ASSIGN(const Blob blob_b, store->Get(db));
  EXPECT_TRUE(SameBytes(blob_b.view(), b));
  EXPECT_THAT(ListDir(dir + "/tmp"), IsEmpty());
}

TEST(DiskStoreTest, StrayFilesInAShardAreIgnoredByList) {
  const std::string dir = FreshDir() + "/store";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> store, OpenStore(dir));
  ASSERT_OK_AND_ASSIGN(const Digest d, store->Put("the only entry"));
  const std::string shard = absl::StrCat(dir, "/cas/", ShardOf(d));
  const std::string hex = d.ToHex();
  const std::vector<std::string> strays = {
      shard + "/README", shard + "/" + hex.substr(0, 31), shard + "/" + hex + ".tmp",
      shard + "/" + hex.substr(0, 31) + "g", dir + "/cas/ab/.hidden"};
  for (const std::string& p : strays) Spit(p, "stray");
  CHECK_SYS(::mkdir((dir + "/cas/notes").c_str(), 0755) == 0);  // a non-shard directory
  Spit(dir + "/cas/notes/readme.txt", "stray");

  ASSERT_OK_AND_ASSIGN(const std::vector<StoreEntry> list, store->List());
  ASSERT_THAT(list, SizeIs(1));
  EXPECT_EQ(list[0].digest, d);
  EXPECT_EQ(list[0].size, 14);
  ASSERT_OK_AND_ASSIGN(const StoreStats stats, store->Stats());
  EXPECT_EQ(stats.entries, 1);
  EXPECT_EQ(stats.bytes, 14);
  // Garbage collection evicts entries only; the strays stay.
  ASSERT_OK_AND_ASSIGN(const GcResult gc, store->CollectGarbage(0, {}));
  EXPECT_EQ(gc.entries_evicted, 1);
  for (const std::string& p : strays) EXPECT_TRUE(Exists(p)) << p;
}

// A stray regular file directly in cas/ (next to the shard directories), e.g. a README or
// an editor's backup file, is not an entry and must not break List.
TEST(DiskStoreTest, StrayFileDirectlyInCasIsIgnoredByList) {
  const std::string dir = FreshDir() + "/store";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> store, OpenStore(dir));
  ASSERT_OK_AND_ASSIGN(const Digest d, store->Put("the only entry"));
  Spit(dir + "/cas/README", "stray");

  absl::StatusOr<std::vector<StoreEntry>> list = store->List();
  ASSERT_TRUE(list.ok()) << "List with a stray file cas/README: " << list.status();
  ASSERT_THAT(*list, SizeIs(1));
  EXPECT_EQ((*list)[0].digest, d);
  absl::StatusOr<StoreStats> stats = store->Stats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->entries, 1);
  absl::StatusOr<GcResult> gc = store->CollectGarbage(0, {});
  ASSERT_TRUE(gc.ok()) << gc.status();
  EXPECT_EQ(gc->entries_evicted, 1);
}

TEST(DiskStoreTest, EachQuarantinedCopyIsKept) {
  const std::string dir = FreshDir() + "/store";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> store, OpenStore(dir));
  const std::string bytes = Pattern(1000, 5);
  for (int round = 0; round < 2; ++round) {
    ASSERT_OK_AND_ASSIGN(const Digest d, store->Put(bytes));
    CHECK_SYS(::truncate(store->PathOf(d).c_str(), 100 + round) == 0);
    EXPECT_THAT(store->Get(d), StatusIs(absl::StatusCode::kDataLoss));
  }
  const std::vector<std::string> quarantine = ListDir(dir + "/quarantine");
  ASSERT_THAT(quarantine, SizeIs(2));
  std::vector<size_t> sizes;
  for (const std::string& name : quarantine) {
    EXPECT_THAT(name, StartsWith(Digest::Of(bytes).ToHex()));
    sizes.push_back(Slurp(dir + "/quarantine/" + name).size());
  }
  std::sort(sizes.begin(), sizes.end());
  EXPECT_THAT(sizes, ElementsAre(100u, 101u));
}

// ---------------------------------------------------------------------------------------
// Read-only.

absl::StatusOr<std::unique_ptr<DiskStore>> OpenReadOnly(const std::string& dir) {
  DiskStoreOptions options;
  options.read_only = true;
  return DiskStore::Open(dir, options);
}

TEST(DiskStoreReadOnlyTest, AMissingStoreIsNotFoundAndNothingIsCreated) {
  const std::string parent = FreshDir();
  EXPECT_THAT(OpenReadOnly(parent + "/store"), StatusIs(absl::StatusCode::kNotFound));
  CHECK_SYS(::mkdir((parent + "/empty").c_str(), 0755) == 0);
  EXPECT_THAT(OpenReadOnly(parent + "/empty"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(ListDir(parent), ElementsAre("empty"));
  EXPECT_THAT(ListDir(parent + "/empty"), IsEmpty());
}

TEST(DiskStoreReadOnlyTest, ReadsWithoutTouchingQuarantiningOrRemovingTemps) {
  const std::string dir = FreshDir() + "/store";
  Digest good, bad;
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> store, OpenStore(dir));
    ASSERT_OK_AND_ASSIGN(good, store->Put("read long ago"));
    ASSERT_OK_AND_ASSIGN(bad, store->Put(Pattern(1000, 7)));
    SetAge(store->PathOf(good), 3600);
    CHECK_SYS(::truncate(store->PathOf(bad).c_str(), 100) == 0);
  }
  const std::string temp = dir + "/tmp/12345.0.1700000000";
  Spit(temp, "left by a crashed writer");
  SetAge(temp, 3600);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> store, OpenReadOnly(dir));
  const time_t mtime = MtimeOf(store->PathOf(good));
  ASSERT_OK_AND_ASSIGN(Blob blob, store->Get(good));
  EXPECT_EQ(blob.view(), "read long ago");
  EXPECT_EQ(MtimeOf(store->PathOf(good)), mtime);  // last access not refreshed
  EXPECT_THAT(store->Get(bad), StatusIs(absl::StatusCode::kDataLoss));
  struct stat st;
  EXPECT_EQ(::stat(store->PathOf(bad).c_str(), &st), 0);  // not moved
  EXPECT_THAT(ListDir(dir + "/quarantine"), IsEmpty());
  EXPECT_THAT(ListDir(dir + "/tmp"), ElementsAre("12345.0.1700000000"));
  ASSERT_OK_AND_ASSIGN(const std::vector<StoreEntry> list, store->List());
  EXPECT_THAT(list, SizeIs(2));
  EXPECT_TRUE(*store->Contains(good));
  // Writes fail.
  EXPECT_THAT(store->Put("new"), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(store->NewWriter(), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(store->Delete(good), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_TRUE(*store->Contains(good));
}

}  // namespace
}  // namespace mlops
