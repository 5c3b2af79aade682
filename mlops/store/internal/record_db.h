// Internal: the on-disk action cache's records, in one SQLite database (`<dir>/records.db`,
// WAL mode), as (key, sealed record) rows. Include mlops/store/action_cache.h instead.
//
// Why not a file per record, like the content store's values: a record is a few hundred
// bytes, written once per computed step; creating and renaming a file for it cost as much
// as everything else a miss does together, while a row costs a few microseconds, and many
// rows share one commit (PutMany). SQLite gives the same guarantees the files did: a
// record is replaced whole or not at all, by any number of processes, and a crash (of the
// process, or with durability above kNone of the machine) never leaves a torn one.
//
// Thread safety: safe for concurrent use by many threads (writes share one connection, in
// turn; lookups each take a connection of their own) and many processes.
#ifndef MLOPS_STORE_INTERNAL_RECORD_DB_H_
#define MLOPS_STORE_INTERNAL_RECORD_DB_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "mlops/base/internal/damaged_file.h"
#include "mlops/base/mutex.h"
#include "mlops/hash/digest.h"
#include "mlops/store/durability.h"

namespace mlops {

namespace store_internal {

class RecordDb {
 public:
  // The schema version this build writes and reads (PRAGMA user_version).
  static constexpr int kSchemaVersion = 1;

  // Opens (creating if needed) the database at `path`. A file there that is not a database,
  // or is corrupt, is moved aside (to `<path>.corrupt.<unique>`, with its -wal and -shm
  // files) and a new, empty one created: it only ever held a cache. Damage found later (a
  // method failing DATA_LOSS) is handled the same way: that call fails DATA_LOSS, and the
  // next ones use a new, empty database. Processes coordinate through `<path>.lock`: one
  // moves a damaged file aside, and the others' connections follow the path to the new
  // one (every write and every lookup first checks that the path names their file).
  // Errors:
  //   INVALID_ARGUMENT     another application's SQLite database is at `path` (left alone);
  //   FAILED_PRECONDITION  it was written by a newer schema;
  //   UNAVAILABLE          other processes kept it locked for longer than a minute;
  //   others               from the file system, naming `path`.
  static absl::StatusOr<std::unique_ptr<RecordDb>> Open(const std::string& path,
                                                        Durability durability);
  ~RecordDb();
  RecordDb(const RecordDb&) = delete;
  RecordDb& operator=(const RecordDb&) = delete;

  // The sealed record stored for `key`; NOT_FOUND if none.
  absl::StatusOr<std::string> Get(const Digest& key) ABSL_LOCKS_EXCLUDED(mu_, readers_mu_);
  // Stores each (key, sealed record), replacing any earlier one, in one transaction: all or
  // none are stored.
  absl::Status PutMany(const std::vector<std::pair<Digest, std::string>>& records)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Removes the record of `key` if it is still `sealed` (not one another writer replaced it
  // with meanwhile); with `sealed` null, whatever it is. OK if there was none.
  absl::Status Delete(const Digest& key, const std::string* sealed) ABSL_LOCKS_EXCLUDED(mu_);

  const std::string& path() const { return path_; }

  // A file's identity (device and inode).
  using FileId = sqlite::FileId;

 private:
  struct Statements;
  struct Reader;
  // At most this many reader connections are kept between lookups.
  static constexpr size_t kMaxIdleReaders = 16;

  RecordDb(std::string path, Durability durability);
  // A reader connection not in use by another thread (opened if none is idle), and back.
  absl::StatusOr<std::unique_ptr<Reader>> TakeReader() ABSL_LOCKS_EXCLUDED(readers_mu_);
  void ReturnReader(std::unique_ptr<Reader> reader) ABSL_LOCKS_EXCLUDED(readers_mu_);
  // Opens the writer connection to the file at the path (under a shared `<path>.lock`),
  // checks or creates the schema (sqlite::OpenOwned), prepares the statements.
  absl::Status Connect() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status PrepareStatements() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Reconnects the writer if the path no longer names its file (another process replaced
  // a damaged one) or a recovery left it unconnected.
  absl::Status ConnectedToPath() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Under an exclusive `<path>.lock`: if the path still names `damaged`, renames it (with
  // its -wal and -shm) aside; then connects to a new database. `why` goes into errors.
  absl::Status Replace(const absl::Status& why, const FileId& damaged)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // For damage `s` met in file `where` (sqlite::IsDamage: corrupt, or "not a database" in a
  // file that was one): Replace, and DATA_LOSS saying what was done. Other statuses are
  // returned as they are.
  absl::Status Recover(absl::Status s, const FileId& where) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string path_;
  const Durability durability_;
  Mutex mu_;
  std::unique_ptr<sqlite::Db> db_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<Statements> stmts_ ABSL_GUARDED_BY(mu_);
  FileId id_ ABSL_GUARDED_BY(mu_);         // the file the writer is connected to
  FileId failed_id_ ABSL_GUARDED_BY(mu_);  // the file the last Connect opened

  // Lookups use connections of their own, so that threads look up at once (a WAL database
  // has any number of readers beside its one writer). A reader of a file the path no
  // longer names is dropped, not reused.
  Mutex readers_mu_;
  std::vector<std::unique_ptr<Reader>> readers_ ABSL_GUARDED_BY(readers_mu_);
  // The file the path named when last looked at, and when (see TakeReader).
  static constexpr absl::Duration kRecheckInterval = absl::Milliseconds(100);
  FileId checked_id_ ABSL_GUARDED_BY(readers_mu_);
  int64_t checked_at_ns_ ABSL_GUARDED_BY(readers_mu_) = 0;
};

}  // namespace store_internal
}  // namespace mlops

#endif  // MLOPS_STORE_INTERNAL_RECORD_DB_H_
