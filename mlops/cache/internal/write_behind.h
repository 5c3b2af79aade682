// Internal: writes computed results to the content store and action cache from a background
// thread, so that a step's caller does not wait for the files (ResultCacheOptions::
// write_behind). Include mlops/cache/result_cache.h instead.
//
// Each queued result is written as a synchronous Store writes it (WriteValues, then the
// record), so another process never sees a record whose values are not there yet. The
// writer takes what is queued as a batch (at most kMaxBatch) and commits the batch's records
// together (ActionCache::PutMany). Until an entry is written, Pending() returns it, and the
// result cache answers lookups of its key from it.
//
// Thread safety: all methods may be called from any thread.
#ifndef MLOPS_CACHE_INTERNAL_WRITE_BEHIND_H_
#define MLOPS_CACHE_INTERNAL_WRITE_BEHIND_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "mlops/base/mutex.h"
#include "mlops/cache/cached_result.h"
#include "mlops/hash/digest.h"
#include "mlops/store/action_cache.h"
#include "mlops/store/content_store.h"

namespace mlops {
namespace cache_internal {

// Puts every value of `entry` into `store`, in order (a record's values go before the
// record), and returns their digests. An output whose digest the record names already must
// hash to it (INTERNAL otherwise: the caller hashed something else, and nothing may be cached
// under it); one with an empty digest takes whatever Put returns. Errors of Put as they come.
// REQUIRES: entry.blobs holds a value for every output of entry.result.
absl::StatusOr<std::vector<Digest>> WriteValues(ContentStore& store, const CachedResult& entry);

class WriteBehind {
 public:
  // What a queued result costs beside its values (its record and bookkeeping).
  static constexpr int64_t kRecordCost = 1024;
  // The writer wakes for the first result queued, then waits up to kBatchDelay for a batch
  // of kBatchSize to gather, so that steps that miss often wake it once per batch.
  static constexpr int kBatchSize = 64;
  // It writes at most this many results per batch (values, then one commit of their
  // records), a fraction of the most that may be queued: callers queue more meanwhile.
  static constexpr int kMaxBatch = 128;
  static constexpr absl::Duration kBatchDelay = absl::Milliseconds(2);

  // REQUIRES: `store` and `records` outlive the writer. At most `max_pending_entries`
  // results, and `max_pending_bytes` (values, plus kRecordCost per result), are queued at
  // once.
  WriteBehind(ContentStore* store, ActionCache* records, int64_t max_pending_bytes,
              int max_pending_entries);
  // Writes everything queued, then stops the thread.
  ~WriteBehind();
  WriteBehind(const WriteBehind&) = delete;
  WriteBehind& operator=(const WriteBehind&) = delete;

  // Whether a result of `value_bytes` can ever be queued (else it is written at once).
  bool Fits(int64_t value_bytes) const { return value_bytes + kRecordCost <= max_pending_bytes_; }

  // Queues `entry` for `key`, waiting while the queue is full (by bytes or entries). Errors
  // of the write come from Drain(). REQUIRES: Fits(entry->bytes); every output's digest set.
  void Enqueue(const Digest& key, std::shared_ptr<const CachedResult> entry);

  // Waits until nothing queued for `key` is left to write, so that a record for it written
  // now (by the caller) is not replaced by an older one written later.
  void WaitForKey(const Digest& key);

  // The newest entry queued for `key` and not yet written, or null.
  std::shared_ptr<const CachedResult> Pending(const Digest& key) const;

  // Waits until everything queued before the call is written. Returns the first error of a
  // queued write since the previous Drain (and forgets it), or OK.
  absl::Status Drain();

 private:
  struct Item {
    Digest key;
    std::shared_ptr<const CachedResult> entry;
    int64_t cost = 0;
  };
  bool HasRoom(int64_t cost) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Waits once for an item to be written, telling the writer that someone waits (it then
  // writes what is queued without waiting for a batch to gather). Callers loop on their
  // condition.
  void WaitForWriter() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Writes the first `n` queued items: values, then their records in one commit.
  absl::Status WriteBatch(size_t n) ABSL_LOCKS_EXCLUDED(mu_);
  void Loop();

  ContentStore* const store_;
  ActionCache* const records_;
  const int64_t max_pending_bytes_;
  const size_t max_pending_entries_;

  mutable Mutex mu_;
  CondVar work_;     // an item queued, someone waits, or stopping (the writer waits)
  CondVar written_;  // an item written (Enqueue, WaitForKey and Drain wait)
  std::deque<Item> queue_ ABSL_GUARDED_BY(mu_);  // front: being written
  absl::flat_hash_map<Digest, std::shared_ptr<const CachedResult>> pending_
      ABSL_GUARDED_BY(mu_);
  int64_t pending_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t queued_ ABSL_GUARDED_BY(mu_) = 0;   // items ever queued
  uint64_t written_count_ ABSL_GUARDED_BY(mu_) = 0;  // items ever written (or failed)
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  int hurry_ ABSL_GUARDED_BY(mu_) = 0;  // threads waiting on written_
  std::thread thread_;  // last: starts after the fields above exist
};

}  // namespace cache_internal
}  // namespace mlops

#endif  // MLOPS_CACHE_INTERNAL_WRITE_BEHIND_H_
