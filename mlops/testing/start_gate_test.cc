#include "mlops/testing/start_gate.h"

#include <atomic>
#include <set>
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

TEST(StartGateTest, RunTogetherRunsEveryIndexOnceOnThreadsOfTheirOwn) {
  constexpr int kThreads = 8;
  std::vector<std::thread::id> ids(kThreads);
  std::vector<int> runs(kThreads, 0);
  RunTogether(kThreads, [&](int t) {
    ids[static_cast<size_t>(t)] = std::this_thread::get_id();
    ++runs[static_cast<size_t>(t)];
  });
  EXPECT_EQ(runs, std::vector<int>(kThreads, 1));
  std::set<std::thread::id> distinct(ids.begin(), ids.end());
  distinct.insert(std::this_thread::get_id());
  EXPECT_EQ(distinct.size(), static_cast<size_t>(kThreads + 1));
}

}  // namespace
}  // namespace test
}  // namespace mlops
