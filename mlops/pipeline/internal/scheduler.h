// Internal: runs the tasks of a DAG on a small pool of threads, each task once all its
// dependencies have finished. Include mlops/pipeline/pipeline.h instead.
//
// The pool is plain std::thread with mlops::Mutex and CondVar (mlops/base/mutex.h). Ready
// tasks are kept in one vector under one mutex; a task costs a lock, a push and a pop, no
// allocation.
#ifndef MLOPS_PIPELINE_INTERNAL_SCHEDULER_H_
#define MLOPS_PIPELINE_INTERNAL_SCHEDULER_H_

#include <cstdint>
#include <functional>
#include <vector>

namespace mlops {
namespace pipeline_internal {

// Tasks 0..n-1; task t waits for deps[dep_begin[t] .. dep_begin[t+1]), each < n, distinct.
struct Dag {
  std::vector<int> dep_begin;  // n + 1 entries
  std::vector<int> deps;
  int size() const { return static_cast<int>(dep_begin.size()) - 1; }
};

enum class TaskResult { kOk, kHit, kFailed };

struct SchedulerCallbacks {
  // Runs task t, from a pool thread.
  std::function<TaskResult(int t)> run;
  // Task t will not run: task `root` failed upstream of it, or (cancelled) fail-fast
  // stopped the run after `root` failed. Called with the scheduler's lock held: keep it
  // short, and do not call back into the scheduler.
  std::function<void(int t, int root, bool cancelled)> skip;
  // After each task finishes (optional): done, total, running, hits. Called one at a time.
  std::function<void(int64_t done, int64_t total, int64_t running, int64_t hits)> progress;
};

// Runs every task of `dag` (skipping those whose dependencies failed) on `parallelism`
// threads, and returns when all are finished or skipped. With `fail_fast`, no task starts
// after one fails. REQUIRES: parallelism >= 1; the graph is acyclic.
void RunDag(const Dag& dag, int parallelism, bool fail_fast, const SchedulerCallbacks& cb);

}  // namespace pipeline_internal
}  // namespace mlops

#endif  // MLOPS_PIPELINE_INTERNAL_SCHEDULER_H_
