// SearchExecutions: the computing executions of one step across runs (cache hits and other
// steps left out), filtered and ordered by their own metrics and params, their run's tags
// and the attributes, with what each logged.
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/testing/lineage_records.h"
#include "mlops/testing/pages.h"
#include "mlops/testing/status_matchers.h"
#include "mlops/track/search.h"

namespace mlops {
namespace track {
namespace {

using ::mlops::test::EqualsProto;
using ::mlops::test::kT0;
using ::mlops::test::StatusIs;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

class SearchExecutionsTest : public ::testing::Test {
 protected:
  // Runs a and b in experiment "sweep" (tagged team ml and data), c in "other". Step
  // "train": e1 and e2 in a, e3 (FAILED) in b with a cache hit of e1, e5 (acc NaN) in c, e6
  // in no run; step "eval": x1 in a. e2's acc is then logged on to 0.92 at step 5.
  void SetUp() override {
    store_ = mlops::test::OpenStore(":memory:");
    ASSERT_NE(store_, nullptr);
    run_a_ = BeginRun("sweep", "a");
    run_b_ = BeginRun("sweep", "b");
    run_c_ = BeginRun("other", "c");
    ASSERT_OK(store_->SetRunTag(run_a_, "team", "ml"));
    ASSERT_OK(store_->SetRunTag(run_b_, "team", "data"));
    Execution e1 = Record("e1", run_a_, "train", 10, {{"lr", "0.1"}, {"depth", "3"}},
                          {{"acc", 0.8}, {"loss", 0.5}});
    Record("e2", run_a_, "train", 11, {{"lr", "0.01"}}, {{"acc", 0.9}});
    Record("e3", run_b_, "train", 12, {{"lr", "0.1"}}, {{"acc", 0.7}}, Execution::FAILED);
    ASSERT_OK(store_->RecordExecution(mlops::test::HitOf(e1, run_b_, kT0 + 13)).status());
    Record("e5", run_c_, "train", 14, {{"lr", "1"}},
           {{"acc", std::numeric_limits<double>::quiet_NaN()}});
    Record("e6", 0, "train", 15, {{"lr", "0.5"}}, {{"acc", 0.95}});
    Record("x1", run_a_, "eval", 16, {}, {{"acc", 0.99}});
    ASSERT_OK(store_->LogMetricPoints(MetricOwner::OfExecution(run_a_, ids_["e2"]), "acc",
                                      {MetricPoint{5, 0.92, absl::FromUnixSeconds(kT0 + 20)}}));
    ASSERT_OK(store_->Flush());
  }

  int64_t BeginRun(const std::string& experiment, const std::string& name) {
    mlops::Run run = mlops::test::MakeRun("sweep.py", kT0);
    run.set_experiment(experiment);
    run.set_name(name);
    absl::StatusOr<int64_t> id = store_->BeginRun(run);
    EXPECT_TRUE(id.ok()) << id.status();
    return id.ok() ? *id : 0;
  }

  Execution Record(const std::string& name, int64_t run, const std::string& step, int64_t start,
                   const std::map<std::string, std::string>& params,
                   const std::map<std::string, double>& metrics,
                   Execution::Status status = Execution::SUCCEEDED) {
    Execution e =
        mlops::test::Exec(run, step, {}, {mlops::test::Ref("0", name)}, false, kT0 + start);
    e.set_status(status);
    for (const auto& [k, v] : params) (*e.mutable_params())[k] = v;
    for (const auto& [k, v] : metrics) (*e.mutable_metrics())[k] = v;
    absl::StatusOr<int64_t> id = store_->RecordExecution(e);
    EXPECT_TRUE(id.ok()) << id.status();
    ids_[name] = id.ok() ? *id : 0;
    names_[ids_[name]] = name;
    e.set_id(ids_[name]);
    return e;
  }

  // The names of every execution the search finds, `page_size` at a time (0: at once).
  std::vector<std::string> Names(const std::string& filter, const std::string& order_by = "",
                                 int64_t page_size = 0, const std::string& step = "train") {
    ExecutionSearch search;
    search.step = step;
    search.filter = filter;
    search.order_by = order_by;
    auto fetch = [&](const PageRequest& request) {
      search.page = request;
      return SearchExecutions(*store_, search);
    };
    absl::StatusOr<std::vector<FoundExecution>> all =
        page_size == 0 ? mlops::test::Whole(fetch(PageRequest{}))
                       : mlops::test::AllPages<FoundExecution>(fetch, page_size);
    if (!all.ok()) {
      ADD_FAILURE() << filter << " / " << order_by << ": " << all.status();
      return {all.status().ToString()};
    }
    std::vector<std::string> names;
    for (const FoundExecution& e : *all) names.push_back(names_[e.execution.id()]);
    return names;
  }

  std::unique_ptr<SqliteLineageStore> store_;
  int64_t run_a_ = 0, run_b_ = 0, run_c_ = 0;
  std::map<std::string, int64_t> ids_;
  std::map<int64_t, std::string> names_;
};

TEST_F(SearchExecutionsTest, OnlyComputingExecutionsOfTheStep) {
  EXPECT_THAT(Names(""), ElementsAre("e6", "e5", "e3", "e2", "e1"));
  EXPECT_THAT(Names("", "", 0, "eval"), ElementsAre("x1"));
  EXPECT_THAT(Names("", "", 0, "nope"), IsEmpty());
}

TEST_F(SearchExecutionsTest, EmptyStepIsInvalid) {
  ExecutionSearch search;
  EXPECT_THAT(SearchExecutions(*store_, search), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(SearchExecutionsTest, OwnMetricsAndParams) {
  EXPECT_THAT(Names("metrics.acc > 0.85"), ElementsAre("e6", "e2"));
  EXPECT_THAT(Names("metrics.acc != 0.8"), ElementsAre("e6", "e5", "e3", "e2"));
  EXPECT_THAT(Names("metrics.loss < 1"), ElementsAre("e1"));
  EXPECT_THAT(Names("params.lr = '0.1'"), ElementsAre("e3", "e1"));
  EXPECT_THAT(Names("params.lr LIKE '0.%'"), ElementsAre("e6", "e3", "e2", "e1"));
  EXPECT_THAT(Names("params.depth = '3' AND metrics.acc >= 0.8"), ElementsAre("e1"));
}

TEST_F(SearchExecutionsTest, TagsAreTheRuns) {
  EXPECT_THAT(Names("tags.team = 'ml'"), ElementsAre("e2", "e1"));
  EXPECT_THAT(Names("tags.team != 'ml'"), ElementsAre("e3"));
}

TEST_F(SearchExecutionsTest, Attributes) {
  EXPECT_THAT(Names("attributes.run_name = 'b'"), ElementsAre("e3"));
  EXPECT_THAT(Names("attributes.experiment = 'sweep'"), ElementsAre("e3", "e2", "e1"));
  EXPECT_THAT(Names("attributes.status = 'FAILED'"), ElementsAre("e3"));
  EXPECT_THAT(Names("attributes.status = 'FINISHED'"), ElementsAre("e6", "e5", "e2", "e1"));
  EXPECT_THAT(Names("attributes.status = 'CACHED'"), IsEmpty());
  EXPECT_THAT(Names(absl::StrCat("attributes.run_id = '", run_a_, "'")), ElementsAre("e2", "e1"));
  // e6 has no run: no run_id, run_name or experiment to compare.
  EXPECT_THAT(Names(absl::StrCat("attributes.run_id != '", run_a_, "'")), ElementsAre("e5", "e3"));
  EXPECT_THAT(Names("attributes.run_name != 'x'"), ElementsAre("e5", "e3", "e2", "e1"));
  EXPECT_THAT(Names(absl::StrCat("attributes.start_time >= ", (kT0 + 12) * 1000)),
              ElementsAre("e6", "e5", "e3"));
}

TEST_F(SearchExecutionsTest, Order) {
  EXPECT_THAT(Names("", "metrics.acc DESC"), ElementsAre("e6", "e2", "e1", "e3", "e5"));
  EXPECT_THAT(Names("", "metrics.acc"), ElementsAre("e3", "e1", "e2", "e6", "e5"));
  EXPECT_THAT(Names("", "params.lr"), ElementsAre("e2", "e3", "e1", "e6", "e5"));
  EXPECT_THAT(Names("", "attributes.run_name"), ElementsAre("e2", "e1", "e3", "e5", "e6"));
  EXPECT_THAT(Names("", "attributes.experiment DESC, metrics.acc"),
              ElementsAre("e3", "e1", "e2", "e5", "e6"));
}

TEST_F(SearchExecutionsTest, PagesListEachOnce) {
  for (const char* order : {"", "metrics.acc DESC", "params.lr", "attributes.run_name"}) {
    const std::vector<std::string> whole = Names("", order);
    for (int64_t size : {1, 2, 3}) EXPECT_EQ(Names("", order, size), whole) << order << size;
  }
}

TEST_F(SearchExecutionsTest, ResultsHoldWhatEachLogged) {
  ExecutionSearch search;
  search.step = "train";
  search.order_by = "metrics.acc DESC";
  ASSERT_OK_AND_ASSIGN(const Page<FoundExecution> page, SearchExecutions(*store_, search));
  ASSERT_EQ(page.items.size(), 5u);
  for (const FoundExecution& found : page.items) {
    ASSERT_OK_AND_ASSIGN(const Execution e, store_->GetExecution(found.execution.id()));
    EXPECT_THAT(found.execution, EqualsProto(e));
  }
  const FoundExecution& e6 = page.items[0];
  EXPECT_EQ(e6.experiment, "");
  EXPECT_EQ(e6.run_name, "");
  const FoundExecution& e2 = page.items[1];
  EXPECT_EQ(e2.experiment, "sweep");
  EXPECT_EQ(e2.run_name, "a");
  EXPECT_EQ(e2.params, (std::map<std::string, std::string>{{"lr", "0.01"}}));
  ASSERT_EQ(e2.metrics.size(), 1u);
  EXPECT_EQ(e2.metrics.at("acc").value, 0.92);
  EXPECT_EQ(e2.metrics.at("acc").step, 5);
  EXPECT_EQ(e2.metrics.at("acc").time, absl::FromUnixSeconds(kT0 + 20));
  EXPECT_EQ(e2.metrics.at("acc").execution_id, ids_["e2"]);
  const FoundExecution& e1 = page.items[2];
  EXPECT_EQ(e1.params, (std::map<std::string, std::string>{{"depth", "3"}, {"lr", "0.1"}}));
  EXPECT_EQ(e1.metrics.at("loss").value, 0.5);
  EXPECT_TRUE(std::isnan(page.items[4].metrics.at("acc").value));
}

TEST_F(SearchExecutionsTest, TokenOfAnotherStepIsInvalid) {
  ExecutionSearch search;
  search.step = "train";
  search.page.max_results = 1;
  ASSERT_OK_AND_ASSIGN(const Page<FoundExecution> page, SearchExecutions(*store_, search));
  ASSERT_TRUE(page.has_more());
  search.step = "eval";
  search.page.page_token = page.next_page_token;
  EXPECT_THAT(SearchExecutions(*store_, search), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace track
}  // namespace mlops
