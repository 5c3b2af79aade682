// Tests of sqlite::OpenOwned (the handshake of the files the library owns) and of the faults
// the SQLite layer's statuses carry. Files are set up and inspected through plain
// sqlite::Db connections.
#include "mlops/base/internal/sqlite_file.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/base/internal/sqlite.h"
#include "mlops/testing/files.h"
#include "mlops/testing/status_matchers.h"

namespace mlops {
namespace sqlite {
namespace {

using ::mlops::test::StatusIs;
using ::testing::HasSubstr;

constexpr int64_t kAppId = 0x74657374;  // "test"

// A file kind with one table, counting the calls of create_schema.
OwnedFile TestFile(int* creates = nullptr) {
  OwnedFile file;
  file.name = "test";
  file.description = "an mlops test file";
  file.application_id = kAppId;
  file.schema_version = 3;
  file.create_schema = [creates](Db& db, int64_t version) {
    if (creates != nullptr) ++*creates;
    if (version != 0) return db.Exec("CREATE TABLE upgraded(x)");
    return db.Exec("CREATE TABLE t(x)");
  };
  file.busy_timeout = absl::Milliseconds(200);
  return file;
}

// A plain connection to `path`, for setting files up and looking at them.
std::unique_ptr<Db> Raw(const std::string& path) {
  absl::StatusOr<std::unique_ptr<Db>> db =
      Db::Open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  EXPECT_OK(db.status());
  return db.ok() ? *std::move(db) : nullptr;
}

int64_t RawInt(const std::string& path, const char* sql) {
  std::unique_ptr<Db> db = Raw(path);
  if (db == nullptr) return -1;
  absl::StatusOr<int64_t> n = db->QueryInt(sql);
  EXPECT_OK(n.status());
  return n.ok() ? *n : -1;
}

// Expects `s` to fail with `code` and `fault`, naming `path`.
void ExpectRefused(const absl::Status& s, absl::StatusCode code, Fault fault,
                   const std::string& path) {
  EXPECT_THAT(s, StatusIs(code));
  EXPECT_EQ(FaultOf(s), fault) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr(path));
}

TEST(OpenOwnedTest, CreatesTheSchemaOnceAndSwitchesToWal) {
  const std::string path = test::FreshDir() + "/owned.db";
  int creates = 0;
  {
    absl::StatusOr<std::unique_ptr<Db>> db = OpenOwned(path, TestFile(&creates));
    ASSERT_OK(db.status());
    EXPECT_EQ(creates, 1);
  }
  EXPECT_EQ(RawInt(path, "PRAGMA application_id"), kAppId);
  EXPECT_EQ(RawInt(path, "PRAGMA user_version"), 3);
  EXPECT_EQ(RawInt(path, "SELECT count(*) FROM sqlite_master WHERE name = 't'"), 1);
  absl::StatusOr<std::unique_ptr<Db>> again = OpenOwned(path, TestFile(&creates));
  ASSERT_OK(again.status());
  EXPECT_EQ(creates, 1) << "the schema was created again";
  ASSERT_OK_AND_ASSIGN(const int64_t synchronous,
                       (*again)->QueryInt("PRAGMA synchronous"));
  EXPECT_EQ(synchronous, 1);  // NORMAL
  absl::StatusOr<std::unique_ptr<Statement>> mode = (*again)->Prepare("PRAGMA journal_mode");
  ASSERT_OK(mode.status());
  ASSERT_OK_AND_ASSIGN(const bool row, (*mode)->Step());
  ASSERT_TRUE(row);
  EXPECT_EQ((*mode)->Text(0), "wal");
}

TEST(OpenOwnedTest, SyncEveryCommitIsFull) {
  const std::string path = test::FreshDir() + "/owned.db";
  OwnedFile file = TestFile();
  file.sync_every_commit = true;
  file.require_wal = true;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Db> db, OpenOwned(path, file));
  ASSERT_OK_AND_ASSIGN(const int64_t synchronous, db->QueryInt("PRAGMA synchronous"));
  EXPECT_EQ(synchronous, 2);  // FULL
}

TEST(OpenOwnedTest, InMemoryDatabase) {
  int creates = 0;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Db> db, OpenOwned(":memory:", TestFile(&creates)));
  EXPECT_EQ(creates, 1);
  EXPECT_OK(db->Exec("INSERT INTO t VALUES(1)"));
}

TEST(OpenOwnedTest, NotADatabaseIsLeftAsItWas) {
  const std::string path = test::FreshDir() + "/text.db";
  const std::string text(5000, 'x');
  test::Spit(path, text);
  absl::StatusOr<std::unique_ptr<Db>> db = OpenOwned(path, TestFile());
  ExpectRefused(db.status(), absl::StatusCode::kInvalidArgument, Fault::kNotADatabase, path);
  EXPECT_TRUE(IsDamage(db.status()));
  EXPECT_EQ(ResultCodeOf(db.status()) & 0xff, SQLITE_NOTADB);
  EXPECT_EQ(test::Slurp(path), text);
}

TEST(OpenOwnedTest, ForeignDatabasesAreLeftAsTheyWere) {
  for (const char* setup : {"CREATE TABLE bookmarks(url TEXT)", "PRAGMA application_id = 1234",
                            "PRAGMA user_version = 3"}) {
    SCOPED_TRACE(setup);
    const std::string path = test::FreshDir() + "/foreign.db";
    ASSERT_OK(Raw(path)->Exec(setup));
    const std::string before = test::Slurp(path);
    absl::StatusOr<std::unique_ptr<Db>> db = OpenOwned(path, TestFile());
    ExpectRefused(db.status(), absl::StatusCode::kInvalidArgument, Fault::kForeign, path);
    EXPECT_THAT(std::string(db.status().message()), HasSubstr("an mlops test file"));
    EXPECT_FALSE(IsDamage(db.status()));
    EXPECT_EQ(test::Slurp(path), before);
  }
}

TEST(OpenOwnedTest, NewerSchemaIsRefused) {
  const std::string path = test::FreshDir() + "/newer.db";
  ASSERT_OK(OpenOwned(path, TestFile()).status());
  ASSERT_OK(Raw(path)->Exec("PRAGMA user_version = 4"));
  absl::StatusOr<std::unique_ptr<Db>> db = OpenOwned(path, TestFile());
  ExpectRefused(db.status(), absl::StatusCode::kFailedPrecondition, Fault::kNewerSchema, path);
  EXPECT_THAT(std::string(db.status().message()), HasSubstr("test schema version 4"));
  EXPECT_EQ(RawInt(path, "PRAGMA user_version"), 4);
}

TEST(OpenOwnedTest, OlderSchemaIsCheckedThenUpgraded) {
  const std::string path = test::FreshDir() + "/older.db";
  ASSERT_OK(OpenOwned(path, TestFile()).status());
  ASSERT_OK(Raw(path)->Exec("PRAGMA user_version = 1"));
  OwnedFile refusing = TestFile();
  std::vector<int64_t> checked;
  refusing.check_version = [&checked](int64_t version) {
    checked.push_back(version);
    return absl::FailedPreconditionError("version 1 is refused");
  };
  absl::StatusOr<std::unique_ptr<Db>> db = OpenOwned(path, refusing);
  EXPECT_THAT(db.status(), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(db.status().message(), "version 1 is refused");
  EXPECT_EQ(FaultOf(db.status()), Fault::kOlderSchema);
  EXPECT_EQ(checked, std::vector<int64_t>{1});
  EXPECT_EQ(RawInt(path, "PRAGMA user_version"), 1);

  int creates = 0;
  OwnedFile accepting = TestFile(&creates);
  accepting.check_version = [](int64_t) { return absl::OkStatus(); };
  ASSERT_OK(OpenOwned(path, accepting).status());
  EXPECT_EQ(creates, 1);
  EXPECT_EQ(RawInt(path, "PRAGMA user_version"), 3);
  EXPECT_EQ(RawInt(path, "SELECT count(*) FROM sqlite_master WHERE name = 'upgraded'"), 1);
}

TEST(OpenOwnedTest, FailedSchemaCreationLeavesNothing) {
  const std::string path = test::FreshDir() + "/failing.db";
  OwnedFile file = TestFile();
  file.create_schema = [](Db& db, int64_t) {
    absl::Status s = db.Exec("CREATE TABLE half(x)");
    return s.ok() ? absl::InternalError("schema failed") : s;
  };
  EXPECT_THAT(OpenOwned(path, file).status(), StatusIs(absl::StatusCode::kInternal));
  EXPECT_EQ(RawInt(path, "SELECT count(*) FROM sqlite_master"), 0);
  EXPECT_EQ(RawInt(path, "PRAGMA application_id"), 0);
}

TEST(OpenOwnedTest, BusyIsUnavailable) {
  const std::string path = test::FreshDir() + "/busy.db";
  ASSERT_OK(OpenOwned(path, TestFile()).status());
  std::unique_ptr<Db> holder = Raw(path);
  ASSERT_OK(holder->Exec("BEGIN IMMEDIATE"));
  absl::StatusOr<std::unique_ptr<Db>> db = OpenOwned(path, TestFile());
  ExpectRefused(db.status(), absl::StatusCode::kUnavailable, Fault::kBusy, path);
  ASSERT_OK(holder->Exec("ROLLBACK"));
  EXPECT_OK(OpenOwned(path, TestFile()).status());
}

TEST(OpenOwnedTest, MissingDirectoryIsAnIoFault) {
  const std::string path = test::FreshDir() + "/no/such/dir/owned.db";
  absl::StatusOr<std::unique_ptr<Db>> db = OpenOwned(path, TestFile());
  ExpectRefused(db.status(), absl::StatusCode::kNotFound, Fault::kIo, path);
}

TEST(OpenOwnedTest, ReadOnlyChecksAndWritesNothing) {
  const std::string dir = test::FreshDir();
  const std::string path = dir + "/owned.db";
  OwnedFile read_only = TestFile();
  read_only.read_only = true;
  read_only.create_schema = nullptr;
  absl::StatusOr<std::unique_ptr<Db>> db = OpenOwned(path, read_only);
  ExpectRefused(db.status(), absl::StatusCode::kNotFound, Fault::kIo, path);
  EXPECT_THAT(std::string(db.status().message()), HasSubstr("no test database at"));
  EXPECT_TRUE(test::ListDir(dir).empty());

  test::Spit(path, "");
  db = OpenOwned(path, read_only);
  ExpectRefused(db.status(), absl::StatusCode::kFailedPrecondition, Fault::kNoSchema, path);
  EXPECT_EQ(test::Slurp(path), "");

  ASSERT_OK(OpenOwned(path, TestFile()).status());  // closed: at rest, no WAL file
  ASSERT_EQ(test::ListDir(dir), std::vector<std::string>{"owned.db"});
  const std::string before = test::Slurp(path);
  db = OpenOwned(path, read_only);
  ASSERT_OK(db.status());
  EXPECT_OK((*db)->Exec("SELECT count(*) FROM t"));
  EXPECT_FALSE((*db)->Exec("INSERT INTO t VALUES(1)").ok());
  EXPECT_EQ(test::ListDir(dir), std::vector<std::string>{"owned.db"});
  db->reset();
  EXPECT_EQ(test::Slurp(path), before);
}

TEST(FaultTest, ErrorsCarryTheirFaultAndResultCode) {
  const struct {
    int rc;
    absl::StatusCode code;
    Fault fault;
  } cases[] = {
      {SQLITE_NOTADB, absl::StatusCode::kInvalidArgument, Fault::kNotADatabase},
      {SQLITE_CORRUPT, absl::StatusCode::kDataLoss, Fault::kCorrupt},
      {SQLITE_BUSY, absl::StatusCode::kUnavailable, Fault::kBusy},
      {SQLITE_LOCKED, absl::StatusCode::kUnavailable, Fault::kBusy},
      {SQLITE_FULL, absl::StatusCode::kResourceExhausted, Fault::kIo},
      {SQLITE_IOERR_READ, absl::StatusCode::kInternal, Fault::kIo},
      {SQLITE_READONLY, absl::StatusCode::kPermissionDenied, Fault::kIo},
      {SQLITE_CONSTRAINT, absl::StatusCode::kInternal, Fault::kUnknown},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(absl::StrCat("rc ", c.rc));
    const absl::Status s = Error(nullptr, c.rc, "/some/file.db");
    EXPECT_THAT(s, StatusIs(c.code));
    EXPECT_EQ(FaultOf(s), c.fault);
    EXPECT_EQ(ResultCodeOf(s), c.rc);
    EXPECT_EQ(IsDamage(s), c.fault == Fault::kNotADatabase || c.fault == Fault::kCorrupt);
    EXPECT_THAT(std::string(s.message()), HasSubstr("/some/file.db"));
  }
  // Statuses made elsewhere carry none, whatever their code or message.
  const absl::Status plain = absl::DataLossError("not an SQLite database: corrupt database");
  EXPECT_EQ(FaultOf(plain), Fault::kUnknown);
  EXPECT_EQ(ResultCodeOf(plain), 0);
  EXPECT_FALSE(IsDamage(plain));
  EXPECT_TRUE(WithFault(absl::OkStatus(), Fault::kCorrupt).ok());
}

}  // namespace
}  // namespace sqlite
}  // namespace mlops
