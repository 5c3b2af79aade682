// StartGate: holds a number of threads at one line and lets them all go at once, for tests
// that want calls on several threads to overlap.
//
// Example:
//   mlops::test::StartGate gate(kThreads);
//   std::vector<std::thread> threads;
//   for (int t = 0; t < kThreads; ++t) {
//     threads.emplace_back([&] {
//       gate.ArriveAndWait();   // no thread calls before all have started
//       results[t] = ws->Call(step, 1);
//     });
//   }
//
// Thread safety: ArriveAndWait may be called from any thread.
#ifndef MLOPS_TESTING_START_GATE_H_
#define MLOPS_TESTING_START_GATE_H_

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

}  // namespace test
}  // namespace mlops

#endif  // MLOPS_TESTING_START_GATE_H_
