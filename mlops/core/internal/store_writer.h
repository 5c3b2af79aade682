// Internal: writes computed results to the content store and action cache from a
// background thread, so that a step's caller does not wait for the files (the Workspace's
// `write_behind` option). Include mlops/core/workspace.h instead.
//
// Each queued result is written as a synchronous miss writes it: every value first (each a
// file renamed into place whole), then the action record that names them, so another
// process never sees a record whose values are not there yet. The writer takes what is
// queued as a batch (at most kMaxBatch), and commits the batch's records together
// (ActionCache::PutMany). Until an entry is written, Pending() returns it, and the
// Workspace answers lookups of its key from it.
//
// Thread safety: all methods may be called from any thread.
#ifndef MLOPS_CORE_INTERNAL_STORE_WRITER_H_
#define MLOPS_CORE_INTERNAL_STORE_WRITER_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "mlops/hash/digest.h"
#include "mlops/store/action_cache.h"
#include "mlops/store/action_result.pb.h"
#include "mlops/store/content_store.h"

namespace mlops {
namespace core_internal {

// The outputs of one action: its record, and (unless it came from a digest-only lookup)
// the encoded values in the record's order.
struct CachedResult {
  ActionResult result;
  std::vector<std::shared_ptr<const Blob>> blobs;
  int64_t bytes = 0;
};

// Writes `entry` (values, then the record) for `key` now, on the calling thread.
// REQUIRES: entry.blobs holds every output of entry.result, in order.
absl::Status WriteResult(ContentStore& store, ActionCache& cache, const Digest& key,
                         const CachedResult& entry);

class StoreWriter {
 public:
  // At most this many results wait at once, so that draining the queue (at Flush, or at
  // exit) takes a bounded time even where creating a file is slow.
  static constexpr int kMaxPendingEntries = 1024;
  // The writer wakes for the first result queued, then waits up to kBatchDelay for a batch
  // of kBatchSize to gather before writing, so that steps that miss often wake it once
  // per batch, not once per result.
  static constexpr int kBatchSize = 64;
  // The writer writes at most this many results per batch (values, then one commit of their
  // records), a fraction of kMaxPendingEntries: callers queue more while it writes.
  static constexpr int kMaxBatch = 128;
  static constexpr std::chrono::milliseconds kBatchDelay{2};

  // REQUIRES: `store` and `cache` outlive the writer. `max_pending_bytes` bounds the values
  // queued at once (each entry also counts a fixed 1 KiB for its record).
  StoreWriter(ContentStore* store, ActionCache* cache, int64_t max_pending_bytes);
  // Writes everything queued, then stops the thread.
  ~StoreWriter();
  StoreWriter(const StoreWriter&) = delete;
  StoreWriter& operator=(const StoreWriter&) = delete;

  // Queues `entry` for `key`, waiting while the queue is full (by bytes or entries). An
  // entry larger than the whole bound is written at once, on the calling thread (after any
  // older entry for the key), and that write's error (if any) returned; otherwise OK
  // (errors of queued writes come from Drain()).
  absl::Status Enqueue(const Digest& key, std::shared_ptr<const CachedResult> entry);

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
  static int64_t CostOf(const CachedResult& entry) { return entry.bytes + 1024; }
  void Loop();

  ContentStore* const store_;
  ActionCache* const cache_;
  const int64_t max_pending_bytes_;

  // std::mutex, not absl::Mutex: Debian's Abseil is not built with ThreadSanitizer.
  mutable std::mutex mu_;
  std::condition_variable work_cv_;     // an item queued, or stopping (the writer waits)
  std::condition_variable written_cv_;  // an item written (Enqueue and Drain wait)
  std::deque<Item> queue_ ABSL_GUARDED_BY(mu_);  // front: being written
  absl::flat_hash_map<Digest, std::shared_ptr<const CachedResult>> pending_
      ABSL_GUARDED_BY(mu_);
  int64_t pending_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t queued_ ABSL_GUARDED_BY(mu_) = 0;   // items ever queued
  uint64_t written_ ABSL_GUARDED_BY(mu_) = 0;  // items ever written (or failed)
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  int hurry_ ABSL_GUARDED_BY(mu_) = 0;  // threads waiting on written_cv_
  std::thread thread_;  // last: starts after the fields above exist
};

}  // namespace core_internal
}  // namespace mlops

#endif  // MLOPS_CORE_INTERNAL_STORE_WRITER_H_
