// Randomized DAGs (seeded): every node runs exactly once, only after all its dependencies
// have finished, and computes the value a serial evaluation gives; a second run is all
// hits. Run at several parallelisms; meant for --config=tsan too.
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "mlops/core/workspace.h"
#include "mlops/lineage/lineage.pb.h"
#include "mlops/pipeline/pipeline.h"
#include "mlops/testing/workspace.h"

namespace mlops {
namespace {

constexpr int kNodes = 200;

// What the steps see: the graph, and what has started and finished.
struct Trace {
  std::vector<std::vector<int>> deps;
  std::array<std::atomic<int>, kNodes> runs{};
  std::array<std::atomic<bool>, kNodes> finished{};
  std::atomic<int> order_violations{0};
};
Trace* trace = nullptr;

int64_t Visit(int id, int64_t sum_of_deps) {
  for (int d : trace->deps[static_cast<size_t>(id)]) {
    if (!trace->finished[static_cast<size_t>(d)].load()) ++trace->order_violations;
  }
  trace->runs[static_cast<size_t>(id)].fetch_add(1);
  // A little work, so that runs overlap.
  volatile int64_t spin = 0;
  for (int i = 0; i < 2000; ++i) spin = spin + i;
  trace->finished[static_cast<size_t>(id)].store(true);
  return (id + 1) * 1000003 + sum_of_deps % 1000000007;
}

const auto kNode0 = MakeStep("node0", 1, [](int id) { return Visit(id, 0); });
const auto kNode1 = MakeStep("node1", 1, [](int id, int64_t a) { return Visit(id, a); });
const auto kNode2 =
    MakeStep("node2", 1, [](int id, int64_t a, int64_t b) { return Visit(id, a + b); });
const auto kNode3 = MakeStep(
    "node3", 1, [](int id, int64_t a, int64_t b, int64_t c) { return Visit(id, a + b + c); });

void RunRandomDag(uint32_t seed, int parallelism) {
  SCOPED_TRACE(absl::StrCat("seed ", seed, ", parallelism ", parallelism));
  auto t = std::make_unique<Trace>();
  trace = t.get();
  std::mt19937 rng(seed);
  Pipeline p(absl::StrCat("random", seed));
  std::vector<Handle<int64_t>> handles;
  std::vector<int64_t> expected;
  for (int id = 0; id < kNodes; ++id) {
    const int max_deps = std::min(id, 3);
    const int n = static_cast<int>(rng() % static_cast<uint32_t>(max_deps + 1));
    std::vector<int> deps;
    for (int k = 0; k < n; ++k) deps.push_back(static_cast<int>(rng() % static_cast<uint32_t>(id)));
    t->deps.push_back(deps);
    int64_t sum = 0;
    for (int d : deps) sum += expected[static_cast<size_t>(d)];
    expected.push_back((id + 1) * 1000003 + sum % 1000000007);
    const std::string name = absl::StrCat("n", id);
    const auto h = [&](int k) {
      return handles[static_cast<size_t>(deps[static_cast<size_t>(k)])];
    };
    switch (n) {
      case 0: handles.push_back(p.Add(name, kNode0, id)); break;
      case 1: handles.push_back(p.Add(name, kNode1, id, h(0))); break;
      case 2: handles.push_back(p.Add(name, kNode2, id, h(0), h(1))); break;
      default: handles.push_back(p.Add(name, kNode3, id, h(0), h(1), h(2))); break;
    }
  }
  auto ws = test::InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  RunOptions options;
  options.parallelism = parallelism;
  absl::StatusOr<RunResult> r = p.RunAll(*ws, options);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->status().ok()) << r->status();
  EXPECT_EQ(r->ran(), kNodes);
  EXPECT_EQ(t->order_violations.load(), 0);
  for (int id = 0; id < kNodes; ++id) {
    EXPECT_EQ(t->runs[static_cast<size_t>(id)].load(), 1) << "node " << id;
    const NodeResult* node = r->node(absl::StrCat("n", id));
    ASSERT_NE(node, nullptr);
    ASSERT_EQ(node->digests.size(), 1u);
    EXPECT_EQ(node->digests[0], Hash(expected[static_cast<size_t>(id)])) << "node " << id;
  }
  absl::StatusOr<std::vector<Execution>> execs = ws->lineage().ExecutionsOfRun(ws->run_id());
  ASSERT_TRUE(execs.ok());
  EXPECT_EQ(execs->size(), static_cast<size_t>(kNodes));

  // Every target's value, and a second run that is all hits and runs no step.
  for (const NodeResult& n : r->nodes()) {
    const int id = n.node;
    absl::StatusOr<Stored<int64_t>> v = r->Get(handles[static_cast<size_t>(id)]);
    if (v.ok()) {
      EXPECT_EQ(**v, expected[static_cast<size_t>(id)]);
    }
  }
  absl::StatusOr<RunResult> again = p.RunAll(*ws, options);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->hits(), kNodes);
  for (int id = 0; id < kNodes; ++id) EXPECT_EQ(t->runs[static_cast<size_t>(id)].load(), 1);
  trace = nullptr;
}

TEST(PipelineDagTest, RandomGraphsSerial) {
  for (uint32_t seed : {1u, 2u}) RunRandomDag(seed, 1);
}

TEST(PipelineDagTest, RandomGraphsParallel) {
  for (uint32_t seed : {3u, 4u, 5u}) RunRandomDag(seed, 4);
  RunRandomDag(6, 16);
}

}  // namespace
}  // namespace mlops
