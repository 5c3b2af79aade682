// Internal: a thin RAII layer over the SQLite C API, with errors as absl::Status.
//
// Every error status made here says what went wrong as a type as well as in words:
// FaultOf(status) tells a file that is not a database from a damaged one, a busy one or a
// failing file system, and ResultCodeOf(status) gives SQLite's result code. Callers decide
// by these, never by the text of a message (which is for people). sqlite_file.h opens the
// files the library owns on top of this.
//
// Thread safety: a Db and its Statements are not thread-safe: their owner serializes their
// use. The free functions are safe to call concurrently.
#ifndef MLOPS_BASE_INTERNAL_SQLITE_H_
#define MLOPS_BASE_INTERNAL_SQLITE_H_

#include <sqlite3.h>

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mlops {
namespace sqlite {

// What went wrong, as carried by the statuses of this layer (FaultOf).
enum class Fault {
  kUnknown = 0,   // none recorded: not an SQLite failure, or none of the kinds below
  kNotADatabase,  // the file is not an SQLite database (SQLITE_NOTADB)
  kCorrupt,       // an SQLite database with damaged pages (SQLITE_CORRUPT)
  kForeign,       // another application's SQLite database (OpenOwned)
  kNewerSchema,   // ours, written by a newer schema than this build reads (OpenOwned)
  kOlderSchema,   // ours, of an older schema this build refuses (OpenOwned)
  kNoSchema,      // opened read-only, and no schema was ever created in it (OpenOwned)
  kBusy,          // other connections held it locked past the busy timeout (SQLITE_BUSY,
                  // SQLITE_LOCKED)
  kIo,            // the file system failed or refused: no such file, permissions, a full
                  // disk, a read error (SQLITE_CANTOPEN, _IOERR, _FULL, _PERM, _READONLY)
};

// The fault `s` carries; kUnknown for OK and for statuses made elsewhere.
Fault FaultOf(const absl::Status& s);
// SQLite's (extended) result code behind `s`; 0 if it has none.
int ResultCodeOf(const absl::Status& s);
// Whether `s` reports a damaged file: one that is not a database or is corrupt. Meaningful
// for a file already known to be ours (see OpenOwned): such damage happened to it.
inline bool IsDamage(const absl::Status& s) {
  const Fault f = FaultOf(s);
  return f == Fault::kNotADatabase || f == Fault::kCorrupt;
}
// `s` (not OK) carrying `fault` and result code `rc`, replacing what it carried.
absl::Status WithFault(absl::Status s, Fault fault, int rc = 0);

// The Status for SQLite result code `rc` on `db`, naming `what` (usually the file), with
// its fault and result code:
//   SQLITE_NOTADB → INVALID_ARGUMENT, SQLITE_CORRUPT → DATA_LOSS, SQLITE_BUSY/LOCKED →
//   UNAVAILABLE, SQLITE_FULL → RESOURCE_EXHAUSTED, SQLITE_READONLY/PERM/AUTH →
//   PERMISSION_DENIED, SQLITE_CANTOPEN → from errno, others → INTERNAL.
absl::Status Error(sqlite3* db, int rc, absl::string_view what);

class Statement;

// One connection. Not thread-safe: the owner serializes its use.
class Db {
 public:
  // Opens `path` with sqlite3_open_v2 `flags`; or, if `uri` is not empty, opens that URI
  // filename (adding SQLITE_OPEN_URI) while errors still name `path`.
  static absl::StatusOr<std::unique_ptr<Db>> Open(const std::string& path, int flags,
                                                  const std::string& uri = "");
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  sqlite3* get() const { return db_; }
  const std::string& path() const { return path_; }

  // Runs one or more statements that return no rows.
  absl::Status Exec(const char* sql);
  // The integer in the first column of the first row `sql` returns; NOT_FOUND if none.
  absl::StatusOr<int64_t> QueryInt(const char* sql);
  // Prepares a statement. The statement must not outlive the Db.
  absl::StatusOr<std::unique_ptr<Statement>> Prepare(const char* sql);
  // Prepares each `sql` into its `slot`, in order; on an error returns it, with the slots
  // before it set. The statements must not outlive the Db.
  struct ToPrepare {
    std::unique_ptr<Statement>* slot;
    const char* sql;
  };
  absl::Status PrepareAll(std::initializer_list<ToPrepare> statements);
  // The status for `rc`, naming this database's file.
  absl::Status Error(int rc) const { return sqlite::Error(db_, rc, path_); }

 private:
  Db(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_;
  const std::string path_;
};

// A prepared statement. Bind with 1-based indexes, Step until it returns false, Reset to
// reuse.
class Statement {
 public:
  Statement(const Db* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& Bind(int i, int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  // A NaN is bound as NULL (SQLite has no NaN; Double reads NULL back as NaN).
  Statement& BindDouble(int i, double v) {
    if (v != v) {
      sqlite3_bind_null(stmt_, i);
    } else {
      sqlite3_bind_double(stmt_, i, v);
    }
    return *this;
  }
  Statement& BindText(int i, absl::string_view v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& BindBlob(int i, absl::string_view v) {
    sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  // True while there is a row to read; false when done.
  absl::StatusOr<bool> Step();
  // Steps a statement that returns no rows, then resets it.
  absl::Status Run();
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  // The column as a double; NaN for NULL (see BindDouble).
  double Double(int col) const {
    return sqlite3_column_type(stmt_, col) == SQLITE_NULL
               ? std::numeric_limits<double>::quiet_NaN()
               : sqlite3_column_double(stmt_, col);
  }
  int Type(int col) const { return sqlite3_column_type(stmt_, col); }
  sqlite3_stmt* get() const { return stmt_; }
  absl::string_view Text(int col) const;
  absl::string_view Blob(int col) const;

 private:
  const Db* db_;
  sqlite3_stmt* stmt_;
};

// Resets a statement when it goes out of scope, so early returns leave it reusable.
class ResetOnExit {
 public:
  explicit ResetOnExit(Statement& s) : s_(s) {}
  ~ResetOnExit() { s_.Reset(); }

 private:
  Statement& s_;
};

}  // namespace sqlite
}  // namespace mlops

#endif  // MLOPS_BASE_INTERNAL_SQLITE_H_
