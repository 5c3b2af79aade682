#include "mlops/cache/internal/write_behind.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace mlops {
namespace cache_internal {

absl::StatusOr<std::vector<Digest>> WriteValues(ContentStore& store, const CachedResult& entry) {
  const ActionResult& result = entry.result;
  if (entry.blobs.size() != static_cast<size_t>(result.outputs_size())) {
    return absl::InternalError(absl::StrCat("result of execution ", result.execution_id(),
                                            " has ", entry.blobs.size(), " values for ",
                                            result.outputs_size(), " outputs"));
  }
  std::vector<Digest> digests;
  for (size_t i = 0; i < entry.blobs.size(); ++i) {
    const OutputRef& out = result.outputs(static_cast<int>(i));
    absl::StatusOr<Digest> digest = store.Put(entry.blobs[i]->view());
    if (!digest.ok()) return digest.status();
    if (!out.digest().empty() && digest->ToHex() != out.digest()) {
      return absl::InternalError(absl::StrCat("output ", out.name(), " hashed to ",
                                              digest->ToHex(), " when stored, not ",
                                              out.digest()));
    }
    digests.push_back(*digest);
  }
  return digests;
}

WriteBehind::WriteBehind(ContentStore* store, ActionCache* records, int64_t max_pending_bytes,
                         int max_pending_entries)
    : store_(store),
      records_(records),
      max_pending_bytes_(max_pending_bytes),
      max_pending_entries_(static_cast<size_t>(max_pending_entries)),
      thread_([this] { Loop(); }) {}

WriteBehind::~WriteBehind() {
  {
    MutexLock lock(&mu_);
    stop_ = true;
  }
  work_.Signal();
  thread_.join();
}

bool WriteBehind::HasRoom(int64_t cost) const {
  return pending_bytes_ + cost <= max_pending_bytes_ &&
         queue_.size() < max_pending_entries_;
}

void WriteBehind::WaitForWriter() {
  ++hurry_;
  work_.Signal();
  written_.Wait(&mu_);
  --hurry_;
}

void WriteBehind::Enqueue(const Digest& key, std::shared_ptr<const CachedResult> entry) {
  const int64_t cost = entry->bytes + kRecordCost;
  bool wake = false;
  {
    MutexLock lock(&mu_);
    while (!HasRoom(cost)) WaitForWriter();
    pending_bytes_ += cost;
    pending_[key] = entry;
    queue_.push_back(Item{key, std::move(entry), cost});
    ++queued_;
    // The writer sleeps on an empty queue, and waits for a batch to gather after the first
    // item: wake it only for these (a wake-up costs a system call, and the woken thread
    // may take the caller's CPU).
    wake = queue_.size() == 1 || queue_.size() == static_cast<size_t>(kBatchSize);
  }
  if (wake) work_.Signal();
}

void WriteBehind::WaitForKey(const Digest& key) {
  MutexLock lock(&mu_);
  // pending_ holds the newest entry of each key until it is written, and entries are
  // written in order: none left for the key means every older one is written too.
  while (pending_.contains(key)) WaitForWriter();
}

std::shared_ptr<const CachedResult> WriteBehind::Pending(const Digest& key) const {
  MutexLock lock(&mu_);
  auto it = pending_.find(key);
  return it == pending_.end() ? nullptr : it->second;
}

absl::Status WriteBehind::Drain() {
  MutexLock lock(&mu_);
  const uint64_t target = queued_;
  while (written_count_ < target) WaitForWriter();
  return std::exchange(error_, absl::OkStatus());
}

absl::Status WriteBehind::WriteBatch(size_t n) {
  // The items stay at the front of the queue (and in pending_) until written; only this
  // thread removes items, and push_back keeps references to the others valid.
  std::vector<const Item*> batch;
  {
    MutexLock lock(&mu_);
    for (size_t i = 0; i < n; ++i) batch.push_back(&queue_[i]);
  }
  absl::Status error;
  std::vector<std::pair<Digest, const ActionResult*>> records;
  for (const Item* item : batch) {
    absl::StatusOr<std::vector<Digest>> written = WriteValues(*store_, *item->entry);
    if (written.ok()) {
      records.emplace_back(item->key, &item->entry->result);
    } else if (error.ok()) {
      error = written.status();
    }
  }
  absl::Status s = records_->PutMany(records);
  return error.ok() ? s : error;
}

void WriteBehind::Loop() {
  MutexLock lock(&mu_);
  while (true) {
    while (!stop_ && queue_.empty()) work_.Wait(&mu_);
    if (queue_.empty()) return;  // stopping, and everything is written
    // Let a batch gather, unless someone waits for the writer.
    const absl::Time deadline = absl::Now() + kBatchDelay;
    while (!stop_ && hurry_ == 0 && queue_.size() < static_cast<size_t>(kBatchSize)) {
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) break;
      work_.WaitWithTimeout(&mu_, left);
    }
    const size_t n = std::min(queue_.size(), static_cast<size_t>(kMaxBatch));
    lock.Unlock();
    const absl::Status error = WriteBatch(n);
    lock.Lock();
    if (!error.ok() && error_.ok()) error_ = error;
    for (size_t i = 0; i < n; ++i) {
      const Item& item = queue_.front();
      auto it = pending_.find(item.key);
      if (it != pending_.end() && it->second == item.entry) pending_.erase(it);
      pending_bytes_ -= item.cost;
      queue_.pop_front();
      ++written_count_;
    }
    if (hurry_ > 0) written_.SignalAll();
  }
}

}  // namespace cache_internal
}  // namespace mlops
