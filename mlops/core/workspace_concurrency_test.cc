// Many threads calling through one Workspace: the same key computes once, distinct keys
// all compute, failures reach every waiter and are not cached.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "mlops/codec/codec.h"
#include "mlops/core/context.h"
#include "mlops/core/step.h"
#include "mlops/core/stored.h"
#include "mlops/core/workspace.h"
#include "mlops/lineage/lineage.pb.h"
#include "mlops/testing/files.h"
#include "mlops/testing/start_gate.h"
#include "mlops/testing/workspace.h"

namespace mlops {
namespace {

using ::mlops::test::Executions;
using ::mlops::test::FreshDir;
using ::mlops::test::RunTogether;

constexpr int kThreads = 8;

std::vector<double> Values(int n, uint64_t seed) {
  std::vector<double> v(static_cast<size_t>(n));
  uint64_t x = seed | 1;
  for (double& d : v) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    d = static_cast<double>(x % 100000) / 7.0;
  }
  return v;
}

class WorkspaceConcurrencyTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Workspace>> ws =
        GetParam() ? Workspace::Open(FreshDir()) : Workspace::InMemory();
    ASSERT_TRUE(ws.ok()) << ws.status();
    ws_ = *std::move(ws);
  }
  std::unique_ptr<Workspace> ws_;
};

TEST_P(WorkspaceConcurrencyTest, SameKeyComputesOnce) {
  std::atomic<int> calls{0};
  const auto slow = MakeStep("slow", 1, [&calls](Context& ctx, int n) {
    calls.fetch_add(1);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return Values(n, ctx.seed());
  });
  std::vector<absl::StatusOr<Stored<std::vector<double>>>> results(
      kThreads, absl::UnknownError("not run"));
  RunTogether(kThreads, [&](int t) {
    results[static_cast<size_t>(t)] = ws_->Call(slow, 1000);
  });
  EXPECT_EQ(calls.load(), 1);
  ASSERT_TRUE(results[0].ok()) << results[0].status();
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(**r, **results[0]);
    EXPECT_EQ(r->digest(), results[0]->digest());
    EXPECT_EQ(r->digest(), Hash(**r));
    EXPECT_EQ(r->size(), results[0]->size());
  }
  // One computing execution, seven answered from it.
  const std::vector<Execution> execs = Executions(*ws_);
  ASSERT_EQ(execs.size(), static_cast<size_t>(kThreads));
  int succeeded = 0, cached = 0;
  for (const Execution& e : execs) {
    if (e.status() == Execution::SUCCEEDED) ++succeeded;
    if (e.status() == Execution::CACHED) ++cached;
    ASSERT_EQ(e.outputs_size(), 1);
    EXPECT_EQ(e.outputs(0).digest(), results[0]->digest().ToHex());
  }
  EXPECT_EQ(succeeded, 1);
  EXPECT_EQ(cached, kThreads - 1);
  EXPECT_EQ(ws_->stats().misses, 1);
  EXPECT_EQ(ws_->stats().hits, kThreads - 1);
}

TEST_P(WorkspaceConcurrencyTest, DistinctKeysAllCompute) {
  std::atomic<int> calls{0};
  std::atomic<int> running{0};
  std::atomic<int> max_running{0};
  const auto slow = MakeStep("slow", 1, [&](Context& ctx, int n) {
    calls.fetch_add(1);
    const int now = running.fetch_add(1) + 1;
    int prev = max_running.load();
    while (prev < now && !max_running.compare_exchange_weak(prev, now)) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    running.fetch_sub(1);
    return Values(n, ctx.seed());
  });
  std::vector<absl::StatusOr<Stored<std::vector<double>>>> results(
      kThreads, absl::UnknownError("not run"));
  RunTogether(kThreads, [&](int t) {
    results[static_cast<size_t>(t)] = ws_->Call(slow, 100 + t);
  });
  EXPECT_EQ(calls.load(), kThreads);
  EXPECT_GT(max_running.load(), 1);  // distinct keys do not wait for each other
  for (int t = 0; t < kThreads; ++t) {
    const auto& r = results[static_cast<size_t>(t)];
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->value().size(), static_cast<size_t>(100 + t));
    EXPECT_EQ(r->digest(), Hash(r->value()));
  }
  // All cached: a second round computes nothing and returns the same values.
  for (int t = 0; t < kThreads; ++t) {
    auto again = ws_->Call(slow, 100 + t);
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(again->digest(), results[static_cast<size_t>(t)]->digest());
  }
  EXPECT_EQ(calls.load(), kThreads);
  const std::vector<Execution> execs = Executions(*ws_);
  EXPECT_EQ(execs.size(), static_cast<size_t>(2 * kThreads));
}

TEST_P(WorkspaceConcurrencyTest, FailureReachesEveryWaiterAndIsNotCached) {
  std::atomic<int> calls{0};
  std::atomic<bool> fail{true};
  const auto flaky = MakeStep("flaky", 1, [&](int x) -> absl::StatusOr<int> {
    calls.fetch_add(1);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (fail.load()) return absl::UnavailableError("try later");
    return x;
  });
  std::vector<absl::Status> statuses(kThreads);
  RunTogether(kThreads, [&](int t) {
    statuses[static_cast<size_t>(t)] = ws_->Call(flaky, 7).status();
  });
  for (const absl::Status& s : statuses) {
    EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
    EXPECT_NE(s.message().find("flaky"), std::string::npos) << s;
  }
  // Threads that arrived while the first was running waited for it; none ran twice.
  EXPECT_GE(calls.load(), 1);
  EXPECT_LE(calls.load(), kThreads);
  const int after_failure = calls.load();
  fail = false;
  absl::StatusOr<Stored<int>> ok = ws_->Call(flaky, 7);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(**ok, 7);
  EXPECT_EQ(calls.load(), after_failure + 1);
}

TEST_P(WorkspaceConcurrencyTest, ManyThreadsManyKeys) {
  // Threads call overlapping keys in different orders, mixing tuple and single outputs and
  // Stored<T> arguments; every result must be right and every key's value unique.
  constexpr int kKeys = 16;
  constexpr int kRounds = 4;
  std::atomic<int> calls{0};
  const auto make = MakeStep("make", 1, [&](Context& ctx, int n) {
    calls.fetch_add(1);
    ctx.LogParam("n", n);
    return Values(n + 1, static_cast<uint64_t>(n));
  });
  const auto stats = MakeStep("stats", 1, [&](const std::vector<double>& v) {
    calls.fetch_add(1);
    double sum = 0;
    for (double d : v) sum += d;
    return std::make_tuple(sum, static_cast<int64_t>(v.size()));
  });
  std::atomic<int> errors{0};
  RunTogether(kThreads, [&](int t) {
    for (int round = 0; round < kRounds; ++round) {
      for (int i = 0; i < kKeys; ++i) {
        const int k = (i * 7 + t * 3 + round) % kKeys;
        auto v = ws_->Call(make, k);
        if (!v.ok() || v->value() != Values(k + 1, static_cast<uint64_t>(k))) {
          errors.fetch_add(1);
          continue;
        }
        auto s = ws_->Call(stats, *v);
        if (!s.ok() || *std::get<1>(*s) != k + 1) errors.fetch_add(1);
      }
    }
  });
  EXPECT_EQ(errors.load(), 0);
  // Each distinct key computed at least once; concurrent misses of one key are shared, so
  // nothing near kThreads * kRounds computations per key.
  EXPECT_GE(calls.load(), 2 * kKeys);
  EXPECT_LE(calls.load(), 2 * kKeys * 2);
  EXPECT_EQ(ws_->stats().failures, 0);
}

INSTANTIATE_TEST_SUITE_P(InMemoryAndOnDisk, WorkspaceConcurrencyTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? std::string("Disk") : std::string("Memory");
                         });

}  // namespace
}  // namespace mlops
