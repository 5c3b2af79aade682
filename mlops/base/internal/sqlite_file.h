// Internal: opening an SQLite file this library owns (the lineage database, the action
// cache's records), the one way every such file is opened, checked and set up.
//
// A file is ours when it carries our PRAGMA application_id (set when the schema is
// created); a database with another id, or with none but tables or a schema version of its
// own, is another application's and is never written. OpenOwned creates the schema of a new
// database and checks the version of an old one inside one write transaction, so processes
// opening a new file at once see it either empty or complete; then it switches the file to
// WAL, so that readers and one writer work side by side across processes.
//
// Example:
//   sqlite::OwnedFile file;
//   file.name = "action cache";
//   file.description = "an mlops action cache";
//   file.application_id = 0x6D6C6163;
//   file.create_schema = [](sqlite::Db& db, int64_t) { return db.Exec("CREATE TABLE ..."); };
//   absl::StatusOr<std::unique_ptr<sqlite::Db>> db = sqlite::OpenOwned(path, file);
//   if (!db.ok() && sqlite::IsDamage(db.status())) { ... move the file aside ... }
//
// Thread safety: OpenOwned may be called concurrently, from any number of processes, on one
// path; the Db it returns is not thread-safe (see sqlite.h).
#ifndef MLOPS_BASE_INTERNAL_SQLITE_FILE_H_
#define MLOPS_BASE_INTERNAL_SQLITE_FILE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "mlops/base/internal/sqlite.h"

namespace mlops {
namespace sqlite {

// What a kind of file the library owns is, and how OpenOwned sets it up.
struct OwnedFile {
  // For messages: `name` as in "lineage schema version 3" and "no lineage database at
  // <path>"; `description` as in "<path> is another application's SQLite database, not
  // mlops lineage".
  std::string name;
  std::string description;
  // The PRAGMA application_id our files carry.
  int64_t application_id = 0;
  // The schema version (PRAGMA user_version) this build writes, and the newest it reads.
  int64_t schema_version = 1;
  // Given the version of a file of ours older than schema_version (1 or more), returns
  // the error to refuse it with, or OK to accept it (to be upgraded by create_schema, or
  // read as it is when read_only). Null accepts every older version.
  std::function<absl::Status(int64_t version)> check_version;
  // Creates the schema in a new database (`version` 0) or upgrades an accepted older one,
  // inside the write transaction; OpenOwned then sets application_id and user_version.
  // Never called when read_only. REQUIRED unless read_only.
  std::function<absl::Status(Db& db, int64_t version)> create_schema;
  // How long a statement waits for another connection's lock before it fails UNAVAILABLE.
  absl::Duration busy_timeout = absl::Seconds(60);
  // Opens for reading only: no file is created, nothing is written, the schema is only
  // checked, and the connection refuses writes (PRAGMA query_only). If `<path>-wal` exists
  // (a writer has the file open, or crashed), the file is opened read-only in the ordinary
  // way, reading through its WAL with the usual locking; if not, every commit is in the
  // file, which is opened `immutable`: no -wal or -shm file is created, no lock taken, and
  // the connection sees the file as it was when opened.
  bool read_only = false;
  // Fails if the file system cannot give WAL (a file system without shared memory).
  bool require_wal = false;
  // PRAGMA synchronous: FULL (every commit synced) if true, else NORMAL (in WAL mode a
  // crash of the machine may lose the latest commits, but never corrupts the file).
  bool sync_every_commit = false;
};

// Opens the database at `path` (":memory:" for a private in-memory one), creating it if
// needed unless file.read_only, as described above. Every error names `path`, and says
// what it is as a type (FaultOf):
//   INVALID_ARGUMENT    kNotADatabase: the file is not an SQLite database;
//                       kForeign: it is another application's SQLite database;
//   DATA_LOSS           kCorrupt: it is damaged;
//   FAILED_PRECONDITION kNewerSchema: written by a newer schema version;
//                       kOlderSchema: an older version check_version refused (its status);
//                       kNoSchema: read_only, and no schema was ever created in it;
//                       (no fault) require_wal, and WAL is not available;
//   UNAVAILABLE         kBusy: other connections kept it locked past busy_timeout;
//   NOT_FOUND           kIo: read_only, and there is no file at `path`;
//   others              kIo: the file system failed or refused (missing directory,
//                       permissions, a full disk); or what create_schema returned.
// A file refused as not ours, newer or older is left as it was.
absl::StatusOr<std::unique_ptr<Db>> OpenOwned(const std::string& path, const OwnedFile& file);

}  // namespace sqlite
}  // namespace mlops

#endif  // MLOPS_BASE_INTERNAL_SQLITE_FILE_H_
