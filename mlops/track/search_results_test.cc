// What SearchRuns returns besides the order: each run as GetRun gives it with its values as
// GetRunValues gives them; user input that looks like SQL is only ever a value; malformed
// filters and order_bys fail with the parser's own message.
#include <cmath>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/testing/lineage_records.h"
#include "mlops/testing/status_matchers.h"
#include "mlops/track/filter.h"
#include "mlops/track/search.h"
#include "mlops/track/search_testing.h"

namespace mlops {
namespace track {
namespace test {
namespace {

using ::mlops::test::EqualsProto;
using ::mlops::test::StatusIs;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;

void ExpectSameValues(const RunValues& got, const RunValues& want, const std::string& run) {
  EXPECT_EQ(got.tags, want.tags) << run;
  EXPECT_EQ(got.params, want.params) << run;
  ASSERT_EQ(got.metrics.size(), want.metrics.size()) << run;
  for (const auto& [key, value] : want.metrics) {
    auto it = got.metrics.find(key);
    ASSERT_NE(it, got.metrics.end()) << run << " " << key;
    const MetricValue& m = it->second;
    if (std::isnan(value.value)) {
      EXPECT_TRUE(std::isnan(m.value)) << run << " " << key;
    } else {
      EXPECT_EQ(m.value, value.value) << run << " " << key;
    }
    EXPECT_EQ(m.step, value.step) << run << " " << key;
    EXPECT_EQ(m.time, value.time) << run << " " << key;
    EXPECT_EQ(m.execution_id, value.execution_id) << run << " " << key;
  }
}

TEST_F(SearchRunsTest, ResultsHoldTheRunAndItsValues) {
  RunSearch search;
  search.order_by = "metrics.auc DESC";
  for (int64_t size : {0, 3}) {
    search.page.max_results = size;
    ASSERT_OK_AND_ASSIGN(const Page<FoundRun> page, SearchRuns(*store_, search));
    ASSERT_FALSE(page.items.empty());
    for (const FoundRun& found : page.items) {
      ASSERT_OK_AND_ASSIGN(const mlops::Run run, store_->GetRun(found.run.id()));
      EXPECT_THAT(found.run, EqualsProto(run));
      ASSERT_OK_AND_ASSIGN(const RunValues values, store_->GetRunValues(found.run.id()));
      ExpectSameValues(found.values, values, found.run.name());
    }
  }
}

TEST_F(SearchRunsTest, ValuesSpellOutNaNInfinityAndTheirOwner) {
  RunSearch search;
  search.filter = "attributes.run_name IN ('gamma', 'zeta', 'eta', 'alpha')";
  ASSERT_OK_AND_ASSIGN(const Page<FoundRun> page, SearchRuns(*store_, search));
  ASSERT_EQ(NamesOf(page.items), (std::vector<std::string>{"eta", "zeta", "gamma", "alpha"}));
  EXPECT_GT(page.items[0].values.metrics.at("loss").execution_id, 0);  // eta's, by its step
  EXPECT_EQ(page.items[1].values.metrics.at("auc").value, -INFINITY);
  EXPECT_TRUE(std::isnan(page.items[2].values.metrics.at("auc").value));
  EXPECT_EQ(page.items[3].values.metrics.at("loss").value, 0.3);
  EXPECT_EQ(page.items[3].values.metrics.at("loss").step, 2);
  EXPECT_EQ(page.items[3].values.tags.at("owner"), "Ann");
  EXPECT_EQ(page.items[3].values.params.at("lr"), "0.1");
  EXPECT_EQ(page.items[3].run.experiment(), "churn");
  EXPECT_EQ(page.items[3].run.status(), mlops::Run::SUCCEEDED);
}

TEST_F(SearchRunsTest, RunsOfTheDefaultExperimentSayIt) {
  RunSearch search;
  search.experiments = {"default"};
  ASSERT_OK_AND_ASSIGN(const Page<FoundRun> page, SearchRuns(*store_, search));
  ASSERT_EQ(page.items.size(), 3u);
  for (const FoundRun& r : page.items) EXPECT_EQ(r.run.experiment(), "default");
}

// Strings, keys and experiment names that look like SQL are values to compare, nothing
// more: they match nothing, and every table is intact afterwards.
TEST_F(SearchRunsTest, SqlInInputIsOnlyAString) {
  const std::string drop = "'; DROP TABLE runs; --";
  EXPECT_THAT(Names("params.model = \"" + drop + "\""), IsEmpty());
  EXPECT_THAT(Names("tags.team LIKE \"%" + drop + "%\""), IsEmpty());
  EXPECT_THAT(Names("attributes.run_name IN (\"" + drop + "\", 'x')"), IsEmpty());
  EXPECT_THAT(Names("params.`x" + drop + "` = 'y'"), IsEmpty());
  EXPECT_THAT(Names("metrics.`" + drop + "` > 0"), IsEmpty());
  EXPECT_THAT(Names("", "", {"x" + drop, "'); DROP TABLE experiments; --"}), IsEmpty());
  EXPECT_THAT(Names("", "metrics.`" + drop + "` DESC"), ElementsAreArray(AllRunsNewestFirst()));
  EXPECT_THAT(Names(""), ElementsAreArray(AllRunsNewestFirst()));
  ASSERT_OK_AND_ASSIGN(const RunValues values, store_->GetRunValues(ids_["alpha"]));
  EXPECT_EQ(values.params.at("model"), "logreg");
  ASSERT_OK_AND_ASSIGN(const std::vector<Experiment> experiments, store_->Experiments());
  EXPECT_EQ(experiments.size(), 3u);
}

// The parser's INVALID_ARGUMENT, caret and all, unchanged.
TEST_F(SearchRunsTest, MalformedFilterOrOrderIsTheParsersError) {
  RunSearch search;
  search.filter = "metrics.auc 0.9";
  EXPECT_EQ(SearchRuns(*store_, search).status(), ParseFilter(search.filter).status());
  EXPECT_THAT(SearchRuns(*store_, search), StatusIs(absl::StatusCode::kInvalidArgument));
  search.filter = "params.lr > 0.1";
  EXPECT_EQ(SearchRuns(*store_, search).status(), ParseFilter(search.filter).status());
  search.filter = "";
  search.order_by = "metrics.auc DOWN";
  EXPECT_EQ(SearchRuns(*store_, search).status(), ParseOrderBy(search.order_by).status());
  EXPECT_THAT(SearchRuns(*store_, search), StatusIs(absl::StatusCode::kInvalidArgument));
}

// Past SQLite's limits a search is refused as INVALID_ARGUMENT, not failed as INTERNAL;
// up to them it runs.
TEST_F(SearchRunsTest, SearchesUpToTheLimitsRun) {
  std::vector<std::string> clauses(100, "metrics.auc > 0");
  EXPECT_THAT(Names(absl::StrJoin(clauses, " AND ")),
              ElementsAre("iota", "theta", "epsilon", "delta", "beta", "alpha"));
  std::vector<std::string> keys;
  for (int i = 0; i < 16; ++i) keys.push_back(absl::StrCat("metrics.k", i));
  EXPECT_THAT(Names("", absl::StrJoin(keys, ", ")), ElementsAreArray(AllRunsNewestFirst()));
  std::vector<std::string> names(10000, "'alpha'");
  EXPECT_THAT(Names(absl::StrCat("attributes.run_name IN (", absl::StrJoin(names, ","), ")")),
              ElementsAre("alpha"));

  RunSearch search;
  clauses.push_back("metrics.auc > 0");
  search.filter = absl::StrJoin(clauses, " AND ");
  EXPECT_THAT(SearchRuns(*store_, search), StatusIs(absl::StatusCode::kInvalidArgument));
  names.push_back("'beta'");
  search.filter = absl::StrCat("attributes.run_name IN (", absl::StrJoin(names, ","), ")");
  EXPECT_THAT(SearchRuns(*store_, search), StatusIs(absl::StatusCode::kInvalidArgument));
  search.filter = "";
  keys.push_back("metrics.k16");
  search.order_by = absl::StrJoin(keys, ", ");
  EXPECT_THAT(SearchRuns(*store_, search), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(SearchRunsTest, ReadOnlyStoreSearches) {
  const std::string dir = ::testing::TempDir() + "/search_read_only";
  ASSERT_EQ(system(("rm -rf '" + dir + "' && mkdir -p '" + dir + "'").c_str()), 0);
  {
    std::unique_ptr<SqliteLineageStore> writer = mlops::test::OpenStore(dir + "/lineage.db");
    ASSERT_NE(writer, nullptr);
    mlops::Run run = mlops::test::MakeRun("train.py", mlops::test::kT0);
    run.set_name("only");
    ASSERT_OK_AND_ASSIGN(const int64_t id, writer->BeginRun(run));
    ASSERT_OK(writer->LogRunParam(id, "model", "svm"));
  }
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteLineageStore> reader,
                       mlops::test::OpenReadOnly(dir + "/lineage.db"));
  RunSearch search;
  search.filter = "params.model = 'svm'";
  ASSERT_OK_AND_ASSIGN(const Page<FoundRun> page, SearchRuns(*reader, search));
  EXPECT_THAT(NamesOf(page.items), ElementsAre("only"));
  EXPECT_EQ(page.items[0].values.params.at("model"), "svm");
}

}  // namespace
}  // namespace test
}  // namespace track
}  // namespace mlops
