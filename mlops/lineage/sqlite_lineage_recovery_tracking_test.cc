// A recovered lineage database keeps what experiment tracking recorded: runs' experiments
// and names, tags, own params, and metric series (their own and their executions'), as far
// as SQLite can read them (here the damage is a zeroed header, so all of it).
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/lineage/lineage.pb.h"
#include "mlops/lineage/sqlite_lineage_store.h"
#include "mlops/lineage/tracking.h"
#include "mlops/testing/damage.h"
#include "mlops/testing/files.h"
#include "mlops/testing/lineage_records.h"
#include "mlops/testing/status_matchers.h"

namespace mlops {
namespace test {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

std::vector<double> Values(const std::vector<MetricPoint>& points) {
  std::vector<double> out;
  for (const MetricPoint& p : points) out.push_back(p.value);
  return out;
}

TEST(SqliteLineageRecoveryTrackingTest, TrackedValuesSurviveARecovery) {
  const std::string path = FreshDir() + "/lineage.db";
  int64_t run = 0;
  int64_t exec = 0;
  {
    std::unique_ptr<SqliteLineageStore> store = OpenStore(path);
    ASSERT_NE(store, nullptr);
    mlops::Run r = MakeRun("train", kT0);
    r.set_experiment("fraud");
    r.set_name("sweep-7");
    absl::StatusOr<int64_t> id = store->BeginRun(r);
    ASSERT_OK(id.status());
    run = *id;
    Execution e = Exec(run, "train", {}, {Ref("model", "m")});
    (*e.mutable_params())["depth"] = "3";
    absl::StatusOr<int64_t> e_id = store->RecordExecution(e);
    ASSERT_OK(e_id.status());
    exec = *e_id;
    ASSERT_OK(store->SetRunTag(run, "team", "risk"));
    ASSERT_OK(store->LogRunParam(run, "lr", "0.1"));
    ASSERT_OK(store->LogMetricPoints(MetricOwner::OfRun(run), "auc",
                                     {MetricPoint{0, 0.5, absl::FromUnixSeconds(kT0)},
                                      MetricPoint{1, 0.75, absl::FromUnixSeconds(kT0 + 1)}}));
    ASSERT_OK(store->LogMetricPoints(MetricOwner::OfExecution(run, exec), "loss",
                                     {MetricPoint{0, 0.9, absl::FromUnixSeconds(kT0)},
                                      MetricPoint{1, 0.3, absl::FromUnixSeconds(kT0 + 1)}}));
    ASSERT_OK(store->Flush());
  }
  ZeroHeader(path);

  std::unique_ptr<SqliteLineageStore> store = OpenStore(path);
  ASSERT_NE(store, nullptr);
  absl::StatusOr<std::vector<LineageRecovery>> recoveries = store->Recoveries();
  ASSERT_OK(recoveries.status());
  ASSERT_EQ(recoveries->size(), 1u);
  EXPECT_TRUE((*recoveries)[0].complete());
  absl::StatusOr<mlops::Run> r = store->GetRun(run);
  ASSERT_OK(r.status());
  EXPECT_EQ(r->experiment(), "fraud");
  EXPECT_EQ(r->name(), "sweep-7");
  absl::StatusOr<std::vector<Experiment>> experiments = store->Experiments();
  ASSERT_OK(experiments.status());
  ASSERT_EQ(experiments->size(), 2u);  // default, fraud
  EXPECT_EQ((*experiments)[1].name, "fraud");
  EXPECT_EQ((*experiments)[1].runs, 1);
  absl::StatusOr<RunValues> v = store->GetRunValues(run);
  ASSERT_OK(v.status());
  EXPECT_THAT(v->tags, ElementsAre(Pair("team", "risk")));
  EXPECT_THAT(v->params, ElementsAre(Pair("depth", "3"), Pair("lr", "0.1")));
  EXPECT_EQ(v->metrics.at("auc").value, 0.75);
  EXPECT_THAT(Values(*store->MetricSeries(MetricOwner::OfRun(run), "auc")), ElementsAre(0.5, 0.75));
  EXPECT_THAT(Values(*store->MetricSeries(MetricOwner::OfExecution(run, exec), "loss")),
              ElementsAre(0.9, 0.3));
  // And the run's own params are still written once.
  EXPECT_TRUE(absl::IsFailedPrecondition(store->LogRunParam(run, "lr", "0.2")));
}

}  // namespace
}  // namespace test
}  // namespace mlops
