#include "mlops/base/internal/sqlite_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "mlops/base/file_io.h"

namespace mlops {
namespace sqlite {
namespace {

// `path` as an SQLite URI filename with these query parameters (e.g. "mode=ro").
std::string UriFilename(const std::string& path, absl::string_view query) {
  std::string uri = "file:";
  for (char c : path) {
    if (c == '%' || c == '?' || c == '#') {
      static constexpr char kHex[] = "0123456789abcdef";
      const unsigned char u = static_cast<unsigned char>(c);
      uri += '%';
      uri += kHex[u >> 4];
      uri += kHex[u & 15];
    } else {
      uri += c;
    }
  }
  return absl::StrCat(uri, "?", query);
}

// Opens the connection: read-write (creating the file), or read-only creating nothing
// (see OwnedFile::read_only).
absl::StatusOr<std::unique_ptr<Db>> Connect(const std::string& path, const OwnedFile& file) {
  if (!file.read_only) {
    return Db::Open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX);
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    const int error = errno;
    if (error == ENOENT) {
      return WithFault(
          absl::NotFoundError(absl::StrCat("no ", file.name, " database at ", path)),
          Fault::kIo);
    }
    return WithFault(PosixError(error, "stat", path), Fault::kIo);
  }
  // Without a WAL file every commit is in the database file, and an ordinary read-only
  // connection would create -wal and -shm files (or fail where it may not): read the file
  // as it is. With one, read through it, with the usual locking.
  const bool has_wal = ::access((path + "-wal").c_str(), F_OK) == 0;
  return Db::Open(path, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                  UriFilename(path, has_wal ? "mode=ro" : "mode=ro&immutable=1"));
}

// Checks that the database is ours and of a version this build reads; inside the write
// transaction unless read-only. Sets `*version` to its schema version.
absl::Status CheckOwned(Db& db, const std::string& path, const OwnedFile& file,
                        int64_t* version) {
  absl::StatusOr<int64_t> app_id = db.QueryInt("PRAGMA application_id");
  if (!app_id.ok()) return app_id.status();
  absl::StatusOr<int64_t> found = db.QueryInt("PRAGMA user_version");
  if (!found.ok()) return found.status();
  absl::StatusOr<int64_t> tables =
      db.QueryInt("SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'");
  if (!tables.ok()) return tables.status();
  // Ours carry our application_id from the moment the schema is created; a database with
  // another id, or with none but a schema version or tables of its own, belongs to someone
  // else and is left untouched.
  if ((*app_id != 0 && *app_id != file.application_id) ||
      (*app_id == 0 && (*found != 0 || *tables != 0))) {
    return WithFault(absl::InvalidArgumentError(absl::StrCat(
                         path, " is another application's SQLite database, not ",
                         file.description)),
                     Fault::kForeign);
  }
  if (*found > file.schema_version) {
    return WithFault(absl::FailedPreconditionError(absl::StrCat(
                         path, " was written by a newer mlops (", file.name,
                         " schema version ", *found, "); this build reads version ",
                         file.schema_version, ": open it with that build or a later one")),
                     Fault::kNewerSchema);
  }
  if (file.read_only && *found == 0) {
    return WithFault(absl::FailedPreconditionError(absl::StrCat(
                         path, " has no ", file.name,
                         " schema yet (an empty database), and is opened read-only")),
                     Fault::kNoSchema);
  }
  if (*found != 0 && *found < file.schema_version && file.check_version) {
    absl::Status s = file.check_version(*found);
    if (!s.ok()) {
      return FaultOf(s) == Fault::kUnknown ? WithFault(std::move(s), Fault::kOlderSchema) : s;
    }
  }
  *version = *found;
  return absl::OkStatus();
}

// Creates or upgrades the schema and commits the transaction CheckOwned ran in.
absl::Status CreateSchema(Db& db, const OwnedFile& file, int64_t version) {
  absl::Status s;
  if (version < file.schema_version) {
    s = file.create_schema(db, version);
    if (s.ok()) {
      s = db.Exec(absl::StrCat("PRAGMA application_id=", file.application_id,
                               "; PRAGMA user_version=", file.schema_version, ";")
                      .c_str());
    }
  }
  if (s.ok()) s = db.Exec("COMMIT");
  return s;
}

// Switches to WAL once the file is known to be ours (switching changes the file's header),
// and sets the sync level.
absl::Status UseWal(Db& db, const std::string& path, const OwnedFile& file) {
  // Switching needs the database to itself for a moment: it waits on the busy handler for
  // readers, but fails at once on some other locks, so retry while other processes are
  // opening it too (a single attempt may itself wait up to the busy timeout).
  const absl::Time deadline = absl::Now() + file.busy_timeout;
  absl::Status s;
  while (true) {
    s = db.Exec("PRAGMA journal_mode=WAL");
    if (FaultOf(s) != Fault::kBusy || absl::Now() > deadline) break;
    absl::SleepFor(absl::Milliseconds(5));
  }
  if (!s.ok()) return s;
  if (file.require_wal) {
    absl::StatusOr<std::unique_ptr<Statement>> mode = db.Prepare("PRAGMA journal_mode");
    if (!mode.ok()) return mode.status();
    absl::StatusOr<bool> row = (*mode)->Step();
    if (!row.ok()) return row.status();
    if (!*row || (*mode)->Text(0) != "wal") {
      return absl::FailedPreconditionError(absl::StrCat(
          path, " cannot use SQLite's WAL journal here (a file system without shared memory?)"));
    }
  }
  return db.Exec(file.sync_every_commit ? "PRAGMA synchronous=FULL"
                                        : "PRAGMA synchronous=NORMAL");
}

}  // namespace

absl::StatusOr<std::unique_ptr<Db>> OpenOwned(const std::string& path, const OwnedFile& file) {
  absl::StatusOr<std::unique_ptr<Db>> opened = Connect(path, file);
  if (!opened.ok()) return opened.status();
  Db& db = **opened;
  sqlite3_busy_timeout(db.get(), static_cast<int>(absl::ToInt64Milliseconds(file.busy_timeout)));
  int64_t version = 0;
  if (file.read_only) {
    absl::Status s = CheckOwned(db, path, file, &version);
    if (s.ok()) s = db.Exec("PRAGMA query_only=1");
    if (!s.ok()) return s;
    return opened;
  }
  // Check and (if new) create the schema in one write transaction. Taking the write lock
  // is also where a file that is not a database shows itself.
  absl::Status s = db.Exec("BEGIN IMMEDIATE");
  if (!s.ok()) return s;
  s = CheckOwned(db, path, file, &version);
  if (s.ok()) s = CreateSchema(db, file, version);
  if (!s.ok()) {
    db.Exec("ROLLBACK").IgnoreError();
    return s;
  }
  if (path != ":memory:") {
    s = UseWal(db, path, file);
    if (!s.ok()) return s;
  }
  return opened;
}

}  // namespace sqlite
}  // namespace mlops
