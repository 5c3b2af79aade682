// The ContentStore contract, against every implementation (content_store_testing.h):
// garbage collection (least recently used first, pinned values, limits) and Blobs that stay
// valid after their entry is deleted or evicted.
#include "mlops/store/content_store.h"

#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/hash/digest.h"
#include "mlops/store/content_store_testing.h"
#include "mlops/testing/bytes.h"
#include "mlops/testing/status_matchers.h"

namespace mlops {
namespace {

using ::mlops::test::AllStoreFactories;
using ::mlops::test::ContentStoreTest;
using ::mlops::test::kMapThreshold;
using ::mlops::test::kMiB;
using ::mlops::test::Pattern;
using ::mlops::test::SameBytes;
using ::mlops::test::StatusIs;
using ::mlops::test::StoreFactoryName;
using ::testing::IsEmpty;

// ---------------------------------------------------------------------------------------
// Garbage collection.

TEST_P(ContentStoreTest, GcEvictsLeastRecentlyUsedFirst) {
  PutFour();
  SetAccessOrder({a_, b_, c_, d_});
  const StoreStats before = MustStats();
  ASSERT_EQ(before.bytes, 10000);
  ASSERT_OK_AND_ASSIGN(const GcResult r, store_->CollectGarbage(7500, {}));
  EXPECT_EQ(r.entries_evicted, 2);
  EXPECT_EQ(r.bytes_freed, 3000);
  EXPECT_EQ(r.pinned_kept, 0);
  ExpectConsistent(r, before);
  EXPECT_FALSE(Has(a_));
  EXPECT_FALSE(Has(b_));
  EXPECT_TRUE(Has(c_));
  EXPECT_TRUE(Has(d_));
  EXPECT_LE(MustStats().bytes, 7500);
}

TEST_P(ContentStoreTest, GcEvictionFollowsAccessNotSizeOrPutOrder) {
  PutFour();
  SetAccessOrder({c_, a_, d_, b_});
  const StoreStats before = MustStats();
  ASSERT_OK_AND_ASSIGN(const GcResult r, store_->CollectGarbage(6000, {}));
  EXPECT_EQ(r.entries_evicted, 2);  // c (10000 → 7000), then a (→ 6000)
  EXPECT_EQ(r.bytes_freed, 4000);
  ExpectConsistent(r, before);
  EXPECT_FALSE(Has(c_));
  EXPECT_FALSE(Has(a_));
  EXPECT_TRUE(Has(b_));
  EXPECT_TRUE(Has(d_));
}

TEST_P(ContentStoreTest, GcGetRefreshesLastAccess) {
  PutFour();
  SetAccessOrder({a_, b_, c_, d_});
  // A real read of the oldest makes it the newest (DiskStore: its mtime is hours old, more
  // than the minute after which a read touches it).
  ASSERT_TRUE(store_->Get(a_).ok());
  const StoreStats before = MustStats();
  ASSERT_OK_AND_ASSIGN(const GcResult r, store_->CollectGarbage(8000, {}));
  EXPECT_EQ(r.entries_evicted, 1);
  EXPECT_EQ(r.bytes_freed, 2000);
  ExpectConsistent(r, before);
  EXPECT_TRUE(Has(a_));
  EXPECT_FALSE(Has(b_));
  EXPECT_TRUE(Has(c_));
  EXPECT_TRUE(Has(d_));
}

TEST_P(ContentStoreTest, GcNeverEvictsPinnedEvenAboveTheLimit) {
  PutFour();
  SetAccessOrder({a_, b_, c_, d_});
  const StoreStats before = MustStats();
  ASSERT_OK_AND_ASSIGN(const GcResult r, store_->CollectGarbage(0, {a_, c_}));
  EXPECT_EQ(r.entries_evicted, 2);
  EXPECT_EQ(r.bytes_freed, 6000);
  EXPECT_EQ(r.pinned_kept, 2);
  ExpectConsistent(r, before);
  EXPECT_TRUE(Has(a_));
  EXPECT_FALSE(Has(b_));
  EXPECT_TRUE(Has(c_));
  EXPECT_FALSE(Has(d_));
  EXPECT_EQ(MustStats().bytes, 4000);  // above the limit of 0: only pinned values left
  ASSERT_OK_AND_ASSIGN(const Blob blob, store_->Get(a_));
  EXPECT_TRUE(SameBytes(blob.view(), Pattern(1000, 41)));
}

TEST_P(ContentStoreTest, GcPinnedOldestIsSkippedForTheNextOldest) {
  PutFour();
  SetAccessOrder({a_, b_, c_, d_});
  const StoreStats before = MustStats();
  ASSERT_OK_AND_ASSIGN(const GcResult r, store_->CollectGarbage(9000, {a_}));
  EXPECT_EQ(r.entries_evicted, 1);
  EXPECT_EQ(r.bytes_freed, 2000);
  EXPECT_EQ(r.pinned_kept, 1);
  ExpectConsistent(r, before);
  EXPECT_TRUE(Has(a_));
  EXPECT_FALSE(Has(b_));
  EXPECT_TRUE(Has(c_));
  EXPECT_TRUE(Has(d_));
}

TEST_P(ContentStoreTest, GcAllPinnedEvictsNothing) {
  PutFour();
  const StoreStats before = MustStats();
  ASSERT_OK_AND_ASSIGN(const GcResult r, store_->CollectGarbage(0, {a_, b_, c_, d_}));
  EXPECT_EQ(r.entries_evicted, 0);
  EXPECT_EQ(r.bytes_freed, 0);
  EXPECT_EQ(r.pinned_kept, 4);
  ExpectConsistent(r, before);
  EXPECT_EQ(MustStats().entries, 4);
}

TEST_P(ContentStoreTest, GcUnderTheLimitEvictsNothing) {
  PutFour();
  const StoreStats before = MustStats();
  for (const int64_t max : {int64_t{10000}, int64_t{1} << 40}) {
    ASSERT_OK_AND_ASSIGN(const GcResult r, store_->CollectGarbage(max, {}));
    EXPECT_EQ(r.entries_evicted, 0);
    EXPECT_EQ(r.bytes_freed, 0);
    EXPECT_EQ(r.pinned_kept, 0);
    ExpectConsistent(r, before);
  }
}

TEST_P(ContentStoreTest, GcZeroEmptiesTheStore) {
  PutFour();
  const StoreStats before = MustStats();
  ASSERT_OK_AND_ASSIGN(const GcResult r, store_->CollectGarbage(0, {}));
  EXPECT_EQ(r.entries_before, 4);
  EXPECT_EQ(r.bytes_before, 10000);
  EXPECT_EQ(r.entries_evicted, 4);
  EXPECT_EQ(r.bytes_freed, 10000);
  ExpectConsistent(r, before);
  EXPECT_THAT(MustList(), IsEmpty());
  for (const Digest& d : {a_, b_, c_, d_}) {
    EXPECT_FALSE(Has(d));
    EXPECT_THAT(store_->Get(d), StatusIs(absl::StatusCode::kNotFound));
  }
  // And again, on the empty store.
  ASSERT_OK_AND_ASSIGN(const GcResult empty, store_->CollectGarbage(0, {}));
  EXPECT_EQ(empty.entries_before, 0);
  EXPECT_EQ(empty.entries_evicted, 0);
}

TEST_P(ContentStoreTest, GcNegativeMaxIsInvalidArgument) {
  PutFour();
  EXPECT_THAT(store_->CollectGarbage(-1, {}), StatusIs(absl::StatusCode::kInvalidArgument));
  const StoreStats stats = MustStats();
  EXPECT_EQ(stats.entries, 4);
  EXPECT_EQ(stats.bytes, 10000);
}

// ---------------------------------------------------------------------------------------
// Blob lifetime.

TEST_P(ContentStoreTest, BlobStaysValidAfterItsEntryIsDeleted) {
  uint64_t seed = 50;
  for (const size_t size : {size_t{100}, kMapThreshold, 1 * kMiB}) {
    SCOPED_TRACE(absl::StrCat("size ", size));
    const std::string bytes = Pattern(size, seed++);
    const Digest d = MustPut(bytes);
    ASSERT_OK_AND_ASSIGN(Blob deleted, store_->Get(d));
    ASSERT_OK(store_->Delete(d));
    EXPECT_THAT(store_->Get(d), StatusIs(absl::StatusCode::kNotFound));
    EXPECT_TRUE(SameBytes(deleted.view(), bytes));

    MustPut(bytes);
    ASSERT_OK_AND_ASSIGN(Blob evicted, store_->Get(d));
    ASSERT_TRUE(store_->CollectGarbage(0, {}).ok());
    EXPECT_THAT(store_->Get(d), StatusIs(absl::StatusCode::kNotFound));
    EXPECT_TRUE(SameBytes(evicted.view(), bytes));

    // Moving a Blob keeps the bytes valid.
    Blob moved = std::move(deleted);
    EXPECT_TRUE(SameBytes(moved.view(), bytes));
    EXPECT_EQ(moved.is_mapped(), is_disk() && size >= kMapThreshold);
  }
}

INSTANTIATE_TEST_SUITE_P(AllStores, ContentStoreTest, ::testing::ValuesIn(AllStoreFactories()),
                         StoreFactoryName);

}  // namespace
}  // namespace mlops
