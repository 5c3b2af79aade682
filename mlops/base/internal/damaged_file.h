// Internal: setting a damaged SQLite file of ours aside while other connections, in this
// process and in others, may have it open (the action cache's records.db, the lineage
// database). The one protocol both follow:
//
//   - Processes coordinate through `<path>.lock` (flock): a connection to `path` is opened
//     under a shared RecoveryLock, and a damaged file is moved aside (and replaced) under an
//     exclusive one, so nobody connects to a file that is half moved, and writers that take
//     the shared lock around their writes never write into a file being moved.
//   - Damage is handled only if `path` still names the file it was met in (FileId): another
//     process may have replaced it already, and its fresh database must not be moved too.
//     Then connections notice that the path names another file (compare IdOf) and reconnect.
//   - A file is never deleted: MoveAside renames it, with its -wal and -shm files (its WAL,
//     replayed into a new database, would bring the old pages back).
//
// SQLite itself does not checkpoint or delete the WAL of a file that was renamed while
// open (on closing it checks that the path still names the file); LeaveAsIs keeps a
// connection from writing into a damaged file that is still at its path as it closes.
//
// Example:
//   sqlite::RecoveryLock exclusive(path, sqlite::RecoveryLock::kExclusive);
//   absl::StatusOr<bool> moved = sqlite::MoveAside(path, damaged, path + ".corrupt.x");
//
// Thread safety: the functions may be called concurrently; a RecoveryLock belongs to one
// thread (flock locks belong to open files: two RecoveryLocks of one process on one path
// exclude each other as those of two processes do).
#ifndef MLOPS_BASE_INTERNAL_DAMAGED_FILE_H_
#define MLOPS_BASE_INTERNAL_DAMAGED_FILE_H_

#include <sys/types.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "mlops/base/internal/sqlite.h"

namespace mlops {
namespace sqlite {

// A file's identity (device and inode): whether a path still names the file a connection
// has open.
struct FileId {
  dev_t dev = 0;
  ino_t ino = 0;
  bool operator==(const FileId& o) const { return dev == o.dev && ino == o.ino; }
  bool operator!=(const FileId& o) const { return !(*this == o); }
};

// The identity of the file at `path`; the stat error (NOT_FOUND if there is none) naming it.
absl::StatusOr<FileId> IdOf(const std::string& path);

// flock on `<db_path>.lock` (created if missing) for the lock's lifetime. Waits for the
// lock. Where the lock file cannot be created (a directory one may not write) it locks
// nothing: such a process cannot replace a damaged file either.
class RecoveryLock {
 public:
  enum Mode { kShared, kExclusive };
  RecoveryLock(const std::string& db_path, Mode mode);
  ~RecoveryLock();
  RecoveryLock(const RecoveryLock&) = delete;
  RecoveryLock& operator=(const RecoveryLock&) = delete;

 private:
  const int fd_;  // -1: no lock file
};

// If `path` still names `damaged`, renames it to `aside`, and `<path>-wal` and
// `<path>-shm` (those that exist) to `<aside>-wal` and `<aside>-shm`, and returns true.
// Returns false, moving nothing, if `path` names another file or none (another process
// replaced it). Errors: the rename's, naming `path`, `what` (e.g. "the damaged action
// cache") saying what was being moved. REQUIRES: an exclusive RecoveryLock on `path`.
absl::StatusOr<bool> MoveAside(const std::string& path, const FileId& damaged,
                               const std::string& aside, const std::string& what);

// Keeps `db`, a connection to a damaged file, from changing it when it closes: no
// checkpoint of its WAL into it, and its -wal and -shm files are left in place.
void LeaveAsIs(Db& db);

}  // namespace sqlite
}  // namespace mlops

#endif  // MLOPS_BASE_INTERNAL_DAMAGED_FILE_H_
