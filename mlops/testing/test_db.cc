#include "mlops/testing/test_db.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace mlops {
namespace test {

TestDb::TestDb(const std::string& path, int flags) : path_(path) {
  open_rc_ = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
}

TestDb::~TestDb() { sqlite3_close(db_); }

::testing::AssertionResult TestDb::ok() const {
  if (open_rc_ == SQLITE_OK) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "open " << path_ << ": " << sqlite3_errstr(open_rc_);
}

::testing::AssertionResult TestDb::Exec(const std::string& sql) {
  char* error = nullptr;
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error);
  if (rc == SQLITE_OK) return ::testing::AssertionSuccess();
  ::testing::AssertionResult failure = ::testing::AssertionFailure()
                                       << path_ << ": " << sql << ": "
                                       << (error != nullptr ? error : sqlite3_errstr(rc));
  sqlite3_free(error);
  return failure;
}

::testing::AssertionResult TestDb::Query(const std::string& sql,
                                         const std::vector<std::string>& blobs,
                                         std::vector<std::string>* rows) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr);
  if (rc != SQLITE_OK) return Failure(sql, rc);
  for (size_t i = 0; i < blobs.size(); ++i) {
    // Never a null pointer, which would bind NULL instead of an empty blob.
    sqlite3_bind_blob(stmt, static_cast<int>(i + 1), blobs[i].data(),
                      static_cast<int>(blobs[i].size()), SQLITE_TRANSIENT);
  }
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    if (rows != nullptr) {
      const void* data = sqlite3_column_blob(stmt, 0);
      const int n = sqlite3_column_bytes(stmt, 0);
      rows->emplace_back(data != nullptr ? static_cast<const char*>(data) : "",
                         static_cast<size_t>(n));
    }
  }
  sqlite3_finalize(stmt);
  if (rc != SQLITE_DONE) return Failure(sql, rc);
  return ::testing::AssertionSuccess();
}

int64_t TestDb::Int(const std::string& sql, const std::vector<std::string>& blobs) {
  std::vector<std::string> rows;
  const ::testing::AssertionResult r = Query(sql, blobs, &rows);
  int64_t n = -1;
  if (!r) {
    ADD_FAILURE() << r.message();
  } else if (rows.size() != 1 || !absl::SimpleAtoi(rows[0], &n)) {
    ADD_FAILURE() << sql << " returned " << rows.size() << " rows, not one integer";
  }
  return n;
}

::testing::AssertionResult TestDb::Failure(const std::string& sql, int rc) {
  return ::testing::AssertionFailure() << path_ << ": " << sql << ": " << sqlite3_errstr(rc)
                                       << " (" << sqlite3_errmsg(db_) << ")";
}

std::string TestDb::Text(const std::string& sql) {
  if (open_rc_ != SQLITE_OK) return "<cannot open>";
  sqlite3_stmt* stmt = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    out = absl::StrCat("<error: ", sqlite3_errmsg(db_), ">");
  } else {
    const int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(stmt, 0);
      out = text != nullptr ? reinterpret_cast<const char*>(text) : "<null>";
    } else if (rc == SQLITE_DONE) {
      out = "<no row>";
    } else {
      out = absl::StrCat("<error: ", sqlite3_errmsg(db_), ">");
    }
  }
  sqlite3_finalize(stmt);
  return out;
}

void Sql(const std::string& path, const std::string& sql) {
  TestDb db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec(sql));
}

std::string SqlValue(const std::string& path, const std::string& sql) {
  return TestDb(path).Text(sql);
}

int64_t SqlInt(const std::string& path, const std::string& sql) {
  const std::string value = SqlValue(path, sql);
  int64_t n = -1;
  if (!absl::SimpleAtoi(value, &n)) {
    ADD_FAILURE() << sql << " on " << path << ": " << value;
    return -1;
  }
  return n;
}


std::string DigestBytes(const Digest& d) {
  unsigned char bytes[Digest::kBytes];
  d.ToBytes(bytes);
  return std::string(reinterpret_cast<const char*>(bytes), sizeof(bytes));
}

std::string BlobLiteral(absl::string_view bytes) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out = "X'";
  for (const char c : bytes) {
    const unsigned char b = static_cast<unsigned char>(c);
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  out.push_back('\'');
  return out;
}

}  // namespace test
}  // namespace mlops
