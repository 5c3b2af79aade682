// Experiment tracking in the SQLite store (tracking.h): experiments and run names, tags,
// write-once run params, metric series (round trip, NaN and infinities bit for bit, across
// reopening), the values a run shows (its own over its executions', cache hits with their
// representative's), a hit's series being its representative's without copies, bad input,
// and deletion with the run.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/lineage/lineage.pb.h"
#include "mlops/lineage/sqlite_lineage_store.h"
#include "mlops/lineage/tracking.h"
#include "mlops/testing/lineage_records.h"
#include "mlops/testing/status_matchers.h"

namespace mlops {
namespace test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;

class TrackingTest : public StoreTest {
 protected:
  int64_t NewRun(const std::string& experiment = "", const std::string& name = "") {
    mlops::Run run = MakeRun("bin/train", kT0);
    run.set_experiment(experiment);
    run.set_name(name);
    absl::StatusOr<int64_t> id = store_->BeginRun(run);
    EXPECT_TRUE(id.ok()) << id.status();
    return id.ok() ? *id : 0;
  }
  int64_t Record(const Execution& e) {
    absl::StatusOr<int64_t> id = store_->RecordExecution(e);
    EXPECT_TRUE(id.ok()) << id.status();
    return id.ok() ? *id : 0;
  }
  int64_t Count(const std::string& table) {
    SqlQuery q{absl::StrCat("SELECT count(*) FROM ", table), {}};
    absl::StatusOr<std::vector<std::vector<mlops::SqlValue>>> rows = store_->Select(q);
    EXPECT_TRUE(rows.ok()) << rows.status();
    return rows.ok() ? std::get<int64_t>((*rows)[0][0]) : -1;
  }
};

absl::Time At(int64_t us) { return absl::FromUnixMicros(int64_t{1700000000} * 1000000 + us); }

uint64_t Bits(double d) {
  uint64_t b;
  std::memcpy(&b, &d, sizeof(b));
  return b;
}

TEST_P(TrackingTest, RunsHaveAnExperimentAndAName) {
  const int64_t a = NewRun();
  const int64_t b = NewRun("fraud", "sweep-1");
  const int64_t c = NewRun("fraud");
  EXPECT_EQ(store_->GetRun(a)->experiment(), "default");
  EXPECT_EQ(store_->GetRun(a)->name(), absl::StrCat("train-", a));
  EXPECT_EQ(store_->GetRun(b)->experiment(), "fraud");
  EXPECT_EQ(store_->GetRun(b)->name(), "sweep-1");
  absl::StatusOr<std::vector<Experiment>> experiments = store_->Experiments();
  ASSERT_OK(experiments.status());
  ASSERT_EQ(experiments->size(), 2u);
  EXPECT_EQ((*experiments)[0].name, "default");
  EXPECT_EQ((*experiments)[0].runs, 1);
  EXPECT_EQ((*experiments)[1].name, "fraud");
  EXPECT_EQ((*experiments)[1].runs, 2);
  EXPECT_EQ((*experiments)[1].last_start, absl::FromUnixSeconds(kT0));
  // UpdateRun keeps them, whatever the proto says.
  mlops::Run changed = *store_->GetRun(c);
  changed.clear_experiment();
  changed.set_name("other");
  ASSERT_OK(store_->UpdateRun(changed));
  EXPECT_EQ(store_->GetRun(c)->experiment(), "fraud");
  EXPECT_EQ(store_->GetRun(c)->name(), absl::StrCat("train-", c));
}

TEST_P(TrackingTest, TagsChangeAndParamsAreWrittenOnce) {
  const int64_t run = NewRun();
  ASSERT_OK(store_->SetRunTag(run, "team", "fraud"));
  ASSERT_OK(store_->SetRunTag(run, "team", "risk"));
  ASSERT_OK(store_->LogRunParam(run, "lr", "0.1"));
  ASSERT_OK(store_->LogRunParam(run, "lr", "0.1"));  // the same value again
  const absl::Status again = store_->LogRunParam(run, "lr", "0.2");
  EXPECT_TRUE(absl::IsFailedPrecondition(again)) << again;
  EXPECT_THAT(std::string(again.message()), HasSubstr("'0.1'"));
  EXPECT_THAT(std::string(again.message()), HasSubstr("'0.2'"));
  absl::StatusOr<RunValues> v = store_->GetRunValues(run);
  ASSERT_OK(v.status());
  EXPECT_THAT(v->tags, ElementsAre(Pair("team", "risk")));
  EXPECT_THAT(v->params, ElementsAre(Pair("lr", "0.1")));
}

TEST_P(TrackingTest, BadNamesAndValuesAreRefusedAndWriteNothing) {
  const int64_t run = NewRun();
  const std::string long_name(251, 'k');
  const std::string long_value(6001, 'v');
  for (const absl::Status& s :
       {store_->SetRunTag(run, "", "x"), store_->SetRunTag(run, long_name, "x"),
        store_->SetRunTag(run, "k", long_value), store_->LogRunParam(run, "", "x"),
        store_->LogRunParam(run, long_name, "x"), store_->LogRunParam(run, "k", long_value),
        store_->LogMetricPoints(MetricOwner::OfRun(run), "", {MetricPoint{0, 1, At(0)}}),
        store_->LogMetricPoints(MetricOwner::OfRun(run), long_name, {MetricPoint{0, 1, At(0)}})}) {
    EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  }
  EXPECT_OK(store_->LogRunParam(run, std::string(250, 'k'), std::string(6000, 'v')));
  const absl::Status named = store_->LogRunParam(run, "p", long_value);
  EXPECT_THAT(std::string(named.message()), HasSubstr("param 'p'"));
  EXPECT_THAT(std::string(named.message()), HasSubstr("6001 bytes"));
  EXPECT_EQ(Count("run_tags"), 0);
  EXPECT_EQ(Count("run_params"), 1);
  EXPECT_EQ(Count("metric_points"), 0);
  EXPECT_TRUE(absl::IsNotFound(store_->SetRunTag(run + 100, "k", "v")));
  EXPECT_TRUE(absl::IsNotFound(store_->LogRunParam(run + 100, "k", "v")));
  mlops::Run bad = MakeRun("train", kT0);
  bad.set_experiment(long_name);
  EXPECT_TRUE(absl::IsInvalidArgument(store_->BeginRun(bad).status()));
  bad.set_experiment("ok");
  bad.set_name(long_name);
  EXPECT_TRUE(absl::IsInvalidArgument(store_->BeginRun(bad).status()));
}

TEST_P(TrackingTest, SeriesRoundTripBitForBit) {
  const int64_t run = NewRun();
  const int64_t exec = Record(Exec(run, "train", {}, {Ref("model", "m")}));
  std::vector<MetricPoint> points;
  const double kInf = std::numeric_limits<double>::infinity();
  const double values[] = {0.5, -0.0, kInf, -kInf, std::nan("0x123"), 1e-308, 3.0};
  for (int i = 0; i < 7; ++i) points.push_back(MetricPoint{i * 10, values[i], At(i)});
  // More than one chunk, appended in two calls.
  std::vector<MetricPoint> many;
  for (int i = 0; i < 5000; ++i) many.push_back(MetricPoint{100 + i, i * 0.25, At(100 + i)});
  ASSERT_OK(store_->LogMetricPoints(MetricOwner::OfExecution(run, exec), "loss", points));
  ASSERT_OK(store_->LogMetricPoints(MetricOwner::OfExecution(run, exec), "loss", many));
  ASSERT_OK(store_->LogMetricPoints(MetricOwner::OfRun(run), "wall", {MetricPoint{3, 7, At(9)}}));
  for (int pass = 0; pass < (IsFile() ? 2 : 1); ++pass) {
    if (pass == 1) Open();
    absl::StatusOr<std::vector<MetricPoint>> got =
        store_->MetricSeries(MetricOwner::OfExecution(run, exec), "loss");
    ASSERT_OK(got.status());
    ASSERT_EQ(got->size(), 7u + 5000u);
    for (int i = 0; i < 7; ++i) {
      EXPECT_EQ((*got)[i].step, i * 10);
      EXPECT_EQ(Bits((*got)[i].value), Bits(values[i])) << i;
      EXPECT_EQ((*got)[i].time, At(i));
    }
    EXPECT_EQ(got->back().step, 5099);
    EXPECT_EQ(got->back().value, 4999 * 0.25);
    EXPECT_THAT(*store_->MetricKeys(MetricOwner::OfExecution(run, exec)), ElementsAre("loss"));
    EXPECT_THAT(*store_->MetricKeys(MetricOwner::OfRun(run)), ElementsAre("wall"));
    EXPECT_THAT(*store_->MetricSeries(MetricOwner::OfRun(run), "nope"), IsEmpty());
  }
  EXPECT_TRUE(absl::IsNotFound(
      store_->MetricSeries(MetricOwner::OfExecution(run, exec + 999), "loss").status()));
  EXPECT_TRUE(absl::IsNotFound(store_->MetricSeries(MetricOwner::OfRun(run + 9), "x").status()));
}

TEST_P(TrackingTest, TheLastPointIsTheHighestStepThenTheLatest) {
  const int64_t run = NewRun();
  const MetricOwner own = MetricOwner::OfRun(run);
  ASSERT_OK(store_->LogMetricPoints(own, "loss", {MetricPoint{5, 0.5, At(1)},
                                                  MetricPoint{3, 0.3, At(2)}}));
  EXPECT_EQ(store_->GetRunValues(run)->metrics.at("loss").value, 0.5);
  ASSERT_OK(store_->LogMetricPoints(own, "loss", {MetricPoint{5, 0.55, At(3)}}));
  EXPECT_EQ(store_->GetRunValues(run)->metrics.at("loss").value, 0.55);
  ASSERT_OK(store_->LogMetricPoints(own, "loss", {MetricPoint{4, 0.4, At(4)}}));
  const MetricValue v = store_->GetRunValues(run)->metrics.at("loss");
  EXPECT_EQ(v.value, 0.55);
  EXPECT_EQ(v.step, 5);
  EXPECT_EQ(v.time, At(3));
  EXPECT_EQ(v.execution_id, 0);
  ASSERT_OK(store_->LogMetricPoints(own, "nan", {MetricPoint{0, std::nan(""), At(5)}}));
  EXPECT_TRUE(std::isnan(store_->GetRunValues(run)->metrics.at("nan").value));
}

TEST_P(TrackingTest, ARunShowsItsOwnValuesOverThoseOfItsExecutions) {
  const int64_t run = NewRun();
  Execution a = Exec(run, "train", {}, {Ref("model", "a")}, false, kT0);
  (*a.mutable_params())["lr"] = "0.1";
  (*a.mutable_params())["depth"] = "3";
  (*a.mutable_metrics())["auc"] = 0.7;
  Record(a);
  Execution b = Exec(run, "train", {}, {Ref("model", "b")}, false, kT0 + 10);
  (*b.mutable_params())["depth"] = "4";
  (*b.mutable_metrics())["auc"] = 0.8;
  const int64_t b_id = Record(b);
  ASSERT_OK(store_->LogRunParam(run, "lr", "0.5"));
  absl::StatusOr<RunValues> v = store_->GetRunValues(run);
  ASSERT_OK(v.status());
  EXPECT_THAT(v->params, ElementsAre(Pair("depth", "4"), Pair("lr", "0.5")));
  EXPECT_EQ(v->metrics.at("auc").value, 0.8);
  EXPECT_EQ(v->metrics.at("auc").execution_id, b_id);
  // An execution written later does not replace the run's own param.
  Execution c = Exec(run, "train", {}, {Ref("model", "c")}, false, kT0 + 20);
  (*c.mutable_params())["lr"] = "0.9";
  Record(c);
  EXPECT_EQ(store_->GetRunValues(run)->params.at("lr"), "0.5");
  // The run's own series wins over its executions'.
  ASSERT_OK(store_->LogMetricPoints(MetricOwner::OfRun(run), "auc",
                                    {MetricPoint{0, 0.6, absl::FromUnixSeconds(kT0 - 100)}}));
  EXPECT_EQ(store_->GetRunValues(run)->metrics.at("auc").value, 0.6);
}

TEST_P(TrackingTest, AHitShowsTheSeriesOfTheExecutionItReusesWithoutCopies) {
  const int64_t first = NewRun();
  Execution computed = Computed(first, "train", "act", {Ref("data", "d")}, {Ref("model", "m")},
                                kT0);
  (*computed.mutable_metrics())["loss"] = 0.1;
  (*computed.mutable_params())["epochs"] = "3";
  const int64_t computed_id = Record(computed);
  computed.set_id(computed_id);
  const std::vector<MetricPoint> curve = {MetricPoint{0, 0.9, At(0)}, MetricPoint{1, 0.4, At(1)},
                                          MetricPoint{2, 0.1, At(2)}};
  ASSERT_OK(store_->LogMetricPoints(MetricOwner::OfExecution(first, computed_id), "loss", curve));
  const int64_t chunks = Count("metric_points");

  const int64_t second = NewRun();
  const int64_t hit = Record(HitOf(computed, second, kT0 + 50));
  absl::StatusOr<std::vector<MetricPoint>> series =
      store_->MetricSeries(MetricOwner::OfExecution(second, hit), "loss");
  ASSERT_OK(series.status());
  ASSERT_EQ(series->size(), 3u);
  EXPECT_EQ((*series)[1].value, 0.4);
  EXPECT_EQ(Count("metric_points"), chunks) << "no point copied";
  EXPECT_EQ(Count("execution_metrics"), 1) << "a hit has no values of its own";
  // The hit's run shows what it reused.
  absl::StatusOr<RunValues> v = store_->GetRunValues(second);
  ASSERT_OK(v.status());
  EXPECT_THAT(v->params, ElementsAre(Pair("epochs", "3")));
  EXPECT_EQ(v->metrics.at("loss").value, 0.1);
  EXPECT_EQ(v->metrics.at("loss").execution_id, hit);
}

TEST_P(TrackingTest, DeletingARunDeletesItsTrackedValues) {
  const int64_t keep = NewRun();
  const int64_t gone = NewRun();
  for (int64_t run : {keep, gone}) {
    Execution e = Exec(run, "train", {}, {Ref("model", absl::StrCat("m", run))});
    (*e.mutable_params())["p"] = "1";
    (*e.mutable_metrics())["m"] = 1;
    const int64_t id = Record(e);
    ASSERT_OK(store_->LogMetricPoints(MetricOwner::OfExecution(run, id), "m",
                                      {MetricPoint{1, 2, At(1)}}));
    ASSERT_OK(store_->LogMetricPoints(MetricOwner::OfRun(run), "r", {MetricPoint{1, 2, At(1)}}));
    ASSERT_OK(store_->SetRunTag(run, "t", "v"));
    ASSERT_OK(store_->LogRunParam(run, "q", "v"));
  }
  const int64_t points = Count("metric_points");
  ASSERT_OK(store_->DeleteRun(gone));
  EXPECT_EQ(Count("metric_points"), points / 2);
  EXPECT_EQ(Count("run_tags"), 1);
  EXPECT_EQ(Count("run_params"), 2);  // keep's p and q
  EXPECT_EQ(Count("run_metrics"), 2);
  EXPECT_EQ(Count("execution_params"), 1);
  EXPECT_EQ(Count("execution_metrics"), 1);
  EXPECT_EQ(store_->GetRunValues(keep)->tags.size(), 1u);
}

TEST_P(TrackingTest, SelectRunsReadOnlyQueriesWithBoundValues) {
  const int64_t run = NewRun();
  ASSERT_OK(store_->SetRunTag(run, "note", "'; DROP TABLE runs; --"));
  absl::StatusOr<std::vector<std::vector<mlops::SqlValue>>> rows = store_->Select(
      SqlQuery{"SELECT run_id, value FROM run_tags WHERE key = ?1 AND value = ?2",
               {std::string("note"), std::string("'; DROP TABLE runs; --")}});
  ASSERT_OK(rows.status());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(std::get<int64_t>((*rows)[0][0]), run);
  EXPECT_TRUE(absl::IsInvalidArgument(store_->Select(SqlQuery{"DELETE FROM runs", {}}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      store_->Select(SqlQuery{"PRAGMA case_sensitive_like=1", {}}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      store_->Select(SqlQuery{"WITH x AS (SELECT 1) DELETE FROM runs", {}}).status()));
  EXPECT_EQ(Count("runs"), 1);
}

INSTANTIATE_TEST_SUITE_P(Stores, TrackingTest, ::testing::ValuesIn(CommonConfigs()), ParamName);

}  // namespace
}  // namespace test
}  // namespace mlops
