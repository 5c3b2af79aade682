// Damage met after the lineage store opened: by a batch commit (Flush), by a query, by one
// of two stores that have the file open, by processes opening it at once; and read-only
// stores, which never move or write anything. (Damage met at Open, and what a recovery
// brings back: sqlite_lineage_recovery_test.cc.)
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <set>
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
#include "mlops/testing/lineage_records.h"
#include "mlops/testing/proto_matchers.h"
#include "mlops/testing/test_db.h"
#include "mlops/testing/unprivileged.h"

namespace mlops {
namespace test {
namespace {

using ::testing::HasSubstr;

constexpr int kExecutions = 300;

// An execution of run `run` with some bulk (the executions of a run fill many pages).
Execution Padded(int64_t run, int i) {
  Execution e =
      Computed(run, absl::StrCat("step", i % 5), absl::StrCat("action", i),
               {Ref("in", absl::StrCat("v", i))}, {Ref("0", absl::StrCat("v", i + 1))}, kT0 + i);
  (*e.mutable_params())["padding"] = std::string(300, static_cast<char>('a' + i % 26));
  return e;
}

// A database at `path` with one run of kExecutions executions, closed (at rest).
int64_t Fill(const std::string& path) {
  std::unique_ptr<SqliteLineageStore> store = OpenStore(path);
  if (store == nullptr) return -1;
  absl::StatusOr<int64_t> run = store->BeginRun(MakeRun("fill", kT0));
  EXPECT_TRUE(run.ok()) << run.status();
  for (int i = 0; i < kExecutions; ++i) EXPECT_TRUE(store->RecordExecution(Padded(*run, i)).ok());
  EXPECT_TRUE(store->Flush().ok());
  return *run;
}

size_t RecoveriesOf(SqliteLineageStore& store) {
  absl::StatusOr<std::vector<LineageRecovery>> all = store.Recoveries();
  EXPECT_TRUE(all.ok()) << all.status();
  return all.ok() ? all->size() : 0;
}

// The damaged files set aside in `dir` (not counting their -wal and -shm).
std::vector<std::string> SetAside(const std::string& dir) {
  std::vector<std::string> out;
  for (const std::string& n : ListDir(dir)) {
    if (absl::StrContains(n, ".damaged-") && !absl::EndsWith(n, "-wal") &&
        !absl::EndsWith(n, "-shm")) {
      out.push_back(dir + "/" + n);
    }
  }
  return out;
}

// The middle leaf page of the executions table, and how many rows it holds.
int64_t MiddleLeaf(const std::string& path, int64_t* rows) {
  const std::vector<int64_t> leaves = LeafPages(path, "executions");
  EXPECT_GE(leaves.size(), 10u);
  if (leaves.empty()) return 0;
  const int64_t page = leaves[leaves.size() / 2];
  *rows = SqlInt(path, absl::StrCat("SELECT ncell FROM dbstat WHERE pageno = ", page));
  return page;
}

// Before the fix, a damaged page that a batch commit touches made Flush() fail in that
// process and in every later one.
TEST(SqliteLineageRecoveryLaterTest, DamageMetByAFlushIsRecoveredAndTheBatchWritten) {
  const std::string dir = FreshDir();
  const std::string path = dir + "/lineage.db";
  ASSERT_GT(Fill(path), 0);
  // New executions go to the last leaf of the executions table.
  const std::vector<int64_t> leaves = LeafPages(path, "executions");
  ASSERT_FALSE(leaves.empty());
  OverwritePage(path, leaves.back());

  SqliteLineageOptions options;
  options.max_batch_delay = absl::Hours(1);  // commits at Flush() only
  std::unique_ptr<SqliteLineageStore> store = OpenStore(path, options);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(RecoveriesOf(*store), 0u) << "opening does not read that page";
  absl::StatusOr<int64_t> run = store->BeginRun(MakeRun("later", kT0 + 5000));
  ASSERT_TRUE(run.ok()) << run.status();
  std::vector<Execution> recorded;
  for (int i = 0; i < 10; ++i) {
    Execution e = Padded(*run, kExecutions + i);
    absl::StatusOr<int64_t> id = store->RecordExecution(e);
    ASSERT_TRUE(id.ok()) << id.status();
    e.set_id(*id);
    recorded.push_back(e);
  }
  ASSERT_TRUE(store->Flush().ok()) << "the batch is written into the new database";

  absl::StatusOr<std::vector<LineageRecovery>> recoveries = store->Recoveries();
  ASSERT_TRUE(recoveries.ok()) << recoveries.status();
  ASSERT_EQ(recoveries->size(), 1u);
  EXPECT_EQ(recoveries->front().run_id(), *run) << "the run that met the damage";
  EXPECT_EQ(SetAside(dir), std::vector<std::string>{recoveries->front().damaged_path()});
  absl::StatusOr<std::vector<Execution>> got = store->ExecutionsOfRun(*run);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), recorded.size());
  for (size_t i = 0; i < recorded.size(); ++i) EXPECT_THAT((*got)[i], EqualsProto(recorded[i]));
  store.reset();
  // And the next process finds nothing damaged.
  store = OpenStore(path, options);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->RecordExecution(Padded(*run, 0)).ok());
  EXPECT_TRUE(store->Flush().ok());
  EXPECT_EQ(RecoveriesOf(*store), 1u);
}

TEST(SqliteLineageRecoveryLaterTest, WithoutRecoverDamageEveryFlushFailsAndNothingMoves) {
  const std::string dir = FreshDir();
  const std::string path = dir + "/lineage.db";
  const int64_t run = Fill(path);
  ASSERT_GT(run, 0);
  OverwritePage(path, LeafPages(path, "executions").back());
  SqliteLineageOptions options;
  options.max_batch_delay = absl::Hours(1);
  options.recover_damage = false;
  std::unique_ptr<SqliteLineageStore> store = OpenStore(path, options);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->RecordExecution(Padded(run, kExecutions)).ok());
  for (int attempt = 0; attempt < 2; ++attempt) {
    const absl::Status s = store->Flush();
    EXPECT_TRUE(absl::IsDataLoss(s)) << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr(path));
  }
  EXPECT_TRUE(SetAside(dir).empty());
}

TEST(SqliteLineageRecoveryLaterTest, DamageMetByAQueryIsRecoveredAndTheQueryAnswered) {
  const std::string path = FreshDir() + "/lineage.db";
  const int64_t run = Fill(path);
  ASSERT_GT(run, 0);
  int64_t rows = 0;
  OverwritePage(path, MiddleLeaf(path, &rows));
  std::unique_ptr<SqliteLineageStore> store = OpenStore(path);
  ASSERT_NE(store, nullptr);
  absl::StatusOr<std::vector<Execution>> got = store->ExecutionsOfRun(run);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(static_cast<int64_t>(got->size()), kExecutions - rows);
  EXPECT_EQ(RecoveriesOf(*store), 1u);
}

// A recovery that cannot be made (here: the directory may not be written) fails the call
// with the damage, saying so and what to do, and moves nothing; the next call tries again.
TEST(SqliteLineageRecoveryLaterTest, AFailedRecoveryIsTriedAgainByTheNextCall) {
  const std::string dir = FreshDir();
  const std::string path = dir + "/lineage.db";
  const int64_t run = Fill(path);
  ASSERT_GT(run, 0);
  int64_t rows = 0;
  OverwritePage(path, MiddleLeaf(path, &rows));
  std::unique_ptr<SqliteLineageStore> store = OpenStore(path);
  ASSERT_NE(store, nullptr);
  const std::vector<std::string> names = ListDir(dir);
  ASSERT_EQ(::chmod(dir.c_str(), 0555), 0);
  absl::StatusOr<std::vector<Execution>> failed;
  const Unprivileged as_user =
      RunWithoutDacOverride(FreshDir(), [&] { failed = store->ExecutionsOfRun(run); });
  ASSERT_EQ(::chmod(dir.c_str(), 0755), 0);
  if (!as_user.denied) GTEST_SKIP() << as_user.why;
  ASSERT_FALSE(failed.ok());
  EXPECT_TRUE(absl::IsDataLoss(failed.status())) << failed.status();
  EXPECT_THAT(std::string(failed.status().message()), HasSubstr("could not be recovered"));
  EXPECT_THAT(std::string(failed.status().message()), HasSubstr("move " + path + " aside"));
  EXPECT_EQ(ListDir(dir), names);

  absl::StatusOr<std::vector<Execution>> got = store->ExecutionsOfRun(run);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(static_cast<int64_t>(got->size()), kExecutions - rows);
  EXPECT_EQ(RecoveriesOf(*store), 1u);
}

TEST(SqliteLineageRecoveryLaterTest, AnotherStoreOfTheFileFollowsItToTheNewDatabase) {
  const std::string dir = FreshDir();
  const std::string path = dir + "/lineage.db";
  const int64_t run = Fill(path);
  ASSERT_GT(run, 0);
  int64_t rows = 0;
  OverwritePage(path, MiddleLeaf(path, &rows));
  SqliteLineageOptions options;
  options.max_batch_delay = absl::Hours(1);
  std::unique_ptr<SqliteLineageStore> a = OpenStore(path, options);
  std::unique_ptr<SqliteLineageStore> b = OpenStore(path, options);
  ASSERT_TRUE(a != nullptr && b != nullptr);
  // b reserves its ids in the damaged file, then a meets the damage and replaces the file.
  absl::StatusOr<int64_t> from_b = b->RecordExecution(Padded(run, kExecutions));
  ASSERT_TRUE(from_b.ok()) << from_b.status();
  ASSERT_TRUE(a->ExecutionsOfRun(run).ok());
  ASSERT_EQ(SetAside(dir).size(), 1u);
  // b's batch goes into the new database, not into the file set aside.
  ASSERT_TRUE(b->Flush().ok());
  absl::StatusOr<Execution> seen = a->GetExecution(*from_b);
  EXPECT_TRUE(seen.ok()) << seen.status();
  EXPECT_EQ(SqlValue(SetAside(dir)[0],
                     absl::StrCat("SELECT count(*) FROM executions WHERE id = ", *from_b)),
            "0");
  // Ids stay unique: a's next ones are above b's.
  absl::StatusOr<int64_t> from_a = a->RecordExecution(Padded(run, kExecutions + 1));
  ASSERT_TRUE(from_a.ok()) << from_a.status();
  EXPECT_GT(*from_a, *from_b);
  ASSERT_TRUE(a->Flush().ok());
  // And b reads what a salvaged and wrote.
  absl::StatusOr<std::vector<Execution>> all = b->ExecutionsOfRun(run);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(static_cast<int64_t>(all->size()), kExecutions - rows + 2);
  EXPECT_EQ(RecoveriesOf(*b), 1u);
}

TEST(SqliteLineageRecoveryLaterTest, ProcessesOpeningADamagedFileAtOnceRecoverItOnce) {
  constexpr int kProcesses = 4;
  const std::string dir = FreshDir();
  const std::string path = dir + "/lineage.db";
  ASSERT_GT(Fill(path), 0);
  ZeroHeader(path);
  int gate[2];
  ASSERT_EQ(::pipe(gate), 0);
  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(gate[1]);
      char c;
      while (::read(gate[0], &c, 1) < 0) {
      }  // returns 0 when the parent closes its end: all start at once
      absl::StatusOr<std::unique_ptr<SqliteLineageStore>> store = SqliteLineageStore::Open(path);
      if (!store.ok()) ::_exit(1);
      absl::StatusOr<int64_t> run = (*store)->BeginRun(MakeRun(absl::StrCat("child", p), kT0));
      if (!run.ok()) ::_exit(2);
      for (int i = 0; i < 5; ++i) {
        if (!(*store)->RecordExecution(Padded(*run, 1000 * (p + 1) + i)).ok()) ::_exit(3);
      }
      if (!(*store)->Flush().ok()) ::_exit(4);
      ::_exit(0);
    }
    children.push_back(pid);
  }
  ::close(gate[0]);
  ::close(gate[1]);
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  }
  EXPECT_EQ(SetAside(dir).size(), 1u) << "the damaged file was set aside once";
  std::unique_ptr<SqliteLineageStore> store = OpenStore(path);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(RecoveriesOf(*store), 1u);
  absl::StatusOr<Page<mlops::Run>> runs = store->FindRuns(RunFilter());
  ASSERT_TRUE(runs.ok()) << runs.status();
  EXPECT_EQ(runs->items.size(), 1u + kProcesses) << "the salvaged run and each child's";
  std::set<int64_t> ids;
  for (const mlops::Run& r : runs->items) {
    absl::StatusOr<std::vector<Execution>> execs = store->ExecutionsOfRun(r.id());
    ASSERT_TRUE(execs.ok()) << execs.status();
    EXPECT_EQ(execs->size(), absl::StartsWith(r.program(), "child") ? 5u : kExecutions + 0u);
    for (const Execution& e : *execs) EXPECT_TRUE(ids.insert(e.id()).second) << e.id();
  }
}

TEST(SqliteLineageRecoveryLaterTest, AReadOnlyStoreMovesNothingAndSaysHowToRecover) {
  const std::string dir = FreshDir();
  const std::string path = dir + "/lineage.db";
  const int64_t run = Fill(path);
  ASSERT_GT(run, 0);
  int64_t rows = 0;
  OverwritePage(path, MiddleLeaf(path, &rows));
  const std::vector<std::string> names = ListDir(dir);
  const std::string bytes = Slurp(path);
  {
    absl::StatusOr<std::unique_ptr<SqliteLineageStore>> ro = OpenReadOnly(path);
    ASSERT_TRUE(ro.ok()) << ro.status();  // the damaged page is not read yet
    absl::StatusOr<std::vector<Execution>> got = (*ro)->ExecutionsOfRun(run);
    ASSERT_FALSE(got.ok());
    EXPECT_TRUE(absl::IsDataLoss(got.status())) << got.status();
    EXPECT_THAT(std::string(got.status().message()), HasSubstr("Open it read-write"));
  }
  ZeroHeader(path);
  const std::string zeroed = Slurp(path);
  absl::StatusOr<std::unique_ptr<SqliteLineageStore>> ro = OpenReadOnly(path);
  ASSERT_FALSE(ro.ok());
  EXPECT_THAT(std::string(ro.status().message()), HasSubstr(path));
  EXPECT_THAT(std::string(ro.status().message()), HasSubstr("Open it read-write"));
  EXPECT_EQ(ListDir(dir), names);
  EXPECT_TRUE(Slurp(path) == zeroed);
}

}  // namespace
}  // namespace test
}  // namespace mlops
