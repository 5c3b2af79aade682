#include "mlops/base/internal/sqlite.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "mlops/base/file_io.h"

namespace mlops {
namespace sqlite {
namespace {

// The payload FaultOf and ResultCodeOf read: "<fault> <result code>", in decimal.
constexpr char kFaultUrl[] = "mlops.sqlite.Fault";

// The fault of SQLite result code `rc`.
Fault FaultOfCode(int rc) {
  switch (rc & 0xff) {
    case SQLITE_NOTADB:
      return Fault::kNotADatabase;
    case SQLITE_CORRUPT:
      return Fault::kCorrupt;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Fault::kBusy;
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_PERM:
    case SQLITE_READONLY:
      return Fault::kIo;
    default:
      return Fault::kUnknown;
  }
}

// The two numbers of the payload; {0, 0} without one.
std::pair<int, int> Payload(const absl::Status& s) {
  const auto payload = s.GetPayload(kFaultUrl);  // an absl::optional<absl::Cord>
  if (!payload.has_value()) return {0, 0};
  const std::vector<std::string> parts = absl::StrSplit(std::string(*payload), ' ');
  int fault = 0, rc = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &fault) ||
      !absl::SimpleAtoi(parts[1], &rc)) {
    return {0, 0};
  }
  return {fault, rc};
}

absl::Status MakeError(sqlite3* db, int rc, absl::string_view what) {
  const std::string detail =
      absl::StrCat(what, ": ", db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_NOTADB:
      return absl::InvalidArgumentError(absl::StrCat("not an SQLite database: ", detail));
    case SQLITE_CORRUPT:
      return absl::DataLossError(absl::StrCat("corrupt database: ", detail));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::UnavailableError(absl::StrCat("database is busy: ", detail));
    case SQLITE_FULL:
      return absl::ResourceExhaustedError(absl::StrCat("disk full: ", detail));
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return absl::PermissionDeniedError(detail);
    case SQLITE_CANTOPEN: {
      const int err = db != nullptr ? sqlite3_system_errno(db) : 0;
      if (err != 0) return PosixError(err, "open database", what);
      return absl::NotFoundError(absl::StrCat("cannot open database: ", detail));
    }
    default:
      return absl::InternalError(absl::StrCat("SQLite error ", rc, ": ", detail));
  }
}

}  // namespace

Fault FaultOf(const absl::Status& s) {
  const int fault = Payload(s).first;
  return fault > 0 && fault <= static_cast<int>(Fault::kIo) ? static_cast<Fault>(fault)
                                                            : Fault::kUnknown;
}

int ResultCodeOf(const absl::Status& s) { return Payload(s).second; }

absl::Status WithFault(absl::Status s, Fault fault, int rc) {
  if (s.ok()) return s;
  s.SetPayload(kFaultUrl, absl::Cord(absl::StrCat(static_cast<int>(fault), " ", rc)));
  return s;
}

absl::Status Error(sqlite3* db, int rc, absl::string_view what) {
  return WithFault(MakeError(db, rc, what), FaultOfCode(rc), rc);
}

absl::StatusOr<std::unique_ptr<Db>> Db::Open(const std::string& path, int flags,
                                             const std::string& uri) {
  sqlite3* db = nullptr;
  const int rc = uri.empty()
                     ? sqlite3_open_v2(path.c_str(), &db, flags, nullptr)
                     : sqlite3_open_v2(uri.c_str(), &db, flags | SQLITE_OPEN_URI, nullptr);
  if (rc != SQLITE_OK) {
    absl::Status s = sqlite::Error(db, rc, path);
    sqlite3_close_v2(db);
    return s;
  }
  sqlite3_extended_result_codes(db, 1);
  return std::unique_ptr<Db>(new Db(db, path));
}

Db::~Db() { sqlite3_close_v2(db_); }

absl::Status Db::Exec(const char* sql) {
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  return rc == SQLITE_OK ? absl::OkStatus() : Error(rc);
}

absl::StatusOr<int64_t> Db::QueryInt(const char* sql) {
  absl::StatusOr<std::unique_ptr<Statement>> q = Prepare(sql);
  if (!q.ok()) return q.status();
  absl::StatusOr<bool> r = (*q)->Step();
  if (!r.ok()) return r.status();
  if (!*r) return absl::NotFoundError(absl::StrCat("no row from ", sql, " in ", path_));
  return (*q)->Int(0);
}

absl::StatusOr<std::unique_ptr<Statement>> Db::Prepare(const char* sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return Error(rc);
  return std::make_unique<Statement>(this, stmt);
}

absl::Status Db::PrepareAll(std::initializer_list<ToPrepare> statements) {
  for (const ToPrepare& p : statements) {
    absl::StatusOr<std::unique_ptr<Statement>> stmt = Prepare(p.sql);
    if (!stmt.ok()) return stmt.status();
    *p.slot = *std::move(stmt);
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> Statement::Step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return db_->Error(rc);
}

absl::Status Statement::Run() {
  ResetOnExit reset(*this);
  absl::StatusOr<bool> row = Step();
  return row.ok() ? absl::OkStatus() : row.status();
}

absl::string_view Statement::Text(int col) const {
  const unsigned char* p = sqlite3_column_text(stmt_, col);
  const int n = sqlite3_column_bytes(stmt_, col);
  return p == nullptr ? absl::string_view() : absl::string_view(reinterpret_cast<const char*>(p), n);
}

absl::string_view Statement::Blob(int col) const {
  const void* p = sqlite3_column_blob(stmt_, col);
  const int n = sqlite3_column_bytes(stmt_, col);
  return p == nullptr ? absl::string_view() : absl::string_view(static_cast<const char*>(p), n);
}

}  // namespace sqlite
}  // namespace mlops
