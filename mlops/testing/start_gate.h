// StartGate: holds a number of threads at one line and lets them all go at once, for tests
// that want calls on several threads to overlap; RunTogether: a function on that many
// threads, started through a StartGate.
//
// Example:
//   std::vector<absl::StatusOr<Stored<int>>> results(kThreads, absl::UnknownError("not run"));
//   mlops::test::RunTogether(kThreads, [&](int t) { results[t] = ws->Call(step, 1); });
//
// Thread safety: ArriveAndWait may be called from any thread; RunTogether from any thread
// (`fn` runs on threads of its own, concurrently).
#ifndef MLOPS_TESTING_START_GATE_H_
#define MLOPS_TESTING_START_GATE_H_

#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "mlops/base/mutex.h"

namespace mlops {
namespace test {

class StartGate {
 public:
  // A gate for `n` threads. REQUIRES: n >= 1.
  explicit StartGate(int n) : waiting_(n) {}
  StartGate(const StartGate&) = delete;
  StartGate& operator=(const StartGate&) = delete;

  // Blocks until `n` calls in all (this one included) have arrived, then returns, in every
  // thread that called it. Once the gate is open, later calls return at once.
  void ArriveAndWait() {
    MutexLock lock(&mu_);
    if (waiting_ > 0 && --waiting_ == 0) {
      open_.SignalAll();
      return;
    }
    while (waiting_ > 0) open_.Wait(&mu_);
  }

 private:
  Mutex mu_;
  CondVar open_;
  int waiting_ ABSL_GUARDED_BY(mu_);
};

// Runs fn(0), fn(1), ..., fn(n - 1), each on a thread of its own; no call starts before all
// n threads have started (StartGate). Returns when every call has returned.
// REQUIRES: n >= 1; fn is callable as fn(int) from several threads at once.
template <typename Fn>
void RunTogether(int n, const Fn& fn) {
  StartGate gate(n);
  std::vector<std::thread> threads;
  threads.reserve(static_cast<size_t>(n));
  for (int t = 0; t < n; ++t) {
    threads.emplace_back([&gate, &fn, t] {
      gate.ArriveAndWait();
      fn(t);
    });
  }
  for (std::thread& thread : threads) thread.join();
}

}  // namespace test
}  // namespace mlops

#endif  // MLOPS_TESTING_START_GATE_H_
