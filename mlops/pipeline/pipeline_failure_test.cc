// Failures: a failed node fails its dependents with a Status naming it; independent
// branches finish (keep-going), or nothing new starts (fail-fast); lineage has a FAILED
// execution for the failed node and none for nodes that never ran.
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "mlops/core/workspace.h"
#include "mlops/lineage/lineage.pb.h"
#include "mlops/pipeline/pipeline.h"
#include "mlops/testing/workspace.h"

namespace mlops {
namespace {

using ::mlops::test::Executions;
using ::mlops::test::InMemoryWorkspace;

const auto kConst = MakeStep("const", 1, [](int x) { return x; });
const auto kInc = MakeStep("inc", 1, [](int x) { return x + 1; });
const auto kFail = MakeStep("fail", 1, [](int x) -> absl::StatusOr<int> {
  return absl::FailedPreconditionError("x is " + std::to_string(x));
});
const auto kThrow =
    MakeStep("throw", 1, [](int x) -> int { throw std::runtime_error(std::to_string(x)); });
const auto kAdd = MakeStep("add", 1, [](int a, int b) { return a + b; });

std::set<std::string> StepsWithStatus(Workspace& ws, Execution::Status status) {
  std::set<std::string> out;
  for (const Execution& e : Executions(ws)) {
    if (e.status() == status) out.insert(e.step_name() + ":" + e.inputs(0).digest().substr(0, 6));
  }
  return out;
}

size_t ExecutionCount(Workspace& ws) { return Executions(ws).size(); }

TEST(PipelineFailureTest, KeepGoingFinishesIndependentBranches) {
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  Pipeline p("failing");
  auto a = p.Add("a", kConst, 1);
  auto bad = p.Add("bad", kFail, a);
  auto after_bad = p.Add("after_bad", kInc, bad);
  auto joined = p.Add("joined", kAdd, after_bad, a);
  auto good = p.Add("good", kInc, a);
  auto good2 = p.Add("good2", kInc, good);
  auto other = p.Add("other", kConst, 7);
  RunOptions options;
  options.parallelism = 3;
  absl::StatusOr<RunResult> r = p.Run(*ws, {joined, good2, other}, options);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->failed(), 1);
  EXPECT_EQ(r->skipped(), 2);
  EXPECT_EQ(r->ran(), 4);

  const NodeResult* failed = r->node("bad");
  EXPECT_EQ(failed->outcome, NodeOutcome::kFailed);
  EXPECT_EQ(failed->status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(failed->status.message().find("node 'bad'"), std::string::npos) << failed->status;
  EXPECT_NE(failed->status.message().find("x is 1"), std::string::npos) << failed->status;
  EXPECT_NE(failed->execution_id, 0);
  EXPECT_EQ(r->status(), failed->status);

  for (const char* name : {"after_bad", "joined"}) {
    const NodeResult* skipped = r->node(name);
    EXPECT_EQ(skipped->outcome, NodeOutcome::kSkipped) << name;
    EXPECT_EQ(skipped->status.code(), absl::StatusCode::kFailedPrecondition) << name;
    EXPECT_NE(skipped->status.message().find("upstream node 'bad' failed"), std::string::npos)
        << skipped->status;
    EXPECT_EQ(skipped->execution_id, 0) << name;
    EXPECT_TRUE(skipped->digests.empty());
  }
  EXPECT_EQ(r->Get(joined).status(), r->node("joined")->status);
  absl::StatusOr<Stored<int>> g = r->Get(good2);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(**g, 3);

  // Lineage: the failed execution, and the four that ran; nothing for skipped nodes.
  absl::StatusOr<Execution> exec = ws->lineage().GetExecution(failed->execution_id);
  ASSERT_TRUE(exec.ok());
  EXPECT_EQ(exec->status(), Execution::FAILED);
  EXPECT_EQ(exec->step_name(), "fail");
  EXPECT_EQ(ExecutionCount(*ws), 5u);
  EXPECT_EQ(StepsWithStatus(*ws, Execution::FAILED).size(), 1u);
  EXPECT_EQ(StepsWithStatus(*ws, Execution::SUCCEEDED).size(), 4u);

  // The failure was not cached: it fails (and is recorded) again.
  r = p.Run(*ws, {joined}, options);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->node("bad")->outcome, NodeOutcome::kFailed);
  EXPECT_EQ(r->node("a")->outcome, NodeOutcome::kHit);
}

TEST(PipelineFailureTest, FailFastStartsNothingAfterAFailure) {
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  Pipeline p("fail_fast");
  auto bad = p.Add("bad", kThrow, 5);  // node 0: the first to start with one thread
  auto after_bad = p.Add("after_bad", kInc, bad);
  auto good = p.Add("good", kConst, 1);
  auto good2 = p.Add("good2", kInc, good);
  RunOptions options;
  options.parallelism = 1;
  options.keep_going = false;
  absl::StatusOr<RunResult> r = p.Run(*ws, {after_bad, good2}, options);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->failed(), 1);
  EXPECT_EQ(r->ran(), 0);
  EXPECT_EQ(r->skipped(), 3);
  EXPECT_EQ(r->node("bad")->status.code(), absl::StatusCode::kUnknown);
  EXPECT_NE(r->node("bad")->status.message().find("threw"), std::string::npos);
  EXPECT_EQ(r->node("good")->status.code(), absl::StatusCode::kCancelled);
  EXPECT_NE(r->node("good")->status.message().find("after node 'bad' failed"), std::string::npos)
      << r->node("good")->status;
  EXPECT_EQ(r->node("good2")->status.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(r->node("after_bad")->status.code(), absl::StatusCode::kUnknown);
  EXPECT_EQ(ExecutionCount(*ws), 1u);

  // Keep-going (the default) runs the independent branch.
  options.keep_going = true;
  r = p.Run(*ws, {after_bad, good2}, options);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->ran(), 2);
  EXPECT_EQ(r->failed(), 1);
  EXPECT_EQ(r->skipped(), 1);
}

TEST(PipelineFailureTest, UnreadableInputFileFailsTheNodeBeforeItRuns) {
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  const auto size =
      MakeStep("size", 1, [](const File& f) { return static_cast<int>(f.path().size()); });
  Pipeline p("files");
  auto s = p.Add("size", size, File(::testing::TempDir() + "/no/such/file"));
  auto next = p.Add("next", kInc, s);
  absl::StatusOr<RunResult> r = p.Run(*ws, {next});
  ASSERT_TRUE(r.ok()) << r.status();
  const NodeResult* failed = r->node("size");
  EXPECT_EQ(failed->outcome, NodeOutcome::kFailed);
  EXPECT_NE(failed->status.message().find("node 'size'"), std::string::npos) << failed->status;
  EXPECT_NE(failed->status.message().find("no/such/file"), std::string::npos) << failed->status;
  EXPECT_EQ(failed->execution_id, 0);  // nothing ran, nothing recorded
  EXPECT_EQ(r->node("next")->outcome, NodeOutcome::kSkipped);
  EXPECT_EQ(ExecutionCount(*ws), 0u);
}

TEST(PipelineFailureTest, ManyFailuresInParallelEachNamed) {
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  Pipeline p("many");
  std::vector<NodeRef> targets;
  for (int i = 0; i < 50; ++i) {
    auto c = p.Add("c" + std::to_string(i), kConst, i);
    auto f = (i % 3 == 0) ? p.Add("f" + std::to_string(i), kFail, c)
                          : p.Add("f" + std::to_string(i), kInc, c);
    targets.push_back(p.Add("t" + std::to_string(i), kAdd, f, 1000 + i));  // keys all distinct
  }
  RunOptions options;
  options.parallelism = 4;
  absl::StatusOr<RunResult> r = p.Run(*ws, targets, options);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->failed(), 17);
  EXPECT_EQ(r->skipped(), 17);
  EXPECT_EQ(r->ran(), 150 - 34);
  for (int i = 0; i < 50; i += 3) {
    EXPECT_NE(r->node("t" + std::to_string(i))
                  ->status.message()
                  .find("upstream node 'f" + std::to_string(i) + "' failed"),
              std::string::npos);
  }
}

}  // namespace
}  // namespace mlops
