// Experiment tracking through the workspace: a step's metric series (ctx.LogMetric with a
// step), shown by a later cache hit as the series it reuses; the run's experiment, name,
// write-once params, tags and own metrics; bad names failing the call with nothing cached.
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/core/step.h"
#include "mlops/core/workspace.h"
#include "mlops/lineage/tracking.h"
#include "mlops/testing/files.h"
#include "mlops/testing/status_matchers.h"
#include "mlops/testing/workspace.h"

namespace mlops {
namespace {

using ::mlops::test::Executions;
using ::mlops::test::FreshDir;
using ::mlops::test::InMemoryWorkspace;
using ::mlops::test::OpenWorkspace;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

// Trains for `epochs`, logging the loss of each (1 / (epoch + 1)), and a NaN.
const auto kTrain = MakeStep("train", 1, [](Context& ctx, int epochs) {
  for (int epoch = 0; epoch < epochs; ++epoch) {
    ctx.LogMetric("loss", 1.0 / (epoch + 1), epoch);
  }
  ctx.LogMetric("odd", std::numeric_limits<double>::quiet_NaN());
  ctx.LogParam("epochs", epochs);
  return epochs;
});

std::vector<double> Values(const std::vector<MetricPoint>& points) {
  std::vector<double> out;
  for (const MetricPoint& p : points) out.push_back(p.value);
  return out;
}

TEST(WorkspaceTrackingTest, AStepLogsASeriesAndAHitShowsIt) {
  const std::string dir = FreshDir();
  WorkspaceOptions options;
  options.experiment = "sweep";
  options.run_name = "first";
  int64_t computed_id = 0;
  {
    auto ws = OpenWorkspace(dir, options);
    ASSERT_NE(ws, nullptr);
    ASSERT_OK(ws->Call(kTrain, 4).status());
    std::vector<Execution> execs = Executions(*ws);
    ASSERT_EQ(execs.size(), 1u);
    computed_id = execs[0].id();
    EXPECT_EQ(execs[0].metrics().at("loss"), 0.25);  // the last point: epoch 3
    absl::StatusOr<std::vector<MetricPoint>> series = ws->lineage().MetricSeries(
        MetricOwner::OfExecution(ws->run_id(), computed_id), "loss");
    ASSERT_OK(series.status());
    EXPECT_THAT(Values(*series), ElementsAre(1.0, 0.5, 1.0 / 3, 0.25));
    EXPECT_EQ((*series)[3].step, 3);
    absl::StatusOr<mlops::Run> run = ws->lineage().GetRun(ws->run_id());
    EXPECT_EQ(run->experiment(), "sweep");
    EXPECT_EQ(run->name(), "first");
  }
  auto ws = OpenWorkspace(dir);
  ASSERT_NE(ws, nullptr);
  ASSERT_OK(ws->Call(kTrain, 4).status());
  EXPECT_EQ(ws->stats().hits, 1);
  std::vector<Execution> execs = Executions(*ws);
  ASSERT_EQ(execs.size(), 1u);
  ASSERT_TRUE(execs[0].cache_hit());
  absl::StatusOr<std::vector<MetricPoint>> series =
      ws->lineage().MetricSeries(MetricOwner::OfExecution(ws->run_id(), execs[0].id()), "loss");
  ASSERT_OK(series.status());
  EXPECT_THAT(Values(*series), ElementsAre(1.0, 0.5, 1.0 / 3, 0.25));
  absl::StatusOr<RunValues> values = ws->lineage().GetRunValues(ws->run_id());
  ASSERT_OK(values.status());
  EXPECT_EQ(values->metrics.at("loss").value, 0.25);
  EXPECT_TRUE(std::isnan(values->metrics.at("odd").value));
  EXPECT_THAT(values->params, ElementsAre(Pair("epochs", "4")));
  absl::StatusOr<mlops::Run> run = ws->lineage().GetRun(ws->run_id());
  EXPECT_EQ(run->experiment(), "default");
  EXPECT_EQ(run->name(), absl::StrCat(run->program().substr(run->program().rfind('/') + 1),
                                      "-", ws->run_id()));
}

TEST(WorkspaceTrackingTest, TheRunLogsWriteOnceParamsTagsAndMetrics) {
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  ASSERT_OK(ws->LogParam("lr", 0.1));
  ASSERT_OK(ws->LogParam("lr", "0.1"));
  const absl::Status changed = ws->LogParam("lr", 0.2);
  EXPECT_TRUE(absl::IsFailedPrecondition(changed)) << changed;
  EXPECT_THAT(std::string(changed.message()), HasSubstr("'0.1'"));
  EXPECT_THAT(std::string(changed.message()), HasSubstr("'0.2'"));
  ASSERT_OK(ws->LogParam("layers", 3));
  ASSERT_OK(ws->SetTag("team", "fraud"));
  ASSERT_OK(ws->SetTag("team", "risk"));
  for (int64_t step = 0; step < 3; ++step) ASSERT_OK(ws->LogMetric("auc", 0.5 + 0.1 * step, step));
  absl::StatusOr<RunValues> v = ws->lineage().GetRunValues(ws->run_id());
  ASSERT_OK(v.status());
  EXPECT_THAT(v->params, ElementsAre(Pair("layers", "3"), Pair("lr", "0.1")));
  EXPECT_THAT(v->tags, ElementsAre(Pair("team", "risk")));
  EXPECT_DOUBLE_EQ(v->metrics.at("auc").value, 0.7);
  EXPECT_EQ(v->metrics.at("auc").step, 2);
  EXPECT_EQ(ws->lineage().MetricSeries(MetricOwner::OfRun(ws->run_id()), "auc")->size(), 3u);
  EXPECT_TRUE(absl::IsInvalidArgument(ws->LogParam("", "x")));
  EXPECT_TRUE(absl::IsInvalidArgument(ws->SetTag(std::string(251, 't'), "x")));
  EXPECT_TRUE(absl::IsInvalidArgument(ws->LogMetric("", 1)));
}

TEST(WorkspaceTrackingTest, ABadNameFailsTheCallAndNothingIsCached) {
  const auto bad = MakeStep("bad", 1, [](Context& ctx, int x) {
    ctx.LogMetric("", 1.0);
    ctx.LogParam("fine", x);
    return x;
  });
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  for (int attempt = 0; attempt < 2; ++attempt) {
    absl::Status s = ws->Call(bad, 1).status();
    EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr("metric name is empty"));
  }
  EXPECT_EQ(ws->stats().failures, 2);
  EXPECT_EQ(ws->stats().hits, 0);
  WorkspaceOptions long_experiment;
  long_experiment.experiment = std::string(251, 'e');
  absl::StatusOr<std::unique_ptr<Workspace>> refused = Workspace::InMemory(long_experiment);
  EXPECT_TRUE(absl::IsInvalidArgument(refused.status())) << refused.status();
  WorkspaceOptions no_experiment;
  no_experiment.experiment = "";
  refused = Workspace::InMemory(no_experiment);
  EXPECT_TRUE(absl::IsInvalidArgument(refused.status())) << refused.status();
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("experiment"));
}

}  // namespace
}  // namespace mlops
