// Internal: the result cache's in-process tier, results kept in memory up to a byte budget
// and evicted least recently used first. Include mlops/cache/result_cache.h instead.
//
// Thread safety: all methods may be called from any thread.
#ifndef MLOPS_CACHE_INTERNAL_MEMORY_TIER_H_
#define MLOPS_CACHE_INTERNAL_MEMORY_TIER_H_

#include <cstdint>
#include <list>
#include <memory>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "mlops/base/mutex.h"
#include "mlops/cache/cached_result.h"
#include "mlops/hash/digest.h"

namespace mlops {
namespace cache_internal {

class MemoryTier {
 public:
  // Keeps at most `max_bytes` of values (0: nothing).
  explicit MemoryTier(int64_t max_bytes) : max_bytes_(max_bytes) {}
  MemoryTier(const MemoryTier&) = delete;
  MemoryTier& operator=(const MemoryTier&) = delete;

  // The entry kept for `key` (now the most recently used), or null.
  std::shared_ptr<const CachedResult> Find(const Digest& key);

  // Keeps `entry` for `key`, replacing any earlier one and evicting the least recently used
  // entries beyond the budget. An entry larger than the whole budget is not kept.
  // REQUIRES: entry->blobs holds its values (a digests-only entry is never kept).
  void Insert(const Digest& key, std::shared_ptr<const CachedResult> entry);

 private:
  using Lru = std::list<Digest>;  // front: most recent

  const int64_t max_bytes_;
  Mutex mu_;
  Lru lru_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<Digest, std::pair<std::shared_ptr<const CachedResult>, Lru::iterator>>
      entries_ ABSL_GUARDED_BY(mu_);
  int64_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace cache_internal
}  // namespace mlops

#endif  // MLOPS_CACHE_INTERNAL_MEMORY_TIER_H_
