// A workspace whose lineage.db is damaged (issue 13, item 2): a page of executions or of
// runs overwritten, the file truncated, its header zeroed. Before the fix every later
// Workspace::Open failed ("database disk image is malformed"), or every Flush, and a
// program that never called Flush() heard nothing. Now: Open succeeds, every stored call
// is a cache hit (the action cache and the values do not depend on lineage), the damaged
// file is kept under its new name, the recovery is said once on stderr and recorded with
// this run, and the run's lineage is complete; a final flush that fails (recovery off) is
// said once on stderr by ~Workspace.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/core/step.h"
#include "mlops/core/workspace.h"
#include "mlops/core/workspace_layout.h"
#include "mlops/lineage/sqlite_lineage_store.h"
#include "mlops/testing/damage.h"
#include "mlops/testing/files.h"
#include "mlops/testing/lineage_records.h"
#include "mlops/testing/test_db.h"
#include "mlops/testing/workspace.h"

namespace mlops {
namespace {

using ::testing::HasSubstr;

constexpr int kCalls = 400;
int g_runs = 0;
const auto kSquare = MakeStep("recovery.square", 1, [](int64_t x) {
  ++g_runs;
  return x * x;
});

// How many times `needle` occurs in `text`.
int Count(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

std::vector<std::string> SetAside(const std::string& dir) {
  std::vector<std::string> out;
  for (const std::string& n : test::ListDir(dir)) {
    if (absl::StartsWith(n, "lineage.db.damaged-") && !absl::EndsWith(n, "-wal") &&
        !absl::EndsWith(n, "-shm")) {
      out.push_back(dir + "/" + n);
    }
  }
  return out;
}

enum class Damage { kMiddleOfExecutions, kLastOfExecutions, kRuns, kTruncated, kZeroedHeader };

struct Case {
  const char* name;
  Damage damage;
};

class WorkspaceLineageRecoveryTest : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    dir_ = test::FreshDir();
    db_ = WorkspaceLayout(dir_).lineage_db();
    auto ws = test::OpenWorkspace(dir_);
    ASSERT_NE(ws, nullptr);
    for (int64_t i = 0; i < kCalls; ++i) ASSERT_TRUE(ws->Call(kSquare, i).ok());
  }

  // Damages lineage.db as the test's parameter says.
  void DamageIt() {
    switch (GetParam().damage) {
      case Damage::kMiddleOfExecutions: {
        const std::vector<int64_t> leaves = test::LeafPages(db_, "executions");
        ASSERT_GE(leaves.size(), 5u);
        test::OverwritePage(db_, leaves[leaves.size() / 2]);
        break;
      }
      case Damage::kLastOfExecutions:  // where the next run's executions go
        test::OverwritePage(db_, test::LeafPages(db_, "executions").back());
        break;
      case Damage::kRuns:  // where the next run goes
        test::OverwritePage(db_, test::LeafPages(db_, "runs").back());
        break;
      case Damage::kTruncated:
        test::TruncateTo(db_, test::PageCount(db_) / 2 * test::kPageSize);
        break;
      case Damage::kZeroedHeader:
        test::ZeroHeader(db_);
        break;
    }
  }

  std::string dir_, db_;
};

INSTANTIATE_TEST_SUITE_P(
    Damages, WorkspaceLineageRecoveryTest,
    ::testing::Values(Case{"MiddlePageOfExecutions", Damage::kMiddleOfExecutions},
                      Case{"LastPageOfExecutions", Damage::kLastOfExecutions},
                      Case{"PageOfRuns", Damage::kRuns}, Case{"Truncated", Damage::kTruncated},
                      Case{"ZeroedHeader", Damage::kZeroedHeader}),
    [](const ::testing::TestParamInfo<Case>& info) { return std::string(info.param.name); });

TEST_P(WorkspaceLineageRecoveryTest, StoredCallsAreHitsAndTheRecoveryIsRecordedWithTheRun) {
  ASSERT_NO_FATAL_FAILURE(DamageIt());
  const std::string damaged = test::Slurp(db_);
  g_runs = 0;
  int64_t run = 0;
  ::testing::internal::CaptureStderr();
  {
    auto ws = test::OpenWorkspace(dir_);
    ASSERT_NE(ws, nullptr) << ::testing::internal::GetCapturedStderr();
    run = ws->run_id();
    for (int64_t i = 0; i < kCalls; ++i) {
      absl::StatusOr<Stored<int64_t>> y = ws->Call(kSquare, i);
      ASSERT_TRUE(y.ok()) << y.status();
      EXPECT_TRUE(y->cached()) << i;
      EXPECT_EQ(**y, i * i);
    }
    // A read of the old lineage meets damage that nothing else read (a middle page).
    EXPECT_TRUE(ws->lineage().ExecutionsOfStep("recovery.square").ok());
    // No Flush(): the destructor writes this run's lineage.
  }
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(g_runs, 0) << "a stored call was computed again";
  EXPECT_EQ(Count(err, "mlops: the lineage database " + db_ + " was damaged"), 1) << err;
  EXPECT_EQ(Count(err, "final flush"), 0) << err;
  const std::vector<std::string> aside = SetAside(dir_);
  ASSERT_EQ(aside.size(), 1u);
  EXPECT_TRUE(test::Slurp(aside[0]) == damaged) << "the damaged file was changed";
  EXPECT_THAT(err, HasSubstr(aside[0]));

  absl::StatusOr<std::unique_ptr<SqliteLineageStore>> lineage = test::OpenReadOnly(db_);
  ASSERT_TRUE(lineage.ok()) << lineage.status();
  absl::StatusOr<std::vector<LineageRecovery>> recoveries = (*lineage)->Recoveries();
  ASSERT_TRUE(recoveries.ok()) << recoveries.status();
  ASSERT_EQ(recoveries->size(), 1u);
  const LineageRecovery& r = recoveries->front();
  EXPECT_EQ(r.run_id(), run);
  EXPECT_EQ(r.damaged_path(), aside[0]);
  // Most of the first run is back after one page is damaged; the whole of it after a
  // damaged header; at least something of a truncated file.
  switch (GetParam().damage) {
    case Damage::kZeroedHeader:
      EXPECT_EQ(r.executions(), kCalls);
      EXPECT_EQ(r.runs(), 1);
      EXPECT_TRUE(r.complete());
      break;
    case Damage::kRuns:
      EXPECT_EQ(r.executions(), kCalls);
      EXPECT_EQ(r.runs() + r.runs_recreated(), 1);
      break;
    case Damage::kTruncated:
      EXPECT_GT(r.executions(), 0);
      break;
    default:  // met after this run began: its record is salvaged too
      EXPECT_GE(r.executions(), kCalls * 9 / 10);
      EXPECT_LT(r.executions(), kCalls);
      EXPECT_EQ(r.runs(), 2);
  }
  // And this run's lineage is whole: every call, each a cache hit.
  absl::StatusOr<std::vector<Execution>> execs = (*lineage)->ExecutionsOfRun(run);
  ASSERT_TRUE(execs.ok()) << execs.status();
  ASSERT_EQ(execs->size(), static_cast<size_t>(kCalls));
  for (const Execution& e : *execs) EXPECT_TRUE(e.cache_hit()) << e.ShortDebugString();
  absl::StatusOr<mlops::Run> run_record = (*lineage)->GetRun(run);
  ASSERT_TRUE(run_record.ok()) << run_record.status();
  EXPECT_EQ(run_record->status(), mlops::Run::SUCCEEDED);
}

// With recovery turned off, damage where this run's executions go makes the final flush
// fail: ~Workspace says so on stderr, once, though the program never called Flush().
TEST(WorkspaceLineageFinalFlushTest, AFailedFinalFlushIsSaidOnStderrOnce) {
  const std::string dir = test::FreshDir();
  const std::string db = WorkspaceLayout(dir).lineage_db();
  {
    auto ws = test::OpenWorkspace(dir);
    ASSERT_NE(ws, nullptr);
    for (int64_t i = 0; i < kCalls; ++i) ASSERT_TRUE(ws->Call(kSquare, i).ok());
  }
  test::OverwritePage(db, test::LeafPages(db, "executions").back());
  WorkspaceOptions options;
  options.lineage.recover_damage = false;
  ::testing::internal::CaptureStderr();
  {
    auto ws = test::OpenWorkspace(dir, options);
    ASSERT_NE(ws, nullptr) << ::testing::internal::GetCapturedStderr();
    ASSERT_TRUE(ws->Call(kSquare, kCalls).ok());
  }
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(Count(err, "mlops: the final flush of the workspace " + dir + " failed"), 1) << err;
  EXPECT_THAT(err, HasSubstr(db));
  EXPECT_THAT(err, HasSubstr("malformed"));
  EXPECT_TRUE(SetAside(dir).empty());
}

}  // namespace
}  // namespace mlops
