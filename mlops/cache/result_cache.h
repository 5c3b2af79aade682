// mlops/cache/result_cache.h — the one owner of a step result's way into and out of the
// cache: memory, the write-behind queue, the action cache's records and the content store's
// values, in that order.
//
// Lookup(key) answers from the first tier that has the key:
//   1. the memory tier (results this process stored or read lately, up to a byte budget);
//   2. the write-behind queue (results computed here whose files are still being written);
//   3. the disk: the action cache's record, then each value it names from the content
//      store (or, for a digests-only lookup, only whether each is there).
// A record whose values are not all there, or one of whose values is corrupt, is a miss: the
// record is removed, here and only here, so that no later lookup meets it again (a record
// another writer stored for the key meanwhile is kept). A corrupt record is removed by the
// action cache that detects it; for the caller both are misses.
//
// Store(key, result, values) writes the values, then the record that names them, so that no
// process ever sees a record whose values are not there yet: behind the caller on a
// background thread when ResultCacheOptions::write_behind is on and the result fits the
// queue's budget, else before it returns. Either way the result is answered at once (from
// the queue, then from memory).
//
// Example:
//   mlops::ResultCache cache(store.get(), records.get(), mlops::ResultCacheOptions{});
//   absl::StatusOr<std::shared_ptr<const mlops::CachedResult>> hit = cache.Lookup(key);
//   if (absl::IsNotFound(hit.status())) hit = cache.Store(key, record, ComputeValues());
//
// Thread safety: safe for concurrent use by many threads; the stores underneath may be
// shared with other processes.
#ifndef MLOPS_CACHE_RESULT_CACHE_H_
#define MLOPS_CACHE_RESULT_CACHE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "mlops/cache/cached_result.h"
#include "mlops/hash/digest.h"
#include "mlops/store/action_cache.h"
#include "mlops/store/action_result.pb.h"
#include "mlops/store/content_store.h"

namespace mlops {

namespace cache_internal {
class MemoryTier;
class WriteBehind;
}  // namespace cache_internal

struct ResultCacheOptions {
  // At most this many results wait to be written at once, so that draining the queue (at
  // Flush, or at exit) takes a bounded time even where creating a file is slow; a crash
  // loses at most these.
  static constexpr int kMaxQueuedResults = 1024;

  // Results kept in process memory (in front of the disk) up to this many bytes of values.
  int64_t memory_bytes = int64_t{64} << 20;
  // Write stored results from a background thread (see the top of the file).
  bool write_behind = false;
  // At most this many bytes of values (and at most kMaxQueuedResults results) wait to be
  // written; a Store that would exceed it waits for the writer, and a result larger than
  // all of it is written before Store returns.
  int64_t write_behind_bytes = int64_t{64} << 20;
};

class ResultCache {
 public:
  // REQUIRES: `values` and `records` outlive the cache.
  ResultCache(ContentStore* values, ActionCache* records, ResultCacheOptions options);
  // Waits for the results still queued (their errors are lost: call Flush() first).
  ~ResultCache();
  ResultCache(const ResultCache&) = delete;
  ResultCache& operator=(const ResultCache&) = delete;

  // The cached result for `key` (see the top of the file). With `load` false, a result
  // read from disk has its record but no blobs (and is not kept in memory); one from memory
  // or the queue has both. NOT_FOUND for a miss, including a record whose values are gone or
  // corrupt, or a corrupt record. Other errors of the stores as they come (nothing removed).
  absl::StatusOr<std::shared_ptr<const CachedResult>> Lookup(const Digest& key,
                                                             bool load = true);

  // Stores `values` and then `record` for `key` (see the top of the file), and returns the
  // entry: `record` with each output's digest and size filled in, and the values. A later
  // Lookup of `key` returns it. Errors of the stores (a full disk, ...), naming the path:
  // then nothing is stored or answered for `key` (for a result written behind, the error
  // comes from Flush() instead, and the key misses once the queue has let it go).
  // REQUIRES: record.outputs_size() == values.size().
  absl::StatusOr<std::shared_ptr<const CachedResult>> Store(const Digest& key,
                                                            ActionResult record,
                                                            std::vector<std::string> values);

  // Stores `values` in the content store only, without a record (a verifying call keeps
  // what it computed, to compare it with the cached result), and returns them with their
  // digests filled into `record` as Store does. Errors of the content store.
  absl::StatusOr<std::shared_ptr<const CachedResult>> StoreValues(ActionResult record,
                                                                  std::vector<std::string> values);

  // How many results Store has stored so far: a caller whose Lookup missed need look again
  // (before computing) only if this has changed since.
  uint64_t stored_count() const { return stored_.load(std::memory_order_acquire); }

  // Waits until every result stored before the call is on disk. Returns the first error of
  // a result written behind since the previous Flush (its Store had returned OK), or OK.
  absl::Status Flush();

 private:
  // The entry for `record` and `values`: each output's size filled in (and with `hash`, its
  // digest), the values moved into blobs.
  static std::shared_ptr<CachedResult> MakeEntry(ActionResult record,
                                                 std::vector<std::string> values, bool hash);
  // Stores the entry's values and fills in their digests. REQUIRES: the entry is not shared.
  absl::Status PutValues(CachedResult* entry);
  // A miss for a record whose value `out` is gone or corrupt: removes the record.
  absl::Status Discard(const Digest& key, const ActionResult& record, const OutputRef& out);

  ContentStore* const values_;
  ActionCache* const records_;
  const std::unique_ptr<cache_internal::MemoryTier> memory_;
  const std::unique_ptr<cache_internal::WriteBehind> writer_;  // null: results written at once
  std::atomic<uint64_t> stored_{0};
};

}  // namespace mlops

#endif  // MLOPS_CACHE_RESULT_CACHE_H_
