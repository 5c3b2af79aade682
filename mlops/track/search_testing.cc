#include "mlops/track/search_testing.h"

#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "mlops/testing/lineage_records.h"
#include "mlops/testing/pages.h"

namespace mlops {
namespace track {
namespace test {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

struct RunRow {
  const char* name;
  const char* experiment;
  int64_t start_us;  // after alpha's start
  Run::Status status;
  std::map<std::string, std::string> params;
  std::map<std::string, std::string> tags;
  std::map<std::string, double> metrics;  // each logged as one point (but alpha's loss)
};

// The table. Also: alpha's loss is a series of three points ending at 0.3; eta's loss is
// logged by an execution of its step "train"; delta (RUNNING) has not ended; the others
// end 5 s after they start.
const std::vector<RunRow>& Table() {
  static const auto* rows = new std::vector<RunRow>{
      {"alpha",
       "churn",
       0,
       Run::SUCCEEDED,
       {{"model", "logreg"}, {"lr", "0.1"}},
       {{"team", "ml"}, {"owner", "Ann"}},
       {{"auc", 0.91}, {"f1 score", 0.8}}},
      {"beta",
       "churn",
       1000000,
       Run::SUCCEEDED,
       {{"model", "svm"}, {"lr", "0.01"}},
       {{"team", "ML"}},
       {{"auc", 0.85}, {"loss", 0.5}}},
      {"gamma",
       "churn",
       2001500,
       Run::FAILED,
       {{"model", "logreg"}, {"lr", "0.10"}},
       {{"team", "data"}},
       {{"auc", kNaN}}},
      {"delta",
       "churn",
       3000000,
       Run::RUNNING,
       {{"model", "LogReg"}},
       {},
       {{"auc", 0.95}, {"f1 score", 0.7}}},
      {"epsilon",
       "fraud",
       4000000,
       Run::SUCCEEDED,
       {{"model", "tree"}, {"lr", "1e-3"}},
       {{"team", "ml"}},
       {{"auc", kInf}, {"loss", 0.1}}},
      {"zeta",
       "fraud",
       5000000,
       Run::SUCCEEDED,
       {{"model", "tree_big"}},
       {{"team", "ml%"}},
       {{"auc", -kInf}}},
      {"eta", "fraud", 6000000, Run::SUCCEEDED, {}, {}, {}},
      {"theta",
       "",
       7000000,
       Run::FAILED,
       {{"model", "svm"}, {"my param", "x"}},
       {{"team", "ml"}},
       {{"auc", 0.85}}},
      {"iota",
       "",
       8000000,
       Run::SUCCEEDED,
       {{"model", "logreg"}},
       {{"owner", "Bob"}, {"note", "a*b[1]?"}},
       {{"auc", 0.5}}},
      {"kappa", "", 8000000, Run::SUCCEEDED, {{"model", "_x"}}, {{"note", "aXb1c"}}, {}},
  };
  return *rows;
}

}  // namespace

int64_t AlphaStartMillis() { return mlops::test::kT0 * 1000; }

void SearchRunsTest::SetUp() {
  store_ = mlops::test::OpenStore(":memory:");
  ASSERT_NE(store_, nullptr);
  for (const RunRow& row : Table()) {
    mlops::Run run = mlops::test::MakeRun("train.py", 0, row.status);
    const int64_t start_us = mlops::test::kT0 * 1000000 + row.start_us;
    const absl::Time start = absl::FromUnixMicros(start_us);
    run.mutable_start_time()->set_seconds(start_us / 1000000);
    run.mutable_start_time()->set_nanos(static_cast<int32_t>(start_us % 1000000) * 1000);
    if (row.status == mlops::Run::RUNNING) {
      run.clear_end_time();
    } else {
      *run.mutable_end_time() = run.start_time();
      run.mutable_end_time()->set_seconds(run.start_time().seconds() + 5);
    }
    run.set_experiment(row.experiment);
    run.set_name(row.name);
    absl::StatusOr<int64_t> id = store_->BeginRun(run);
    ASSERT_TRUE(id.ok()) << id.status();
    ids_[row.name] = *id;
    for (const auto& [key, value] : row.params) {
      ASSERT_TRUE(store_->LogRunParam(*id, key, value).ok());
    }
    for (const auto& [key, value] : row.tags) {
      ASSERT_TRUE(store_->SetRunTag(*id, key, value).ok());
    }
    for (const auto& [key, value] : row.metrics) {
      ASSERT_TRUE(
          store_->LogMetricPoints(MetricOwner::OfRun(*id), key, {MetricPoint{0, value, start}})
              .ok());
    }
  }
  const absl::Time t = absl::FromUnixSeconds(mlops::test::kT0);
  ASSERT_TRUE(store_
                  ->LogMetricPoints(
                      MetricOwner::OfRun(ids_["alpha"]), "loss",
                      {MetricPoint{0, 0.9, t}, MetricPoint{2, 0.3, t}, MetricPoint{1, 0.5, t}})
                  .ok());
  Execution train = mlops::test::Exec(ids_["eta"], "train", {}, {}, false, mlops::test::kT0 + 6);
  (*train.mutable_metrics())["loss"] = 0.2;
  ASSERT_TRUE(store_->RecordExecution(train).ok());
  ASSERT_TRUE(store_->Flush().ok());
}

std::vector<std::string> SearchRunsTest::Names(const std::string& filter,
                                               const std::string& order_by,
                                               const std::vector<std::string>& experiments) {
  RunSearch search;
  search.filter = filter;
  search.order_by = order_by;
  search.experiments = experiments;
  absl::StatusOr<Page<FoundRun>> page = SearchRuns(*store_, search);
  if (!page.ok() || page->has_more()) {
    ADD_FAILURE() << "filter " << filter << ", order_by " << order_by << ": "
                  << (page.ok() ? "came back cut" : page.status().ToString());
    return {absl::StrCat("error: ", page.ok() ? "cut" : page.status().ToString())};
  }
  return NamesOf(page->items);
}

std::vector<std::string> SearchRunsTest::NamesOf(const std::vector<FoundRun>& runs) {
  std::vector<std::string> names;
  for (const FoundRun& r : runs) names.push_back(r.run.name());
  return names;
}

}  // namespace test
}  // namespace track
}  // namespace mlops
