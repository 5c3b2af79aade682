// ResultCache (mlops/cache/result_cache.h) over an in-memory action cache and a HeldStore (a
// MemoryStore whose Puts the test can hold and fail, and whose lookups run a hook): the
// tiers a lookup goes through, what makes a record a miss and when it is removed, the order
// in which Store writes, results written behind and at once, and verifying calls' values.
//
// No assertion depends on timing (see write_behind_test.cc: a blocked call checked with
// kLetItRun can only pass on a slow machine, never fail).
#include "mlops/cache/result_cache.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/hash/digest.h"
#include "mlops/store/action_cache.h"
#include "mlops/store/action_result.pb.h"
#include "mlops/testing/background.h"
#include "mlops/testing/held_store.h"
#include "mlops/testing/status_matchers.h"

namespace mlops {
namespace {

using ::mlops::test::Background;
using ::mlops::test::HeldStore;
using ::mlops::test::ReleaseAtExit;
using ::mlops::test::StatusIs;
using ::testing::HasSubstr;

Digest KeyOf(absl::string_view name) { return Digest::Of(absl::StrCat("result_cache_test ", name)); }

// A record naming one output per value (names "out0", ...; digests and sizes left to Store).
ActionResult RecordFor(size_t outputs, absl::string_view tag) {
  ActionResult r;
  r.set_execution_id(std::string(tag));
  for (size_t i = 0; i < outputs; ++i) {
    OutputRef* out = r.add_outputs();
    out->set_name(absl::StrCat("out", i));
    out->set_type_name("bytes");
  }
  return r;
}

std::vector<std::string> Values(std::initializer_list<const char*> v) {
  return std::vector<std::string>(v.begin(), v.end());
}

ResultCacheOptions Options(int64_t memory_bytes, bool write_behind = false,
                           int64_t write_behind_bytes = int64_t{1} << 20) {
  ResultCacheOptions o;
  o.memory_bytes = memory_bytes;
  o.write_behind = write_behind;
  o.write_behind_bytes = write_behind_bytes;
  return o;
}

// The values of a hit, as strings.
std::vector<std::string> BytesOf(const CachedResult& entry) {
  std::vector<std::string> out;
  for (const auto& blob : entry.blobs) out.push_back(blob->ToString());
  return out;
}

class ResultCacheTest : public ::testing::Test {
 protected:
  HeldStore store_;
  std::unique_ptr<ActionCache> records_ = ActionCache::InMemory();
};

TEST_F(ResultCacheTest, StoreFillsInDigestsAndSizesAndLookupReturnsTheResult) {
  ResultCache cache(&store_, records_.get(), Options(1 << 20));
  EXPECT_THAT(cache.Lookup(KeyOf("k")), StatusIs(absl::StatusCode::kNotFound));
  ASSERT_OK_AND_ASSIGN(auto stored, cache.Store(KeyOf("k"), RecordFor(2, "e1"),
                                                Values({"alpha", "beta!"})));
  ASSERT_EQ(stored->result.outputs_size(), 2);
  EXPECT_EQ(stored->result.outputs(0).digest(), Digest::Of("alpha").ToHex());
  EXPECT_EQ(stored->result.outputs(1).digest(), Digest::Of("beta!").ToHex());
  EXPECT_EQ(stored->result.outputs(1).size(), 5);
  EXPECT_EQ(stored->bytes, 10);
  EXPECT_EQ(BytesOf(*stored), Values({"alpha", "beta!"}));
  ASSERT_OK_AND_ASSIGN(auto hit, cache.Lookup(KeyOf("k")));
  EXPECT_EQ(hit, stored) << "not answered from memory";
  ASSERT_OK_AND_ASSIGN(const ActionResult record, records_->Get(KeyOf("k")));
  EXPECT_EQ(record.DebugString(), stored->result.DebugString());
  EXPECT_EQ(store_.Stored(Digest::Of("alpha")), "alpha");
}

TEST_F(ResultCacheTest, WithoutTheMemoryTierAHitIsReadFromTheStores) {
  ResultCache cache(&store_, records_.get(), Options(0));
  ASSERT_OK_AND_ASSIGN(auto stored, cache.Store(KeyOf("k"), RecordFor(1, "e"), Values({"v"})));
  ASSERT_OK_AND_ASSIGN(auto hit, cache.Lookup(KeyOf("k")));
  EXPECT_NE(hit, stored);
  EXPECT_EQ(hit->result.DebugString(), stored->result.DebugString());
  EXPECT_EQ(BytesOf(*hit), Values({"v"}));
  EXPECT_EQ(hit->bytes, 1);
}

TEST_F(ResultCacheTest, ReadFromTheStoresAHitIsKeptInMemory) {
  ResultCache writer(&store_, records_.get(), Options(0));
  ASSERT_OK(writer.Store(KeyOf("k"), RecordFor(1, "e"), Values({"v"})).status());
  ResultCache reader(&store_, records_.get(), Options(1 << 20));
  ASSERT_OK_AND_ASSIGN(auto first, reader.Lookup(KeyOf("k")));
  ASSERT_OK(store_.Delete(Digest::Of("v")));  // the disk copy goes; memory answers
  ASSERT_OK_AND_ASSIGN(auto again, reader.Lookup(KeyOf("k")));
  EXPECT_EQ(again, first);
}

TEST_F(ResultCacheTest, DigestsOnlyLookupChecksPresenceWithoutReadingOrKeeping) {
  ResultCache writer(&store_, records_.get(), Options(0));
  ASSERT_OK(writer.Store(KeyOf("k"), RecordFor(1, "e"), Values({"value"})).status());
  ASSERT_OK(store_.inner().CorruptForTesting(Digest::Of("value"), "VALUE"));
  ResultCache reader(&store_, records_.get(), Options(1 << 20));
  // Present, so a hit without its bytes (and not kept: a later loading lookup reads).
  ASSERT_OK_AND_ASSIGN(auto digests, reader.Lookup(KeyOf("k"), /*load=*/false));
  EXPECT_TRUE(digests->blobs.empty());
  EXPECT_EQ(digests->result.outputs(0).digest(), Digest::Of("value").ToHex());
  // Read, the corrupt value makes it a miss.
  EXPECT_THAT(reader.Lookup(KeyOf("k")), StatusIs(absl::StatusCode::kNotFound));
}

// A record whose value is gone is a miss, and is removed: even with the value back, the key
// misses until a result is stored again.
TEST_F(ResultCacheTest, MissingValueIsAMissAndRemovesTheRecord) {
  for (const bool load : {true, false}) {
    SCOPED_TRACE(load ? "loading lookup" : "digests-only lookup");
    ResultCache cache(&store_, records_.get(), Options(0));
    const Digest key = KeyOf(load ? "loaded" : "digests");
    const std::string kept = absl::StrCat("kept ", load), lost = absl::StrCat("lost ", load);
    ASSERT_OK(cache.Store(key, RecordFor(2, "e"), {kept, lost}).status());
    ASSERT_OK(store_.Delete(Digest::Of(lost)));
    absl::StatusOr<std::shared_ptr<const CachedResult>> miss = cache.Lookup(key, load);
    EXPECT_THAT(miss, StatusIs(absl::StatusCode::kNotFound));
    EXPECT_THAT(std::string(miss.status().message()), HasSubstr(Digest::Of(lost).ToHex()));
    EXPECT_THAT(records_->Get(key), StatusIs(absl::StatusCode::kNotFound));
    ASSERT_OK(store_.Put(lost).status());
    EXPECT_THAT(cache.Lookup(key, load), StatusIs(absl::StatusCode::kNotFound));
  }
}

TEST_F(ResultCacheTest, CorruptValueIsAMissAndRemovesTheRecord) {
  ResultCache cache(&store_, records_.get(), Options(0));
  ASSERT_OK(cache.Store(KeyOf("k"), RecordFor(1, "e"), Values({"good bytes"})).status());
  ASSERT_OK(store_.inner().CorruptForTesting(Digest::Of("good bytes"), "bad bytes!"));
  EXPECT_THAT(cache.Lookup(KeyOf("k")), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(records_->Get(KeyOf("k")), StatusIs(absl::StatusCode::kNotFound));
}

// A lookup that finds a value missing removes the record it read, but not the record another
// writer stored for the key meanwhile (between reading the record and checking its values).
TEST_F(ResultCacheTest, MissingValueKeepsARecordStoredMeanwhile) {
  ResultCache cache(&store_, records_.get(), Options(0));
  const Digest key = KeyOf("replaced during the lookup");
  ASSERT_OK(cache.Store(key, RecordFor(1, "stale"), Values({"stale value"})).status());
  ASSERT_OK(store_.Delete(Digest::Of("stale value")));
  ResultCache other(&store_, records_.get(), Options(0));
  store_.OnNextLookup([&] {
    ASSERT_OK(other.Store(key, RecordFor(1, "fresh"), Values({"fresh value"})).status());
  });
  EXPECT_THAT(cache.Lookup(key), StatusIs(absl::StatusCode::kNotFound));
  ASSERT_OK_AND_ASSIGN(auto hit, cache.Lookup(key));
  EXPECT_EQ(hit->result.execution_id(), "fresh");
  EXPECT_EQ(BytesOf(*hit), Values({"fresh value"}));
}

// Another process may read the action cache at any moment: written at once, a record must
// never be there before all of its values are.
TEST_F(ResultCacheTest, StoreWritesEveryValueBeforeTheRecord) {
  ResultCache cache(&store_, records_.get(), Options(1 << 20));
  std::atomic<int> puts{0}, records_early{0};
  store_.OnPut([&](absl::string_view) {
    ++puts;
    if (records_->Get(KeyOf("k")).ok()) ++records_early;
  });
  ASSERT_OK(cache.Store(KeyOf("k"), RecordFor(3, "e"), Values({"a", "b", "c"})).status());
  EXPECT_EQ(puts.load(), 3);
  EXPECT_EQ(records_early.load(), 0);
  EXPECT_TRUE(records_->Get(KeyOf("k")).ok());
}

TEST_F(ResultCacheTest, AFailedStoreStoresNoRecordAndAnswersNothing) {
  ResultCache cache(&store_, records_.get(), Options(1 << 20));
  const absl::Status full = absl::ResourceExhaustedError("write /fake: No space left on device");
  store_.FailNextPut(full);
  EXPECT_EQ(cache.Store(KeyOf("k"), RecordFor(1, "e"), Values({"v"})).status(), full);
  EXPECT_THAT(records_->Get(KeyOf("k")), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(cache.Lookup(KeyOf("k")), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(cache.stored_count(), 0u);
}

TEST_F(ResultCacheTest, WrittenBehindAResultIsAnsweredFromTheQueueUntilWritten) {
  store_.Hold();
  ResultCache cache(&store_, records_.get(), Options(0, /*write_behind=*/true));
  ReleaseAtExit release(store_);
  ASSERT_OK_AND_ASSIGN(auto stored,
                       cache.Store(KeyOf("k"), RecordFor(1, "e"), Values({"queued"})));
  EXPECT_EQ(stored->result.outputs(0).digest(), Digest::Of("queued").ToHex());
  ASSERT_TRUE(store_.WaitForHeld(1));
  EXPECT_THAT(records_->Get(KeyOf("k")), StatusIs(absl::StatusCode::kNotFound));
  ASSERT_OK_AND_ASSIGN(auto hit, cache.Lookup(KeyOf("k")));  // no memory tier: the queue
  EXPECT_EQ(hit, stored);
  store_.Release();
  ASSERT_OK(cache.Flush());
  ASSERT_OK_AND_ASSIGN(const ActionResult record, records_->Get(KeyOf("k")));
  EXPECT_EQ(record.DebugString(), stored->result.DebugString());
  ASSERT_OK_AND_ASSIGN(auto from_disk, cache.Lookup(KeyOf("k")));
  EXPECT_EQ(BytesOf(*from_disk), Values({"queued"}));
}

TEST_F(ResultCacheTest, AFailedWriteBehindIsReportedByFlushOnce) {
  ResultCache cache(&store_, records_.get(), Options(0, /*write_behind=*/true));
  const absl::Status denied = absl::PermissionDeniedError("open /fake/tmp/1: denied");
  store_.FailNextPut(denied);
  ASSERT_OK(cache.Store(KeyOf("k"), RecordFor(1, "e"), Values({"v"})).status());
  EXPECT_EQ(cache.Flush(), denied);
  EXPECT_OK(cache.Flush());
  EXPECT_THAT(cache.Lookup(KeyOf("k")), StatusIs(absl::StatusCode::kNotFound));
}

// A result larger than the write-behind budget is written by Store itself, while the writer
// is busy (held) with a small one; its error comes back from Store, not from Flush.
TEST_F(ResultCacheTest, ResultLargerThanTheBudgetIsWrittenByStoreItself) {
  constexpr int64_t kBudget = 4000;
  store_.Hold("small");
  ResultCache cache(&store_, records_.get(), Options(0, true, kBudget));
  ReleaseAtExit release(store_);
  ASSERT_OK(cache.Store(KeyOf("small"), RecordFor(1, "small"), Values({"small"})).status());
  ASSERT_TRUE(store_.WaitForHeld(1));

  const std::string big(kBudget, 'x');
  ASSERT_OK(cache.Store(KeyOf("big"), RecordFor(2, "big"), {big, "and a second"}).status());
  EXPECT_TRUE(records_->Get(KeyOf("big")).ok()) << "not written although too big to queue";
  EXPECT_EQ(store_.Stored(Digest::Of(big)), big);

  const absl::Status denied = absl::PermissionDeniedError("open /fake/store/tmp/9: denied");
  store_.FailNextPut(denied);
  EXPECT_EQ(cache.Store(KeyOf("big2"), RecordFor(1, "big2"), {std::string(kBudget, 'y')})
                .status(),
            denied);
  EXPECT_THAT(records_->Get(KeyOf("big2")), StatusIs(absl::StatusCode::kNotFound));

  store_.Release();
  EXPECT_OK(cache.Flush());
  EXPECT_TRUE(records_->Get(KeyOf("small")).ok());
  EXPECT_THAT(records_->Get(KeyOf("big2")), StatusIs(absl::StatusCode::kNotFound));
}

// Such a result, for a key whose older result is still being written behind, waits for that
// one: written first, the older record would replace it.
TEST_F(ResultCacheTest, ResultLargerThanTheBudgetIsWrittenAfterAnOlderOneForItsKey) {
  constexpr int64_t kBudget = 4000;
  store_.Hold("old");
  ResultCache cache(&store_, records_.get(), Options(0, true, kBudget));
  ReleaseAtExit release(store_);
  ASSERT_OK(cache.Store(KeyOf("k"), RecordFor(1, "old"), Values({"old"})).status());
  ASSERT_TRUE(store_.WaitForHeld(1));
  absl::Status status = absl::UnknownError("Store did not return");
  Background store_big([&] {
    status = cache.Store(KeyOf("k"), RecordFor(1, "big"), {std::string(kBudget, 'z')}).status();
  });
  std::this_thread::sleep_for(test::kLetItRun);
  EXPECT_FALSE(store_big.done()) << "written while an older result for its key was queued";
  store_.Release();
  store_big.Join();
  EXPECT_OK(status);
  ASSERT_OK(cache.Flush());
  ASSERT_OK_AND_ASSIGN(const ActionResult record, records_->Get(KeyOf("k")));
  EXPECT_EQ(record.execution_id(), "big");
}

TEST_F(ResultCacheTest, StoreValuesStoresTheValuesButNoRecord) {
  ResultCache cache(&store_, records_.get(), Options(1 << 20));
  ASSERT_OK_AND_ASSIGN(auto entry, cache.StoreValues(RecordFor(1, "verify"), Values({"new"})));
  EXPECT_EQ(entry->result.outputs(0).digest(), Digest::Of("new").ToHex());
  EXPECT_EQ(store_.Stored(Digest::Of("new")), "new");
  EXPECT_THAT(cache.Lookup(KeyOf("verify")), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(cache.stored_count(), 0u);
}

TEST_F(ResultCacheTest, StoredCountCountsResultsStored) {
  ResultCache cache(&store_, records_.get(), Options(1 << 20, true));
  EXPECT_EQ(cache.stored_count(), 0u);
  ASSERT_OK(cache.Store(KeyOf("a"), RecordFor(1, "a"), Values({"a"})).status());
  ASSERT_OK(cache.Store(KeyOf("b"), RecordFor(1, "b"), Values({"b"})).status());
  EXPECT_EQ(cache.stored_count(), 2u);
}

}  // namespace
}  // namespace mlops
