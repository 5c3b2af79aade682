// The lineage database's schema version: this build writes version 3 (with the hits table
// and the tables of experiment tracking), refuses version 1 (written only by development
// builds) and newer versions, and leaves a refused file as it was. (The upgrade of version 2
// is sqlite_lineage_upgrade_test's.)
#include <memory>
#include <string>

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
#include "mlops/testing/status_matchers.h"

namespace mlops {
namespace test {
namespace {

using ::testing::HasSubstr;

bool TableExists(const std::string& path, const std::string& table) {
  return SqlValue(path, absl::StrCat("SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                                     "AND name = '",
                                     table, "'")) == "1";
}

TEST(SqliteLineageHitsSchemaTest, SchemaVersionIsThree) {
  EXPECT_EQ(SqliteLineageStore::kSchemaVersion, 3);
  const std::string path = test::FreshDir() + "/lineage.db";
  std::unique_ptr<SqliteLineageStore> store = OpenStore(path);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(SqlValue(path, "PRAGMA user_version"), "3");
  EXPECT_TRUE(TableExists(path, "hits"));
  for (const char* table : {"experiments", "run_tags", "run_params", "run_metrics",
                            "execution_params", "execution_metrics", "metric_points"}) {
    EXPECT_TRUE(TableExists(path, table)) << table;
  }
}

// Version 1 was only written by development builds: a database of that version is refused,
// read-write or read-only, naming its path and saying what to do, and left as it was.
void ExpectVersionOneRefused(const std::string& path) {
  const std::string before = test::Slurp(path);
  for (bool read_only : {false, true}) {
    SCOPED_TRACE(read_only ? "read-only" : "read-write");
    SqliteLineageOptions options;
    options.read_only = read_only;
    absl::StatusOr<std::unique_ptr<SqliteLineageStore>> store =
        SqliteLineageStore::Open(path, options);
    ASSERT_FALSE(store.ok());
    EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition) << store.status();
    EXPECT_THAT(std::string(store.status().message()), HasSubstr(path));
    EXPECT_THAT(std::string(store.status().message()), HasSubstr("development build"));
    EXPECT_THAT(std::string(store.status().message()), HasSubstr("move it aside"));
    EXPECT_EQ(SqlValue(path, "PRAGMA user_version"), "1");
    EXPECT_TRUE(test::Slurp(path) == before) << "the refused database was modified";
  }
}

// A database made by this build, with the hits table dropped and the version set back to 1.
TEST(SqliteLineageHitsSchemaTest, RefusesASchemaVersionOneDatabase) {
  const std::string path = test::FreshDir() + "/lineage.db";
  {
    std::unique_ptr<SqliteLineageStore> store = OpenStore(path);
    ASSERT_NE(store, nullptr);
    absl::StatusOr<int64_t> run = store->BeginRun(MakeRun("pipeline", kT0));
    ASSERT_TRUE(run.ok()) << run.status();
    absl::StatusOr<int64_t> id = store->RecordExecution(
        Computed(*run, "load", "load", {Ref("file", "raw")}, {Ref("0", "data")}, kT0 + 1));
    ASSERT_TRUE(id.ok()) << id.status();
  }
  ASSERT_NO_FATAL_FAILURE(Sql(path,
                              "DROP INDEX IF EXISTS hits_by_run; DROP INDEX IF EXISTS hits_by_rep;"
                              "DROP TABLE hits; PRAGMA user_version=1;"));
  ASSERT_FALSE(TableExists(path, "hits"));
  ASSERT_NO_FATAL_FAILURE(ExpectVersionOneRefused(path));
  EXPECT_FALSE(TableExists(path, "hits"));
}

// A version-1 database as development builds left it: our application id, user_version 1,
// and (for the check that nothing is changed) a run.
constexpr char kSchemaV1[] = R"sql(
CREATE TABLE runs(id INTEGER PRIMARY KEY AUTOINCREMENT, program TEXT NOT NULL, proto BLOB);
INSERT INTO runs VALUES(1, 'pipeline', x'');
PRAGMA application_id=1835822960;
PRAGMA user_version=1;
)sql";

// A version-1 database written with raw SQL, independently of the code under test.
TEST(SqliteLineageHitsSchemaTest, RefusesADevelopmentBuildsVersionOneDatabase) {
  const std::string path = test::FreshDir() + "/v1.db";
  ASSERT_NO_FATAL_FAILURE(Sql(path, kSchemaV1));
  ASSERT_EQ(SqlValue(path, "PRAGMA user_version"), "1");
  ASSERT_NO_FATAL_FAILURE(ExpectVersionOneRefused(path));
  EXPECT_FALSE(TableExists(path, "hits"));
  EXPECT_EQ(SqlValue(path, "SELECT count(*) FROM runs"), "1");
}

TEST(SqliteLineageHitsSchemaTest, NewerSchemaVersionFourIsRefused) {
  const std::string path = test::FreshDir() + "/lineage.db";
  {
    std::unique_ptr<SqliteLineageStore> store = OpenStore(path);
    ASSERT_NE(store, nullptr);
    absl::StatusOr<int64_t> run = store->BeginRun(MakeRun("pipeline", kT0));
    ASSERT_TRUE(run.ok()) << run.status();
  }
  ASSERT_NO_FATAL_FAILURE(Sql(path, "PRAGMA user_version=4"));
  absl::StatusOr<std::unique_ptr<SqliteLineageStore>> store = SqliteLineageStore::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition) << store.status();
  EXPECT_THAT(std::string(store.status().message()), HasSubstr(path));
  EXPECT_EQ(SqlValue(path, "PRAGMA user_version"), "4");
}

}  // namespace
}  // namespace test
}  // namespace mlops
