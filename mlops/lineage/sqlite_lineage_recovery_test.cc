// Recovery of a damaged lineage database (issue 13, item 2): a page of executions
// overwritten, the file truncated, its header zeroed, a file that is not a database at all.
// In each case the store opens and every call works; the damaged file is kept, unchanged,
// beside the new one under a name saying what it is and when it was set aside; the
// recovery is recorded with counts that match what came back; every execution that came
// back reads exactly as recorded and every read path agrees with them (lineage_model.h);
// and ids continue above those the damaged file gave out.
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/lineage/lineage.pb.h"
#include "mlops/lineage/sqlite_lineage_store.h"
#include "mlops/testing/damage.h"
#include "mlops/testing/files.h"
#include "mlops/testing/lineage_model.h"
#include "mlops/testing/proto_matchers.h"
#include "mlops/testing/test_db.h"

namespace mlops {
namespace test {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class SqliteLineageRecoveryTest : public SqliteLineageHitsTest {
 protected:
  static constexpr int kItems = 40;  // three executions each per run

  // Records three runs: the first computes load -> train -> evaluate for each item (with
  // some bulk, so that the executions fill many pages), the other two repeat every call as
  // a cache hit (compact hits). Then closes the store: the file is at rest, without WAL.
  void Fill() {
    for (int r = 0; r < 3; ++r) {
      const int64_t t = kT0 + r * 100000;
      const int64_t run = BeginRun(t);
      for (int i = 0; i < kItems; ++i) {
        const std::string n = absl::StrCat(i);
        const std::vector<std::pair<std::string, std::vector<std::string>>> steps = {
            {"load", {"raw" + n, "data" + n}},
            {"train", {"data" + n, "model" + n}},
            {"evaluate", {"model" + n, "report" + n}}};
        for (size_t k = 0; k < steps.size(); ++k) {
          const auto& [step, io] = steps[k];
          const std::string action = absl::StrCat(step, n);
          if (r == 0) {
            Execution e = Computed(run, step, action, {Ref("in", io[0])}, {Ref("0", io[1])},
                                   t + 3 * i + static_cast<int64_t>(k));
            (*e.mutable_params())["padding"] = std::string(600, static_cast<char>('a' + i % 26));
            computed_.push_back(Record(e));
          } else {
            Record(HitOf(computed_[3 * i + k], run, t + 3 * i + static_cast<int64_t>(k)));
          }
        }
      }
    }
    ASSERT_TRUE(store_->Flush().ok());
    old_next_id_ = SqlInt(path_, "SELECT next FROM id_blocks");
    store_.reset();
    ASSERT_FALSE(Exists(path_ + "-wal"));
  }

  // Reopens the store (which recovers the damage, at Open or at the first read of it),
  // then drops from the model the executions that did not come back, expecting each that
  // did to read exactly as recorded. Returns how many did not.
  int64_t ReopenAndPrune() {
    Open();
    if (store_ == nullptr) return -1;
    int64_t lost = 0;
    for (auto it = model_.executions.begin(); it != model_.executions.end();) {
      absl::StatusOr<Execution> got = store_->GetExecution(it->first);
      if (got.ok()) {
        EXPECT_THAT(*got, EqualsProto(it->second));
        ++it;
      } else {
        EXPECT_TRUE(absl::IsNotFound(got.status())) << got.status();
        it = model_.executions.erase(it);
        ++lost;
      }
    }
    return lost;
  }

  // The one recovery recorded, checked against what came back; its damaged file holds
  // `damaged_bytes`.
  LineageRecovery ExpectOneRecovery(const std::string& damaged_bytes) {
    absl::StatusOr<std::vector<LineageRecovery>> all = store_->Recoveries();
    EXPECT_TRUE(all.ok()) << all.status();
    if (!all.ok() || all->size() != 1) {
      ADD_FAILURE() << "expected one recovery, got " << (all.ok() ? all->size() : 0);
      return LineageRecovery();
    }
    const LineageRecovery r = all->front();
    EXPECT_THAT(r.damaged_path(), StartsWith(path_ + ".damaged-20"));  // a UTC time
    EXPECT_THAT(r.damaged_path(), ::testing::EndsWith("Z"));
    EXPECT_TRUE(Slurp(r.damaged_path()) == damaged_bytes) << "the damaged file was changed";
    EXPECT_EQ(r.executions(), static_cast<int64_t>(model_.executions.size()));
    EXPECT_EQ(r.events(), 2 * r.executions());  // one input and one output each
    EXPECT_EQ(r.pid(), ::getpid());
    EXPECT_GT(r.time().seconds(), kT0);
    // Nothing else beside the new database and its lock but the damaged file (no scratch
    // files are left behind).
    const std::string dir = path_.substr(0, path_.rfind('/'));
    for (const std::string& name : ListDir(dir)) {
      EXPECT_TRUE(name == "lineage.db" || absl::StartsWith(name, "lineage.db-") ||
                  name == "lineage.db.lock" || absl::StartsWith(dir + "/" + name, r.damaged_path()))
          << name;
    }
    return r;
  }

  // Ids given out after the recovery continue above every id the damaged file gave out.
  void ExpectIdsContinue() {
    const Execution later = Record(Computed(0, "later", "later", {}, {Ref("0", "x")}, kT0));
    EXPECT_GE(later.id(), old_next_id_);
    EXPECT_GT(BeginRun(kT0 + 1), 3);
  }

  std::vector<Execution> computed_;  // of the first run, in order
  int64_t old_next_id_ = 0;
};

INSTANTIATE_TEST_SUITE_P(Stores, SqliteLineageRecoveryTest,
                         ::testing::Values(StoreParam{"FileBatched", StoreConfig::kFileBatched},
                                           StoreParam{"FileNoDelay", StoreConfig::kFileNoDelay}),
                         ParamName);

TEST_P(SqliteLineageRecoveryTest, AnOverwrittenPageOfExecutionsLosesOnlyItsRows) {
  ASSERT_NO_FATAL_FAILURE(Fill());
  const std::vector<int64_t> leaves = LeafPages(path_, "executions");
  ASSERT_GE(leaves.size(), 20u);
  const int64_t page = leaves[leaves.size() / 2];
  const int64_t rows =
      SqlInt(path_, absl::StrCat("SELECT ncell FROM dbstat WHERE pageno = ", page));
  ASSERT_GT(rows, 0);
  OverwritePage(path_, page);
  const std::string damaged = Slurp(path_);

  const int64_t lost = ReopenAndPrune();  // the first read of the page recovers
  // The computed executions on the page, and their compact hits in the other two runs
  // (rebuilt from them, so lost with them); nothing else.
  EXPECT_EQ(lost, 3 * rows);
  const LineageRecovery r = ExpectOneRecovery(damaged);
  EXPECT_EQ(r.runs(), 3);
  EXPECT_FALSE(r.complete());
  EXPECT_EQ(r.method(), "sql");
  EXPECT_THAT(r.reason(), HasSubstr("malformed"));
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
  ASSERT_NO_FATAL_FAILURE(ExpectIdsContinue());
  EXPECT_GT(Rows("hits"), 0) << "the hits came back as full rows";

  // Recovered once: a new process finds the new database whole.
  Open();
  absl::StatusOr<std::vector<LineageRecovery>> again = store_->Recoveries();
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->size(), 1u);
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
}

TEST_P(SqliteLineageRecoveryTest, ATruncatedFileIsRecoveredAtOpenAsFarAsItGoes) {
  ASSERT_NO_FATAL_FAILURE(Fill());
  TruncateTo(path_, PageCount(path_) / 2 * kPageSize);
  const std::string damaged = Slurp(path_);

  const int64_t lost = ReopenAndPrune();
  const LineageRecovery r = ExpectOneRecovery(damaged);
  EXPECT_GT(lost, 0);
  EXPECT_GT(r.executions(), 0) << "nothing of the first half came back";
  EXPECT_GE(r.runs(), 1);
  EXPECT_FALSE(r.complete());
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
  ASSERT_NO_FATAL_FAILURE(ExpectIdsContinue());
}

TEST_P(SqliteLineageRecoveryTest, AZeroedHeaderIsRecoveredWholeThroughARewrittenHeader) {
  ASSERT_NO_FATAL_FAILURE(Fill());
  ZeroHeader(path_);
  const std::string damaged = Slurp(path_);

  EXPECT_EQ(ReopenAndPrune(), 0);
  const LineageRecovery r = ExpectOneRecovery(damaged);
  EXPECT_EQ(r.runs(), 3);
  EXPECT_EQ(r.executions(), 3 * 3 * kItems);
  EXPECT_TRUE(r.complete());
  EXPECT_EQ(r.method(), "sql, header rewritten");
  EXPECT_EQ(Rows("hits"), 2 * 3 * kItems) << "the hits are compact again";
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
  ASSERT_NO_FATAL_FAILURE(ExpectIdsContinue());
}

TEST_P(SqliteLineageRecoveryTest, AFileThatIsNotADatabaseIsMovedAsideUnchanged) {
  store_.reset();
  std::string text;
  while (text.size() < 10000) text += "this is not a lineage database\n";
  Spit(path_, text);

  Open();
  ASSERT_NE(store_, nullptr);
  absl::StatusOr<std::vector<LineageRecovery>> all = store_->Recoveries();
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 1u);
  const LineageRecovery& r = all->front();
  EXPECT_TRUE(Slurp(r.damaged_path()) == text);
  EXPECT_EQ(r.runs(), 0);
  EXPECT_EQ(r.executions(), 0);
  EXPECT_FALSE(r.complete());
  EXPECT_THAT(r.method(), StartsWith("none"));
  // The new database works.
  const int64_t run = BeginRun(kT0);
  Record(Computed(run, "load", "load", {}, {Ref("0", "data")}, kT0));
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
  absl::StatusOr<std::vector<LineageRecovery>> after = store_->Recoveries();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->front().run_id(), run) << "the run begun after the recovery is its run";
}

TEST_P(SqliteLineageRecoveryTest, TheRecoveryIsSaidOnceOnStderr) {
  ASSERT_NO_FATAL_FAILURE(Fill());
  ZeroHeader(path_);
  ::testing::internal::CaptureStderr();
  Open();
  EXPECT_TRUE(store_->FindRuns(RunFilter()).ok());
  Open();
  EXPECT_TRUE(store_->FindRuns(RunFilter()).ok());
  store_.reset();
  const std::string err = ::testing::internal::GetCapturedStderr();
  const std::string said = "mlops: the lineage database " + path_ + " was damaged";
  EXPECT_THAT(err, HasSubstr(said));
  EXPECT_EQ(err.find(said), err.rfind(said)) << err;
  EXPECT_THAT(err, HasSubstr(".damaged-"));
  EXPECT_THAT(err, HasSubstr(absl::StrCat(3 * 3 * kItems, " executions")));
}

}  // namespace
}  // namespace test
}  // namespace mlops
