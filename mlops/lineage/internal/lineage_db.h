// Internal: the connection of a lineage store to its database file (connection.h: reads,
// writes and compact hits), taken in turn under one lock; the writing of what a
// RecordQueue holds; and the recovery of a damaged file (recovery.h).
//
// Every use of the connection goes through Read or Write, which
//   - first reconnect if the path names another file than the one connected to (another
//     process replaced a damaged file), so nobody writes into a file set aside;
//   - write under the shared `<path>.lock` (damaged_file.h), so no file is set aside
//     while a write into it runs;
//   - on damage (sqlite::IsDamage) met by the read or write, recover the file (unless
//     read-only, or SqliteLineageOptions::recover_damage is false) and run it once more on
//     the new database, so the caller sees the second attempt's result. Damage met again
//     at once is returned as it is; a store recovers at most kMaxRecoveries times.
// A read-only store never recovers; its damage errors say how to recover the file.
//
// Thread safety: safe for concurrent use: reader(), writer(), Read, Write and the other
// methods REQUIRE mu() held (see record_queue.h for the lock order).
#ifndef MLOPS_LINEAGE_INTERNAL_LINEAGE_DB_H_
#define MLOPS_LINEAGE_INTERNAL_LINEAGE_DB_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "mlops/base/internal/damaged_file.h"
#include "mlops/base/internal/sqlite.h"
#include "mlops/base/mutex.h"
#include "mlops/lineage/internal/connection.h"
#include "mlops/lineage/internal/record_queue.h"
#include "mlops/lineage/sqlite_lineage_store.h"

namespace mlops {
namespace lineage_internal {

// What a read or a write run through LineageDb returns.
template <typename Fn>
using ReadResult = decltype(std::declval<Fn&>()(std::declval<LineageReader&>()));
template <typename Fn>
using WriteResult = decltype(std::declval<Fn&>()(std::declval<LineageWriter&>()));

class LineageDb {
 public:
  // A store recovers its file at most this many times (a disk that keeps damaging what
  // is written must not fill the directory with copies).
  static constexpr int kMaxRecoveries = 3;

  // Opens the database (schema.h) and prepares its statements; a damaged file is
  // recovered as above. `queue` (which must outlive this) tells a recovery what this
  // store has yet to write. Errors: as SqliteLineageStore::Open.
  static absl::StatusOr<std::unique_ptr<LineageDb>> Open(const std::string& path,
                                                         const SqliteLineageOptions& options,
                                                         RecordQueue* queue);
  // Closes the connection (under the shared lock: closing the last connection to a file
  // checkpoints its WAL into it, which must not happen while another process copies it).
  ~LineageDb();
  LineageDb(const LineageDb&) = delete;
  LineageDb& operator=(const LineageDb&) = delete;

  Mutex* mu() ABSL_LOCK_RETURNED(mu_) { return &mu_; }

  // What `read(reader)` returns, as described above.
  template <typename Fn>
  ReadResult<Fn> Read(Fn read) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // What `write(writer)` returns, as described above. REQUIRES: not opened read-only.
  template <typename Fn>
  WriteResult<Fn> Write(Fn write) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Writes what `queue` holds in one transaction (LineageWriter::WriteBatch); on an error
  // leaves it queued, to be tried again, and returns the error. OK at once if nothing is
  // queued (as always for a read-only database).
  absl::Status Flush(RecordQueue& queue) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // OK if a run with this id exists: known to `queue`, or found in the database (and then
  // added to the queue's known runs). NOT_FOUND naming it if there is none.
  absl::Status CheckRunExists(int64_t run_id, RecordQueue& queue)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // LineageWriter::BeginRun and UpdateRun, remembering this store's runs (a recovery
  // recreates them if their records are lost).
  absl::StatusOr<int64_t> BeginRun(const Run& run) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status UpdateRun(const Run& run) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The recoveries recorded in the database, oldest first.
  absl::StatusOr<std::vector<LineageRecovery>> Recoveries() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

 private:
  LineageDb(std::string path, const SqliteLineageOptions& options, RecordQueue* queue)
      : path_(std::move(path)), options_(options), queue_(queue) {}

  // Whether damage is recovered rather than returned (and the path followed).
  bool recovers() const {
    return !options_.read_only && options_.recover_damage && path_ != ":memory:";
  }
  // Connects to the file at the path (under the shared lock): OpenOwned, statements.
  absl::Status Connect() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Reconnects if unconnected, or the path names another file than the one connected to.
  absl::Status Follow() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // For damage `why` met on the `attempt`th try: OK once the file is recovered (or found
  // replaced by another process) and connected again, to try once more; else the error to
  // return (read-only: `why` saying how to recover).
  absl::Status Damaged(const absl::Status& why, int attempt) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string path_;
  const SqliteLineageOptions options_;
  RecordQueue* const queue_;
  Mutex mu_;
  std::unique_ptr<LineageConnection> conn_ ABSL_GUARDED_BY(mu_);  // null: not connected
  sqlite::FileId failed_file_ ABSL_GUARDED_BY(mu_);  // the file the last Connect refused
  // The runs this store began, as last written, and the newest; the run ids of the batch
  // being written (which a recovery must keep).
  absl::flat_hash_map<int64_t, Run> own_runs_ ABSL_GUARDED_BY(mu_);
  int64_t last_run_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<int64_t> writing_runs_ ABSL_GUARDED_BY(mu_);
  int recoveries_ ABSL_GUARDED_BY(mu_) = 0;
  // A recovery made before this store began a run: its run is set by the next BeginRun.
  int64_t recovery_without_run_ ABSL_GUARDED_BY(mu_) = 0;
};

// The status of an absl::Status or absl::StatusOr.
inline const absl::Status& StatusOf(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& StatusOf(const absl::StatusOr<T>& s) {
  return s.status();
}

template <typename Fn>
ReadResult<Fn> LineageDb::Read(Fn read) {
  for (int attempt = 0;; ++attempt) {
    absl::Status s = Follow();  // damage met connecting (after a failed recovery) too
    if (s.ok()) {
      auto result = read(*conn_->reader);
      if (!sqlite::IsDamage(StatusOf(result))) return result;
      s = StatusOf(result);
    } else if (!sqlite::IsDamage(s)) {
      return s;
    }
    s = Damaged(s, attempt);
    if (!s.ok()) return s;
  }
}

template <typename Fn>
WriteResult<Fn> LineageDb::Write(Fn write) {
  for (int attempt = 0;; ++attempt) {
    absl::Status s;
    {
      std::optional<sqlite::RecoveryLock> shared;
      if (recovers()) shared.emplace(path_, sqlite::RecoveryLock::kShared);
      s = Follow();
      if (s.ok()) {
        auto result = write(*conn_->writer);
        if (!sqlite::IsDamage(StatusOf(result))) return result;
        s = StatusOf(result);
      } else if (!sqlite::IsDamage(s)) {
        return s;
      }
    }
    s = Damaged(s, attempt);  // without the shared lock: a recovery takes it exclusively
    if (!s.ok()) return s;
  }
}

}  // namespace lineage_internal
}  // namespace mlops

#endif  // MLOPS_LINEAGE_INTERNAL_LINEAGE_DB_H_
