#include "mlops/cache/internal/memory_tier.h"

namespace mlops {
namespace cache_internal {

std::shared_ptr<const CachedResult> MemoryTier::Find(const Digest& key) {
  MutexLock lock(&mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second.second);
  return it->second.first;
}

void MemoryTier::Insert(const Digest& key, std::shared_ptr<const CachedResult> entry) {
  if (entry->bytes > max_bytes_) return;
  MutexLock lock(&mu_);
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    bytes_ -= it->second.first->bytes;
    lru_.erase(it->second.second);
    entries_.erase(it);
  }
  lru_.push_front(key);
  bytes_ += entry->bytes;
  entries_.emplace(key, std::make_pair(std::move(entry), lru_.begin()));
  while (bytes_ > max_bytes_ && !lru_.empty()) {
    auto last = entries_.find(lru_.back());
    bytes_ -= last->second.first->bytes;
    entries_.erase(last);
    lru_.pop_back();
  }
}

}  // namespace cache_internal
}  // namespace mlops
