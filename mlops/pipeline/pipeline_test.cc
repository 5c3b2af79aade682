// Pipelines: building, running, typed results, multi-output nodes, sharing cache keys with
// Workspace::Call, misuse errors, DOT export and progress.
#include "mlops/pipeline/pipeline.h"

#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "mlops/core/workspace.h"
#include "mlops/lineage/lineage.pb.h"
#include "mlops/testing/workspace.h"

namespace mlops {
namespace {

using ::mlops::test::Executions;
using ::mlops::test::InMemoryWorkspace;

const auto kRange = MakeStep("range", 1, [](int n) {
  std::vector<int> v;
  for (int i = 0; i < n; ++i) v.push_back(i);
  return v;
});
const auto kScale = MakeStep("scale", 1, [](const std::vector<int>& v, int k) {
  std::vector<int> out;
  for (int x : v) out.push_back(x * k);
  return out;
});
const auto kSum = MakeStep("sum", 1, [](const std::vector<int>& v) {
  int64_t s = 0;
  for (int x : v) s += x;
  return s;
});
const auto kAdd = MakeStep("add", 1, [](int64_t a, int64_t b) { return a + b; });
const auto kEvensOdds = MakeStep("evens_odds", 1, [](const std::vector<int>& v) {
  std::vector<int> evens, odds;
  for (int x : v) (x % 2 == 0 ? evens : odds).push_back(x);
  return std::make_tuple(evens, odds);
});

TEST(PipelineTest, RunsTargetsAndReturnsTypedValues) {
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  Pipeline p("sums");
  Handle<std::vector<int>> range = p.Add("range", kRange, 10);
  Handle<std::vector<int>> doubled = p.Add("double", kScale, range, 2);
  Handle<std::vector<int>> tripled = p.Add("triple", kScale, range, 3);
  Handle<int64_t> a = p.Add("sum_doubled", kSum, doubled);
  Handle<int64_t> b = p.Add("sum_tripled", kSum, tripled);
  Handle<int64_t> total = p.Add("total", kAdd, a, b);
  EXPECT_EQ(p.size(), 6);
  EXPECT_TRUE(p.status().ok());

  absl::StatusOr<RunResult> r = p.Run(*ws, {total, a});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->status().ok()) << r->status();
  EXPECT_EQ(r->ran(), 6);
  EXPECT_EQ(r->hits(), 0);
  absl::StatusOr<Stored<int64_t>> t = r->Get(total);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(**t, 45 * 2 + 45 * 3);
  EXPECT_FALSE(t->cached());
  EXPECT_EQ(t->digest(), Hash(int64_t{225}));
  absl::StatusOr<Stored<int64_t>> va = r->Get(a);
  ASSERT_TRUE(va.ok()) << va.status();
  EXPECT_EQ(**va, 90);
  // A needed node that was not a target has no value.
  EXPECT_EQ(r->Get(doubled).status().code(), absl::StatusCode::kFailedPrecondition);

  absl::StatusOr<RunResult> again = p.Run(*ws, {total});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->hits(), 6);
  EXPECT_EQ(again->ran(), 0);
  t = again->Get(total);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(**t, 225);
  EXPECT_TRUE(t->cached());
  EXPECT_EQ(t->execution_id(), again->node("total")->execution_id);
}

TEST(PipelineTest, RunsOnlyWhatTheTargetsNeed) {
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  Pipeline p("partial");
  auto range = p.Add("range", kRange, 4);
  auto doubled = p.Add("double", kScale, range, 2);
  p.Add("triple", kScale, range, 3);
  absl::StatusOr<RunResult> r = p.Run(*ws, {doubled});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->nodes().size(), 2u);
  EXPECT_EQ(r->nodes()[0].name, "range");
  EXPECT_EQ(r->nodes()[1].name, "double");
  EXPECT_EQ(r->node("triple"), nullptr);
  EXPECT_EQ(Executions(*ws).size(), 2u);
}

TEST(PipelineTest, RunAllTargetsTheSinks) {
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  Pipeline p("all");
  auto range = p.Add("range", kRange, 4);
  auto doubled = p.Add("double", kScale, range, 2);
  auto tripled = p.Add("triple", kScale, range, 3);
  absl::StatusOr<RunResult> r = p.RunAll(*ws);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->ran(), 3);
  EXPECT_TRUE(r->Get(doubled).ok());
  EXPECT_TRUE(r->Get(tripled).ok());
  EXPECT_EQ(r->Get(range).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(PipelineTest, MultipleOutputsAreSeparateHandles) {
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  Pipeline p("tuple");
  auto range = p.Add("range", kRange, 7);
  auto [evens, odds] = p.Add("split", kEvensOdds, range);
  auto sum_odds = p.Add("sum_odds", kSum, odds);
  absl::StatusOr<RunResult> r = p.Run(*ws, {sum_odds, evens});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->status().ok()) << r->status();
  EXPECT_EQ(**r->Get(sum_odds), 1 + 3 + 5);
  EXPECT_EQ(**r->Get(evens), (std::vector<int>{0, 2, 4, 6}));
  r = p.Run(*ws, {sum_odds, evens});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->hits(), 3);
  EXPECT_EQ(**r->Get(evens), (std::vector<int>{0, 2, 4, 6}));
}

// A node and the same step called through Workspace::Call on the same inputs share one
// cache key, in both directions.
TEST(PipelineTest, SharesCacheKeysWithWorkspaceCall) {
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  Pipeline p("shared");
  auto range = p.Add("range", kRange, 5);
  auto scaled = p.Add("scale", kScale, range, 4);
  auto [evens, odds] = p.Add("split", kEvensOdds, scaled);
  absl::StatusOr<RunResult> r = p.Run(*ws, {evens});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->ran(), 3);

  auto called_range = ws->Call(kRange, 5);
  ASSERT_TRUE(called_range.ok());
  EXPECT_TRUE(called_range->cached());
  auto called_scaled = ws->Call(kScale, *called_range, 4);
  ASSERT_TRUE(called_scaled.ok());
  EXPECT_TRUE(called_scaled->cached());
  EXPECT_EQ(called_scaled->digest(), r->node("scale")->digests[0]);
  auto called_split = ws->Call(kEvensOdds, *called_scaled);
  ASSERT_TRUE(called_split.ok());
  EXPECT_TRUE(std::get<0>(*called_split).cached());
  const auto keys = [&](int64_t a, int64_t b) {
    return std::make_pair(ws->lineage().GetExecution(a)->action_key(),
                          ws->lineage().GetExecution(b)->action_key());
  };
  auto [k1, k2] = keys(r->node("scale")->execution_id, called_scaled->execution_id());
  EXPECT_EQ(k1, k2);

  // And the other way: a value computed by Call is a hit for the pipeline.
  ASSERT_TRUE(ws->Call(kScale, *called_range, 6).ok());
  Pipeline q("shared2");
  auto q_range = q.Add("range", kRange, 5);
  auto q_scaled = q.Add("scale6", kScale, q_range, 6);
  r = q.Run(*ws, {q_scaled});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->hits(), 2);
}

TEST(PipelineTest, LiteralStoredAndFileInputs) {
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  const std::string path = ::testing::TempDir() + "/pipeline_test_input.txt";
  {
    FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("hello", f);
    std::fclose(f);
  }
  const auto length = MakeStep("length", 1, [](const File& f) {
    FILE* in = std::fopen(f.path().c_str(), "r");
    int n = 0;
    while (in != nullptr && std::fgetc(in) != EOF) ++n;
    if (in != nullptr) std::fclose(in);
    return n;
  });
  Pipeline p("inputs");
  auto len = p.Add("length", length, File(path));
  auto range = p.Add("range", kRange, len);
  auto scaled = p.Add("scale", kScale, Stored<std::vector<int>>(std::vector<int>{1, 2}), 'c');
  absl::StatusOr<RunResult> r = p.Run(*ws, {range, scaled});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->status().ok()) << r->status();
  EXPECT_EQ(**r->Get(range), (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(**r->Get(scaled), (std::vector<int>{99, 198}));
  absl::StatusOr<Execution> exec = ws->lineage().GetExecution(r->node("length")->execution_id);
  ASSERT_TRUE(exec.ok());
  ASSERT_EQ(exec->inputs_size(), 1);
  EXPECT_EQ(exec->inputs(0).type_name(), "file");
  EXPECT_EQ(exec->inputs(0).label(), path);
}

// ---- misuse ---------------------------------------------------------------------------

TEST(PipelineTest, HandleOfAnotherPipelineIsAnError) {
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  Pipeline a("a"), b("b");
  auto range_a = a.Add("range", kRange, 3);
  auto range_b = b.Add("range", kRange, 3);
  b.Add("sum", kSum, range_a);  // wrong pipeline
  EXPECT_EQ(b.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(b.status().message().find("another pipeline"), std::string::npos) << b.status();
  EXPECT_EQ(b.Run(*ws, {range_b}).status().code(), absl::StatusCode::kInvalidArgument);
  // A target of another pipeline.
  absl::StatusOr<RunResult> r = a.Run(*ws, {range_b});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  // A handle given to the result of another pipeline.
  r = a.Run(*ws, {range_a});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->Get(range_b).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ws->stats().hits + ws->stats().misses == 1);
}

TEST(PipelineTest, DuplicateAndEmptyNamesAreErrors) {
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  Pipeline p("dup");
  auto first = p.Add("range", kRange, 3);
  p.Add("range", kRange, 4);
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(p.status().message().find("two nodes named 'range'"), std::string::npos);
  EXPECT_EQ(p.Run(*ws, {first}).status(), p.status());
  Pipeline q("empty_name");
  auto h = q.Add("", kRange, 3);
  EXPECT_EQ(q.Run(*ws, {h}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Executions(*ws).size(), 0u);
}

TEST(PipelineTest, EmptyPipelineNoTargetsAndBadParallelismAreErrors) {
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  Pipeline empty("empty");
  EXPECT_EQ(empty.RunAll(*ws).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(empty.Run(*ws, {}).status().code(), absl::StatusCode::kInvalidArgument);
  Pipeline p("p");
  auto range = p.Add("range", kRange, 3);
  EXPECT_EQ(p.Run(*ws, {}).status().code(), absl::StatusCode::kInvalidArgument);
  RunOptions options;
  options.parallelism = -1;
  EXPECT_EQ(p.Run(*ws, {range}, options).status().code(), absl::StatusCode::kInvalidArgument);
}

// ---- DOT and progress -----------------------------------------------------------------

TEST(PipelineTest, ExportsDotColouredByLastRun) {
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  Pipeline p("dot \"quoted\"");
  auto range = p.Add("range", kRange, 3);
  auto [evens, odds] = p.Add("split", kEvensOdds, range);
  p.Add("sum", kSum, odds);
  const std::string plain = p.ToDot();
  EXPECT_NE(plain.find("digraph \"dot \\\"quoted\\\"\""), std::string::npos) << plain;
  EXPECT_NE(plain.find("n0 -> n1 [label=\"arg0\"]"), std::string::npos) << plain;
  EXPECT_NE(plain.find("n1 -> n2 [label=\"1 → arg0\"]"), std::string::npos) << plain;
  EXPECT_NE(plain.find("split\\nevens_odds v1"), std::string::npos) << plain;
  EXPECT_EQ(plain.find("fillcolor=palegreen"), std::string::npos);
  absl::StatusOr<RunResult> r = p.Run(*ws, {evens});
  ASSERT_TRUE(r.ok());
  const std::string coloured = p.ToDot(&*r);
  EXPECT_NE(coloured.find("fillcolor=palegreen"), std::string::npos) << coloured;
  EXPECT_NE(coloured.find("(ran)"), std::string::npos) << coloured;
}

TEST(PipelineTest, ReportsProgressUpToTheTotal) {
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  Pipeline p("progress");
  auto range = p.Add("range", kRange, 3);
  std::vector<Handle<std::vector<int>>> leaves;
  for (int k = 0; k < 20; ++k)
    leaves.push_back(p.Add("scale" + std::to_string(k), kScale, range, k));
  std::vector<NodeRef> targets(leaves.begin(), leaves.end());
  for (int round = 0; round < 2; ++round) {
    std::vector<RunProgress> seen;
    RunOptions options;
    options.parallelism = 4;
    options.progress = [&seen](const RunProgress& pr) { seen.push_back(pr); };
    absl::StatusOr<RunResult> r = p.Run(*ws, targets, options);
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_FALSE(seen.empty());
    for (size_t i = 1; i < seen.size(); ++i) EXPECT_GE(seen[i].done, seen[i - 1].done);
    EXPECT_EQ(seen.back().done, 21);
    EXPECT_EQ(seen.back().total, 21);
    EXPECT_EQ(seen.back().hits, round == 0 ? 0 : 21);
  }
}

}  // namespace
}  // namespace mlops
