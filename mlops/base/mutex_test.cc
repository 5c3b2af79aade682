#include "mlops/base/mutex.h"

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace mlops {
namespace {

// A counter whose waiters loop on the condition, as the header asks.
class Counter {
 public:
  void Add() {
    MutexLock lock(&mu_);
    ++n_;
    changed_.SignalAll();
  }
  int WaitUntil(int n) {
    MutexLock lock(&mu_);
    while (n_ < n) changed_.Wait(&mu_);
    return n_;
  }
  // Releases the lock inside the scope, lets `other` run under it, and takes it back.
  int AddWhileReleased(const std::function<void()>& other) {
    MutexLock lock(&mu_);
    const int before = n_;
    lock.Unlock();
    other();
    lock.Lock();
    return n_ - before;
  }
  bool TimesOut(absl::Duration d) {
    MutexLock lock(&mu_);
    return changed_.WaitWithTimeout(&mu_, d);
  }

 private:
  Mutex mu_;
  CondVar changed_;
  int n_ ABSL_GUARDED_BY(mu_) = 0;
};

TEST(MutexTest, WaitersWakeWhenTheConditionHolds) {
  Counter c;
  std::vector<std::thread> waiters;
  std::vector<int> seen(4, 0);
  for (int i = 0; i < 4; ++i) {
    waiters.emplace_back([&c, &seen, i] { seen[static_cast<size_t>(i)] = c.WaitUntil(100); });
  }
  std::thread adder([&c] {
    for (int i = 0; i < 100; ++i) c.Add();
  });
  adder.join();
  for (std::thread& t : waiters) t.join();
  for (int n : seen) EXPECT_EQ(n, 100);
}

TEST(MutexTest, UnlockInsideTheScopeLetsOthersTakeTheLock) {
  Counter c;
  // Add() takes the lock: it could not, were the scope still holding it.
  EXPECT_EQ(c.AddWhileReleased([&c] { std::thread([&c] { c.Add(); }).join(); }), 1);
  EXPECT_EQ(c.WaitUntil(1), 1);
}

TEST(MutexTest, WaitWithTimeoutReportsATimeout) {
  Counter c;
  EXPECT_TRUE(c.TimesOut(absl::Milliseconds(1)));
}

TEST(MutexTest, WaitWithTimeoutReportsASignal) {
  Counter c;
  bool timed_out = true;
  std::thread waiter([&] { timed_out = c.TimesOut(absl::Hours(1)); });
  // Signal until the waiter has returned: a signal sent before it waits is lost, so keep
  // sending; it returns at the first one it sees, long before an hour.
  std::atomic<bool> done{false};
  std::thread signaller([&] {
    while (!done.load()) {
      c.Add();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  waiter.join();
  done = true;
  signaller.join();
  EXPECT_FALSE(timed_out);
}

}  // namespace
}  // namespace mlops
