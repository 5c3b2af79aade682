// SearchRuns order_by over the table of search_testing.h: metrics (NaN after every number,
// missing keys last in both directions), params and tags (bytewise), every attribute,
// several keys, and ties broken newest first.
#include <string>

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

TEST_F(SearchRunsTest, BlankOrderIsNewestFirst) {
  EXPECT_THAT(Names("", " "), ElementsAreArray(AllRunsNewestFirst()));
}

// theta and beta tie at 0.85: the newer first. gamma's NaN after every number, then the
// runs without auc (newest first) in either direction.
TEST_F(SearchRunsTest, MetricDescendingNaNThenMissingLast) {
  EXPECT_THAT(Names("", "metrics.auc DESC"),
              ElementsAre("epsilon", "delta", "alpha", "theta", "beta", "iota", "zeta", "gamma",
                          "kappa", "eta"));
}

TEST_F(SearchRunsTest, MetricAscendingNaNThenMissingLast) {
  EXPECT_THAT(Names("", "metrics.auc"), ElementsAre("zeta", "iota", "theta", "beta", "alpha",
                                                    "delta", "epsilon", "gamma", "kappa", "eta"));
  EXPECT_THAT(Names("", "metrics.auc ASC"),
              ElementsAre("zeta", "iota", "theta", "beta", "alpha", "delta", "epsilon", "gamma",
                          "kappa", "eta"));
}

TEST_F(SearchRunsTest, MetricWithSpaceInKey) {
  EXPECT_THAT(Names("", "metrics.`f1 score` DESC"),
              ElementsAre("alpha", "delta", "kappa", "iota", "theta", "eta", "zeta", "epsilon",
                          "gamma", "beta"));
  EXPECT_THAT(Names("", "metrics.loss"), ElementsAre("epsilon", "eta", "alpha", "beta", "kappa",
                                                     "iota", "theta", "zeta", "delta", "gamma"));
}

// Bytewise: "LogReg" < "_x" < "logreg" < "svm" < "tree" < "tree_big".
TEST_F(SearchRunsTest, ParamAscendingAndDescending) {
  EXPECT_THAT(Names("", "params.model"), ElementsAre("delta", "kappa", "iota", "gamma", "alpha",
                                                     "theta", "beta", "epsilon", "zeta", "eta"));
  EXPECT_THAT(Names("", "params.model DESC"),
              ElementsAre("zeta", "epsilon", "theta", "beta", "iota", "gamma", "alpha", "kappa",
                          "delta", "eta"));
}

// "ML" < "data" < "ml" < "ml%".
TEST_F(SearchRunsTest, TagAscendingAndDescending) {
  EXPECT_THAT(Names("", "tags.team"), ElementsAre("beta", "gamma", "theta", "epsilon", "alpha",
                                                  "zeta", "kappa", "iota", "eta", "delta"));
  EXPECT_THAT(Names("", "tags.team DESC"), ElementsAre("zeta", "theta", "epsilon", "alpha", "gamma",
                                                       "beta", "kappa", "iota", "eta", "delta"));
}

TEST_F(SearchRunsTest, SeveralKeys) {
  EXPECT_THAT(Names("", "params.model, metrics.auc DESC"),
              ElementsAre("delta", "kappa", "alpha", "iota", "gamma", "theta", "beta", "epsilon",
                          "zeta", "eta"));
  EXPECT_THAT(Names("", "attributes.experiment DESC, metrics.auc"),
              ElementsAre("zeta", "epsilon", "eta", "iota", "theta", "kappa", "beta", "alpha",
                          "delta", "gamma"));
}

TEST_F(SearchRunsTest, RunNameAndStatus) {
  EXPECT_THAT(Names("", "attributes.run_name"),
              ElementsAre("alpha", "beta", "delta", "epsilon", "eta", "gamma", "iota", "kappa",
                          "theta", "zeta"));
  EXPECT_THAT(Names("", "attributes.name DESC"),
              ElementsAre("zeta", "theta", "kappa", "iota", "gamma", "eta", "epsilon", "delta",
                          "beta", "alpha"));
  EXPECT_THAT(Names("", "attributes.status"),
              ElementsAre("theta", "gamma", "delta", "kappa", "iota", "eta", "zeta", "epsilon",
                          "beta", "alpha"));
}

// iota and kappa start at the same time: the higher id first.
TEST_F(SearchRunsTest, StartTimeTiesByIdDescending) {
  EXPECT_THAT(Names("", "attributes.start_time"),
              ElementsAre("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta",
                          "kappa", "iota"));
  EXPECT_THAT(Names("", "attributes.start_time DESC"), ElementsAreArray(AllRunsNewestFirst()));
}

// delta, still running, has no end time: last in both directions.
TEST_F(SearchRunsTest, EndTimeOfRunningRunLast) {
  EXPECT_THAT(Names("", "attributes.end_time"),
              ElementsAre("alpha", "beta", "gamma", "epsilon", "zeta", "eta", "theta", "kappa",
                          "iota", "delta"));
  EXPECT_THAT(Names("", "attributes.end_time DESC"),
              ElementsAre("kappa", "iota", "theta", "eta", "zeta", "epsilon", "gamma", "beta",
                          "alpha", "delta"));
}

// Ids sort as numbers: 10 after 9.
TEST_F(SearchRunsTest, RunIdSortsAsNumber) {
  EXPECT_THAT(Names("", "attributes.run_id"),
              ElementsAre("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta",
                          "iota", "kappa"));
  EXPECT_THAT(Names("", "attributes.run_id DESC"), ElementsAreArray(AllRunsNewestFirst()));
}

TEST_F(SearchRunsTest, FilterAndOrder) {
  EXPECT_THAT(Names("params.model = 'logreg'", "metrics.auc DESC"),
              ElementsAre("alpha", "iota", "gamma"));
  // "1e-3" > "0.1" > "0.01", then the runs without lr.
  EXPECT_THAT(Names("metrics.auc > 0.8", "params.lr DESC"),
              ElementsAre("epsilon", "alpha", "beta", "theta", "delta"));
}

}  // namespace
}  // namespace test
}  // namespace track
}  // namespace mlops
