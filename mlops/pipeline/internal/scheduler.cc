#include "mlops/pipeline/internal/scheduler.h"

#include <algorithm>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "mlops/base/mutex.h"

namespace mlops {
namespace pipeline_internal {
namespace {

class Scheduler {
 public:
  Scheduler(const Dag& dag, bool fail_fast, const SchedulerCallbacks& cb)
      : cb_(cb), fail_fast_(fail_fast), n_(dag.size()) {
    // Dependents, as the transpose of deps.
    user_begin_.assign(static_cast<size_t>(n_) + 1, 0);
    for (int d : dag.deps) ++user_begin_[static_cast<size_t>(d) + 1];
    for (int t = 0; t < n_; ++t) user_begin_[t + 1] += user_begin_[t];
    users_.resize(dag.deps.size());
    std::vector<int> fill(user_begin_.begin(), user_begin_.end() - 1);
    pending_.resize(static_cast<size_t>(n_));
    for (int t = 0; t < n_; ++t) {
      pending_[t] = dag.dep_begin[t + 1] - dag.dep_begin[t];
      for (int i = dag.dep_begin[t]; i < dag.dep_begin[t + 1]; ++i) {
        users_[static_cast<size_t>(fill[dag.deps[i]]++)] = t;
      }
      if (pending_[t] == 0) ready_.push_back(t);
    }
    // Ready tasks are taken from the back: reverse so that task 0 starts first.
    std::reverse(ready_.begin(), ready_.end());
    blocked_by_.assign(static_cast<size_t>(n_), Skipped{});
    remaining_ = n_;
  }

  void Work() {
    MutexLock lock(&mu_);
    for (;;) {
      while (ready_.empty() && remaining_ != 0) ready_cv_.Wait(&mu_);
      if (remaining_ == 0) break;
      const int t = ready_.back();
      ready_.pop_back();
      if (stopped_) {  // fail-fast: start nothing new
        Finish(t, stop_root_, /*cancelled=*/true);
        continue;
      }
      ++running_;
      lock.Unlock();
      const TaskResult result = cb_.run(t);
      lock.Lock();
      --running_;
      if (result == TaskResult::kHit) ++hits_;
      if (result == TaskResult::kFailed && fail_fast_ && !stopped_) {
        stopped_ = true;
        stop_root_ = t;
      }
      Finish(t, result == TaskResult::kFailed ? t : -1, false);
      if (cb_.progress) {
        const int64_t done = n_ - remaining_, running = running_, hits = hits_;
        lock.Unlock();
        {
          MutexLock progress_lock(&progress_mu_);
          if (done >= reported_) {  // a late snapshot never moves the display backwards
            reported_ = done;
            cb_.progress(done, n_, running, hits);
          }
        }
        lock.Lock();
      }
    }
  }

 private:
  // Marks task t finished (root: -1 if it succeeded, else the failed task it stands for)
  // and releases or skips its dependents. Iterative, so long chains of skips do not
  // recurse.
  void Finish(int t, int root, bool cancelled) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (root >= 0 && t != root) cb_.skip(t, root, cancelled);
    std::vector<Skipped>& stack = finish_stack_;
    stack.clear();
    stack.push_back({t, root, cancelled});
    while (!stack.empty()) {
      const Skipped done = stack.back();
      stack.pop_back();
      --remaining_;
      for (int i = user_begin_[done.task]; i < user_begin_[done.task + 1]; ++i) {
        const int u = users_[static_cast<size_t>(i)];
        if (done.root >= 0 && blocked_by_[u].root < 0) {
          blocked_by_[u] = {u, done.root, done.cancelled};
        }
        if (--pending_[u] != 0) continue;
        if (blocked_by_[u].root >= 0) {
          cb_.skip(u, blocked_by_[u].root, blocked_by_[u].cancelled);
          stack.push_back(blocked_by_[u]);
        } else {
          ready_.push_back(u);
          ready_cv_.Signal();
        }
      }
    }
    if (remaining_ == 0) ready_cv_.SignalAll();
  }

  // A finished task, and the failed task it stands for (-1: none) and whether fail-fast
  // cancelled it.
  struct Skipped {
    int task = -1;
    int root = -1;
    bool cancelled = false;
  };

  const SchedulerCallbacks& cb_;
  const bool fail_fast_;
  const int n_;
  std::vector<int> user_begin_;
  std::vector<int> users_;

  Mutex mu_;
  CondVar ready_cv_;
  std::vector<int> ready_ ABSL_GUARDED_BY(mu_);
  std::vector<int> pending_ ABSL_GUARDED_BY(mu_);  // unfinished dependencies per task
  std::vector<Skipped> blocked_by_ ABSL_GUARDED_BY(mu_);  // why a task cannot run (root -1: it can)
  std::vector<Skipped> finish_stack_ ABSL_GUARDED_BY(mu_);
  int64_t remaining_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t running_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t hits_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  int stop_root_ ABSL_GUARDED_BY(mu_) = -1;

  Mutex progress_mu_;  // never held with mu_
  int64_t reported_ ABSL_GUARDED_BY(progress_mu_) = 0;
};

}  // namespace

void RunDag(const Dag& dag, int parallelism, bool fail_fast, const SchedulerCallbacks& cb) {
  if (dag.size() <= 0) return;
  Scheduler scheduler(dag, fail_fast, cb);
  const int threads = std::max(1, std::min(parallelism, dag.size()));
  if (threads == 1) {
    scheduler.Work();
    return;
  }
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(threads) - 1);
  for (int i = 1; i < threads; ++i) pool.emplace_back([&scheduler] { scheduler.Work(); });
  scheduler.Work();  // the calling thread is one of the pool
  for (std::thread& t : pool) t.join();
}

}  // namespace pipeline_internal
}  // namespace mlops
