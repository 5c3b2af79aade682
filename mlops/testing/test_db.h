// TestDb: a test's own connection to an SQLite file, through the C API, independently of the
// code under test: to look at what the code stored, and to damage or rewrite it. No busy
// timeout: nothing else holds a lock while a test uses it, so SQLITE_BUSY means the code
// under test left one held.
//
// Example:
//   mlops::test::TestDb db(dir + "/records.db");
//   ASSERT_TRUE(db.ok());
//   EXPECT_EQ(db.Int("SELECT count(*) FROM records"), 1);
//
// Thread safety: one thread at a time per TestDb.
#ifndef MLOPS_TESTING_TEST_DB_H_
#define MLOPS_TESTING_TEST_DB_H_

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "mlops/hash/digest.h"

namespace mlops {
namespace test {

class TestDb {
 public:
  explicit TestDb(const std::string& path, int flags = SQLITE_OPEN_READWRITE);
  ~TestDb();
  TestDb(const TestDb&) = delete;
  TestDb& operator=(const TestDb&) = delete;

  // Whether the open succeeded (the failure names the path and SQLite's reason).
  ::testing::AssertionResult ok() const;
  // Runs `sql` (one or more statements, no parameters).
  ::testing::AssertionResult Exec(const std::string& sql);
  // Runs one statement with `blobs` bound to ?1, ?2, ...; appends the first column of every
  // row it returns (as bytes) to `*rows` if not null.
  ::testing::AssertionResult Query(const std::string& sql, const std::vector<std::string>& blobs,
                                   std::vector<std::string>* rows = nullptr);
  // The single integer `sql` returns; -1 (and a test failure) if it fails.
  int64_t Int(const std::string& sql, const std::vector<std::string>& blobs = {});
  // The first column of the first row `sql` returns, as text (see SqlValue below).
  std::string Text(const std::string& sql);

 private:
  ::testing::AssertionResult Failure(const std::string& sql, int rc);

  const std::string path_;
  sqlite3* db_ = nullptr;
  int open_rc_ = SQLITE_OK;
};

// One statement or query on the database at `path`, each through a connection of its own:
// Sql runs `sql` (one or more statements; a failure fails the test), SqlValue returns the
// first column of the first row as text ("<no row>", "<null>", "<cannot open>" or
// "<error: ...>" when there is none; the file is never created), SqlInt as an integer (-1,
// and a test failure, when it is not one).
void Sql(const std::string& path, const std::string& sql);
std::string SqlValue(const std::string& path, const std::string& sql);
int64_t SqlInt(const std::string& path, const std::string& sql);


// A digest as the library's databases store it: its 16 canonical bytes.
std::string DigestBytes(const Digest& d);

// The SQL literal X'...' of `bytes`.
std::string BlobLiteral(absl::string_view bytes);

}  // namespace test
}  // namespace mlops

#endif  // MLOPS_TESTING_TEST_DB_H_
