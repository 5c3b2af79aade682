#include "mlops/core/internal/store_writer.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace mlops {
namespace core_internal {

absl::Status WriteValues(ContentStore& store, const Digest& key, const CachedResult& entry) {
  if (entry.blobs.size() != static_cast<size_t>(entry.result.outputs_size())) {
    return absl::InternalError(absl::StrCat("result for ", key.ToHex(), " has ",
                                            entry.blobs.size(), " values for ",
                                            entry.result.outputs_size(), " outputs"));
  }
  for (size_t i = 0; i < entry.blobs.size(); ++i) {
    const OutputRef& out = entry.result.outputs(static_cast<int>(i));
    absl::StatusOr<Digest> digest = store.Put(entry.blobs[i]->view());
    if (!digest.ok()) return digest.status();
    if (digest->ToHex() != out.digest()) {  // the caller hashed something else: never cache it
      return absl::InternalError(absl::StrCat("output ", out.name(), " hashed to ",
                                              digest->ToHex(), " when stored, not ",
                                              out.digest()));
    }
  }
  return absl::OkStatus();
}

absl::Status WriteResult(ContentStore& store, ActionCache& cache, const Digest& key,
                         const CachedResult& entry) {
  absl::Status s = WriteValues(store, key, entry);
  if (!s.ok()) return s;
  return cache.Put(key, entry.result);
}

StoreWriter::StoreWriter(ContentStore* store, ActionCache* cache, int64_t max_pending_bytes)
    : store_(store),
      cache_(cache),
      max_pending_bytes_(max_pending_bytes),
      thread_([this] { Loop(); }) {}

StoreWriter::~StoreWriter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_one();
  thread_.join();
}

absl::Status StoreWriter::Enqueue(const Digest& key, std::shared_ptr<const CachedResult> entry) {
  const int64_t cost = CostOf(*entry);
  if (cost > max_pending_bytes_) {
    WaitForKey(key);  // an older result for the key must not be written over this one
    return WriteResult(*store_, *cache_, key, *entry);
  }
  bool wake = false;
  {
    std::unique_lock<std::mutex> lock(mu_);
    const auto room = [&] {
      return pending_bytes_ + cost <= max_pending_bytes_ &&
             queue_.size() < static_cast<size_t>(kMaxPendingEntries);
    };
    if (!room()) {
      ++hurry_;
      work_cv_.notify_one();
      written_cv_.wait(lock, room);
      --hurry_;
    }
    pending_bytes_ += cost;
    pending_[key] = entry;
    queue_.push_back(Item{key, std::move(entry), cost});
    ++queued_;
    // The writer sleeps on an empty queue, and waits for a batch to gather after the first
    // item: wake it only for these (a wake-up costs a system call, and the woken thread
    // may take the caller's CPU).
    wake = queue_.size() == 1 || queue_.size() == static_cast<size_t>(kBatchSize);
  }
  if (wake) work_cv_.notify_one();
  return absl::OkStatus();
}

void StoreWriter::WaitForKey(const Digest& key) {
  std::unique_lock<std::mutex> lock(mu_);
  // pending_ holds the newest entry of each key until it is written, and entries are
  // written in order: none left for the key means every older one is written too.
  const auto none = [&] { return pending_.find(key) == pending_.end(); };
  if (none()) return;
  ++hurry_;
  work_cv_.notify_one();
  written_cv_.wait(lock, none);
  --hurry_;
}

std::shared_ptr<const CachedResult> StoreWriter::Pending(const Digest& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = pending_.find(key);
  return it == pending_.end() ? nullptr : it->second;
}

absl::Status StoreWriter::Drain() {
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t target = queued_;
  if (written_ >= target) return std::exchange(error_, absl::OkStatus());
  ++hurry_;
  work_cv_.notify_one();
  written_cv_.wait(lock, [&] { return written_ >= target; });
  --hurry_;
  return std::exchange(error_, absl::OkStatus());
}

void StoreWriter::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    work_cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and everything is written
    // Let a batch gather, unless someone waits for the writer.
    work_cv_.wait_for(lock, kBatchDelay, [&] {
      return stop_ || hurry_ > 0 || queue_.size() >= static_cast<size_t>(kBatchSize);
    });
    // Write the items queued so far: each one's values, then all their records in one
    // transaction. They stay at the front (and in pending_) until then; only this thread
    // removes items, and push_back keeps references to the others valid.
    const size_t n = std::min(queue_.size(), static_cast<size_t>(kMaxBatch));
    std::vector<const Item*> batch;
    for (size_t i = 0; i < n; ++i) batch.push_back(&queue_[i]);
    lock.unlock();
    absl::Status error;
    std::vector<std::pair<Digest, const ActionResult*>> records;
    for (const Item* item : batch) {
      absl::Status s = WriteValues(*store_, item->key, *item->entry);
      if (s.ok()) {
        records.emplace_back(item->key, &item->entry->result);
      } else if (error.ok()) {
        error = s;
      }
    }
    absl::Status s = cache_->PutMany(records);
    if (error.ok()) error = s;
    lock.lock();
    if (!error.ok() && error_.ok()) error_ = error;
    for (size_t i = 0; i < n; ++i) {
      const Item& item = queue_.front();
      auto it = pending_.find(item.key);
      if (it != pending_.end() && it->second == item.entry) pending_.erase(it);
      pending_bytes_ -= item.cost;
      queue_.pop_front();
      ++written_;
    }
    if (hurry_ > 0) written_cv_.notify_all();
  }
}

}  // namespace core_internal
}  // namespace mlops
