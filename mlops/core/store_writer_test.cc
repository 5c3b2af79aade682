// core_internal::StoreWriter (the Workspace's write-behind) against a content store that can
// hold a Put until the test releases it and fail a Put on demand: what Pending answers while
// a write is held, what Drain waits for and reports, the order of values and record,
// backpressure by bytes and by entries, entries larger than the whole budget, the
// destructor, many producer threads, and WriteResult's refusals.
//
// No assertion depends on timing. Where a test checks that a call has NOT returned yet, the
// call cannot return while the store holds the write the test is holding (a correct writer
// must wait for it), so a slow machine can only make such a check pass, never fail.
#include "mlops/core/internal/store_writer.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "mlops/hash/digest.h"
#include "mlops/store/action_cache.h"
#include "mlops/store/action_result.pb.h"
#include "mlops/store/content_store.h"
#include "mlops/store/memory_store.h"

namespace mlops {
namespace {

using core_internal::CachedResult;
using core_internal::StoreWriter;
using core_internal::WriteResult;

// How long a helper waits for something that must happen soon (a writer reaching a Put)
// before it gives up and fails the test instead of hanging it. Never reached when the code
// works; not a performance threshold.
constexpr std::chrono::seconds kGiveUp{120};
// How long a test lets a call that must stay blocked run before it checks that it has not
// returned. A correct writer cannot return in this time whatever the machine's speed; a
// short value only makes a broken writer harder to catch.
constexpr std::chrono::milliseconds kLetItRun{100};

// While set on a thread, FakeStore::Contains says yes to every digest, so that
// ActionCache::Get on that thread answers only "is there a record?" (an in-memory cache
// otherwise also checks, and removes a record whose values are missing).
thread_local bool t_claim_every_value = false;

// A MemoryStore whose Puts the test can hold (until it allows them), fail, and watch.
class FakeStore : public ContentStore {
 public:
  absl::StatusOr<Digest> Put(absl::string_view bytes) override {
    std::function<void(absl::string_view)> hook;
    {
      std::unique_lock<std::mutex> lock(mu_);
      ++puts_started_;
      const bool held = hold_ && (hold_only_.empty() || hold_only_ == bytes);
      if (held) {
        ++held_;
        cv_.notify_all();
        cv_.wait(lock, [&] { return !hold_ || permits_ > 0; });
        if (hold_) --permits_;
      }
      if (!failures_.empty()) {
        const absl::Status s = failures_.front();
        failures_.pop_front();
        return s;
      }
      hook = on_put_;
    }
    if (hook) hook(bytes);
    return inner_.Put(bytes);
  }
  absl::StatusOr<std::unique_ptr<BlobWriter>> NewWriter() override { return inner_.NewWriter(); }
  absl::StatusOr<Blob> Get(const Digest& digest) override { return inner_.Get(digest); }
  absl::StatusOr<bool> Contains(const Digest& digest) override {
    if (t_claim_every_value) return true;
    return inner_.Contains(digest);
  }
  absl::Status Delete(const Digest& digest) override { return inner_.Delete(digest); }
  absl::StatusOr<std::vector<StoreEntry>> List() override { return inner_.List(); }
  absl::StatusOr<StoreStats> Stats() override { return inner_.Stats(); }

  // Holds every later Put (or only Puts of exactly `only`, if given) until allowed.
  void Hold(std::string only = "") {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = true;
    hold_only_ = std::move(only);
    permits_ = 0;
  }
  // Lets `n` held Puts through.
  void Allow(int n) {
    std::lock_guard<std::mutex> lock(mu_);
    permits_ += n;
    cv_.notify_all();
  }
  // Lets every Put through, now and later.
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = false;
    cv_.notify_all();
  }
  // Waits until `n` Puts in all (since the store was made) have been held; false if that
  // did not happen (a test failure).
  bool WaitForHeld(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kGiveUp, [&] { return held_ >= n; });
  }
  // The next Put (after any hold) fails with `status`, storing nothing.
  void FailNextPut(absl::Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    failures_.push_back(std::move(status));
  }
  // Called on every Put that is about to store, before it stores, on the Put's thread.
  void OnPut(std::function<void(absl::string_view)> hook) {
    std::lock_guard<std::mutex> lock(mu_);
    on_put_ = std::move(hook);
  }
  int64_t puts_started() const {
    std::lock_guard<std::mutex> lock(mu_);
    return puts_started_;
  }
  // The stored bytes for `digest`, or "(absent)".
  std::string Stored(const Digest& digest) {
    absl::StatusOr<Blob> blob = inner_.Get(digest);
    return blob.ok() ? blob->ToString() : std::string("(absent)");
  }

 private:
  MemoryStore inner_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool hold_ = false;
  std::string hold_only_;
  int permits_ = 0;
  int held_ = 0;  // Puts ever held
  int64_t puts_started_ = 0;
  std::deque<absl::Status> failures_;
  std::function<void(absl::string_view)> on_put_;
};

// Whether `cache` holds a record for `key`, whether or not its values are stored.
bool HasRecord(ActionCache& cache, const Digest& key) {
  t_claim_every_value = true;
  const absl::StatusOr<ActionResult> r = cache.Get(key);
  t_claim_every_value = false;
  return r.ok();
}

Digest KeyOf(absl::string_view name) { return Digest::Of(absl::StrCat("store_writer_test key ", name)); }

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
void ExpectWritten(FakeStore& store, ActionCache& cache, const Digest& key,
                   const CachedResult& entry) {
  for (size_t i = 0; i < entry.blobs.size(); ++i) {
    EXPECT_EQ(store.Stored(Digest::Of(entry.blobs[i]->view())), entry.blobs[i]->view())
        << "value " << i << " of record " << entry.result.execution_id();
  }
  absl::StatusOr<ActionResult> got = cache.Get(key);
  ASSERT_TRUE(got.ok()) << "record " << entry.result.execution_id() << ": " << got.status();
  EXPECT_EQ(got->DebugString(), entry.result.DebugString());
}

// Releases every held Put when it goes out of scope: declared after a StoreWriter, it lets
// the writer's destructor finish when an ASSERT ends a test early.
class ReleaseAtExit {
 public:
  explicit ReleaseAtExit(FakeStore& store) : store_(store) {}
  ~ReleaseAtExit() { store_.Release(); }

 private:
  FakeStore& store_;
};

// Runs `fn` on a new thread and tells whether it has returned.
class Background {
 public:
  explicit Background(std::function<void()> fn)
      : thread_([this, fn = std::move(fn)] {
          fn();
          done_.store(true);
        }) {}
  ~Background() { Join(); }
  bool done() const { return done_.load(); }
  void Join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// ---------------------------------------------------------------------------------------

TEST(StoreWriterTest, PendingAnswersWhileTheWriteIsHeldAndDrainWaitsForIt) {
  FakeStore store;
  std::unique_ptr<ActionCache> cache = ActionCache::InMemory(&store);
  store.Hold();
  StoreWriter writer(&store, cache.get(), int64_t{1} << 20);
  ReleaseAtExit release(store);
  const Digest k1 = KeyOf("1"), k2 = KeyOf("2");
  const auto e1 = MakeEntry({"alpha", "beta"}, 1);
  const auto e2 = MakeEntry({"gamma"}, 2);
  ASSERT_TRUE(writer.Enqueue(k1, e1).ok());
  ASSERT_TRUE(writer.Enqueue(k2, e2).ok());
  ASSERT_TRUE(store.WaitForHeld(1));  // the writer is storing e1's first value

  EXPECT_EQ(writer.Pending(k1), e1);
  EXPECT_EQ(writer.Pending(k2), e2);
  EXPECT_EQ(writer.Pending(KeyOf("never queued")), nullptr);
  EXPECT_FALSE(HasRecord(*cache, k1));
  EXPECT_FALSE(HasRecord(*cache, k2));

  absl::Status drained_status = absl::UnknownError("Drain did not return");
  Background drain([&] { drained_status = writer.Drain(); });
  std::this_thread::sleep_for(kLetItRun);
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

TEST(StoreWriterTest, DrainWithNothingQueuedReturnsOk) {
  FakeStore store;
  std::unique_ptr<ActionCache> cache = ActionCache::InMemory(&store);
  StoreWriter writer(&store, cache.get(), int64_t{1} << 20);
  ReleaseAtExit release(store);
  EXPECT_TRUE(writer.Drain().ok());
  EXPECT_EQ(store.puts_started(), 0);
}

// Another process may read the action cache at any moment: a record must never be there
// before all of its values are.
TEST(StoreWriterTest, EveryValueIsStoredBeforeItsRecord) {
  FakeStore store;
  std::unique_ptr<ActionCache> cache = ActionCache::InMemory(&store);
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
  StoreWriter writer(&store, cache.get(), int64_t{1} << 20);
  ReleaseAtExit release(store);
  for (int i = 0; i < kEntries; ++i) {
    ASSERT_TRUE(writer.Enqueue(KeyOf(absl::StrCat(i)), entries[static_cast<size_t>(i)]).ok());
  }
  ASSERT_TRUE(writer.Drain().ok());
  EXPECT_EQ(puts_checked.load(), kEntries * 3);
  EXPECT_EQ(records_early.load(), 0) << "a record was stored before one of its values";
  for (int i = 0; i < kEntries; ++i) {
    ExpectWritten(store, *cache, KeyOf(absl::StrCat(i)), *entries[static_cast<size_t>(i)]);
  }
}

TEST(StoreWriterTest, FailedWriteIsReportedByTheNextDrainOnceAndLeavesNoRecord) {
  FakeStore store;
  std::unique_ptr<ActionCache> cache = ActionCache::InMemory(&store);
  StoreWriter writer(&store, cache.get(), int64_t{1} << 20);
  ReleaseAtExit release(store);
  const absl::Status disk_full =
      absl::ResourceExhaustedError("write /fake/store/tmp/123.0: No space left on device");
  store.FailNextPut(disk_full);
  const Digest bad = KeyOf("bad"), good = KeyOf("good");
  const auto bad_entry = MakeEntry({"first value", "second value"}, 1);
  const auto good_entry = MakeEntry({"another value"}, 2);
  EXPECT_TRUE(writer.Enqueue(bad, bad_entry).ok()) << "a queued write's error came from Enqueue";
  EXPECT_TRUE(writer.Enqueue(good, good_entry).ok());

  EXPECT_EQ(writer.Drain(), disk_full);
  EXPECT_TRUE(writer.Drain().ok()) << "the error was reported twice";
  EXPECT_FALSE(HasRecord(*cache, bad)) << "a record was stored although a value failed";
  EXPECT_EQ(writer.Pending(bad), nullptr);
  // Later writes go on.
  ExpectWritten(store, *cache, good, *good_entry);

  // Two failures before one Drain: the first is reported, and only once.
  store.FailNextPut(absl::PermissionDeniedError("first"));
  store.FailNextPut(absl::PermissionDeniedError("second"));
  ASSERT_TRUE(writer.Enqueue(KeyOf("a"), MakeEntry({"a"}, 3)).ok());
  ASSERT_TRUE(writer.Enqueue(KeyOf("b"), MakeEntry({"b"}, 4)).ok());
  EXPECT_EQ(writer.Drain(), absl::PermissionDeniedError("first"));
  EXPECT_TRUE(writer.Drain().ok());
  EXPECT_FALSE(HasRecord(*cache, KeyOf("a")));
  EXPECT_FALSE(HasRecord(*cache, KeyOf("b")));
}

TEST(StoreWriterTest, EnqueueWaitsWhileTheQueuedBytesWouldExceedTheBudget) {
  FakeStore store;
  std::unique_ptr<ActionCache> cache = ActionCache::InMemory(&store);
  // Each entry costs its 1000 bytes plus 1 KiB for the record: one fits, two do not.
  constexpr int64_t kBudget = 3000;
  const std::string v1(1000, 'a'), v2(1000, 'b');
  store.Hold();
  StoreWriter writer(&store, cache.get(), kBudget);
  ReleaseAtExit release(store);
  const auto e1 = MakeEntry({v1}, 1);
  const auto e2 = MakeEntry({v2}, 2);
  ASSERT_TRUE(writer.Enqueue(KeyOf("1"), e1).ok());
  ASSERT_TRUE(store.WaitForHeld(1));

  absl::Status second = absl::UnknownError("Enqueue did not return");
  Background enqueue([&] { second = writer.Enqueue(KeyOf("2"), e2); });
  std::this_thread::sleep_for(kLetItRun);
  // e1's bytes are queued until its write ends, which the store is holding.
  EXPECT_FALSE(enqueue.done()) << "Enqueue returned although the queue was over its budget";

  store.Release();
  enqueue.Join();
  EXPECT_TRUE(second.ok()) << second;
  ASSERT_TRUE(writer.Drain().ok());
  ExpectWritten(store, *cache, KeyOf("1"), *e1);
  ExpectWritten(store, *cache, KeyOf("2"), *e2);
}

TEST(StoreWriterTest, EnqueueWaitsWhileMaxPendingEntriesAreQueued) {
  FakeStore store;
  std::unique_ptr<ActionCache> cache = ActionCache::InMemory(&store);
  store.Hold();
  StoreWriter writer(&store, cache.get(), int64_t{1} << 30);
  ReleaseAtExit release(store);
  const int n = StoreWriter::kMaxPendingEntries;
  std::vector<std::shared_ptr<const CachedResult>> entries;
  for (int i = 0; i <= n; ++i) entries.push_back(MakeEntry({absl::StrCat("v", i)}, i));
  // The writer holds the first in its Put; the queue (that one included) takes n in all.
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(writer.Enqueue(KeyOf(absl::StrCat(i)), entries[static_cast<size_t>(i)]).ok());
  }
  ASSERT_TRUE(store.WaitForHeld(1));

  absl::Status last = absl::UnknownError("Enqueue did not return");
  Background enqueue([&] { last = writer.Enqueue(KeyOf(absl::StrCat(n)), entries.back()); });
  std::this_thread::sleep_for(kLetItRun);
  EXPECT_FALSE(enqueue.done()) << "Enqueue returned with " << n << " entries already queued";
  EXPECT_EQ(writer.Pending(KeyOf(absl::StrCat(n))), nullptr);

  // The writer took what was queued as one batch: room comes when that batch is written.
  store.Release();
  enqueue.Join();
  EXPECT_TRUE(last.ok()) << last;
  ASSERT_TRUE(writer.Drain().ok());
  for (int i = 0; i <= n; ++i) {
    ExpectWritten(store, *cache, KeyOf(absl::StrCat(i)), *entries[static_cast<size_t>(i)]);
  }
}

TEST(StoreWriterTest, EntryLargerThanTheBudgetIsWrittenByEnqueueItself) {
  FakeStore store;
  std::unique_ptr<ActionCache> cache = ActionCache::InMemory(&store);
  constexpr int64_t kBudget = 4000;
  // The writer thread is busy (held) with a small entry meanwhile.
  store.Hold("small");
  StoreWriter writer(&store, cache.get(), kBudget);
  ReleaseAtExit release(store);
  const auto small = MakeEntry({"small"}, 1);
  ASSERT_TRUE(writer.Enqueue(KeyOf("small"), small).ok());
  ASSERT_TRUE(store.WaitForHeld(1));

  const auto big = MakeEntry({std::string(kBudget, 'x'), "and a second value"}, 2);
  ASSERT_TRUE(writer.Enqueue(KeyOf("big"), big).ok());
  ExpectWritten(store, *cache, KeyOf("big"), *big);  // already, although the writer is held
  EXPECT_EQ(writer.Pending(KeyOf("big")), nullptr);
  EXPECT_EQ(writer.Pending(KeyOf("small")), small);

  // Its error comes back from Enqueue (and not again from Drain).
  const absl::Status denied = absl::PermissionDeniedError("open /fake/store/tmp/9: denied");
  store.FailNextPut(denied);
  const auto big2 = MakeEntry({std::string(kBudget, 'y')}, 3);
  EXPECT_EQ(writer.Enqueue(KeyOf("big2"), big2), denied);
  EXPECT_FALSE(HasRecord(*cache, KeyOf("big2")));
  EXPECT_EQ(writer.Pending(KeyOf("big2")), nullptr);

  store.Release();
  EXPECT_TRUE(writer.Drain().ok());
  ExpectWritten(store, *cache, KeyOf("small"), *small);
  EXPECT_FALSE(HasRecord(*cache, KeyOf("big2")));
}

// An entry larger than the budget, for a key whose older entry is still being written,
// waits for that one: written first, the older one would replace it.
TEST(StoreWriterTest, EntryLargerThanTheBudgetIsWrittenAfterAnOlderOneForItsKey) {
  FakeStore store;
  std::unique_ptr<ActionCache> cache = ActionCache::InMemory(&store);
  constexpr int64_t kBudget = 4000;
  store.Hold("old");
  StoreWriter writer(&store, cache.get(), kBudget);
  ReleaseAtExit release(store);
  const auto old_entry = MakeEntry({"old"}, 1);
  ASSERT_TRUE(writer.Enqueue(KeyOf("k"), old_entry).ok());
  ASSERT_TRUE(store.WaitForHeld(1));
  const auto big = MakeEntry({std::string(kBudget, 'z')}, 2);
  absl::Status status = absl::UnknownError("Enqueue did not return");
  Background enqueue([&] { status = writer.Enqueue(KeyOf("k"), big); });
  std::this_thread::sleep_for(kLetItRun);
  EXPECT_FALSE(enqueue.done()) << "written while an older entry for its key was queued";
  store.Release();
  enqueue.Join();
  EXPECT_TRUE(status.ok()) << status;
  ASSERT_TRUE(writer.Drain().ok());
  ExpectWritten(store, *cache, KeyOf("k"), *big);
}

TEST(StoreWriterTest, DestructorWritesEverythingQueued) {
  FakeStore store;
  std::unique_ptr<ActionCache> cache = ActionCache::InMemory(&store);
  constexpr int kEntries = 200;
  std::vector<std::shared_ptr<const CachedResult>> entries;
  store.Hold();
  auto writer = std::make_unique<StoreWriter>(&store, cache.get(), int64_t{1} << 20);
  ReleaseAtExit release(store);
  for (int i = 0; i < kEntries; ++i) {
    entries.push_back(MakeEntry({absl::StrCat("value ", i), absl::StrCat("other ", i)}, i));
    ASSERT_TRUE(writer->Enqueue(KeyOf(absl::StrCat(i)), entries.back()).ok());
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
TEST(StoreWriterTest, ManyThreadsQueueMoreThanTheEntryBoundAndEverythingIsWritten) {
  FakeStore store;
  std::unique_ptr<ActionCache> cache = ActionCache::InMemory(&store);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 600;  // 2400 in all, over twice the bound
  constexpr int kRepeatEvery = 7;  // every 7th entry of a thread goes to its repeated key
  static_assert(kThreads * kPerThread > 2 * StoreWriter::kMaxPendingEntries, "");
  store.Hold();
  StoreWriter writer(&store, cache.get(), int64_t{1} << 30);
  ReleaseAtExit release(store);

  std::atomic<int> enqueued{0};
  std::atomic<int> enqueue_errors{0};
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
        if (!writer.Enqueue(key, entry).ok()) ++enqueue_errors;
        ++enqueued;
        const std::shared_ptr<const CachedResult> pending = writer.Pending(key);
        if (pending != nullptr && pending != entry) ++pending_not_newest;
        queued[static_cast<size_t>(t)].emplace_back(key, entry);
      }
    });
  }
  EXPECT_TRUE(store.WaitForHeld(1));
  // Wait (bounded) until the queue is full: then nobody gets further while the writer is held.
  const auto give_up = std::chrono::steady_clock::now() + kGiveUp;
  while (enqueued.load() < StoreWriter::kMaxPendingEntries &&
         std::chrono::steady_clock::now() < give_up) {
    std::this_thread::yield();
  }
  EXPECT_EQ(enqueued.load(), StoreWriter::kMaxPendingEntries);
  std::this_thread::sleep_for(kLetItRun);
  EXPECT_EQ(enqueued.load(), StoreWriter::kMaxPendingEntries)
      << "more than kMaxPendingEntries results were queued while none could be written";

  store.Release();
  for (std::thread& t : threads) t.join();
  ASSERT_TRUE(writer.Drain().ok());
  EXPECT_EQ(enqueue_errors.load(), 0);
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
TEST(StoreWriterTest, PendingIsTheNewestEntryForARepeatedKey) {
  FakeStore store;
  std::unique_ptr<ActionCache> cache = ActionCache::InMemory(&store);
  store.Hold();
  StoreWriter writer(&store, cache.get(), int64_t{1} << 20);
  ReleaseAtExit release(store);
  const Digest key = KeyOf("k");
  const auto older = MakeEntry({"older"}, 1);
  const auto newer = MakeEntry({"newer"}, 2);
  ASSERT_TRUE(writer.Enqueue(key, older).ok());
  ASSERT_TRUE(store.WaitForHeld(1));  // older's value
  ASSERT_TRUE(writer.Enqueue(key, newer).ok());
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

TEST(WriteResultTest, WritesValuesThenRecord) {
  FakeStore store;
  std::unique_ptr<ActionCache> cache = ActionCache::InMemory(&store);
  const auto entry = MakeEntry({"one", "two"}, 7);
  ASSERT_TRUE(WriteResult(store, *cache, KeyOf("w"), *entry).ok());
  ExpectWritten(store, *cache, KeyOf("w"), *entry);
}

TEST(WriteResultTest, RefusesABlobThatDoesNotHashToTheRecordedDigest) {
  FakeStore store;
  std::unique_ptr<ActionCache> cache = ActionCache::InMemory(&store);
  auto entry = std::make_shared<CachedResult>(*MakeEntry({"what the record says", "fine"}, 1));
  entry->blobs[0] = std::make_shared<const Blob>(std::string("something else"));
  const absl::Status s = WriteResult(store, *cache, KeyOf("mismatch"), *entry);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(Digest::Of("what the record says").ToHex()), absl::string_view::npos)
      << s;
  EXPECT_FALSE(HasRecord(*cache, KeyOf("mismatch")));

  // Also when the writer thread meets it: Drain reports it, and no record is stored.
  StoreWriter writer(&store, cache.get(), int64_t{1} << 20);
  ReleaseAtExit release(store);
  ASSERT_TRUE(writer.Enqueue(KeyOf("mismatch, queued"), entry).ok());
  EXPECT_FALSE(writer.Drain().ok());
  EXPECT_FALSE(HasRecord(*cache, KeyOf("mismatch, queued")));
}

TEST(WriteResultTest, RefusesWhenTheNumberOfBlobsIsNotTheNumberOfOutputs) {
  FakeStore store;
  std::unique_ptr<ActionCache> cache = ActionCache::InMemory(&store);
  auto fewer = std::make_shared<CachedResult>(*MakeEntry({"a", "b"}, 1));
  fewer->blobs.pop_back();
  EXPECT_FALSE(WriteResult(store, *cache, KeyOf("fewer"), *fewer).ok());
  EXPECT_FALSE(HasRecord(*cache, KeyOf("fewer")));

  auto more = std::make_shared<CachedResult>(*MakeEntry({"c"}, 2));
  more->blobs.push_back(std::make_shared<const Blob>(std::string("extra")));
  EXPECT_FALSE(WriteResult(store, *cache, KeyOf("more"), *more).ok());
  EXPECT_FALSE(HasRecord(*cache, KeyOf("more")));

  // A record of no outputs needs no blobs; blobs without outputs are refused.
  auto none = std::make_shared<CachedResult>(*MakeEntry({}, 3));
  none->blobs.push_back(std::make_shared<const Blob>(std::string("stray")));
  EXPECT_FALSE(WriteResult(store, *cache, KeyOf("none"), *none).ok());
  EXPECT_FALSE(HasRecord(*cache, KeyOf("none")));
  EXPECT_EQ(store.puts_started(), 0) << "values were stored for a result that was refused";
}

}  // namespace
}  // namespace mlops
