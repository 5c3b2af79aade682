// The upgrade of a version 2 lineage database (testdata/lineage_v2.db: two runs of the
// quickstart written by the release before experiment tracking, the second all cache hits)
// to version 3: read-only it reads as version 3 and is left as it was; read-write it is
// upgraded in place, every record kept, the executions' params and metrics made tracked
// values; and a crash at any stage of the upgrade leaves version 2 intact, to be upgraded
// by the next open.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/lineage/internal/tracking_schema.h"
#include "mlops/lineage/lineage.pb.h"
#include "mlops/lineage/sqlite_lineage_store.h"
#include "mlops/testing/files.h"
#include "mlops/testing/lineage_records.h"
#include "mlops/testing/proto_matchers.h"
#include "mlops/testing/status_matchers.h"

namespace mlops {
namespace test {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

constexpr char kFixture[] = "mlops/lineage/testdata/lineage_v2.db";

// A copy of the fixture in a fresh directory.
std::string CopyOfFixture() {
  const std::string path = FreshDir() + "/lineage.db";
  Spit(path, Slurp(kFixture));
  return path;
}

bool HasTable(const std::string& path, const std::string& table) {
  return SqlValue(path, absl::StrCat("SELECT count(*) FROM sqlite_master WHERE name = '",
                                     table, "'")) == "1";
}

// The executions of both runs, as a read-only store reads them.
std::vector<Execution> AllExecutions(SqliteLineageStore& store) {
  std::vector<Execution> all;
  for (int64_t run : {1, 2}) {
    absl::StatusOr<std::vector<Execution>> e = store.ExecutionsOfRun(run);
    EXPECT_TRUE(e.ok()) << e.status();
    if (e.ok()) all.insert(all.end(), e->begin(), e->end());
  }
  return all;
}

TEST(LineageUpgradeTest, TheFixtureIsVersion2) {
  EXPECT_EQ(SqlValue(kFixture, "PRAGMA user_version"), "2");
  EXPECT_FALSE(HasTable(kFixture, "experiments"));
  EXPECT_EQ(SqlValue(kFixture, "SELECT count(*) FROM executions"), "5");
  EXPECT_EQ(SqlValue(kFixture, "SELECT count(*) FROM hits"), "5");
}

TEST(LineageUpgradeTest, ReadOnlyItReadsAsVersion3AndStaysAsItWas) {
  const std::string path = CopyOfFixture();
  const std::string before = Slurp(path);
  {
    absl::StatusOr<std::unique_ptr<SqliteLineageStore>> store = OpenReadOnly(path);
    ASSERT_OK(store.status());
    absl::StatusOr<mlops::Run> run = (*store)->GetRun(1);
    ASSERT_OK(run.status());
    EXPECT_EQ(run->experiment(), "default");
    EXPECT_EQ(run->name(), "quickstart-1");
    absl::StatusOr<std::vector<Experiment>> experiments = (*store)->Experiments();
    ASSERT_OK(experiments.status());
    ASSERT_EQ(experiments->size(), 1u);
    EXPECT_EQ((*experiments)[0].runs, 2);
    absl::StatusOr<RunValues> values = (*store)->GetRunValues(1);
    ASSERT_OK(values.status());
    EXPECT_THAT(values->params, IsEmpty());
    absl::StatusOr<std::vector<std::vector<mlops::SqlValue>>> names = (*store)->Select(
        SqlQuery{"SELECT name, experiment_id FROM runs ORDER BY id", {}});
    ASSERT_OK(names.status());
    ASSERT_EQ(names->size(), 2u);
    EXPECT_EQ(std::get<std::string>((*names)[1][0]), "quickstart-2");
    EXPECT_EQ(std::get<int64_t>((*names)[1][1]), 1);
  }
  EXPECT_EQ(Slurp(path), before);
  EXPECT_FALSE(Exists(path + "-wal"));
}

TEST(LineageUpgradeTest, ReadWriteItIsUpgradedInPlaceKeepingEveryRecord) {
  const std::string path = CopyOfFixture();
  std::vector<Execution> before;
  {
    absl::StatusOr<std::unique_ptr<SqliteLineageStore>> ro = OpenReadOnly(path);
    ASSERT_OK(ro.status());
    before = AllExecutions(**ro);
  }
  ASSERT_EQ(before.size(), 10u);
  const Execution& train = before[3];
  const Execution& evaluate = before[4];
  ASSERT_EQ(train.step_name(), "train");
  ASSERT_EQ(evaluate.step_name(), "evaluate");
  ASSERT_TRUE(before[8].cache_hit());

  for (int open = 0; open < 2; ++open) {  // the second open finds version 3
    std::unique_ptr<SqliteLineageStore> store = OpenStore(path);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(SqlValue(path, "PRAGMA user_version"), "3");
    std::vector<Execution> after = AllExecutions(*store);
    ASSERT_EQ(after.size(), before.size());
    for (size_t i = 0; i < after.size(); ++i) EXPECT_THAT(after[i], EqualsProto(before[i]));
    EXPECT_EQ(store->GetRun(2)->name(), "quickstart-2");
    EXPECT_EQ(store->GetRun(2)->experiment(), "default");

    for (int64_t run : {1, 2}) {  // run 2 took everything from the cache
      absl::StatusOr<RunValues> v = store->GetRunValues(run);
      ASSERT_OK(v.status());
      EXPECT_THAT(v->params, ElementsAre(Pair("epochs", train.params().at("epochs")),
                                         Pair("l2", train.params().at("l2")),
                                         Pair("learning_rate", train.params().at("learning_rate"))));
      EXPECT_EQ(v->metrics.at("auc").value, evaluate.metrics().at("auc"));
      EXPECT_EQ(v->metrics.at("train_loss").value, train.metrics().at("train_loss"));
    }
    // Each old metric is a series of one point at step 0, at the execution's end; the
    // hits show their representative's.
    for (int64_t id : {train.id(), before[8].id()}) {
      absl::StatusOr<std::vector<MetricPoint>> series =
          store->MetricSeries(MetricOwner::OfExecution(0, id), "train_loss");
      ASSERT_OK(series.status());
      ASSERT_EQ(series->size(), 1u);
      EXPECT_EQ((*series)[0].step, 0);
      EXPECT_EQ((*series)[0].value, train.metrics().at("train_loss"));
      EXPECT_EQ(absl::ToUnixMicros((*series)[0].time),
                train.end_time().seconds() * 1000000 + train.end_time().nanos() / 1000);
    }
    if (open == 1) {
      absl::StatusOr<int64_t> next = store->BeginRun(MakeRun("quickstart", kT0));
      ASSERT_OK(next.status());
      EXPECT_EQ(*next, 3);
    }
  }
}

// The child opens the database and is killed (SIGKILL) when the upgrade reaches `stage`,
// inside its transaction.
void OpenAndDieAt(const std::string& path, const std::string& stage) {
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    lineage_internal::SetUpgradeStageHookForTesting([stage](absl::string_view at) {
      if (at == stage) ::raise(SIGKILL);
    });
    absl::StatusOr<std::unique_ptr<SqliteLineageStore>> store = SqliteLineageStore::Open(path);
    ::_exit(store.ok() ? 0 : 3);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the child was to be killed at stage " << stage << "; status " << status;
}

TEST(LineageUpgradeTest, ACrashAtAnyStageLeavesVersion2Intact) {
  for (const char* stage : {"columns", "tables", "runs", "values"}) {
    SCOPED_TRACE(stage);
    const std::string path = CopyOfFixture();
    ASSERT_NO_FATAL_FAILURE(OpenAndDieAt(path, stage));
    EXPECT_EQ(SqlValue(path, "PRAGMA user_version"), "2");
    EXPECT_FALSE(HasTable(path, "experiments"));
    EXPECT_FALSE(HasTable(path, "metric_points"));
    EXPECT_EQ(SqlValue(path, "SELECT count(*) FROM pragma_table_info('runs') "
                             "WHERE name = 'experiment_id'"),
              "0");
    EXPECT_EQ(SqlValue(path, "SELECT count(*) FROM executions"), "5");
    // The next open upgrades it.
    std::unique_ptr<SqliteLineageStore> store = OpenStore(path);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(SqlValue(path, "PRAGMA user_version"), "3");
    EXPECT_EQ(store->GetRunValues(2)->params.size(), 3u);
  }
}

}  // namespace
}  // namespace test
}  // namespace mlops
