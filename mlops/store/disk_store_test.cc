// DiskStore-specific tests: the directory layout, reopening, Open's errors, options and the
// last access. Temporary files of crashed writers, a full disk and damage to the layout are in
// disk_store_temp_files_test.cc, disk_store_full_disk_test.cc and disk_store_damage_test.cc;
// the ContentStore contract itself is tested for every store in content_store_*_test.cc.
#include "mlops/store/disk_store.h"

#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
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
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::testing::StartsWith;

constexpr size_t kKiB = 1024;
constexpr size_t kMiB = 1024 * 1024;
constexpr absl::string_view kFormat = "mlops-disk-store 1\n";

// ---------------------------------------------------------------------------------------
// Layout and reopening.

TEST(DiskStoreTest, OpenCreatesTheLayout) {
  const std::string dir = FreshDir() + "/a/b/store";  // missing parents too
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> store, OpenStore(dir));
  EXPECT_EQ(store->dir(), dir);
  EXPECT_EQ(Slurp(dir + "/FORMAT"), kFormat);
  EXPECT_TRUE(IsDir(dir + "/tmp"));
  EXPECT_TRUE(IsDir(dir + "/quarantine"));
  EXPECT_THAT(ListDir(dir + "/tmp"), IsEmpty());
  EXPECT_THAT(ListDir(dir + "/quarantine"), IsEmpty());
  std::vector<std::string> expected_shards;
  for (int i = 0; i < 256; ++i) {
    char shard[3];
    std::snprintf(shard, sizeof(shard), "%02x", i);
    expected_shards.push_back(shard);
    EXPECT_TRUE(IsDir(dir + "/cas/" + shard)) << shard;
  }
  EXPECT_EQ(ListDir(dir + "/cas"), expected_shards);
  EXPECT_THAT(ListDir(dir), ElementsAre("FORMAT", "cas", "quarantine", "tmp"));

  // Values go where PathOf says.
  ASSERT_OK_AND_ASSIGN(const Digest d, store->Put("layout"));
  EXPECT_EQ(store->PathOf(d), absl::StrCat(dir, "/cas/", ShardOf(d), "/", d.ToHex()));
  EXPECT_EQ(Slurp(store->PathOf(d)), "layout");
}

TEST(DiskStoreTest, OpenStripsTrailingSlashes) {
  const std::string dir = FreshDir() + "/store";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> store, OpenStore(dir + "//"));
  EXPECT_EQ(store->dir(), dir);
  EXPECT_THAT(store->PathOf(Digest::Of("x")), StartsWith(dir + "/cas/"));
}

TEST(DiskStoreTest, OpenOfEmptyPathIsInvalidArgument) {
  EXPECT_THAT(OpenStore(""), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(DiskStoreTest, ReopenSeesOldEntries) {
  const std::string dir = FreshDir() + "/store";
  std::map<Digest, std::string> values;
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> store, OpenStore(dir));
    for (const size_t size : {size_t{0}, size_t{10}, 64 * kKiB, 300 * kKiB}) {
      const std::string bytes = Pattern(size, size + 1);
      ASSERT_OK_AND_ASSIGN(const Digest d, store->Put(bytes));
      values[d] = bytes;
    }
  }
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> store, OpenStore(dir));
  EXPECT_EQ(Slurp(dir + "/FORMAT"), kFormat);
  ASSERT_OK_AND_ASSIGN(const StoreStats stats, store->Stats());
  EXPECT_EQ(stats.entries, 4);
  EXPECT_EQ(stats.bytes, 10 + 364 * static_cast<int64_t>(kKiB));
  for (const auto& [d, bytes] : values) {
    ASSERT_OK_AND_ASSIGN(const Blob blob, store->Get(d));
    EXPECT_TRUE(SameBytes(blob.view(), bytes));
  }
}

TEST(DiskStoreTest, TwoOpenInstancesShareTheDirectory) {
  const std::string dir = FreshDir() + "/store";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> one, OpenStore(dir));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> two, OpenStore(dir));
  ASSERT_OK_AND_ASSIGN(const Digest d, one->Put("shared"));
  ASSERT_OK_AND_ASSIGN(const Blob blob, two->Get(d));
  EXPECT_EQ(blob.view(), "shared");
  ASSERT_OK(two->Delete(d));
  ASSERT_OK_AND_ASSIGN(const bool present, one->Contains(d));
  EXPECT_FALSE(present);
}

// Two DiskStore objects on one directory in one process, each with a writer open at the
// same time: each writer needs its own temporary file.
TEST(DiskStoreTest, TwoInstancesInOneProcessCanWriteAtTheSameTime) {
  const std::string dir = FreshDir() + "/store";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> one, OpenStore(dir));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> two, OpenStore(dir));
  absl::StatusOr<std::unique_ptr<BlobWriter>> w1, w2;
  // Both writers are created within one second of the clock (retried if a second boundary
  // falls between them), which is when their temporary files are named alike.
  for (int attempt = 0; attempt < 10; ++attempt) {
    const time_t before = ::time(nullptr);
    w1 = one->NewWriter();
    w2 = two->NewWriter();
    if (::time(nullptr) == before) break;
  }
  ASSERT_TRUE(w1.ok()) << w1.status();
  ASSERT_TRUE(w2.ok()) << "second instance's NewWriter: " << w2.status();
  ASSERT_OK((*w1)->Append("from one"));
  ASSERT_OK((*w2)->Append("from two"));
  ASSERT_OK_AND_ASSIGN(const Digest d1, (*w1)->Commit());
  ASSERT_OK_AND_ASSIGN(const Digest d2, (*w2)->Commit());
  ASSERT_OK_AND_ASSIGN(const Blob b1, two->Get(d1));
  ASSERT_OK_AND_ASSIGN(const Blob b2, one->Get(d2));
  EXPECT_EQ(b1.view(), "from one");
  EXPECT_EQ(b2.view(), "from two");
}

// ---------------------------------------------------------------------------------------
// Open's errors.

TEST(DiskStoreTest, OpenOnARegularFileIsFailedPrecondition) {
  const std::string file = FreshDir() + "/a-file";
  Spit(file, "not a directory");
  absl::StatusOr<std::unique_ptr<DiskStore>> store = OpenStore(file);
  EXPECT_THAT(store, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(std::string(store.status().message()), HasSubstr(file));
  EXPECT_EQ(Slurp(file), "not a directory");  // untouched
}

TEST(DiskStoreTest, OpenUnderARegularFileIsFailedPrecondition) {
  const std::string file = FreshDir() + "/a-file";
  Spit(file, "not a directory");
  for (const std::string& dir : {file + "/store", file + "/deeper/store"}) {
    absl::StatusOr<std::unique_ptr<DiskStore>> store = OpenStore(dir);
    EXPECT_THAT(store, StatusIs(absl::StatusCode::kFailedPrecondition)) << dir;
    EXPECT_THAT(std::string(store.status().message()), HasSubstr(file)) << dir;
  }
}

TEST(DiskStoreTest, OpenWithAnotherFormatIsFailedPrecondition) {
  for (const std::string& format :
       {std::string("mlops-disk-store 2\n"), std::string("mlops-disk-store 1"),
        std::string(""), std::string("something else entirely\n")}) {
    SCOPED_TRACE(absl::StrCat("FORMAT \"", format, "\""));
    const std::string dir = FreshDir() + "/store";
    Digest d;
    {
      ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> store, OpenStore(dir));
      ASSERT_OK_AND_ASSIGN(d, store->Put("old entry"));
    }
    Spit(dir + "/FORMAT", format);
    absl::StatusOr<std::unique_ptr<DiskStore>> store = OpenStore(dir);
    EXPECT_THAT(store, StatusIs(absl::StatusCode::kFailedPrecondition));
    EXPECT_THAT(std::string(store.status().message()), HasSubstr(dir + "/FORMAT"));
    EXPECT_EQ(Slurp(dir + "/FORMAT"), format);  // not rewritten
    EXPECT_TRUE(Exists(absl::StrCat(dir, "/cas/", ShardOf(d), "/", d.ToHex())));
  }
}

TEST(DiskStoreTest, OpenWithALayoutDirectoryThatIsAFileIsFailedPrecondition) {
  for (const char* part : {"tmp", "cas", "quarantine"}) {
    SCOPED_TRACE(part);
    const std::string dir = FreshDir() + "/store";
    CHECK_SYS(::mkdir(dir.c_str(), 0755) == 0);
    Spit(absl::StrCat(dir, "/", part), "a file");
    absl::StatusOr<std::unique_ptr<DiskStore>> store = OpenStore(dir);
    EXPECT_THAT(store, StatusIs(absl::StatusCode::kFailedPrecondition));
    EXPECT_THAT(std::string(store.status().message()), HasSubstr(absl::StrCat(dir, "/", part)));
  }
}

TEST(DiskStoreTest, OpenOfAnUnwritableDirectoryIsPermissionDenied) {
  if (::geteuid() == 0) {
    GTEST_SKIP() << "running as root, for whom directory permissions do not deny access; "
                    "the PERMISSION_DENIED path cannot be exercised";
  }
  const std::string parent = FreshDir();
  const std::string existing = parent + "/existing";
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> store, OpenStore(existing));
  }
  CHECK_SYS(::chmod(existing.c_str(), 0555) == 0);
  CHECK_SYS(::chmod(parent.c_str(), 0555) == 0);
  absl::StatusOr<std::unique_ptr<DiskStore>> store = OpenStore(existing);
  EXPECT_THAT(store, StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(std::string(store.status().message()), HasSubstr(existing));
  const std::string missing = parent + "/missing";
  store = OpenStore(missing);
  EXPECT_THAT(store, StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(std::string(store.status().message()), HasSubstr(missing));
  CHECK_SYS(::chmod(parent.c_str(), 0755) == 0);
  CHECK_SYS(::chmod(existing.c_str(), 0755) == 0);
}

// ---------------------------------------------------------------------------------------
// Options.

TEST(DiskStoreTest, DurabilityOptionsRoundTrip) {
  for (const Durability durability :
       {Durability::kNone, Durability::kSyncFile, Durability::kSyncFileAndDirectory}) {
    SCOPED_TRACE(static_cast<int>(durability));
    const std::string dir = FreshDir() + "/store";
    DiskStoreOptions options;
    options.durability = durability;
    std::map<Digest, std::string> values;
    {
      ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> store, OpenStore(dir, options));
      for (const size_t size : {size_t{0}, size_t{100}, 1 * kMiB}) {
        const std::string bytes = Pattern(size, size + 3);
        ASSERT_OK_AND_ASSIGN(const Digest d, store->Put(bytes));
        values[d] = bytes;
      }
      ASSERT_OK_AND_ASSIGN(std::unique_ptr<BlobWriter> w, store->NewWriter());
      ASSERT_OK(w->Append("streamed "));
      ASSERT_OK(w->Append("value"));
      ASSERT_OK_AND_ASSIGN(const Digest d, w->Commit());
      values[d] = "streamed value";
      for (const auto& [digest, bytes] : values) {
        ASSERT_OK_AND_ASSIGN(const Blob blob, store->Get(digest));
        EXPECT_TRUE(SameBytes(blob.view(), bytes));
      }
    }
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> store, OpenStore(dir, options));
    for (const auto& [digest, bytes] : values) {
      ASSERT_OK_AND_ASSIGN(const Blob blob, store->Get(digest));
      EXPECT_TRUE(SameBytes(blob.view(), bytes));
    }
    EXPECT_THAT(ListDir(dir + "/tmp"), IsEmpty());
  }
}

TEST(DiskStoreTest, MapThresholdOptionDecidesWhatIsMapped) {
  const std::string dir = FreshDir() + "/store";
  DiskStoreOptions options;
  options.map_threshold = 16;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> store, OpenStore(dir, options));
  for (const size_t size : {size_t{0}, size_t{15}, size_t{16}, size_t{5000}}) {
    const std::string bytes = Pattern(size, size + 9);
    ASSERT_OK_AND_ASSIGN(const Digest d, store->Put(bytes));
    ASSERT_OK_AND_ASSIGN(const Blob blob, store->Get(d));
    EXPECT_TRUE(SameBytes(blob.view(), bytes)) << size;
    EXPECT_EQ(blob.is_mapped(), size >= 16) << size;
  }
}

// ---------------------------------------------------------------------------------------
// Last access.

TEST(DiskStoreTest, GetRefreshesAnOldMtimeButNotARecentOne) {
  const std::string dir = FreshDir() + "/store";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> store, OpenStore(dir));
  ASSERT_OK_AND_ASSIGN(const Digest old_d, store->Put("read long ago"));
  ASSERT_OK_AND_ASSIGN(const Digest recent_d, store->Put("read recently"));
  SetAge(store->PathOf(old_d), 3600);
  SetAge(store->PathOf(recent_d), 30);
  const time_t recent_mtime = MtimeOf(store->PathOf(recent_d));
  const time_t before = ::time(nullptr);
  ASSERT_TRUE(store->Get(old_d).ok());
  ASSERT_TRUE(store->Get(recent_d).ok());
  EXPECT_GE(MtimeOf(store->PathOf(old_d)), before);
  EXPECT_EQ(MtimeOf(store->PathOf(recent_d)), recent_mtime);
  // List reports the mtime as the last access.
  ASSERT_OK_AND_ASSIGN(const std::vector<StoreEntry> list, store->List());
  ASSERT_THAT(list, SizeIs(2));
  for (const StoreEntry& e : list) {
    EXPECT_EQ(absl::ToUnixSeconds(e.last_access), MtimeOf(store->PathOf(e.digest)));
  }
}

}  // namespace
}  // namespace mlops
