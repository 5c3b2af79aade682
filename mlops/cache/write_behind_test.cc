// cache_internal::WriteBehind (the result cache's write-behind queue) against a content
// store that can hold a Put until the test releases it and fail a Put on demand: what
// Pending answers while a write is held, what Drain waits for and reports, the order of
// values and record, backpressure by bytes and by entries, the destructor, many producer
// threads, and WriteValues' refusals. (A result too large for the queue is the result
// cache's to write at once: result_cache_test.)
//
// No assertion depends on timing. Where a test checks that a call has NOT returned yet, the
// call cannot return while the store holds the write the test is holding (a correct writer
// must wait for it), so a slow machine can only make such a check pass, never fail.
#include "mlops/cache/internal/write_behind.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "mlops/cache/result_cache.h"
#include "mlops/hash/digest.h"
#include "mlops/store/action_cache.h"
#include "mlops/store/action_result.pb.h"
#include "mlops/store/content_store.h"
#include "mlops/testing/background.h"
#include "mlops/testing/held_store.h"

namespace mlops {
namespace {

using cache_internal::WriteBehind;
using cache_internal::WriteValues;
using test::Background;
using test::HeldStore;
using test::ReleaseAtExit;

// The bound on queued results, as the result cache sets it.
constexpr int kMaxQueued = ResultCacheOptions::kMaxQueuedResults;

// Whether `cache` holds a record for `key` (whether or not its values are stored).
bool HasRecord(ActionCache& cache, const Digest& key) { return cache.Get(key).ok(); }

Digest KeyOf(absl::string_view name) { return Digest::Of(absl::StrCat("write_behind_test key ", name)); }

// A result with one output per value, tagged with `id` (as its execution id).
std::shared_ptr<const CachedResult> MakeEntry(const std::vector<std::string>& values,
                                              int64_t id) {
  auto e = std::make_shared<CachedResult>();
  e->result.set_execution_id(absl::StrCat(id));
  for (size_t i = 0; i < values.size(); ++i) {
    OutputRef* out = e->result.add_outputs();
    out->set_name(absl::StrCat("out", i));
    out->set_digest(Digest::Of(values[i]).ToHex());
    out->set_size(static_cast<int64_t>(values[i].size()));
    out->set_type_name("bytes");
    e->blobs.push_back(std::make_shared<const Blob>(values[i]));
    e->bytes += static_cast<int64_t>(values[i].size());
  }
  return e;
}

// Checks that the store holds every value of `entry` with the right bytes and that the
// cache returns its record.
void ExpectWritten(HeldStore& store, ActionCache& cache, const Digest& key,
                   const CachedResult& entry) {
  for (size_t i = 0; i < entry.blobs.size(); ++i) {
    EXPECT_EQ(store.Stored(Digest::Of(entry.blobs[i]->view())), entry.blobs[i]->view())
        << "value " << i << " of record " << entry.result.execution_id();
  }
  absl::StatusOr<ActionResult> got = cache.Get(key);
  ASSERT_TRUE(got.ok()) << "record " << entry.result.execution_id() << ": " << got.status();
  EXPECT_EQ(got->DebugString(), entry.result.DebugString());
}

// ---------------------------------------------------------------------------------------

TEST(WriteBehindTest, PendingAnswersWhileTheWriteIsHeldAndDrainWaitsForIt) {
  HeldStore store;
  std::unique_ptr<ActionCache> cache = ActionCache::InMemory();
  store.Hold();
  WriteBehind writer(&store, cache.get(), int64_t{1} << 20, kMaxQueued);
  ReleaseAtExit release(store);
  const Digest k1 = KeyOf("1"), k2 = KeyOf("2");
  const auto e1 = MakeEntry({"alpha", "beta"}, 1);
  const auto e2 = MakeEntry({"gamma"}, 2);
  writer.Enqueue(k1, e1);
  writer.Enqueue(k2, e2);
  ASSERT_TRUE(store.WaitForHeld(1));  // the writer is storing e1's first value

  EXPECT_EQ(writer.Pending(k1), e1);
  EXPECT_EQ(writer.Pending(k2), e2);
  EXPECT_EQ(writer.Pending(KeyOf("never queued")), nullptr);
  EXPECT_FALSE(HasRecord(*cache, k1));
  EXPECT_FALSE(HasRecord(*cache, k2));

  absl::Status drained_status = absl::UnknownError("Drain did not return");
  Background drain([&] { drained_status = writer.Drain(); });
  std::this_thread::sleep_for(test::kLetItRun);
  EXPECT_FALSE(drain.done()) << "Drain returned while the first write was still held";
  EXPECT_EQ(writer.Pending(k1), e1);

  store.Release();
  drain.Join();
  EXPECT_TRUE(drained_status.ok()) << drained_status;
  EXPECT_EQ(writer.Pending(k1), nullptr);
  EXPECT_EQ(writer.Pending(k2), nullptr);
  ExpectWritten(store, *cache, k1, *e1);
  ExpectWritten(store, *cache, k2, *e2);
  EXPECT_TRUE(writer.Drain().ok());  // nothing queued: returns at once
}

TEST(WriteBehindTest, DrainWithNothingQueuedReturnsOk) {
  HeldStore store;
  std::unique_ptr<ActionCache> cache = ActionCache::InMemory();
  WriteBehind writer(&store, cache.get(), int64_t{1} << 20, kMaxQueued);
  ReleaseAtExit release(store);
  EXPECT_TRUE(writer.Drain().ok());
  EXPECT_EQ(store.puts_started(), 0);
}

// Another process may read the action cache at any moment: a record must never be there
// before all of its values are.
TEST(WriteBehindTest, EveryValueIsStoredBeforeItsRecord) {
  HeldStore store;
  std::unique_ptr<ActionCache> cache = ActionCache::InMemory();
  constexpr int kEntries = 20;
  absl::flat_hash_map<std::string, Digest> key_of_value;
  std::vector<std::shared_ptr<const CachedResult>> entries;
  for (int i = 0; i < kEntries; ++i) {
    std::vector<std::string> values;
    for (int j = 0; j < 3; ++j) {
      values.push_back(absl::StrCat("entry ", i, " value ", j));
      key_of_value[values.back()] = KeyOf(absl::StrCat(i));
    }
    entries.push_back(MakeEntry(values, i));
  }
  std::atomic<int> puts_checked{0};
  std::atomic<int> records_early{0};
  store.OnPut([&](absl::string_view bytes) {
    auto it = key_of_value.find(std::string(bytes));
    if (it == key_of_value.end()) return;
    ++puts_checked;
    if (HasRecord(*cache, it->second)) ++records_early;
  });
  WriteBehind writer(&store, cache.get(), int64_t{1} << 20, kMaxQueued);
  ReleaseAtExit release(store);
  for (int i = 0; i < kEntries; ++i) {
    writer.Enqueue(KeyOf(absl::StrCat(i)), entries[static_cast<size_t>(i)]);
  }
  ASSERT_TRUE(writer.Drain().ok());
  EXPECT_EQ(puts_checked.load(), kEntries * 3);
  EXPECT_EQ(records_early.load(), 0) << "a record was stored before one of its values";
  for (int i = 0; i < kEntries; ++i) {
    ExpectWritten(store, *cache, KeyOf(absl::StrCat(i)), *entries[static_cast<size_t>(i)]);
  }
}

TEST(WriteBehindTest, FailedWriteIsReportedByTheNextDrainOnceAndLeavesNoRecord) {
  HeldStore store;
  std::unique_ptr<ActionCache> cache = ActionCache::InMemory();
  WriteBehind writer(&store, cache.get(), int64_t{1} << 20, kMaxQueued);
  ReleaseAtExit release(store);
  const absl::Status disk_full =
      absl::ResourceExhaustedError("write /fake/store/tmp/123.0: No space left on device");
  store.FailNextPut(disk_full);
  const Digest bad = KeyOf("bad"), good = KeyOf("good");
  const auto bad_entry = MakeEntry({"first value", "second value"}, 1);
  const auto good_entry = MakeEntry({"another value"}, 2);
  writer.Enqueue(bad, bad_entry);  // a queued write's error comes from Drain
  writer.Enqueue(good, good_entry);

  EXPECT_EQ(writer.Drain(), disk_full);
  EXPECT_TRUE(writer.Drain().ok()) << "the error was reported twice";
  EXPECT_FALSE(HasRecord(*cache, bad)) << "a record was stored although a value failed";
  EXPECT_EQ(writer.Pending(bad), nullptr);
  // Later writes go on.
  ExpectWritten(store, *cache, good, *good_entry);

  // Two failures before one Drain: the first is reported, and only once.
  store.FailNextPut(absl::PermissionDeniedError("first"));
  store.FailNextPut(absl::PermissionDeniedError("second"));
  writer.Enqueue(KeyOf("a"), MakeEntry({"a"}, 3));
  writer.Enqueue(KeyOf("b"), MakeEntry({"b"}, 4));
  EXPECT_EQ(writer.Drain(), absl::PermissionDeniedError("first"));
  EXPECT_TRUE(writer.Drain().ok());
  EXPECT_FALSE(HasRecord(*cache, KeyOf("a")));
  EXPECT_FALSE(HasRecord(*cache, KeyOf("b")));
}

TEST(WriteBehindTest, EnqueueWaitsWhileTheQueuedBytesWouldExceedTheBudget) {
  HeldStore store;
  std::unique_ptr<ActionCache> cache = ActionCache::InMemory();
  // Each entry costs its 1000 bytes plus 1 KiB for the record: one fits, two do not.
  constexpr int64_t kBudget = 3000;
  const std::string v1(1000, 'a'), v2(1000, 'b');
  store.Hold();
  WriteBehind writer(&store, cache.get(), kBudget, kMaxQueued);
  ReleaseAtExit release(store);
  const auto e1 = MakeEntry({v1}, 1);
  const auto e2 = MakeEntry({v2}, 2);
  writer.Enqueue(KeyOf("1"), e1);
  ASSERT_TRUE(store.WaitForHeld(1));

  Background enqueue([&] { writer.Enqueue(KeyOf("2"), e2); });
  std::this_thread::sleep_for(test::kLetItRun);
  // e1's bytes are queued until its write ends, which the store is holding.
  EXPECT_FALSE(enqueue.done()) << "Enqueue returned although the queue was over its budget";

  store.Release();
  enqueue.Join();
  ASSERT_TRUE(writer.Drain().ok());
  ExpectWritten(store, *cache, KeyOf("1"), *e1);
  ExpectWritten(store, *cache, KeyOf("2"), *e2);
}

TEST(WriteBehindTest, EnqueueWaitsWhileMaxPendingEntriesAreQueued) {
  HeldStore store;
  std::unique_ptr<ActionCache> cache = ActionCache::InMemory();
  store.Hold();
  WriteBehind writer(&store, cache.get(), int64_t{1} << 30, kMaxQueued);
  ReleaseAtExit release(store);
  const int n = kMaxQueued;
  std::vector<std::shared_ptr<const CachedResult>> entries;
  for (int i = 0; i <= n; ++i) entries.push_back(MakeEntry({absl::StrCat("v", i)}, i));
  // The writer holds the first in its Put; the queue (that one included) takes n in all.
  for (int i = 0; i < n; ++i) {
    writer.Enqueue(KeyOf(absl::StrCat(i)), entries[static_cast<size_t>(i)]);
  }
  ASSERT_TRUE(store.WaitForHeld(1));

  Background enqueue([&] { writer.Enqueue(KeyOf(absl::StrCat(n)), entries.back()); });
  std::this_thread::sleep_for(test::kLetItRun);
  EXPECT_FALSE(enqueue.done()) << "Enqueue returned with " << n << " entries already queued";
  EXPECT_EQ(writer.Pending(KeyOf(absl::StrCat(n))), nullptr);

  // The writer took what was queued as one batch: room comes when that batch is written.
  store.Release();
  enqueue.Join();
  ASSERT_TRUE(writer.Drain().ok());
  for (int i = 0; i <= n; ++i) {
    ExpectWritten(store, *cache, KeyOf(absl::StrCat(i)), *entries[static_cast<size_t>(i)]);
  }
}

TEST(WriteBehindTest, DestructorWritesEverythingQueued) {
  HeldStore store;
  std::unique_ptr<ActionCache> cache = ActionCache::InMemory();
  constexpr int kEntries = 200;
  std::vector<std::shared_ptr<const CachedResult>> entries;
  store.Hold();
  auto writer = std::make_unique<WriteBehind>(&store, cache.get(), int64_t{1} << 20, kMaxQueued);
  ReleaseAtExit release(store);
  for (int i = 0; i < kEntries; ++i) {
    entries.push_back(MakeEntry({absl::StrCat("value ", i), absl::StrCat("other ", i)}, i));
    writer->Enqueue(KeyOf(absl::StrCat(i)), entries.back());
  }
  ASSERT_TRUE(store.WaitForHeld(1));
  EXPECT_FALSE(HasRecord(*cache, KeyOf(absl::StrCat(kEntries - 1))));
  store.Release();
  writer.reset();  // no Drain
  for (int i = 0; i < kEntries; ++i) {
    ExpectWritten(store, *cache, KeyOf(absl::StrCat(i)), *entries[static_cast<size_t>(i)]);
  }
}

// Several threads queue more than kMaxPendingEntries results in all, each thread also
// re-queueing one key of its own over and over. While the writer is held, exactly
// kMaxPendingEntries get in. Pending(key) is always the newest entry for the key (or null
// once that is written), and in the end every result is stored and each repeated key holds
// its newest record.
TEST(WriteBehindTest, ManyThreadsQueueMoreThanTheEntryBoundAndEverythingIsWritten) {
  HeldStore store;
  std::unique_ptr<ActionCache> cache = ActionCache::InMemory();
  constexpr int kThreads = 4;
  constexpr int kPerThread = 600;  // 2400 in all, over twice the bound
  constexpr int kRepeatEvery = 7;  // every 7th entry of a thread goes to its repeated key
  static_assert(kThreads * kPerThread > 2 * kMaxQueued, "");
  store.Hold();
  WriteBehind writer(&store, cache.get(), int64_t{1} << 30, kMaxQueued);
  ReleaseAtExit release(store);

  std::atomic<int> enqueued{0};
  std::atomic<int> pending_not_newest{0};
  std::vector<std::vector<std::pair<Digest, std::shared_ptr<const CachedResult>>>> queued(
      kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const Digest repeated = KeyOf(absl::StrCat("repeated by ", t));
      for (int i = 0; i < kPerThread; ++i) {
        const bool repeat = i % kRepeatEvery == 0;
        const Digest key = repeat ? repeated : KeyOf(absl::StrCat(t, "/", i));
        const auto entry = MakeEntry({absl::StrCat("thread ", t, " entry ", i)}, t * 100000 + i);
        writer.Enqueue(key, entry);
        ++enqueued;
        const std::shared_ptr<const CachedResult> pending = writer.Pending(key);
        if (pending != nullptr && pending != entry) ++pending_not_newest;
        queued[static_cast<size_t>(t)].emplace_back(key, entry);
      }
    });
  }
  EXPECT_TRUE(store.WaitForHeld(1));
  // Wait (bounded) until the queue is full: then nobody gets further while the writer is held.
  const auto give_up = std::chrono::steady_clock::now() + test::kGiveUp;
  while (enqueued.load() < kMaxQueued &&
         std::chrono::steady_clock::now() < give_up) {
    std::this_thread::yield();
  }
  EXPECT_EQ(enqueued.load(), kMaxQueued);
  std::this_thread::sleep_for(test::kLetItRun);
  EXPECT_EQ(enqueued.load(), kMaxQueued)
      << "more than kMaxPendingEntries results were queued while none could be written";

  store.Release();
  for (std::thread& t : threads) t.join();
  ASSERT_TRUE(writer.Drain().ok());
  EXPECT_EQ(pending_not_newest.load(), 0) << "Pending returned an older entry for a key";

  for (int t = 0; t < kThreads; ++t) {
    const Digest repeated = KeyOf(absl::StrCat("repeated by ", t));
    std::shared_ptr<const CachedResult> newest;
    for (const auto& [key, entry] : queued[static_cast<size_t>(t)]) {
      EXPECT_EQ(writer.Pending(key), nullptr);
      // Every value is stored, including those of superseded entries for the repeated key.
      EXPECT_EQ(store.Stored(Digest::Of(entry->blobs[0]->view())), entry->blobs[0]->view());
      if (key == repeated) {
        newest = entry;
      } else {
        ExpectWritten(store, *cache, key, *entry);
      }
    }
    ASSERT_NE(newest, nullptr);
    ExpectWritten(store, *cache, repeated, *newest);  // the newest record wins
  }
}

// While an older entry of a key is being written, Pending already answers the newer one,
// and still does after the older one is written.
TEST(WriteBehindTest, PendingIsTheNewestEntryForARepeatedKey) {
  HeldStore store;
  std::unique_ptr<ActionCache> cache = ActionCache::InMemory();
  store.Hold();
  WriteBehind writer(&store, cache.get(), int64_t{1} << 20, kMaxQueued);
  ReleaseAtExit release(store);
  const Digest key = KeyOf("k");
  const auto older = MakeEntry({"older"}, 1);
  const auto newer = MakeEntry({"newer"}, 2);
  writer.Enqueue(key, older);
  ASSERT_TRUE(store.WaitForHeld(1));  // older's value
  writer.Enqueue(key, newer);
  EXPECT_EQ(writer.Pending(key), newer);
  store.Allow(1);
  ASSERT_TRUE(store.WaitForHeld(2));  // newer's value: older is written
  absl::StatusOr<ActionResult> record = cache.get()->Get(key);
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->execution_id(), "1");
  EXPECT_EQ(writer.Pending(key), newer) << "writing the older entry forgot the newer one";
  store.Release();
  ASSERT_TRUE(writer.Drain().ok());
  EXPECT_EQ(writer.Pending(key), nullptr);
  ExpectWritten(store, *cache, key, *newer);
}

TEST(WriteValuesTest, StoresEveryValueAndReturnsTheDigests) {
  HeldStore store;
  const auto entry = MakeEntry({"one", "two"}, 7);
  absl::StatusOr<std::vector<Digest>> digests = WriteValues(store, *entry);
  ASSERT_TRUE(digests.ok()) << digests.status();
  EXPECT_EQ(*digests, (std::vector<Digest>{Digest::Of("one"), Digest::Of("two")}));
  EXPECT_EQ(store.Stored(Digest::Of("one")), "one");
  EXPECT_EQ(store.Stored(Digest::Of("two")), "two");
  // Outputs without a digest yet take the one the store computes.
  auto unhashed = std::make_shared<CachedResult>(*MakeEntry({"three"}, 8));
  unhashed->result.mutable_outputs(0)->clear_digest();
  digests = WriteValues(store, *unhashed);
  ASSERT_TRUE(digests.ok()) << digests.status();
  EXPECT_EQ(*digests, std::vector<Digest>{Digest::Of("three")});
}

TEST(WriteValuesTest, RefusesABlobThatDoesNotHashToTheRecordedDigest) {
  HeldStore store;
  std::unique_ptr<ActionCache> cache = ActionCache::InMemory();
  auto entry = std::make_shared<CachedResult>(*MakeEntry({"what the record says", "fine"}, 1));
  entry->blobs[0] = std::make_shared<const Blob>(std::string("something else"));
  const absl::StatusOr<std::vector<Digest>> s = WriteValues(store, *entry);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find(Digest::Of("what the record says").ToHex()),
            absl::string_view::npos)
      << s.status();

  // Also when the writer thread meets it: Drain reports it, and no record is stored.
  WriteBehind writer(&store, cache.get(), int64_t{1} << 20, kMaxQueued);
  ReleaseAtExit release(store);
  writer.Enqueue(KeyOf("mismatch, queued"), entry);
  EXPECT_FALSE(writer.Drain().ok());
  EXPECT_FALSE(HasRecord(*cache, KeyOf("mismatch, queued")));
}

TEST(WriteValuesTest, RefusesWhenTheNumberOfBlobsIsNotTheNumberOfOutputs) {
  HeldStore store;
  auto fewer = std::make_shared<CachedResult>(*MakeEntry({"a", "b"}, 1));
  fewer->blobs.pop_back();
  EXPECT_FALSE(WriteValues(store, *fewer).ok());

  auto more = std::make_shared<CachedResult>(*MakeEntry({"c"}, 2));
  more->blobs.push_back(std::make_shared<const Blob>(std::string("extra")));
  EXPECT_FALSE(WriteValues(store, *more).ok());

  // A record of no outputs needs no blobs; blobs without outputs are refused.
  auto none = std::make_shared<CachedResult>(*MakeEntry({}, 3));
  EXPECT_TRUE(WriteValues(store, *none).ok());
  none->blobs.push_back(std::make_shared<const Blob>(std::string("stray")));
  EXPECT_FALSE(WriteValues(store, *none).ok());
  EXPECT_EQ(store.puts_started(), 0) << "values were stored for a result that was refused";
}

}  // namespace
}  // namespace mlops
