// Two different functions under one step name, version and types would share cached
// results (Square(5) returning Twice's 10). A workspace refuses the second with
// FAILED_PRECONDITION naming both; the same function declared twice is fine.
#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "mlops/core/callable_id.h"
#include "mlops/core/step.h"
#include "mlops/core/stored.h"
#include "mlops/core/workspace.h"
#include "mlops/pipeline/pipeline.h"
#include "mlops/testing/workspace.h"

namespace mlops {
namespace {

using ::mlops::test::Executions;
using ::mlops::test::InMemoryWorkspace;

int64_t Twice(int64_t x) { return 2 * x; }
int64_t Square(int64_t x) { return x * x; }

TEST(StepIdentityTest, TwoFunctionsUnderOneStepAreRefused) {
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  const auto twice = MakeStep("f", 1, &Twice);
  const auto square = MakeStep("f", 1, &Square);
  absl::StatusOr<Stored<int64_t>> a = ws->Call(twice, int64_t{5});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(**a, 10);
  absl::StatusOr<Stored<int64_t>> b = ws->Call(square, int64_t{5});
  ASSERT_FALSE(b.ok()) << "Square(5) returned " << **b;
  EXPECT_EQ(b.status().code(), absl::StatusCode::kFailedPrecondition) << b.status();
  EXPECT_NE(b.status().message().find("step 'f' (version 1)"), std::string::npos)
      << b.status();
  EXPECT_NE(b.status().message().find(twice.callable().Describe()), std::string::npos)
      << b.status();
  EXPECT_NE(b.status().message().find(square.callable().Describe()), std::string::npos)
      << b.status();
  EXPECT_EQ(Executions(*ws).size(), 1u);  // the refused call recorded nothing
  // And again, not only the first time; the first function still works.
  EXPECT_EQ(ws->Call(square, int64_t{6}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  absl::StatusOr<Stored<int64_t>> again = ws->Call(twice, int64_t{5});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->cached());
}

TEST(StepIdentityTest, FunctionsAreDescribedDistinctly) {
  const CallableId twice = CallableId::Of(&Twice);
  const CallableId square = CallableId::Of(&Square);
  EXPECT_NE(twice, square);
  EXPECT_NE(twice.Describe(), square.Describe());
  EXPECT_NE(twice.Describe().find("function"), std::string::npos) << twice.Describe();
  const auto lambda = [](int x) { return x; };
  const std::string described = CallableId::Of(lambda).Describe();
  EXPECT_NE(described.find("lambda"), std::string::npos) << described;
  EXPECT_NE(described.find("FunctionsAreDescribedDistinctly"), std::string::npos) << described;
  EXPECT_FALSE(CallableId().known());
}

TEST(StepIdentityTest, TwoLambdasUnderOneStepAreRefused) {
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  const auto one = MakeStep("g", 1, [](int x) { return x + 1; });
  const auto other = MakeStep("g", 1, [](int x) { return x + 2; });
  ASSERT_TRUE(ws->Call(one, 1).ok());
  EXPECT_EQ(ws->Call(other, 1).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(StepIdentityTest, StdFunctionsWrappingDifferentFunctionsAreRefused) {
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  const auto twice = MakeStep("h", 1, std::function<int64_t(int64_t)>(&Twice));
  const auto square = MakeStep("h", 1, std::function<int64_t(int64_t)>(&Square));
  ASSERT_TRUE(ws->Call(twice, int64_t{3}).ok());
  EXPECT_EQ(ws->Call(square, int64_t{3}).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(StepIdentityTest, OneFunctionDeclaredTwiceIsOneStep) {
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  const auto a = MakeStep("f", 1, &Twice);
  const auto b = MakeStep("f", 1, &Twice);
  const auto copy = a;
  ASSERT_TRUE(ws->Call(a, int64_t{4}).ok());
  absl::StatusOr<Stored<int64_t>> hit = ws->Call(b, int64_t{4});
  ASSERT_TRUE(hit.ok()) << hit.status();
  EXPECT_TRUE(hit->cached());
  EXPECT_TRUE(ws->Call(copy, int64_t{4}).ok());
}

TEST(StepIdentityTest, OtherVersionsNamesOrTypesAreOtherSteps) {
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  ASSERT_TRUE(ws->Call(MakeStep("f", 1, &Twice), int64_t{5}).ok());
  absl::StatusOr<Stored<int64_t>> v2 = ws->Call(MakeStep("f", 2, &Square), int64_t{5});
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_EQ(**v2, 25);
  absl::StatusOr<Stored<int64_t>> named = ws->Call(MakeStep("sq", 1, &Square), int64_t{5});
  ASSERT_TRUE(named.ok()) << named.status();
  EXPECT_EQ(**named, 25);
  absl::StatusOr<Stored<int>> typed =
      ws->Call(MakeStep("f", 1, [](int x) { return x * x; }), 5);
  ASSERT_TRUE(typed.ok()) << typed.status();
  EXPECT_EQ(**typed, 25);
}

TEST(StepIdentityTest, PipelineNodesOfTwoFunctionsUnderOneStepAreRefused) {
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  Pipeline p("two");
  auto a = p.Add("twice", MakeStep("f", 1, &Twice), int64_t{5});
  auto b = p.Add("square", MakeStep("f", 1, &Square), int64_t{6});
  RunOptions serial;
  serial.parallelism = 1;
  absl::StatusOr<RunResult> run = p.Run(*ws, {a, b}, serial);
  ASSERT_TRUE(run.ok()) << run.status();
  const int refused = (run->node("twice")->status.code() == absl::StatusCode::kFailedPrecondition) +
                      (run->node("square")->status.code() == absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(refused, 1) << run->node("twice")->status << " / " << run->node("square")->status;
}

}  // namespace
}  // namespace mlops
