// BuildSearchSql (with FilterSql): user input only ever as bound values, the query plans
// SQLite picks for the shapes that must be fast (EXPLAIN QUERY PLAN on a real database),
// and LikeToGlob.
#include "mlops/track/internal/sql_builder.h"

#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/testing/lineage_records.h"
#include "mlops/testing/status_matchers.h"
#include "mlops/track/filter.h"
#include "mlops/track/internal/filter_sql.h"

namespace mlops {
namespace track {
namespace internal {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

SearchSpec Spec(Listing listing, const std::string& filter, const std::string& order_by) {
  SearchSpec spec;
  spec.listing = listing;
  absl::StatusOr<Filter> f = ParseFilter(filter);
  EXPECT_TRUE(f.ok()) << f.status();
  if (f.ok()) spec.filter = *f;
  absl::StatusOr<std::vector<OrderKey>> o = ParseOrderBy(order_by);
  EXPECT_TRUE(o.ok()) << o.status();
  if (o.ok()) spec.order = *o;
  spec.step = "step";
  spec.limit = 101;
  return spec;
}

TEST(BuildSearchSqlTest, UserInputIsNeverInTheText) {
  // Each filter names keys and values with the marker "zq"; experiments and the step too.
  for (Listing listing : {Listing::kRuns, Listing::kExecutions}) {
    for (const char* filter :
         {"metrics.zq1 > 1 AND params.zq2 = 'zq3' AND tags.zq4 LIKE 'zq5%'",
          "params.zq1 ILIKE 'zq2' AND tags.zq3 != 'zq4' AND metrics.zq5 != 2",
          "attributes.run_name IN ('zq1', 'zq2') AND attributes.status LIKE 'zq3'",
          "attributes.experiment NOT IN ('zq1') AND attributes.run_id = 'zq2'",
          "attributes.run_id LIKE 'zq1' AND attributes.status = 'zq2'"}) {
      SearchSpec spec = Spec(listing, filter, "metrics.zq6 DESC, params.zq7, tags.zq8");
      spec.experiments = {"zq9"};
      spec.step = "zq10";
      spec.after = {int64_t{0}, std::string("zq11"), int64_t{1}, std::monostate{},
                    int64_t{0}, std::string("zq12"), int64_t{5}, int64_t{6}};
      const SqlQuery q = BuildSearchSql(spec);
      EXPECT_THAT(q.sql, Not(HasSubstr("zq"))) << q.sql;
      EXPECT_THAT(q.params, Contains(SqlValue(std::string("zq6"))));
    }
  }
}

// The plans of the queries the benchmark times (benchmarks/track_benchmark.cc), on the
// real schema. SQLite's words for them: "SEARCH ... USING INDEX" reads a range of an
// index; "SCAN" reads a whole table or index; "TEMP B-TREE" sorts.
class QueryPlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = mlops::test::OpenStore(":memory:");
    ASSERT_NE(store_, nullptr);
  }
  std::string Plan(const SearchSpec& spec) {
    SqlQuery q = BuildSearchSql(spec);
    q.sql = "EXPLAIN QUERY PLAN " + q.sql;
    absl::StatusOr<std::vector<std::vector<SqlValue>>> rows = store_->Select(q);
    EXPECT_TRUE(rows.ok()) << rows.status();
    std::vector<std::string> lines;
    if (rows.ok()) {
      for (const auto& row : *rows) lines.push_back(std::get<std::string>(row[3]));
    }
    return absl::StrJoin(lines, "\n");
  }
  std::unique_ptr<SqliteLineageStore> store_;
};

// An equality on a param drives the query through run_params_by_key; the metric is a
// probe of run_metrics' primary key; only the matches are sorted.
TEST_F(QueryPlanTest, FilteredSearchStartsFromTheKeyIndex) {
  const std::string plan =
      Plan(Spec(Listing::kRuns, "metrics.m3 > 0.9 AND params.p7 = 'v3'", "metrics.m0 DESC"));
  EXPECT_THAT(plan, AllOf(HasSubstr("SEARCH r USING INTEGER PRIMARY KEY"),
                          HasSubstr("USING COVERING INDEX run_params_by_key (key=? AND value=?)"),
                          HasSubstr("SEARCH t USING PRIMARY KEY (run_id=? AND key=?)"),
                          HasSubstr("SEARCH o0 USING PRIMARY KEY (run_id=? AND key=?)"),
                          Not(HasSubstr("SCAN"))))
      << plan;
  // A metric range drives when no equality does.
  const std::string range = Plan(Spec(Listing::kRuns, "metrics.m3 > 0.9", ""));
  EXPECT_THAT(range,
              AllOf(HasSubstr("run_metrics_by_key (key=? AND value>?)"), Not(HasSubstr("SCAN"))))
      << range;
}

// Newest first, unfiltered: read in order from runs_by_start, no sort, on every page.
TEST_F(QueryPlanTest, ListingReadsTheStartIndexInOrder) {
  SearchSpec spec = Spec(Listing::kRuns, "", "");
  std::string plan = Plan(spec);
  EXPECT_THAT(plan, AllOf(HasSubstr("runs_by_start"), Not(HasSubstr("TEMP B-TREE")))) << plan;
  spec.after = {int64_t{1700000000000000}, int64_t{7}};
  plan = Plan(spec);
  EXPECT_THAT(plan, AllOf(HasSubstr("runs_by_start (start_us<?)"), Not(HasSubstr("TEMP B-TREE"))))
      << plan;
}

// Executions start from executions_by_step.
TEST_F(QueryPlanTest, ExecutionsStartFromTheStepIndex) {
  const std::string plan =
      Plan(Spec(Listing::kExecutions, "metrics.acc > 0.5 AND tags.team = 'ml'", ""));
  EXPECT_THAT(plan, AllOf(HasSubstr("SEARCH e USING INDEX executions_by_step (step=?)"),
                          Not(HasSubstr("SCAN"))))
      << plan;
}

TEST(LikeToGlobTest, WildcardsAndGlobCharacters) {
  EXPECT_EQ(LikeToGlob(""), "");
  EXPECT_EQ(LikeToGlob("abc"), "abc");
  EXPECT_EQ(LikeToGlob("a%b_c"), "a*b?c");
  EXPECT_EQ(LikeToGlob("*?["), "[*][?][[]");
  EXPECT_EQ(LikeToGlob("a]b^"), "a]b^");
  EXPECT_EQ(LikeToGlob("\xc3\xa9%"), "\xc3\xa9*");
}

}  // namespace
}  // namespace internal
}  // namespace track
}  // namespace mlops
