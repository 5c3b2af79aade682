#include "mlops/testing/start_gate.h"

#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "mlops/testing/background.h"

namespace mlops {
namespace test {
namespace {

TEST(StartGateTest, HoldsEveryThreadUntilTheLastArrives) {
  StartGate gate(2);
  Background first([&] { gate.ArriveAndWait(); });
  std::this_thread::sleep_for(kLetItRun);
  EXPECT_FALSE(first.done()) << "passed the gate alone";
  gate.ArriveAndWait();  // the second: opens the gate
  first.Join();
  EXPECT_TRUE(first.done());
  gate.ArriveAndWait();  // open: returns at once
}

TEST(StartGateTest, NoThreadPassesBeforeAllHaveArrived) {
  constexpr int kThreads = 8;
  StartGate gate(kThreads);
  std::atomic<int> arrived{0};
  std::atomic<int> early{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      arrived.fetch_add(1);
      gate.ArriveAndWait();
      if (arrived.load() != kThreads) early.fetch_add(1);
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(early.load(), 0);
}

}  // namespace
}  // namespace test
}  // namespace mlops
