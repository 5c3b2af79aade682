#include "mlops/lineage/internal/record_queue.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "absl/time/clock.h"

namespace mlops {
namespace lineage_internal {
namespace {

// Execution ids are reserved in blocks that start small and double up to the largest size
// as a process records more, so the ids a process leaves unused are fewer than those it
// used. Reserving takes the database lock, which a batch being written holds for a while:
// large blocks keep recording from waiting for it often.
constexpr int64_t kFirstIdBlock = 16;
constexpr int64_t kLargestIdBlock = int64_t{1} << 20;
// Push asks for room (a batch written by the caller) once this many batches are queued.
constexpr int kMaxQueuedBatches = 2;
// Written batches kept for Push to free: if nobody records any more, they wait here for the
// destructor.
constexpr size_t kMaxWrittenBatches = 4;
// A batch is full at this many queued points (96 MB), whatever its executions...
constexpr int64_t kPointsPerBatch = int64_t{1} << 22;
// ...and PushPoints asks the caller to write one past twice as many.
constexpr int64_t kMaxQueuedPoints = 2 * kPointsPerBatch;

}  // namespace

RecordQueue::RecordQueue(int max_batch_size, absl::Duration max_batch_delay)
    : max_batch_size_(max_batch_size), max_batch_delay_(max_batch_delay) {}

RecordQueue::~RecordQueue() { StopFlusher(); }

void RecordQueue::StopFlusher() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
  }
  changed_.SignalAll();
  if (flusher_.joinable()) flusher_.join();
}

std::optional<int64_t> RecordQueue::Push(Execution& execution, Needs* needs) {
  std::vector<std::vector<Execution>> garbage;  // freed last, outside the lock
  MutexLock lock(&mu_);
  needs->run = execution.run_id() != 0 && !known_runs_.contains(execution.run_id());
  needs->ids = next_id_ >= block_end_;
  needs->room = static_cast<int>(pending_.size()) >= kMaxQueuedBatches * max_batch_size_;
  if (needs->run || needs->ids || needs->room) return std::nullopt;
  garbage.swap(written_);
  const int64_t id = next_id_++;
  execution.set_id(id);
  if (pending_.empty() && pending_points_.empty()) oldest_pending_ = absl::Now();
  pending_.push_back(std::move(execution));
  if (pending_.size() == 1 || static_cast<int>(pending_.size()) == max_batch_size_) {
    changed_.SignalAll();
  }
  return id;
}

bool RecordQueue::PushPoints(PointsAppend append) {
  if (append.points.empty()) return false;
  MutexLock lock(&mu_);
  const bool was_empty = pending_.empty() && pending_points_.empty();
  const bool was_full = pending_point_count_ >= kPointsPerBatch;
  pending_point_count_ += static_cast<int64_t>(append.points.size());
  PointsAppend* last = pending_points_.empty() ? nullptr : &pending_points_.back();
  if (last != nullptr && last->owner.run_id == append.owner.run_id &&
      last->owner.execution_id == append.owner.execution_id && last->key == append.key) {
    last->points.insert(last->points.end(), append.points.begin(), append.points.end());
  } else {
    pending_points_.push_back(std::move(append));
  }
  if (was_empty) oldest_pending_ = absl::Now();
  if (was_empty || (!was_full && pending_point_count_ >= kPointsPerBatch)) changed_.SignalAll();
  return pending_point_count_ >= kMaxQueuedPoints;
}

std::vector<PointsAppend> RecordQueue::TakePoints() {
  std::vector<PointsAppend> points;
  MutexLock lock(&mu_);
  points.swap(pending_points_);
  pending_point_count_ = 0;
  return points;
}

void RecordQueue::RequeuePoints(std::vector<PointsAppend> points) {
  MutexLock lock(&mu_);
  for (const PointsAppend& p : pending_points_) points.push_back(p);
  pending_points_.swap(points);
  pending_point_count_ = 0;
  for (const PointsAppend& p : pending_points_) {
    pending_point_count_ += static_cast<int64_t>(p.points.size());
  }
  oldest_pending_ = absl::Now();
}

bool RecordQueue::Update(const Execution& execution) {
  // Newest first: the execution being finished is usually the last one recorded.
  MutexLock lock(&mu_);
  for (auto it = pending_.rbegin(); it != pending_.rend(); ++it) {
    if (it->id() == execution.id()) {
      *it = execution;
      return true;
    }
  }
  return false;
}

std::vector<Execution> RecordQueue::TakeBatch() {
  std::vector<Execution> batch;
  MutexLock lock(&mu_);
  batch.swap(pending_);
  return batch;
}

void RecordQueue::Requeue(std::vector<Execution> batch) {
  MutexLock lock(&mu_);
  batch.insert(batch.end(), std::make_move_iterator(pending_.begin()),
               std::make_move_iterator(pending_.end()));
  pending_.swap(batch);
  oldest_pending_ = absl::Now();
}

void RecordQueue::Written(std::vector<Execution> batch) {
  {
    MutexLock lock(&mu_);
    if (written_.size() < kMaxWrittenBatches) written_.push_back(std::move(batch));
  }
  changed_.SignalAll();  // writers waiting for room
}

int64_t RecordQueue::NextIdBlockSize() {
  MutexLock lock(&mu_);
  return std::max(kFirstIdBlock, id_block_size_);
}

void RecordQueue::AddIdBlock(int64_t first, int64_t end) {
  MutexLock lock(&mu_);
  id_block_size_ = std::min(kLargestIdBlock, 2 * (end - first));
  if (next_id_ >= block_end_) {  // not refilled by another thread meanwhile
    next_id_ = first;
    block_end_ = end;
  }
}

int64_t RecordQueue::ReservedIdsEnd() {
  MutexLock lock(&mu_);
  return block_end_;
}

std::vector<int64_t> RecordQueue::KnownRuns() {
  MutexLock lock(&mu_);
  return std::vector<int64_t>(known_runs_.begin(), known_runs_.end());
}

bool RecordQueue::KnowsRun(int64_t run_id) {
  MutexLock lock(&mu_);
  return known_runs_.contains(run_id);
}

void RecordQueue::AddKnownRun(int64_t run_id) {
  MutexLock lock(&mu_);
  known_runs_.insert(run_id);
}

void RecordQueue::ForgetRun(int64_t run_id) {
  MutexLock lock(&mu_);
  known_runs_.erase(run_id);
}

void RecordQueue::StartFlusher(std::function<absl::Status()> flush) {
  flusher_ = std::thread([this, flush = std::move(flush)] { FlusherLoop(flush); });
}

void RecordQueue::FlusherLoop(const std::function<absl::Status()>& flush) {
  MutexLock lock(&mu_);
  while (!stopping_) {
    if (pending_.empty() && pending_points_.empty()) {
      changed_.Wait(&mu_);
      continue;
    }
    const absl::Duration left = oldest_pending_ + max_batch_delay_ - absl::Now();
    if (left > absl::ZeroDuration() && static_cast<int>(pending_.size()) < max_batch_size_ &&
        pending_point_count_ < kPointsPerBatch) {
      changed_.WaitWithTimeout(&mu_, left);
      continue;
    }
    lock.Unlock();
    const absl::Status s = flush();  // a failure leaves the batch queued for the next try
    lock.Lock();
    if (!s.ok() && !stopping_) changed_.WaitWithTimeout(&mu_, absl::Milliseconds(100));
  }
}

}  // namespace lineage_internal
}  // namespace mlops
