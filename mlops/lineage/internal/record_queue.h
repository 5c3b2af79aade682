// Internal: the queue of executions SqliteLineageStore has recorded but not yet written.
//
// RecordExecution gives each execution its id at once, from a block of ids reserved in the
// database (so ids stay unique across processes), and queues it; a batch of queued
// executions is later written in one transaction (LineageDb::Flush), when max_batch_size
// are waiting, when the oldest has waited max_batch_delay (the flusher thread sees to it),
// and whenever a query or a write needs the database to be complete. The queue also
// remembers which runs are known to exist, so that recording into a known run needs no
// database lookup.
//
// Thread safety: safe for concurrent use. Lock order: the queue's lock is taken inside its
// own methods only, which call nothing outside the queue while holding it (but for the
// flush callback, which the flusher thread runs without it): it may be taken while the
// database's lock (LineageDb::mu) is held, and the database's lock is never taken while it
// is held. This is the one lock order of the lineage store.
#ifndef MLOPS_LINEAGE_INTERNAL_RECORD_QUEUE_H_
#define MLOPS_LINEAGE_INTERNAL_RECORD_QUEUE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "mlops/base/mutex.h"
#include "mlops/lineage/internal/tracking_writer.h"
#include "mlops/lineage/lineage.pb.h"

namespace mlops {
namespace lineage_internal {

class RecordQueue {
 public:
  // Batches of at most `max_batch_size`; a batch waits at most `max_batch_delay` (zero:
  // the caller writes every record at once, see flush_every_record()).
  RecordQueue(int max_batch_size, absl::Duration max_batch_delay);
  // Stops the flusher thread (StopFlusher). Queued executions are dropped: write them
  // first (LineageDb::Flush).
  ~RecordQueue();
  RecordQueue(const RecordQueue&) = delete;
  RecordQueue& operator=(const RecordQueue&) = delete;

  // What Push lacks to queue an execution.
  struct Needs {
    bool run = false;   // its run is not known to exist: look it up (AddKnownRun)
    bool ids = false;   // the block of ids is used up: reserve another (AddIdBlock)
    bool room = false;  // two batches are queued: write one first
  };
  // Gives `execution` the next id and queues it, returning the id, if nothing is lacking;
  // otherwise leaves it as it was, sets `*needs` and returns nullopt. Frees the batches
  // written since the last Push (see Written).
  std::optional<int64_t> Push(Execution& execution, Needs* needs) ABSL_LOCKS_EXCLUDED(mu_);
  // Whether every record is to be written at once (max_batch_delay is zero).
  bool flush_every_record() const { return max_batch_delay_ <= absl::ZeroDuration(); }

  // Queues metric points, to be appended after the executions queued before them (with
  // the next batch); an append to the series queued last is merged into it. Returns true
  // if so many points are queued that the caller should write a batch itself.
  bool PushPoints(PointsAppend append) ABSL_LOCKS_EXCLUDED(mu_);
  // The queued points, now no longer queued; and queued again in front after a failure.
  std::vector<PointsAppend> TakePoints() ABSL_LOCKS_EXCLUDED(mu_);
  void RequeuePoints(std::vector<PointsAppend> points) ABSL_LOCKS_EXCLUDED(mu_);

  // Replaces the queued execution with execution.id(), if one is queued; false if not.
  bool Update(const Execution& execution) ABSL_LOCKS_EXCLUDED(mu_);

  // The queued executions, oldest first, now no longer queued.
  std::vector<Execution> TakeBatch() ABSL_LOCKS_EXCLUDED(mu_);
  // Queues a batch TakeBatch returned again, ahead of what was queued since, after writing
  // it failed.
  void Requeue(std::vector<Execution> batch) ABSL_LOCKS_EXCLUDED(mu_);
  // Takes a written batch, to be freed by the next Push: the threads that allocated the
  // records then free them, which glibc's allocator does far faster than a foreign thread.
  void Written(std::vector<Execution> batch) ABSL_LOCKS_EXCLUDED(mu_);

  // The size of the block of ids to reserve next, and the block [first, end) reserved.
  int64_t NextIdBlockSize() ABSL_LOCKS_EXCLUDED(mu_);
  void AddIdBlock(int64_t first, int64_t end) ABSL_LOCKS_EXCLUDED(mu_);
  // The end of the last block reserved (0 if none): every id given out is below it.
  int64_t ReservedIdsEnd() ABSL_LOCKS_EXCLUDED(mu_);

  // Runs known to exist (BeginRun, a lookup); ForgetRun makes the next use look it up again
  // (another process may have deleted it).
  bool KnowsRun(int64_t run_id) ABSL_LOCKS_EXCLUDED(mu_);
  void AddKnownRun(int64_t run_id) ABSL_LOCKS_EXCLUDED(mu_);
  void ForgetRun(int64_t run_id) ABSL_LOCKS_EXCLUDED(mu_);
  // The runs known to exist, in no order.
  std::vector<int64_t> KnownRuns() ABSL_LOCKS_EXCLUDED(mu_);

  // Starts the thread that calls `flush` when a batch is full or its oldest record has
  // waited max_batch_delay (and again 100 ms after a failure, which leaves the batch
  // queued). `flush` must write the batch (TakeBatch, then Written or Requeue). The thread
  // runs until StopFlusher. REQUIRES: called at most once, and max_batch_delay > 0.
  void StartFlusher(std::function<absl::Status()> flush) ABSL_LOCKS_EXCLUDED(mu_);
  // Stops the flusher thread, if it was started, and waits for it to end. Records may still
  // be pushed after; the caller then writes them.
  void StopFlusher() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void FlusherLoop(const std::function<absl::Status()>& flush) ABSL_LOCKS_EXCLUDED(mu_);

  const int max_batch_size_;
  const absl::Duration max_batch_delay_;

  Mutex mu_;
  CondVar changed_;  // signalled when a batch starts or fills, is written, or on stopping
  std::vector<Execution> pending_ ABSL_GUARDED_BY(mu_);
  std::vector<PointsAppend> pending_points_ ABSL_GUARDED_BY(mu_);
  int64_t pending_point_count_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::vector<Execution>> written_ ABSL_GUARDED_BY(mu_);
  absl::Time oldest_pending_ ABSL_GUARDED_BY(mu_);
  int64_t next_id_ ABSL_GUARDED_BY(mu_) = 0;  // the next id of the reserved block
  int64_t block_end_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t id_block_size_ ABSL_GUARDED_BY(mu_) = 0;  // the next block's size
  absl::flat_hash_set<int64_t> known_runs_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread flusher_;
};

}  // namespace lineage_internal
}  // namespace mlops

#endif  // MLOPS_LINEAGE_INTERNAL_RECORD_QUEUE_H_
