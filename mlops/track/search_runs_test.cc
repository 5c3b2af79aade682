// SearchRuns filters over the table of search_testing.h: every comparator on metrics
// (NaN and infinities included), params and tags (LIKE against ILIKE, GLOB's own special
// characters), every attribute, IN and NOT IN, experiments, and clauses joined by AND.
// Results are in the default order, newest first.
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/track/search.h"
#include "mlops/track/search_testing.h"

namespace mlops {
namespace track {
namespace test {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;

TEST_F(SearchRunsTest, EmptyFilterFindsEveryRunNewestFirst) {
  EXPECT_THAT(Names(""), ElementsAreArray(AllRunsNewestFirst()));
  EXPECT_THAT(Names("  "), ElementsAreArray(AllRunsNewestFirst()));
}

TEST_F(SearchRunsTest, MetricComparators) {
  EXPECT_THAT(Names("metrics.auc = 0.85"), ElementsAre("theta", "beta"));
  EXPECT_THAT(Names("metrics.auc < 0.85"), ElementsAre("iota", "zeta"));
  EXPECT_THAT(Names("metrics.auc <= 0.85"), ElementsAre("iota", "theta", "zeta", "beta"));
  EXPECT_THAT(Names("metrics.auc > 0.91"), ElementsAre("epsilon", "delta"));
  EXPECT_THAT(Names("metrics.auc >= 0.91"), ElementsAre("epsilon", "delta", "alpha"));
  EXPECT_THAT(Names("metric.auc>=.91"), ElementsAre("epsilon", "delta", "alpha"));
}

// NaN equals nothing and differs from everything; infinities compare as numbers.
TEST_F(SearchRunsTest, NaNOnlyDiffersAndInfinitiesAreNumbers) {
  EXPECT_THAT(Names("metrics.auc != 0.85"),
              ElementsAre("iota", "zeta", "epsilon", "delta", "gamma", "alpha"));
  EXPECT_THAT(Names("metrics.auc > -1e300"),
              ElementsAre("iota", "theta", "epsilon", "delta", "beta", "alpha"));
  EXPECT_THAT(Names("metrics.auc < 1e300"),
              ElementsAre("iota", "theta", "zeta", "delta", "beta", "alpha"));
}

// A run without the key matches no comparison on it, != included (as in MLflow).
TEST_F(SearchRunsTest, MissingKeyMatchesNothing) {
  EXPECT_THAT(Names("metrics.nope != 1"), IsEmpty());
  EXPECT_THAT(Names("params.nope != 'x'"), IsEmpty());
  EXPECT_THAT(Names("tags.nope != 'x'"), IsEmpty());
  EXPECT_THAT(Names("params.model != 'logreg'"),
              ElementsAre("kappa", "theta", "zeta", "epsilon", "delta", "beta"));  // not eta
}

// The metric compared is the last point (the highest step) of the series logged last,
// logged by the run or by one of its executions (eta's).
TEST_F(SearchRunsTest, MetricIsTheLastPointOfTheSeries) {
  EXPECT_THAT(Names("metrics.loss <= 0.3"), ElementsAre("eta", "epsilon", "alpha"));
  EXPECT_THAT(Names("metrics.loss = 0.5"), ElementsAre("beta"));
}

TEST_F(SearchRunsTest, BackquotedKeysWithSpaces) {
  EXPECT_THAT(Names("metrics.`f1 score` > 0.75"), ElementsAre("alpha"));
  EXPECT_THAT(Names("metrics.`f1 score` >= 0"), ElementsAre("delta", "alpha"));
  EXPECT_THAT(Names("params.`my param` = 'x'"), ElementsAre("theta"));
  EXPECT_THAT(Names("params.\"my param\" = \"x\""), ElementsAre("theta"));
}

// Params are strings: '0.1' is not '0.10'.
TEST_F(SearchRunsTest, ParamsCompareAsStrings) {
  EXPECT_THAT(Names("params.lr = '0.1'"), ElementsAre("alpha"));
  EXPECT_THAT(Names("params.lr = '0.10'"), ElementsAre("gamma"));
  EXPECT_THAT(Names("params.model = 'logreg'"), ElementsAre("iota", "gamma", "alpha"));
  EXPECT_THAT(Names("params.lr LIKE '%e%'"), ElementsAre("epsilon"));
}

TEST_F(SearchRunsTest, LikeIsCaseSensitiveAndILikeIsNot) {
  EXPECT_THAT(Names("params.model LIKE 'log%'"), ElementsAre("iota", "gamma", "alpha"));
  EXPECT_THAT(Names("params.model ILIKE 'log%'"), ElementsAre("iota", "delta", "gamma", "alpha"));
  EXPECT_THAT(Names("params.model LIKE 'LOGREG'"), IsEmpty());
  EXPECT_THAT(Names("params.model ILIKE 'LOGREG'"), ElementsAre("iota", "delta", "gamma", "alpha"));
  EXPECT_THAT(Names("tags.team LIKE 'ml%'"), ElementsAre("theta", "zeta", "epsilon", "alpha"));
  EXPECT_THAT(Names("tags.team ILIKE 'ml%'"),
              ElementsAre("theta", "zeta", "epsilon", "beta", "alpha"));
  EXPECT_THAT(Names("tags.note ILIKE 'AXB%'"), ElementsAre("kappa"));
}

TEST_F(SearchRunsTest, LikeWildcards) {
  EXPECT_THAT(Names("params.model LIKE 'tree_%'"), ElementsAre("zeta"));
  EXPECT_THAT(Names("params.model LIKE '_x'"), ElementsAre("kappa"));
  EXPECT_THAT(Names("tags.team LIKE 'ml_'"), ElementsAre("zeta"));
  EXPECT_THAT(Names("tags.note LIKE 'a_b1c'"), ElementsAre("kappa"));
  EXPECT_THAT(
      Names("params.model LIKE '%'"),
      ElementsAre("kappa", "iota", "theta", "zeta", "epsilon", "delta", "gamma", "beta", "alpha"));
}

// *, ? and [ are GLOB's wildcards, not LIKE's: in a LIKE pattern they are themselves.
TEST_F(SearchRunsTest, LikeTakesGlobCharactersLiterally) {
  EXPECT_THAT(Names("tags.note LIKE 'a*b%'"), ElementsAre("iota"));
  EXPECT_THAT(Names("tags.note LIKE 'a*b[1]?'"), ElementsAre("iota"));
  EXPECT_THAT(Names("tags.note LIKE '%?'"), ElementsAre("iota"));
  EXPECT_THAT(Names("tags.note LIKE 'a?b1c'"), IsEmpty());
  EXPECT_THAT(Names("tags.note LIKE '[a]%'"), IsEmpty());
}

TEST_F(SearchRunsTest, TagComparators) {
  EXPECT_THAT(Names("tags.team = 'ml'"), ElementsAre("theta", "epsilon", "alpha"));
  EXPECT_THAT(Names("tags.team != 'ml'"), ElementsAre("zeta", "gamma", "beta"));
}

TEST_F(SearchRunsTest, Status) {
  const auto succeeded = ElementsAre("kappa", "iota", "eta", "zeta", "epsilon", "beta", "alpha");
  EXPECT_THAT(Names("attributes.status = 'FAILED'"), ElementsAre("theta", "gamma"));
  EXPECT_THAT(Names("attributes.status = 'SUCCEEDED'"), succeeded);
  EXPECT_THAT(Names("attributes.status = 'FINISHED'"), succeeded);
  EXPECT_THAT(Names("attributes.status = 'finished'"), IsEmpty());
  EXPECT_THAT(Names("attributes.status != 'FINISHED'"), ElementsAre("theta", "delta", "gamma"));
  EXPECT_THAT(Names("attributes.status IN ('RUNNING', 'FAILED')"),
              ElementsAre("theta", "delta", "gamma"));
  EXPECT_THAT(Names("attributes.status NOT IN ('FINISHED', 'FAILED')"), ElementsAre("delta"));
  EXPECT_THAT(Names("attributes.status LIKE 'FIN%'"), succeeded);
  EXPECT_THAT(Names("attributes.status LIKE 'SUCC%'"), succeeded);
  EXPECT_THAT(Names("attributes.status LIKE 'run%'"), IsEmpty());
  EXPECT_THAT(Names("attributes.status ILIKE 'run%'"), ElementsAre("delta"));
}

TEST_F(SearchRunsTest, RunName) {
  EXPECT_THAT(Names("attributes.run_name = 'alpha'"), ElementsAre("alpha"));
  EXPECT_THAT(Names("attributes.name LIKE '%eta'"), ElementsAre("theta", "eta", "zeta", "beta"));
  EXPECT_THAT(Names("attributes.run_name ILIKE 'ALPHA'"), ElementsAre("alpha"));
  EXPECT_THAT(Names("attributes.run_name IN ('alpha', 'nope', 'kappa')"),
              ElementsAre("kappa", "alpha"));
  EXPECT_THAT(Names("attributes.run_name NOT IN ('alpha', 'kappa')"),
              ElementsAre("iota", "theta", "eta", "zeta", "epsilon", "delta", "gamma", "beta"));
}

TEST_F(SearchRunsTest, RunId) {
  ASSERT_EQ(ids_["alpha"], 1);
  ASSERT_EQ(ids_["kappa"], 10);
  EXPECT_THAT(Names(absl::StrCat("attributes.run_id = '", ids_["gamma"], "'")),
              ElementsAre("gamma"));
  EXPECT_THAT(Names(absl::StrCat("attributes.run_id = '0", ids_["gamma"], "'")), IsEmpty());
  EXPECT_THAT(Names("attributes.run_id IN ('1', '2', 'x')"), ElementsAre("beta", "alpha"));
  EXPECT_THAT(
      Names("attributes.run_id NOT IN ('x', '3')"),
      ElementsAre("kappa", "iota", "theta", "eta", "zeta", "epsilon", "delta", "beta", "alpha"));
  EXPECT_THAT(Names("attributes.run_id NOT IN ('x')"), ElementsAreArray(AllRunsNewestFirst()));
  EXPECT_THAT(
      Names("attributes.run_id != '1'"),
      ElementsAre("kappa", "iota", "theta", "eta", "zeta", "epsilon", "delta", "gamma", "beta"));
  EXPECT_THAT(Names("attributes.run_id LIKE '1%'"), ElementsAre("kappa", "alpha"));
}

TEST_F(SearchRunsTest, ExperimentAttribute) {
  EXPECT_THAT(Names("attributes.experiment = 'fraud'"), ElementsAre("eta", "zeta", "epsilon"));
  EXPECT_THAT(Names("attributes.experiment = 'default'"), ElementsAre("kappa", "iota", "theta"));
  EXPECT_THAT(Names("attributes.experiment LIKE 'ch%'"),
              ElementsAre("delta", "gamma", "beta", "alpha"));
  EXPECT_THAT(Names("attributes.experiment IN ('fraud', 'default')"),
              ElementsAre("kappa", "iota", "theta", "eta", "zeta", "epsilon"));
  EXPECT_THAT(Names("attributes.experiment NOT IN ('fraud', 'default')"),
              ElementsAre("delta", "gamma", "beta", "alpha"));
}

// start_time is in milliseconds, rounded down: gamma starts 2001.5 ms after alpha.
TEST_F(SearchRunsTest, StartTimeInMilliseconds) {
  const int64_t gamma = AlphaStartMillis() + 2001;
  EXPECT_THAT(Names(absl::StrCat("attributes.start_time = ", gamma)), ElementsAre("gamma"));
  EXPECT_THAT(Names(absl::StrCat("attributes.start_time = ", gamma - 1)), IsEmpty());
  EXPECT_THAT(Names(absl::StrCat("attributes.start_time = ", gamma + 1)), IsEmpty());
  EXPECT_THAT(Names(absl::StrCat("attributes.start_time < ", gamma)), ElementsAre("beta", "alpha"));
  EXPECT_THAT(Names(absl::StrCat("attributes.start_time <= ", gamma)),
              ElementsAre("gamma", "beta", "alpha"));
  EXPECT_THAT(Names(absl::StrCat("attributes.start_time > ", gamma)),
              ElementsAre("kappa", "iota", "theta", "eta", "zeta", "epsilon", "delta"));
  EXPECT_THAT(Names(absl::StrCat("attributes.start_time >= ", gamma)),
              ElementsAre("kappa", "iota", "theta", "eta", "zeta", "epsilon", "delta", "gamma"));
  EXPECT_THAT(
      Names(absl::StrCat("attributes.start_time != ", gamma)),
      ElementsAre("kappa", "iota", "theta", "eta", "zeta", "epsilon", "delta", "beta", "alpha"));
  EXPECT_THAT(Names("attributes.start_time > 9223372036854775807"), IsEmpty());
  EXPECT_THAT(Names("attributes.start_time > -9223372036854775808"),
              ElementsAreArray(AllRunsNewestFirst()));
}

// delta is still running: it has no end_time.
TEST_F(SearchRunsTest, EndTimeOfRunningRunIsMissing) {
  EXPECT_THAT(Names("attributes.end_time > 0"), ElementsAre("kappa", "iota", "theta", "eta", "zeta",
                                                            "epsilon", "gamma", "beta", "alpha"));
  EXPECT_THAT(
      Names("attributes.end_time != 0"),
      ElementsAre("kappa", "iota", "theta", "eta", "zeta", "epsilon", "gamma", "beta", "alpha"));
  EXPECT_THAT(Names(absl::StrCat("attributes.end_time <= ", AlphaStartMillis() + 5000)),
              ElementsAre("alpha"));
}

TEST_F(SearchRunsTest, Experiments) {
  EXPECT_THAT(Names("", "", {"fraud"}), ElementsAre("eta", "zeta", "epsilon"));
  EXPECT_THAT(Names("", "", {"fraud", "default"}),
              ElementsAre("kappa", "iota", "theta", "eta", "zeta", "epsilon"));
  EXPECT_THAT(Names("", "", {"nope"}), IsEmpty());
  EXPECT_THAT(Names("", "", {"nope", "churn"}), ElementsAre("delta", "gamma", "beta", "alpha"));
  EXPECT_THAT(Names("params.model = 'logreg'", "", {"churn"}), ElementsAre("gamma", "alpha"));
}

TEST_F(SearchRunsTest, ClausesJoinedByAnd) {
  EXPECT_THAT(Names("params.model = 'logreg' AND metrics.auc > 0.9"), ElementsAre("alpha"));
  EXPECT_THAT(Names("attributes.experiment = 'churn' AND tags.team ILIKE 'ML'"),
              ElementsAre("beta", "alpha"));
  EXPECT_THAT(Names("metrics.auc > 0 AND params.model != 'svm' AND "
                    "attributes.status = 'SUCCEEDED'"),
              ElementsAre("iota", "epsilon", "alpha"));
  EXPECT_THAT(Names("metrics.auc > 0.9 AND metrics.auc < 0.92"), ElementsAre("alpha"));
}

}  // namespace
}  // namespace test
}  // namespace track
}  // namespace mlops
