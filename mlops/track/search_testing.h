// A hand-built lineage database for the tests of search.h: ten runs in three experiments
// whose names, times, statuses, params, tags and metrics cover every comparator, NaN and
// infinities, keys with spaces, missing keys and ties (the table in search_testing.cc),
// and helpers that search it and name what they find.
//
// Example:
//   TEST_F(SearchRunsTest, Greater) {
//     EXPECT_THAT(Names("metrics.auc > 0.9"), ElementsAre("epsilon", "delta", "alpha"));
//   }
//
// Thread safety: a fixture is one test's.
#ifndef MLOPS_TRACK_SEARCH_TESTING_H_
#define MLOPS_TRACK_SEARCH_TESTING_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "mlops/lineage/sqlite_lineage_store.h"
#include "mlops/track/search.h"

namespace mlops {
namespace track {
namespace test {

// The runs of the table, newest first (the default order): kappa and iota start at the
// same second (kappa, begun later, has the higher id).
inline const std::vector<std::string>& AllRunsNewestFirst() {
  static const auto* names = new std::vector<std::string>{
      "kappa", "iota", "theta", "eta", "zeta", "epsilon", "delta", "gamma", "beta", "alpha"};
  return *names;
}

// The start of run alpha, in milliseconds since the epoch; run n of the table (alpha 1,
// beta 2, ...) starts n - 1 seconds later (gamma 1.5 ms later still, iota and kappa at the
// same time).
int64_t AlphaStartMillis();

class SearchRunsTest : public ::testing::Test {
 protected:
  void SetUp() override;

  // The names of every run SearchRuns finds (all pages), in order; on an error, fails the
  // test and returns {"error: <status>"}.
  std::vector<std::string> Names(const std::string& filter, const std::string& order_by = "",
                                 const std::vector<std::string>& experiments = {});
  // The runs' names, in order.
  static std::vector<std::string> NamesOf(const std::vector<FoundRun>& runs);

  std::unique_ptr<SqliteLineageStore> store_;
  std::map<std::string, int64_t> ids_;  // run name -> id
};

}  // namespace test
}  // namespace track
}  // namespace mlops

#endif  // MLOPS_TRACK_SEARCH_TESTING_H_
