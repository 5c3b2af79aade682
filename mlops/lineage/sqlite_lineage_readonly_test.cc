// Tests of SqliteLineageOptions::read_only: reads equal what a read-write store recorded,
// writes fail FAILED_PRECONDITION, nothing is created or changed on disk, a version-1
// database (development builds only) is refused, and a workspace one may not write is
// readable.
//
// What "nothing changes" asserts: the database file's bytes are the same, and the
// directory holds the same names with the same sizes and mtimes. In particular a database
// at rest (no -wal file) gains no -wal or -shm file; one with a writer attached keeps the
// -wal and -shm it had (the read-only store creates neither; their contents are the
// writer's business).
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/hash/digest.h"
#include "mlops/lineage/lineage.pb.h"
#include "mlops/lineage/sqlite_lineage_store.h"
#include "mlops/testing/files.h"
#include "mlops/testing/lineage_records.h"
#include "mlops/testing/pages.h"

namespace mlops {
namespace test {
namespace {

using ::testing::HasSubstr;

struct Recorded {
  std::vector<int64_t> runs;
  std::vector<int64_t> executions;
};

// Records two runs into a new database at `path`: a computing run (load → clean → train)
// and a warm rerun of it whose hits are compact rows, a full row (it differs in a metric),
// and a full row without times. With `compact` false, every hit is a full row (as a
// version-1 database would hold them).
Recorded RecordPipeline(const std::string& path, bool compact = true) {
  Recorded r;
  SqliteLineageOptions options;
  options.max_batch_delay = absl::ZeroDuration();
  absl::StatusOr<std::unique_ptr<SqliteLineageStore>> store =
      SqliteLineageStore::Open(path, options);
  EXPECT_TRUE(store.ok()) << store.status();
  if (!store.ok()) return r;
  for (int i = 0; i < 2; ++i) {
    mlops::Run run;
    run.set_program("pipeline");
    run.mutable_start_time()->set_seconds(1000 + 100 * i);
    run.set_status(Run::SUCCEEDED);
    r.runs.push_back(*(*store)->BeginRun(run));
  }
  const Execution load = Keyed(
      Exec(r.runs[0], "load", {Ref("in0", "raw")}, {Ref("out0", "table")}, false, 1000), "a1");
  const Execution clean = Keyed(
      Exec(r.runs[0], "clean", {Ref("in0", "table")}, {Ref("out0", "clean")}, false, 1002), "a2");
  const Execution train = Keyed(Exec(r.runs[0], "train", {Ref("in0", "clean")},
                                     {Ref("out0", "model"), Ref("out1", "report")}, false, 1004),
                                "a3");
  // A hit in the second run, from `second` for a second (without times unless `timed`).
  const auto hit = [&r](const Execution& e, int64_t second, bool timed = true) {
    Execution h = HitOf(e, r.runs[1], Ts(second), Ts(second + 1));
    return timed ? h : Untimed(h);
  };
  Execution differs = hit(clean, 1102);
  (*differs.mutable_metrics())["loss"] = 0.25;
  for (const Execution& e : {load, clean, train, hit(load, 1100, compact), differs,
                             hit(train, 1104, compact), hit(train, 1106, /*timed=*/false)}) {
    absl::StatusOr<int64_t> id = (*store)->RecordExecution(e);
    EXPECT_TRUE(id.ok()) << id.status();
    if (id.ok()) r.executions.push_back(*id);
  }
  EXPECT_TRUE((*store)->Flush().ok());
  return r;
}

// Every read the store offers, each as a canonical string (or its error), by name.
std::map<std::string, std::string> ReadEverything(SqliteLineageStore& store, const Recorded& r) {
  std::map<std::string, std::string> out;
  const auto put = [&out](const std::string& name, const auto& result) {
    if (!result.ok()) {
      out[name] = absl::StrCat("error: ", result.status().ToString());
    } else {
      out[name] = Canonical(*result);
    }
  };
  for (int64_t id : r.runs) {
    put(absl::StrCat("GetRun ", id), store.GetRun(id));
    put(absl::StrCat("ExecutionsOfRun ", id), store.ExecutionsOfRun(id));
    absl::StatusOr<RunCounts> c = store.CountExecutions(id);
    out[absl::StrCat("CountExecutions ", id)] =
        c.ok() ? absl::StrCat(c->executions, "/", c->cache_hits, "/", c->failed)
               : c.status().ToString();
  }
  RunFilter all;
  put("FindRuns", Whole(store.FindRuns(all)));
  for (int64_t id : r.executions) put(absl::StrCat("GetExecution ", id), store.GetExecution(id));
  for (const char* step : {"load", "clean", "train"}) {
    put(absl::StrCat("ExecutionsOfStep ", step), Whole(store.ExecutionsOfStep(step)));
  }
  for (const char* value : {"raw", "table", "clean", "model", "report"}) {
    const Digest d = *Digest::FromHex(H(value));
    put(absl::StrCat("GetArtifact ", value), store.GetArtifact(d));
    put(absl::StrCat("Producers ", value), store.Producers(d));
    put(absl::StrCat("Consumers ", value), store.Consumers(d));
    put(absl::StrCat("Upstream ", value), store.Upstream(LineageNode::Of(d)));
    put(absl::StrCat("Downstream ", value), store.Downstream(LineageNode::Of(d)));
    ClosureOptions hits;
    hits.include_cache_hits = true;
    put(absl::StrCat("Upstream+hits ", value), store.Upstream(LineageNode::Of(d), hits));
    absl::StatusOr<std::vector<Digest>> found =
        Whole(store.FindArtifactsByPrefix(H(value).substr(0, 6)));
    out[absl::StrCat("FindArtifactsByPrefix ", value)] =
        found.ok() ? absl::StrCat(found->size(), found->empty() ? "" : found->front().ToHex())
                   : found.status().ToString();
  }
  absl::StatusOr<std::vector<LineageStore::StepOutput>> outputs = store.StepOutputs();
  std::string o = outputs.ok() ? "" : outputs.status().ToString();
  if (outputs.ok()) {
    for (const auto& s : *outputs) absl::StrAppend(&o, s.digest.ToHex(), ":", s.step_name, ";");
  }
  out["StepOutputs"] = o;
  return out;
}

// Each file in `dir`: name → size, mtime (ns) and, for the database, the digest of its
// bytes.
std::map<std::string, std::string> Snapshot(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const std::string& name : test::ListDir(dir)) {
    struct stat st;
    const std::string path = dir + "/" + name;
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    out[name] = absl::StrCat(st.st_size, " ", st.st_mtim.tv_sec, ".", st.st_mtim.tv_nsec);
    if (name == "lineage.db")
      absl::StrAppend(&out[name], " ", Digest::Of(test::Slurp(path)).ToHex());
  }
  return out;
}

TEST(ReadOnlyTest, ReadsEqualWhatTheReadWriteStoreRecorded) {
  const std::string dir = test::FreshDir();
  const std::string path = dir + "/lineage.db";
  Recorded r;
  std::map<std::string, std::string> expected;
  {
    r = RecordPipeline(path);
    absl::StatusOr<std::unique_ptr<SqliteLineageStore>> rw = SqliteLineageStore::Open(path);
    ASSERT_TRUE(rw.ok()) << rw.status();
    expected = ReadEverything(**rw, r);
  }
  ASSERT_GT(SqlInt(path, "SELECT count(*) FROM hits"), 0);  // compact hits were read
  absl::StatusOr<std::unique_ptr<SqliteLineageStore>> ro = OpenReadOnly(path);
  ASSERT_TRUE(ro.ok()) << ro.status();
  const std::map<std::string, std::string> got = ReadEverything(**ro, r);
  ASSERT_EQ(got.size(), expected.size());
  for (const auto& [name, value] : expected) EXPECT_EQ(got.at(name), value) << name;
  EXPECT_EQ(expected.at(absl::StrCat("CountExecutions ", r.runs[1])), "4/4/0");
}

TEST(ReadOnlyTest, WritesFailFailedPreconditionNamingThePath) {
  const std::string path = test::FreshDir() + "/lineage.db";
  const Recorded r = RecordPipeline(path);
  absl::StatusOr<std::unique_ptr<SqliteLineageStore>> ro = OpenReadOnly(path);
  ASSERT_TRUE(ro.ok()) << ro.status();
  SqliteLineageStore& store = **ro;
  mlops::Run run;
  run.set_program("p");
  run.set_id(r.runs[0]);
  absl::StatusOr<Execution> e = store.GetExecution(r.executions[0]);
  ASSERT_TRUE(e.ok());
  const std::vector<std::pair<std::string, absl::Status>> writes = {
      {"BeginRun", store.BeginRun(run).status()},
      {"UpdateRun", store.UpdateRun(run)},
      {"DeleteRun", store.DeleteRun(r.runs[0])},
      {"RecordExecution", store.RecordExecution(*e).status()},
      {"UpdateExecution", store.UpdateExecution(*e)},
  };
  for (const auto& [name, s] : writes) {
    EXPECT_TRUE(absl::IsFailedPrecondition(s)) << name << ": " << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr(path)) << name;
  }
  EXPECT_TRUE(store.Flush().ok());  // nothing to commit
  // Nothing was written.
  absl::StatusOr<std::vector<mlops::Run>> runs = Whole(store.FindRuns(RunFilter()));
  ASSERT_TRUE(runs.ok());
  EXPECT_EQ(runs->size(), 2u);
}

TEST(ReadOnlyTest, ADatabaseAtRestIsUnchangedAndGainsNoWalOrShm) {
  const std::string dir = test::FreshDir();
  const std::string path = dir + "/lineage.db";
  const Recorded r = RecordPipeline(path);
  // At rest: the database, and the lock file its writers coordinate through (a writer
  // creates it; damaged_file.h).
  const std::vector<std::string> at_rest = {"lineage.db", "lineage.db.lock"};
  EXPECT_EQ(test::ListDir(dir), at_rest);
  const auto before = Snapshot(dir);
  {
    absl::StatusOr<std::unique_ptr<SqliteLineageStore>> ro = OpenReadOnly(path);
    ASSERT_TRUE(ro.ok()) << ro.status();
    ReadEverything(**ro, r);
    EXPECT_EQ(test::ListDir(dir), at_rest);  // while open
  }
  EXPECT_EQ(Snapshot(dir), before);
}

TEST(ReadOnlyTest, ADatabaseWithAWriterAttachedIsReadThroughItsWal) {
  const std::string dir = test::FreshDir();
  const std::string path = dir + "/lineage.db";
  const Recorded r = RecordPipeline(path);
  SqliteLineageOptions options;
  options.max_batch_delay = absl::ZeroDuration();
  absl::StatusOr<std::unique_ptr<SqliteLineageStore>> writer =
      SqliteLineageStore::Open(path, options);
  ASSERT_TRUE(writer.ok()) << writer.status();
  mlops::Run run;
  run.set_program("later");
  ASSERT_TRUE((*writer)->BeginRun(run).ok());  // committed to the WAL, not the file
  ASSERT_EQ(test::ListDir(dir), (std::vector<std::string>{"lineage.db", "lineage.db-shm",
                                                         "lineage.db-wal", "lineage.db.lock"}));
  const auto before = Snapshot(dir);
  {
    absl::StatusOr<std::unique_ptr<SqliteLineageStore>> ro = OpenReadOnly(path);
    ASSERT_TRUE(ro.ok()) << ro.status();
    absl::StatusOr<std::vector<mlops::Run>> runs = Whole((*ro)->FindRuns(RunFilter()));
    ASSERT_TRUE(runs.ok()) << runs.status();
    EXPECT_EQ(runs->size(), 3u);
    // Commits made while it is open are seen too (the usual WAL locking).
    ASSERT_TRUE((*writer)->BeginRun(run).ok());
    runs = Whole((*ro)->FindRuns(RunFilter()));
    ASSERT_TRUE(runs.ok()) << runs.status();
    EXPECT_EQ(runs->size(), 4u);
    absl::StatusOr<RunCounts> c = (*ro)->CountExecutions(r.runs[1]);
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(c->executions, 4);
  }
  // The same files; the database file itself untouched (the writer's commits are in the WAL).
  const auto after = Snapshot(dir);
  EXPECT_EQ(after.size(), before.size());
  EXPECT_EQ(after.at("lineage.db"), before.at("lineage.db"));
}

TEST(ReadOnlyTest, AMissingFileIsNotFoundAndNothingIsCreated) {
  const std::string dir = test::FreshDir();
  const std::string path = dir + "/lineage.db";
  absl::StatusOr<std::unique_ptr<SqliteLineageStore>> ro = OpenReadOnly(path);
  ASSERT_FALSE(ro.ok());
  EXPECT_TRUE(absl::IsNotFound(ro.status())) << ro.status();
  EXPECT_THAT(std::string(ro.status().message()), HasSubstr(path));
  EXPECT_TRUE(test::ListDir(dir).empty());
}

TEST(ReadOnlyTest, EmptyForeignNewerAndInMemoryDatabasesAreRefused) {
  const std::string dir = test::FreshDir();
  test::Spit(dir + "/empty.db", "");
  absl::StatusOr<std::unique_ptr<SqliteLineageStore>> ro = OpenReadOnly(dir + "/empty.db");
  EXPECT_TRUE(absl::IsFailedPrecondition(ro.status())) << ro.status();
  EXPECT_EQ(test::Slurp(dir + "/empty.db"), "");

  test::Spit(dir + "/text.db", "not a database at all, just some text that is long enough");
  ro = OpenReadOnly(dir + "/text.db");
  EXPECT_TRUE(absl::IsInvalidArgument(ro.status())) << ro.status();

  Sql(dir + "/other.db", "CREATE TABLE t(x); PRAGMA user_version=7;");
  ro = OpenReadOnly(dir + "/other.db");
  EXPECT_TRUE(absl::IsInvalidArgument(ro.status())) << ro.status();

  const std::string newer = dir + "/newer.db";
  RecordPipeline(newer);
  Sql(newer, "PRAGMA user_version=4;");
  ro = OpenReadOnly(newer);
  EXPECT_TRUE(absl::IsFailedPrecondition(ro.status())) << ro.status();
  EXPECT_THAT(std::string(ro.status().message()), HasSubstr("newer"));

  ro = OpenReadOnly(":memory:");
  EXPECT_TRUE(absl::IsInvalidArgument(ro.status())) << ro.status();
}

// Version 1 was only written by development builds: read-only, it is refused too, and left
// as it was (no -wal or -shm file either).
TEST(ReadOnlyTest, AVersionOneDatabaseIsRefusedAndUnchanged) {
  const std::string dir = test::FreshDir();
  const std::string path = dir + "/lineage.db";
  // Every hit a full row, as version 1 stored them; then make it version 1: no hits
  // table (its indexes go with it), no template column.
  RecordPipeline(path, /*compact=*/false);
  ASSERT_EQ(SqlInt(path, "SELECT count(*) FROM hits"), 0);
  Sql(path,
      "DROP TABLE hits; ALTER TABLE executions DROP COLUMN template; "
      "PRAGMA user_version=1;");
  ASSERT_EQ(SqlInt(path, "SELECT count(*) FROM sqlite_master WHERE name LIKE 'hits%'"), 0);
  const auto before = Snapshot(dir);
  absl::StatusOr<std::unique_ptr<SqliteLineageStore>> ro = OpenReadOnly(path);
  ASSERT_FALSE(ro.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(ro.status())) << ro.status();
  EXPECT_THAT(std::string(ro.status().message()), HasSubstr(path));
  EXPECT_THAT(std::string(ro.status().message()), HasSubstr("development build"));
  EXPECT_EQ(Snapshot(dir), before);
  EXPECT_EQ(SqlInt(path, "PRAGMA user_version"), 1);
}

// As user nobody (when running as root) in a directory it may not write: the database at
// rest, and with a writer attached (its -wal and -shm files read-only to nobody).
TEST(ReadOnlyTest, ReadableWithoutWritePermission) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "needs root to run a child as user nobody (65534); running as uid "
                 << ::geteuid();
  }
  // Under /tmp, which nobody may enter (the test's own tmpdir may sit under /root).
  char tmpl[] = "/tmp/mlops_readonly_test.XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  const std::string path = dir + "/lineage.db";
  const Recorded r = RecordPipeline(path);
  const auto lock_down = [&dir] {
    for (const std::string& name : test::ListDir(dir)) {
      ::chmod((dir + "/" + name).c_str(), 0444);
    }
    ::chmod(dir.c_str(), 0555);
  };
  // In a child as nobody: opens read-only and counts the runs; the exit code says how it
  // went (0: `want` runs found and, if `check_rw`, a read-write open refused).
  const auto as_nobody = [&path](size_t want, bool check_rw) -> int {
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
      if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(10);
      absl::StatusOr<std::unique_ptr<SqliteLineageStore>> ro = OpenReadOnly(path);
      if (!ro.ok()) {
        std::fprintf(stderr, "read-only open as nobody: %s\n", ro.status().ToString().c_str());
        ::_exit(11);
      }
      absl::StatusOr<std::vector<mlops::Run>> runs = Whole((*ro)->FindRuns(RunFilter()));
      if (!runs.ok() || runs->size() != want) ::_exit(12);
      absl::StatusOr<std::vector<Execution>> execs = (*ro)->ExecutionsOfRun(1);
      if (!execs.ok() || execs->size() != 3) ::_exit(13);
      ro->reset();
      if (check_rw && SqliteLineageStore::Open(path).ok()) ::_exit(14);  // may not write
      ::_exit(0);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
  };
  lock_down();
  const auto before = Snapshot(dir);
  EXPECT_EQ(as_nobody(2, /*check_rw=*/true), 0);
  EXPECT_EQ(Snapshot(dir), before);
  ASSERT_EQ(r.runs[0], 1);

  // With a writer attached; root may write regardless of the modes.
  {
    ::chmod(dir.c_str(), 0755);
    ::chmod(path.c_str(), 0644);
    absl::StatusOr<std::unique_ptr<SqliteLineageStore>> writer = SqliteLineageStore::Open(path);
    ASSERT_TRUE(writer.ok()) << writer.status();
    mlops::Run run;
    run.set_program("later");
    ASSERT_TRUE((*writer)->BeginRun(run).ok());
    lock_down();
    EXPECT_EQ(as_nobody(3, /*check_rw=*/false), 0);
  }
  ::chmod(dir.c_str(), 0755);
  for (const std::string& name : test::ListDir(dir)) ::unlink((dir + "/" + name).c_str());
  ::rmdir(dir.c_str());
}

}  // namespace
}  // namespace test
}  // namespace mlops
