// Tests of the ContentStore contract (mlops/store/content_store.h), run against every
// implementation: DiskStore and MemoryStore (content_store_testing.h). This file: Put, Get,
// Contains, Delete, BlobWriter, List and Stats; content_store_gc_test.cc,
// content_store_concurrency_test.cc and content_store_corruption_test.cc have the rest.
// Implementation-specific behaviour of DiskStore (layout, temporary files, full disk, ...) is
// in disk_store_*_test.cc.
#include "mlops/store/content_store.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/hash/digest.h"
#include "mlops/store/content_store_testing.h"
#include "mlops/testing/bytes.h"
#include "mlops/testing/files.h"
#include "mlops/testing/status_matchers.h"

namespace mlops {
namespace {

using ::mlops::test::AllStoreFactories;
using ::mlops::test::ContentStoreTest;
using ::mlops::test::Exists;
using ::mlops::test::kKiB;
using ::mlops::test::kMapThreshold;
using ::mlops::test::kMiB;
using ::mlops::test::Pattern;
using ::mlops::test::SameBytes;
using ::mlops::test::StatusIs;
using ::mlops::test::StoreFactoryName;
using ::testing::IsEmpty;
using ::testing::SizeIs;

// ---------------------------------------------------------------------------------------
// Put, Get, Contains, Delete.

TEST_P(ContentStoreTest, PutReturnsDigestOfBytes) {
  ASSERT_OK_AND_ASSIGN(const Digest hello, store_->Put("hello"));
  EXPECT_EQ(hello.ToHex(), "b5e9c1ad071b3e7fc779cfaa5e523818");
  EXPECT_EQ(hello, Digest::Of("hello"));
  for (const std::string& bytes :
       {std::string(), std::string("a"), std::string("\0\0\xff", 3), Pattern(1000, 7),
        Pattern(kMapThreshold, 8)}) {
    ASSERT_OK_AND_ASSIGN(const Digest d, store_->Put(bytes));
    EXPECT_EQ(d, Digest::Of(bytes)) << "size " << bytes.size();
  }
}

TEST_P(ContentStoreTest, GetRoundTripsEverySize) {
  const size_t sizes[] = {0, 1, 100, kMapThreshold - 1, kMapThreshold, 5 * kMiB};
  uint64_t seed = 1;
  for (const size_t size : sizes) {
    SCOPED_TRACE(absl::StrCat("size ", size));
    const std::string bytes = Pattern(size, seed++);
    ASSERT_OK_AND_ASSIGN(const Digest d, store_->Put(bytes));
    ASSERT_EQ(d, Digest::Of(bytes));
    ASSERT_OK_AND_ASSIGN(const Blob blob, store_->Get(d));
    EXPECT_EQ(blob.size(), size);
    EXPECT_TRUE(SameBytes(blob.view(), bytes));
    EXPECT_EQ(blob.ToString().size(), size);
    EXPECT_EQ(blob.is_mapped(), is_disk() && size >= kMapThreshold);
  }
  // Every value is still there, each readable again.
  EXPECT_EQ(MustStats().entries, static_cast<int64_t>(std::size(sizes)));
  seed = 1;
  for (const size_t size : sizes) {
    const std::string bytes = Pattern(size, seed++);
    ASSERT_OK_AND_ASSIGN(const Blob blob, store_->Get(Digest::Of(bytes)));
    EXPECT_TRUE(SameBytes(blob.view(), bytes)) << "size " << size;
  }
}

TEST_P(ContentStoreTest, PutIsIdempotent) {
  const std::string bytes = Pattern(1234, 3);
  ASSERT_OK_AND_ASSIGN(const Digest first, store_->Put(bytes));
  ASSERT_OK_AND_ASSIGN(const Digest second, store_->Put(bytes));
  EXPECT_EQ(first, second);
  const StoreStats stats = MustStats();
  EXPECT_EQ(stats.entries, 1);
  EXPECT_EQ(stats.bytes, 1234);
  EXPECT_THAT(MustList(), SizeIs(1));
  ASSERT_OK_AND_ASSIGN(const Blob blob, store_->Get(first));
  EXPECT_TRUE(SameBytes(blob.view(), bytes));
}

TEST_P(ContentStoreTest, ContainsBeforeAndAfterPutAndDelete) {
  const Digest d = Digest::Of("contained");
  ASSERT_OK_AND_ASSIGN(bool present, store_->Contains(d));
  EXPECT_FALSE(present);
  ASSERT_EQ(MustPut("contained"), d);
  ASSERT_OK_AND_ASSIGN(present, store_->Contains(d));
  EXPECT_TRUE(present);
  // Another digest is still absent.
  ASSERT_OK_AND_ASSIGN(present, store_->Contains(Digest::Of("other")));
  EXPECT_FALSE(present);
  ASSERT_OK(store_->Delete(d));
  ASSERT_OK_AND_ASSIGN(present, store_->Contains(d));
  EXPECT_FALSE(present);
}

TEST_P(ContentStoreTest, GetOfAbsentIsNotFound) {
  EXPECT_THAT(store_->Get(Digest::Of("never stored")), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->Get(Digest()), StatusIs(absl::StatusCode::kNotFound));
}

TEST_P(ContentStoreTest, DeleteThenGetIsNotFound) {
  const Digest keep = MustPut("keep me");
  const Digest d = MustPut("delete me");
  ASSERT_OK(store_->Delete(d));
  EXPECT_THAT(store_->Get(d), StatusIs(absl::StatusCode::kNotFound));
  const StoreStats stats = MustStats();
  EXPECT_EQ(stats.entries, 1);
  EXPECT_EQ(stats.bytes, 7);
  ASSERT_OK_AND_ASSIGN(const Blob blob, store_->Get(keep));
  EXPECT_EQ(blob.view(), "keep me");
  if (is_disk()) {
    EXPECT_FALSE(Exists(disk()->PathOf(d)));
  }
}

TEST_P(ContentStoreTest, DeleteOfAbsentIsOk) {
  EXPECT_OK(store_->Delete(Digest::Of("never stored")));
  const Digest d = MustPut("x");
  EXPECT_OK(store_->Delete(d));
  EXPECT_OK(store_->Delete(d));  // twice
  EXPECT_EQ(MustStats().entries, 0);
}

// ---------------------------------------------------------------------------------------
// BlobWriter.

TEST_P(ContentStoreTest, WriterInPiecesGivesSameDigestAsPut) {
  const std::string bytes = Pattern(200 * kKiB + 7, 11);
  const size_t pieces[] = {0, 1, 4095, 65536, 0, 3};
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<BlobWriter> w, store_->NewWriter());
  size_t at = 0;
  for (const size_t n : pieces) {
    ASSERT_OK(w->Append(absl::string_view(bytes).substr(at, n)));
    at += n;
  }
  ASSERT_OK(w->Append(absl::string_view(bytes).substr(at)));  // the rest
  ASSERT_OK_AND_ASSIGN(const Digest d, w->Commit());
  EXPECT_EQ(d, Digest::Of(bytes));

  ASSERT_OK_AND_ASSIGN(const Blob blob, store_->Get(d));
  EXPECT_TRUE(SameBytes(blob.view(), bytes));
  ASSERT_OK_AND_ASSIGN(const bool present, store_->Contains(d));
  EXPECT_TRUE(present);

  // A one-shot Put of the same bytes names the same, single entry.
  ASSERT_OK_AND_ASSIGN(const Digest put, store_->Put(bytes));
  EXPECT_EQ(put, d);
  const StoreStats stats = MustStats();
  EXPECT_EQ(stats.entries, 1);
  EXPECT_EQ(stats.bytes, static_cast<int64_t>(bytes.size()));
  if (is_disk()) {
    EXPECT_THAT(TmpFiles(), IsEmpty());
  }
}

TEST_P(ContentStoreTest, WriterWithNoBytesStoresTheEmptyValue) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<BlobWriter> w, store_->NewWriter());
  ASSERT_OK_AND_ASSIGN(const Digest d, w->Commit());
  EXPECT_EQ(d, Digest::Of(""));
  ASSERT_OK_AND_ASSIGN(const Blob blob, store_->Get(d));
  EXPECT_EQ(blob.size(), 0u);
}

TEST_P(ContentStoreTest, WriterOfAValueAlreadyStored) {
  const std::string bytes = Pattern(5000, 12);
  const Digest d = MustPut(bytes);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<BlobWriter> w, store_->NewWriter());
  ASSERT_OK(w->Append(bytes));
  ASSERT_OK_AND_ASSIGN(const Digest committed, w->Commit());
  EXPECT_EQ(committed, d);
  EXPECT_EQ(MustStats().entries, 1);
  ASSERT_OK_AND_ASSIGN(const Blob blob, store_->Get(d));
  EXPECT_TRUE(SameBytes(blob.view(), bytes));
}

TEST_P(ContentStoreTest, InterleavedWritersAreIndependent) {
  const std::string a = Pattern(70 * kKiB, 13);
  const std::string b = Pattern(30 * kKiB, 14);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<BlobWriter> wa, store_->NewWriter());
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<BlobWriter> wb, store_->NewWriter());
  for (size_t i = 0; i < 10; ++i) {
    ASSERT_OK(wa->Append(absl::string_view(a).substr(i * a.size() / 10, a.size() / 10)));
    ASSERT_OK(wb->Append(absl::string_view(b).substr(i * b.size() / 10, b.size() / 10)));
  }
  ASSERT_OK_AND_ASSIGN(const Digest db, wb->Commit());
  ASSERT_OK_AND_ASSIGN(const Digest da, wa->Commit());
  EXPECT_EQ(da, Digest::Of(a));
  EXPECT_EQ(db, Digest::Of(b));
  ASSERT_OK_AND_ASSIGN(const Blob ba, store_->Get(da));
  ASSERT_OK_AND_ASSIGN(const Blob bb, store_->Get(db));
  EXPECT_TRUE(SameBytes(ba.view(), a));
  EXPECT_TRUE(SameBytes(bb.view(), b));
}

TEST_P(ContentStoreTest, WriterDestroyedWithoutCommitLeavesNothing) {
  MustPut("already here");
  const std::map<Digest, int64_t> list_before = MustList();
  const StoreStats stats_before = MustStats();
  const std::string bytes = Pattern(100 * kKiB, 15);
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<BlobWriter> w, store_->NewWriter());
    ASSERT_OK(w->Append(absl::string_view(bytes).substr(0, 1000)));
    ASSERT_OK(w->Append(absl::string_view(bytes).substr(1000)));
    if (is_disk()) {
      EXPECT_THAT(TmpFiles(), SizeIs(1)) << "the writer's temporary file";
    }
  }
  EXPECT_EQ(MustList(), list_before);
  const StoreStats stats_after = MustStats();
  EXPECT_EQ(stats_after.entries, stats_before.entries);
  EXPECT_EQ(stats_after.bytes, stats_before.bytes);
  ASSERT_OK_AND_ASSIGN(const bool present, store_->Contains(Digest::Of(bytes)));
  EXPECT_FALSE(present);
  EXPECT_THAT(store_->Get(Digest::Of(bytes)), StatusIs(absl::StatusCode::kNotFound));
  if (is_disk()) {
    EXPECT_THAT(TmpFiles(), IsEmpty());
  }
}

TEST_P(ContentStoreTest, AppendAfterCommitFails) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<BlobWriter> w, store_->NewWriter());
  ASSERT_OK(w->Append("abc"));
  ASSERT_OK_AND_ASSIGN(const Digest d, w->Commit());
  EXPECT_THAT(w->Append("def"), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(w->Commit(), StatusIs(absl::StatusCode::kFailedPrecondition));
  // The committed value is unchanged and nothing else appeared.
  ASSERT_OK_AND_ASSIGN(const Blob blob, store_->Get(d));
  EXPECT_EQ(blob.view(), "abc");
  ASSERT_OK_AND_ASSIGN(const bool present, store_->Contains(Digest::Of("abcdef")));
  EXPECT_FALSE(present);
  EXPECT_EQ(MustStats().entries, 1);
  w.reset();
  ASSERT_OK_AND_ASSIGN(const Blob again, store_->Get(d));  // destroying it removes nothing
  EXPECT_EQ(again.view(), "abc");
  if (is_disk()) {
    EXPECT_THAT(TmpFiles(), IsEmpty());
  }
}

// ---------------------------------------------------------------------------------------
// List and Stats.

TEST_P(ContentStoreTest, ListReturnsEveryEntryWithItsSize) {
  EXPECT_THAT(MustList(), IsEmpty());
  std::map<Digest, int64_t> expected;
  const size_t sizes[] = {0, 1, 17, 300, 4096, kMapThreshold, 100 * kKiB};
  uint64_t seed = 20;
  for (const size_t size : sizes) {
    const std::string bytes = Pattern(size, seed++);
    expected[MustPut(bytes)] = static_cast<int64_t>(size);
  }
  EXPECT_EQ(MustList(), expected);
  // List's last access is plausible (within a generous window around now).
  absl::StatusOr<std::vector<StoreEntry>> list = store_->List();
  ASSERT_TRUE(list.ok()) << list.status();
  for (const StoreEntry& e : *list) {
    EXPECT_LT(absl::AbsDuration(absl::Now() - e.last_access), absl::Minutes(5)) << e.digest;
  }
}

TEST_P(ContentStoreTest, StatsCountsEntriesAndBytes) {
  StoreStats stats = MustStats();
  EXPECT_EQ(stats.entries, 0);
  EXPECT_EQ(stats.bytes, 0);
  MustPut(Pattern(1000, 30));
  MustPut(Pattern(2000, 31));
  MustPut("");
  MustPut(Pattern(2000, 31));  // again
  stats = MustStats();
  EXPECT_EQ(stats.entries, 3);
  EXPECT_EQ(stats.bytes, 3000);
  ASSERT_OK(store_->Delete(Digest::Of(Pattern(1000, 30))));
  stats = MustStats();
  EXPECT_EQ(stats.entries, 2);
  EXPECT_EQ(stats.bytes, 2000);
}

INSTANTIATE_TEST_SUITE_P(AllStores, ContentStoreTest, ::testing::ValuesIn(AllStoreFactories()),
                         StoreFactoryName);

}  // namespace
}  // namespace mlops
