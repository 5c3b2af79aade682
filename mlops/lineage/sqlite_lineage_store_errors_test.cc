// SqliteLineageStore::Open and the first queries on files that are not (good) lineage
// databases: plain files, corrupt databases (with recover_damage off), newer schemas, other
// applications' databases, unusable paths. Every failure must be a Status naming the file,
// never a crash.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <random>
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

// A fresh path for a database named `name`, in a directory of its own.
std::string FreshPath(const std::string& name) { return FreshDir() + "/" + name; }

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(rng() & 0xff);
  return out;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// A ref to the value named `value`, of its size, with a label.
ArtifactRef Labeled(const std::string& name, const std::string& value) {
  return Ref(name, value, "blob", static_cast<int64_t>(value.size()),
             absl::StrCat("label of ", value));
}

// Creates a real lineage database at `path` with one run and `n` chained executions, each
// with some bulk (params) so that the data spans many pages. Returns the run id.
int64_t CreateLineageDb(const std::string& path, int n) {
  absl::StatusOr<std::unique_ptr<SqliteLineageStore>> store = SqliteLineageStore::Open(path);
  EXPECT_TRUE(store.ok()) << store.status();
  if (!store.ok()) return -1;
  mlops::Run run;
  run.set_program("corruptible");
  run.mutable_start_time()->set_seconds(1700000000);
  absl::StatusOr<int64_t> run_id = (*store)->BeginRun(run);
  EXPECT_TRUE(run_id.ok()) << run_id.status();
  for (int i = 0; i < n; ++i) {
    Execution e;
    e.set_run_id(*run_id);
    e.set_step_name(absl::StrCat("step", i % 7));
    e.mutable_start_time()->set_seconds(1700000000 + i);
    *e.add_inputs() = Labeled("in", absl::StrCat("v", i));
    *e.add_outputs() = Labeled("0", absl::StrCat("v", i + 1));
    (*e.mutable_params())["padding"] = std::string(200, static_cast<char>('a' + i % 26));
    absl::StatusOr<int64_t> id = (*store)->RecordExecution(e);
    EXPECT_TRUE(id.ok()) << id.status();
  }
  EXPECT_TRUE((*store)->Flush().ok());
  return *run_id;
}

// Opens the store with recover_damage off: damage is then an error and the file is left as
// it is (the recovery of damaged files is pinned in sqlite_lineage_recovery_test.cc).
absl::StatusOr<std::unique_ptr<SqliteLineageStore>> OpenWithoutRecovery(const std::string& path) {
  SqliteLineageOptions options;
  options.recover_damage = false;
  return SqliteLineageStore::Open(path, options);
}

void ExpectInvalidArgumentNaming(const absl::Status& status, const std::string& path) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr(path));
}

// ---------------------------------------------------------------------------------------
// Not SQLite at all.

TEST(SqliteLineageStoreErrorsTest, TextFileIsInvalidArgument) {
  for (size_t size : {30, 600, 5000}) {
    SCOPED_TRACE(absl::StrCat(size, " bytes of text"));
    const std::string path = FreshPath(absl::StrCat("text_", size, ".txt"));
    std::string text;
    while (text.size() < size) text += "this is a plain text file, not a database\n";
    text.resize(size);
    ASSERT_NO_FATAL_FAILURE(Spit(path, text));
    absl::StatusOr<std::unique_ptr<SqliteLineageStore>> store = OpenWithoutRecovery(path);
    ASSERT_FALSE(store.ok());
    ExpectInvalidArgumentNaming(store.status(), path);
    EXPECT_TRUE(Slurp(path) == text) << "the refused file was modified";
  }
}

TEST(SqliteLineageStoreErrorsTest, RandomBytesAreInvalidArgument) {
  for (size_t size : {4096, 4097, 65536}) {
    SCOPED_TRACE(absl::StrCat(size, " random bytes"));
    const std::string path = FreshPath(absl::StrCat("random_", size, ".bin"));
    const std::string bytes = RandomBytes(size, static_cast<uint32_t>(size));
    ASSERT_NO_FATAL_FAILURE(Spit(path, bytes));
    absl::StatusOr<std::unique_ptr<SqliteLineageStore>> store = OpenWithoutRecovery(path);
    ASSERT_FALSE(store.ok());
    ExpectInvalidArgumentNaming(store.status(), path);
    EXPECT_TRUE(Slurp(path) == bytes) << "the refused file was modified";
  }
}

// ---------------------------------------------------------------------------------------
// Corrupt lineage databases.

// Every query the store offers, in order; each returns its status. `run_id` is the run of
// the database.
std::vector<std::pair<std::string, std::function<absl::Status(SqliteLineageStore&)>>> Queries(
    int64_t run_id, int n) {
  using Q = std::function<absl::Status(SqliteLineageStore&)>;
  std::vector<std::pair<std::string, Q>> out = {
      {"FindRuns", [](SqliteLineageStore& s) { return s.FindRuns({}).status(); }},
      {"GetRun", [run_id](SqliteLineageStore& s) { return s.GetRun(run_id).status(); }},
      {"ExecutionsOfRun",
       [run_id](SqliteLineageStore& s) { return s.ExecutionsOfRun(run_id).status(); }},
  };
  for (int k = 0; k < 7; ++k) {
    out.push_back({absl::StrCat("ExecutionsOfStep step", k), [k](SqliteLineageStore& s) {
                     return s.ExecutionsOfStep(absl::StrCat("step", k)).status();
                   }});
  }
  out.push_back({"Upstream", [n](SqliteLineageStore& s) {
                   return s.Upstream(LineageNode::Of(Digest::Of(absl::StrCat("v", n)))).status();
                 }});
  out.push_back({"Downstream", [](SqliteLineageStore& s) {
                   return s.Downstream(LineageNode::Of(Digest::Of("v0"))).status();
                 }});
  for (int i = 0; i <= n; i += 37) {
    out.push_back({absl::StrCat("Producers v", i), [i](SqliteLineageStore& s) {
                     return s.Producers(Digest::Of(absl::StrCat("v", i))).status();
                   }});
    out.push_back({absl::StrCat("GetArtifact v", i), [i](SqliteLineageStore& s) {
                     return s.GetArtifact(Digest::Of(absl::StrCat("v", i))).status();
                   }});
  }
  out.push_back({"RecordExecution+Flush", [](SqliteLineageStore& s) {
                   Execution e;
                   e.set_step_name("after_corruption");
                   *e.add_outputs() = Labeled("0", "fresh");
                   absl::StatusOr<int64_t> id = s.RecordExecution(e);
                   if (!id.ok()) return id.status();
                   return s.Flush();
                 }});
  out.push_back({"DeleteRun", [run_id](SqliteLineageStore& s) { return s.DeleteRun(run_id); }});
  return out;
}

bool IsCorruptionCode(absl::StatusCode code) {
  return code == absl::StatusCode::kDataLoss || code == absl::StatusCode::kInvalidArgument;
}

// Overwrites the pages [first_page, last_page) (0-based, page size 4096) with garbage.
void Smash(const std::string& path, size_t first_page, size_t last_page, uint32_t seed) {
  std::string bytes = Slurp(path);
  ASSERT_GE(bytes.size(), last_page * 4096) << "database smaller than expected";
  const std::string garbage = RandomBytes((last_page - first_page) * 4096, seed);
  bytes.replace(first_page * 4096, garbage.size(), garbage);
  ASSERT_NO_FATAL_FAILURE(Spit(path, bytes));
}

TEST(SqliteLineageStoreErrorsTest, EveryPageButTheFirstSmashedIsDataLoss) {
  constexpr int kExecutions = 300;
  const std::string path = FreshPath("smashed_all.db");
  const int64_t run_id = CreateLineageDb(path, kExecutions);
  ASSERT_GT(run_id, 0);
  ASSERT_FALSE(Exists(path + "-wal")) << "the WAL was not checkpointed on close";
  const size_t pages = Slurp(path).size() / 4096;
  ASSERT_GE(pages, 20u);
  ASSERT_NO_FATAL_FAILURE(Smash(path, 1, pages, 1));

  absl::StatusOr<std::unique_ptr<SqliteLineageStore>> store = OpenWithoutRecovery(path);
  if (!store.ok()) {
    EXPECT_TRUE(IsCorruptionCode(store.status().code())) << store.status();
    EXPECT_THAT(std::string(store.status().message()), HasSubstr(path));
    return;
  }
  // Opened: the first query must report the damage.
  absl::StatusOr<std::vector<mlops::Run>> runs = Whole((*store)->FindRuns({}));
  ASSERT_FALSE(runs.ok()) << "FindRuns on a smashed database returned " << runs->size() << " runs";
  EXPECT_EQ(runs.status().code(), absl::StatusCode::kDataLoss) << runs.status();
  EXPECT_THAT(std::string(runs.status().message()), HasSubstr(path));
  // And so do the others, without crashing.
  for (const auto& [name, query] : Queries(run_id, kExecutions)) {
    const absl::Status s = query(**store);
    if (!s.ok()) {
      EXPECT_TRUE(IsCorruptionCode(s.code())) << name << ": " << s;
      EXPECT_THAT(std::string(s.message()), HasSubstr(path)) << name;
    }
  }
}

TEST(SqliteLineageStoreErrorsTest, MiddlePagesSmashedIsDataLossNeverACrash) {
  constexpr int kExecutions = 300;
  for (uint32_t seed = 1; seed <= 6; ++seed) {
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    const std::string path = FreshPath(absl::StrCat("smashed_middle_", seed, ".db"));
    const int64_t run_id = CreateLineageDb(path, kExecutions);
    ASSERT_GT(run_id, 0);
    const size_t pages = Slurp(path).size() / 4096;
    ASSERT_GE(pages, 20u);
    // A few consecutive pages somewhere in the middle half of the file.
    const size_t first = pages / 4 + (seed * 7) % (pages / 2);
    ASSERT_NO_FATAL_FAILURE(Smash(path, first, std::min(first + 3, pages), seed));

    absl::StatusOr<std::unique_ptr<SqliteLineageStore>> store = OpenWithoutRecovery(path);
    if (!store.ok()) {
      EXPECT_TRUE(IsCorruptionCode(store.status().code())) << store.status();
      EXPECT_THAT(std::string(store.status().message()), HasSubstr(path));
      continue;
    }
    int failures = 0;
    for (const auto& [name, query] : Queries(run_id, kExecutions)) {
      const absl::Status s = query(**store);
      if (s.ok()) continue;
      ++failures;
      EXPECT_TRUE(IsCorruptionCode(s.code())) << name << ": " << s;
      EXPECT_THAT(std::string(s.message()), HasSubstr(path)) << name;
    }
    EXPECT_GT(failures, 0) << "no query noticed smashed pages " << first << ".." << first + 2
                           << " of " << pages;
  }
}

// ---------------------------------------------------------------------------------------
// Newer schema versions.

TEST(SqliteLineageStoreErrorsTest, NewerSchemaIsFailedPrecondition) {
  for (int version : {SqliteLineageStore::kSchemaVersion + 1, 99}) {
    SCOPED_TRACE(absl::StrCat("user_version ", version));
    const std::string path = FreshPath(absl::StrCat("newer_", version, ".db"));
    ASSERT_GT(CreateLineageDb(path, 3), 0);
    ASSERT_NO_FATAL_FAILURE(Sql(path, absl::StrCat("PRAGMA user_version = ", version)));
    const std::string before = Slurp(path);

    absl::StatusOr<std::unique_ptr<SqliteLineageStore>> store = SqliteLineageStore::Open(path);
    ASSERT_FALSE(store.ok());
    EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition) << store.status();
    EXPECT_THAT(std::string(store.status().message()), HasSubstr("newer"));
    EXPECT_THAT(std::string(store.status().message()), HasSubstr(path));
    EXPECT_EQ(SqlValue(path, "PRAGMA user_version"), absl::StrCat(version));
    EXPECT_TRUE(Slurp(path) == before) << "the refused database was modified";
  }
}

TEST(SqliteLineageStoreErrorsTest, CurrentSchemaReopens) {
  const std::string path = FreshPath("current.db");
  const int64_t run_id = CreateLineageDb(path, 5);
  ASSERT_GT(run_id, 0);
  EXPECT_EQ(SqlValue(path, "PRAGMA user_version"),
            absl::StrCat(SqliteLineageStore::kSchemaVersion));
  EXPECT_EQ(SqlValue(path, "PRAGMA journal_mode"), "wal");
  absl::StatusOr<std::unique_ptr<SqliteLineageStore>> store = SqliteLineageStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status();
  absl::StatusOr<std::vector<Execution>> executions = (*store)->ExecutionsOfRun(run_id);
  ASSERT_TRUE(executions.ok()) << executions.status();
  EXPECT_EQ(executions->size(), 5u);
  EXPECT_EQ((*store)->path(), path);
}

// ---------------------------------------------------------------------------------------
// Other applications' SQLite databases.

TEST(SqliteLineageStoreErrorsTest, ForeignDatabaseWithTablesIsInvalidArgument) {
  const std::string path = FreshPath("foreign_tables.db");
  ASSERT_NO_FATAL_FAILURE(Sql(path,
                              "CREATE TABLE bookmarks(url TEXT, title TEXT);"
                              "INSERT INTO bookmarks VALUES('https://example.com', 'Example');"));
  ASSERT_EQ(SqlValue(path, "PRAGMA application_id"), "0");
  absl::StatusOr<std::unique_ptr<SqliteLineageStore>> store = SqliteLineageStore::Open(path);
  ASSERT_FALSE(store.ok());
  ExpectInvalidArgumentNaming(store.status(), path);
  // Its data is untouched and no lineage table was added.
  EXPECT_EQ(SqlValue(path, "SELECT title FROM bookmarks"), "Example");
  EXPECT_EQ(SqlValue(path, "SELECT count(*) FROM sqlite_master"), "1");
}

TEST(SqliteLineageStoreErrorsTest, ForeignDatabaseWithOtherApplicationIdIsInvalidArgument) {
  for (const char* setup :
       {"PRAGMA application_id = 1234;", "PRAGMA application_id = 1234; CREATE TABLE t(x);",
        "PRAGMA application_id = -1; PRAGMA user_version = 1;"}) {
    SCOPED_TRACE(setup);
    const std::string path = FreshPath("foreign_app_id.db");
    ASSERT_NO_FATAL_FAILURE(Sql(path, setup));
    const std::string before = Slurp(path);
    absl::StatusOr<std::unique_ptr<SqliteLineageStore>> store = SqliteLineageStore::Open(path);
    ASSERT_FALSE(store.ok());
    ExpectInvalidArgumentNaming(store.status(), path);
    EXPECT_TRUE(Slurp(path) == before) << "the refused database was modified";
  }
}

// Many applications version their schema with PRAGMA user_version and never set an
// application_id. Such a database is another application's, whatever its user_version.
TEST(SqliteLineageStoreErrorsTest, ForeignDatabaseWithUserVersionIsInvalidArgument) {
  for (int version : {1, 7}) {
    SCOPED_TRACE(absl::StrCat("foreign user_version ", version));
    const std::string path = FreshPath(absl::StrCat("foreign_version_", version, ".db"));
    ASSERT_NO_FATAL_FAILURE(Sql(path, absl::StrCat("CREATE TABLE notes(body TEXT);"
                                                   "PRAGMA user_version = ",
                                                   version, ";")));
    absl::StatusOr<std::unique_ptr<SqliteLineageStore>> store = SqliteLineageStore::Open(path);
    ASSERT_FALSE(store.ok());
    ExpectInvalidArgumentNaming(store.status(), path);
  }
}

// Refusing a file must leave it as it was: the other application still owns it.
TEST(SqliteLineageStoreErrorsTest, RefusedForeignDatabaseIsNotModified) {
  const std::string path = FreshPath("foreign_unmodified.db");
  ASSERT_NO_FATAL_FAILURE(Sql(path,
                              "CREATE TABLE bookmarks(url TEXT);"
                              "INSERT INTO bookmarks VALUES('https://example.com');"));
  ASSERT_EQ(SqlValue(path, "PRAGMA journal_mode"), "delete");
  const std::string before = Slurp(path);
  absl::StatusOr<std::unique_ptr<SqliteLineageStore>> store = SqliteLineageStore::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(SqlValue(path, "PRAGMA journal_mode"), "delete")
      << "Open switched another application's database to WAL before refusing it";
  EXPECT_TRUE(Slurp(path) == before) << "the refused database was modified";
}

// An empty file is an empty SQLite database: it becomes a lineage database.
TEST(SqliteLineageStoreErrorsTest, EmptyFileBecomesLineageDatabase) {
  const std::string path = FreshPath("empty_file.db");
  ASSERT_NO_FATAL_FAILURE(Spit(path, ""));
  absl::StatusOr<std::unique_ptr<SqliteLineageStore>> store = SqliteLineageStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status();
  mlops::Run run;
  run.set_program("p");
  EXPECT_TRUE((*store)->BeginRun(run).ok());
}

// ---------------------------------------------------------------------------------------
// Paths.

TEST(SqliteLineageStoreErrorsTest, MissingDirectoryIsAnErrorNamingThePath) {
  const std::string dir = FreshDir();
  const std::string path = dir + "/no/such/directory/lineage.db";
  absl::StatusOr<std::unique_ptr<SqliteLineageStore>> store = SqliteLineageStore::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(std::string(store.status().message()), HasSubstr(path));
  EXPECT_EQ(store.status().code(), absl::StatusCode::kNotFound) << store.status();
  EXPECT_FALSE(Exists(dir + "/no"));
}

TEST(SqliteLineageStoreErrorsTest, DirectoryIsAnErrorNamingThePath) {
  const std::string path = FreshDir() + "/a_directory";
  ::mkdir(path.c_str(), 0755);
  absl::StatusOr<std::unique_ptr<SqliteLineageStore>> store = SqliteLineageStore::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(std::string(store.status().message()), HasSubstr(path));
}

TEST(SqliteLineageStoreErrorsTest, EmptyPathIsInvalidArgument) {
  absl::StatusOr<std::unique_ptr<SqliteLineageStore>> store = SqliteLineageStore::Open("");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kInvalidArgument) << store.status();
}

}  // namespace
}  // namespace test
}  // namespace mlops
