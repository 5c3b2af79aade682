// Compare and MetricsOf against a hand-built store: two runs of one program that differ
// in a param, a metric, an input and the compiler, a cache hit in a third run, and an
// execution outside any run. Each table is checked whole, as text rows.
#include "mlops/track/compare.h"

#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/lineage/sqlite_lineage_store.h"
#include "mlops/testing/lineage_records.h"
#include "mlops/testing/status_matchers.h"

namespace mlops {
namespace {

using test::H;
using test::kT0;
using test::Ref;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

absl::Time At(int64_t seconds) { return absl::FromUnixSeconds(kT0 + seconds); }

// "name: a | b" with "-" for a missing value, and " *" if the row differs.
std::string Text(const CompareRow& row) {
  std::vector<std::string> cells;
  for (const std::optional<std::string>& v : row.values) cells.push_back(v ? *v : "-");
  return absl::StrCat(row.name, ": ", absl::StrJoin(cells, " | "), row.differs ? " *" : "");
}
std::vector<std::string> Text(const std::vector<CompareRow>& rows) {
  std::vector<std::string> out;
  for (const CompareRow& r : rows) out.push_back(Text(r));
  return out;
}
// A summary as "last@step [min, max] Npts".
std::string Text(const MetricSummary& s) {
  return absl::StrCat(s.last.value, "@", s.last.step, " [", s.min, ", ", s.max, "] ", s.points,
                      "pts");
}
std::vector<std::string> Text(const std::vector<MetricCompareRow>& rows) {
  std::vector<std::string> out;
  for (const MetricCompareRow& row : rows) {
    std::vector<std::string> cells;
    for (const std::optional<MetricSummary>& v : row.values) cells.push_back(v ? Text(*v) : "-");
    out.push_back(
        absl::StrCat(row.name, ": ", absl::StrJoin(cells, " | "), row.differs ? " *" : ""));
  }
  return out;
}

class CompareTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = test::OpenStore(":memory:");
    ASSERT_NE(store_, nullptr);

    // Run 1, "baseline": lr 0.1; its own loss series ends in NaN; train logs acc as a
    // single value; split reads csv1, train reads split's output and seed1.
    mlops::Run r1 = test::MakeRun("train", kT0);
    r1.set_experiment("mnist");
    r1.set_name("baseline");
    Environment* env = r1.mutable_environment();
    env->set_compiler("g++ 12");
    env->set_os("Linux");
    env->set_cpu("x86");
    (*env->mutable_library_versions())["protobuf"] = "3.21";
    (*env->mutable_library_versions())["abseil"] = "2022";
    env->set_source_revision("aaaa");
    env->set_source_state(Environment::SOURCE_CLEAN);
    ASSERT_OK_AND_ASSIGN(run1_, store_->BeginRun(r1));
    ASSERT_OK(store_->LogRunParam(run1_, "lr", "0.1"));
    ASSERT_OK(store_->LogRunParam(run1_, "epochs", "10"));
    ASSERT_OK(store_->LogMetricPoints(MetricOwner::OfRun(run1_), "loss",
                                      {{0, 0.9, At(1)}, {1, 0.5, At(2)}, {2, kNaN, At(3)}}));
    ASSERT_OK_AND_ASSIGN(split1_,
                         store_->RecordExecution(test::Exec(run1_, "split", {Ref("data", "csv1")},
                                                            {Ref("0", "train1")}, false, kT0 + 1)));
    Execution train1 = test::Exec(run1_, "train", {Ref("train", "train1"), Ref("seed", "seed1")},
                                  {Ref("0", "model1")}, false, kT0 + 2);
    (*train1.mutable_params())["depth"] = "3";
    (*train1.mutable_metrics())["acc"] = 0.75;
    ASSERT_OK_AND_ASSIGN(train1_, store_->RecordExecution(train1));

    // Run 2, "wide": lr 0.01; loss starts at +inf; train logs an acc series and is called
    // twice; split reads csv2; another compiler, no abseil, uncommitted changes.
    mlops::Run r2 = r1;
    r2.set_name("wide");
    r2.mutable_environment()->set_compiler("g++ 13");
    r2.mutable_environment()->mutable_library_versions()->erase("abseil");
    r2.mutable_environment()->set_source_revision("bbbb");
    r2.mutable_environment()->set_source_state(Environment::SOURCE_MODIFIED);
    ASSERT_OK_AND_ASSIGN(run2_, store_->BeginRun(r2));
    ASSERT_OK(store_->LogRunParam(run2_, "lr", "0.01"));
    ASSERT_OK(store_->LogRunParam(run2_, "epochs", "10"));
    ASSERT_OK(store_->LogMetricPoints(MetricOwner::OfRun(run2_), "loss",
                                      {{0, kInf, At(11)}, {1, 0.4, At(12)}}));
    ASSERT_OK(store_
                  ->RecordExecution(test::Exec(run2_, "split", {Ref("data", "csv2")},
                                               {Ref("0", "train2")}, false, kT0 + 11))
                  .status());
    Execution train2 =
        test::Keyed(test::Exec(run2_, "train", {Ref("train", "train2"), Ref("seed", "seed1")},
                               {Ref("0", "model2")}, false, kT0 + 12),
                    "train2");
    (*train2.mutable_params())["depth"] = "3";
    ASSERT_OK_AND_ASSIGN(train2_, store_->RecordExecution(train2));
    train2.set_id(train2_);
    train2_record_ = train2;
    ASSERT_OK(store_->LogMetricPoints(MetricOwner::OfExecution(run2_, train2_), "acc",
                                      {{0, 0.5, At(13)}, {1, 0.8, At(14)}}));
    ASSERT_OK(store_
                  ->RecordExecution(test::Exec(run2_, "train",
                                               {Ref("train", "train2"), Ref("seed", "seed2")},
                                               {Ref("0", "model3")}, false, kT0 + 15))
                  .status());
  }

  std::unique_ptr<SqliteLineageStore> store_;
  int64_t run1_ = 0, run2_ = 0, split1_ = 0, train1_ = 0, train2_ = 0;
  Execution train2_record_;
};

TEST_F(CompareTest, TwoRunsShowWhatDiffers) {
  ASSERT_OK_AND_ASSIGN(const Comparison c, Compare(*store_, {CompareTarget::OfRun(run1_),
                                                             CompareTarget::OfRun(run2_)}));
  ASSERT_EQ(c.targets.size(), 2u);
  EXPECT_EQ(c.targets[0].target, CompareTarget::OfRun(run1_));
  EXPECT_EQ(c.targets[0].run.name(), "baseline");
  EXPECT_EQ(c.targets[1].run.name(), "wide");
  EXPECT_EQ(c.targets[1].run.experiment(), "mnist");
  EXPECT_EQ(c.targets[0].run.environment().source_revision(), "aaaa");
  EXPECT_EQ(c.targets[1].run.environment().source_state(), Environment::SOURCE_MODIFIED);
  EXPECT_EQ(c.targets[0].execution.id(), 0);

  // epochs and depth (train's, the same in both) are the same: only lr is listed.
  EXPECT_THAT(Text(c.params), ElementsAre("lr: 0.1 | 0.01 *"));
  // loss: run 1's last point (step 2) is NaN, min and max skip it; run 2 starts at +inf.
  // acc: run 1's is train's single value; run 2's is train's series.
  EXPECT_THAT(Text(c.metrics),
              ElementsAre("acc: 0.75@0 [0.75, 0.75] 1pts | 0.8@1 [0.5, 0.8] 2pts *",
                          "loss: nan@2 [0.5, 0.9] 3pts | 0.4@1 [0.4, inf] 2pts *"));
  // train's input "train" is split's output in both runs: not an input of the run.
  EXPECT_THAT(Text(c.inputs),
              ElementsAre(absl::StrCat("split.data: ", H("csv1"), " | ", H("csv2"), " *"),
                          absl::StrCat("train#2.seed: - | ", H("seed2"), " *"),
                          absl::StrCat("train.seed: ", H("seed1"), " | ", H("seed1"))));
  EXPECT_THAT(Text(c.environment),
              ElementsAre("compiler: g++ 12 | g++ 13 *", "library_versions.abseil: 2022 | - *"));
}

TEST_F(CompareTest, AllParamsListsTheSameOnesToo) {
  CompareOptions options;
  options.all_params = true;
  ASSERT_OK_AND_ASSIGN(
      const Comparison c,
      Compare(*store_, {CompareTarget::OfRun(run1_), CompareTarget::OfRun(run2_)}, options));
  EXPECT_THAT(Text(c.params), ElementsAre("depth: 3 | 3", "epochs: 10 | 10", "lr: 0.1 | 0.01 *"));
}

TEST_F(CompareTest, ExecutionsShowTheirOwnValuesAndTheirRunsEnvironment) {
  ASSERT_OK_AND_ASSIGN(const Comparison c, Compare(*store_, {CompareTarget::OfExecution(train1_),
                                                             CompareTarget::OfExecution(train2_),
                                                             CompareTarget::OfExecution(split1_)}));
  ASSERT_EQ(c.targets.size(), 3u);
  EXPECT_EQ(c.targets[0].execution.step_name(), "train");
  EXPECT_EQ(c.targets[1].run.id(), run2_);
  EXPECT_EQ(c.targets[2].run.environment().source_revision(), "aaaa");
  EXPECT_THAT(Text(c.params), ElementsAre("depth: 3 | 3 | - *"));
  EXPECT_THAT(Text(c.metrics),
              ElementsAre("acc: 0.75@0 [0.75, 0.75] 1pts | 0.8@1 [0.5, 0.8] 2pts | - *"));
  // An execution's inputs are all of its inputs, by input name.
  EXPECT_THAT(Text(c.inputs),
              ElementsAre(absl::StrCat("data: - | - | ", H("csv1"), " *"),
                          absl::StrCat("seed: ", H("seed1"), " | ", H("seed1"), " | - *"),
                          absl::StrCat("train: ", H("train1"), " | ", H("train2"), " | - *")));
  EXPECT_THAT(Text(c.environment), ElementsAre("compiler: g++ 12 | g++ 13 | g++ 12 *",
                                               "library_versions.abseil: 2022 | - | 2022 *"));
}

TEST_F(CompareTest, ACacheHitShowsTheSeriesOfTheExecutionItReuses) {
  mlops::Run r3 = test::MakeRun("train", kT0 + 20);
  ASSERT_OK_AND_ASSIGN(const int64_t run3, store_->BeginRun(r3));
  ASSERT_OK_AND_ASSIGN(const int64_t hit,
                       store_->RecordExecution(test::HitOf(train2_record_, run3, kT0 + 21)));
  ASSERT_OK_AND_ASSIGN(const Comparison c, Compare(*store_, {CompareTarget::OfExecution(hit),
                                                             CompareTarget::OfExecution(train2_)}));
  EXPECT_THAT(Text(c.metrics), ElementsAre("acc: 0.8@1 [0.5, 0.8] 2pts | 0.8@1 [0.5, 0.8] 2pts"));
  EXPECT_THAT(Text(c.params), ElementsAre());  // depth 3 in both
  EXPECT_EQ(c.targets[0].run.id(), run3);
  EXPECT_EQ(c.targets[0].run.experiment(), "default");
  EXPECT_EQ(c.targets[0].run.name(), absl::StrCat("train-", run3));

  ASSERT_OK_AND_ASSIGN(const auto metrics, MetricsOf(*store_, CompareTarget::OfExecution(hit)));
  ASSERT_EQ(metrics.count("acc"), 1u);
  ASSERT_EQ(metrics.at("acc").points.size(), 2u);
  EXPECT_EQ(metrics.at("acc").points[0].value, 0.5);
  EXPECT_EQ(metrics.at("acc").points[1].time, At(14));
}

TEST_F(CompareTest, MetricsOfGivesTheSeriesInTheOrderLogged) {
  ASSERT_OK_AND_ASSIGN(const auto run1, MetricsOf(*store_, CompareTarget::OfRun(run1_)));
  ASSERT_EQ(run1.size(), 2u);
  const TargetMetric& loss = run1.at("loss");
  ASSERT_EQ(loss.points.size(), 3u);
  EXPECT_EQ(loss.points[0].value, 0.9);
  EXPECT_EQ(loss.points[1].step, 1);
  EXPECT_TRUE(std::isnan(loss.points[2].value));
  EXPECT_EQ(loss.last.step, 2);
  // A metric logged as one value is one point, at step 0 at the execution's end.
  const TargetMetric& acc = run1.at("acc");
  ASSERT_EQ(acc.points.size(), 1u);
  EXPECT_EQ(acc.points[0].value, 0.75);
  EXPECT_EQ(acc.points[0].step, 0);
  EXPECT_EQ(acc.points[0].time, At(3));
  EXPECT_EQ(acc.last.value, 0.75);

  ASSERT_OK_AND_ASSIGN(const auto train, MetricsOf(*store_, CompareTarget::OfExecution(train1_)));
  ASSERT_EQ(train.size(), 1u);
  EXPECT_EQ(train.at("acc").last.time, At(3));
  ASSERT_OK_AND_ASSIGN(const auto split, MetricsOf(*store_, CompareTarget::OfExecution(split1_)));
  EXPECT_TRUE(split.empty());
}

TEST_F(CompareTest, AnExecutionOutsideAnyRunHasNoEnvironment) {
  ASSERT_OK_AND_ASSIGN(const int64_t loose,
                       store_->RecordExecution(test::Exec(0, "probe", {Ref("x", "csv1")}, {})));
  ASSERT_OK_AND_ASSIGN(const Comparison c, Compare(*store_, {CompareTarget::OfExecution(loose),
                                                             CompareTarget::OfExecution(split1_)}));
  EXPECT_EQ(c.targets[0].run.id(), 0);
  EXPECT_THAT(
      Text(c.environment),
      ElementsAre("compiler: - | g++ 12 *", "compiler_flags: - |  *", "cpu: - | x86 *",
                  "host: - | host *", "library_versions.abseil: - | 2022 *",
                  "library_versions.protobuf: - | 3.21 *", "os: - | Linux *", "user: - | user *"));
}

TEST_F(CompareTest, OneTargetDiffersFromNothing) {
  ASSERT_OK_AND_ASSIGN(const Comparison c, Compare(*store_, {CompareTarget::OfRun(run1_)}));
  EXPECT_THAT(Text(c.params), ElementsAre());
  EXPECT_THAT(Text(c.environment), ElementsAre());
  EXPECT_THAT(Text(c.metrics),
              ElementsAre("acc: 0.75@0 [0.75, 0.75] 1pts", "loss: nan@2 [0.5, 0.9] 3pts"));
  EXPECT_EQ(c.inputs.size(), 2u);
}

TEST_F(CompareTest, ErrorsNameTheMissingId) {
  EXPECT_THAT(Compare(*store_, {}), test::StatusIs(absl::StatusCode::kInvalidArgument));
  const absl::StatusOr<Comparison> run =
      Compare(*store_, {CompareTarget::OfRun(run1_), CompareTarget::OfRun(999)});
  EXPECT_THAT(run, test::StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(std::string(run.status().message()), HasSubstr("no run with id 999"));
  const absl::StatusOr<Comparison> exec =
      Compare(*store_, {CompareTarget::OfExecution(777), CompareTarget::OfRun(run1_)});
  EXPECT_THAT(exec, test::StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(std::string(exec.status().message()), HasSubstr("no execution with id 777"));
  EXPECT_THAT(MetricsOf(*store_, CompareTarget::OfExecution(777)),
              test::StatusIs(absl::StatusCode::kNotFound));
}

TEST(SummarizeTest, MinAndMaxSkipNaNAndKeepInfinities) {
  const auto summary = [](std::vector<double> values, double last) {
    TargetMetric m;
    for (size_t i = 0; i < values.size(); ++i) {
      m.points.push_back({static_cast<int64_t>(i), values[i], At(0)});
    }
    m.last = {9, last, At(0)};
    return Text(Summarize(m));
  };
  EXPECT_EQ(summary({1, kNaN, 3}, 3), "3@9 [1, 3] 3pts");
  EXPECT_EQ(summary({kNaN, kNaN}, kNaN), "nan@9 [nan, nan] 2pts");
  EXPECT_EQ(summary({-kInf, 2, kInf}, kInf), "inf@9 [-inf, inf] 3pts");
  // The last value counts even when it is not among the points (an execution's single
  // value logged after its series).
  EXPECT_EQ(summary({1, 2}, 7), "7@9 [1, 7] 2pts");
}

}  // namespace
}  // namespace mlops
