// mlops/lineage/sqlite_lineage_store.h — the embedded LineageStore: one SQLite file.
//
// The database runs in WAL mode with a busy timeout, so many processes can record into one
// file at once while others query it. Each record is stored twice over: as indexed columns
// (digests, step names, run ids, times) for queries, and as its serialized proto for
// fidelity. A cache hit that repeats the execution it got its result from, in everything
// but its id, run, status and times, is stored as one small row naming that execution and
// read back exactly as recorded (most executions of a warm rerun are such hits). The
// schema version is kept in `PRAGMA user_version`; a database written by another schema
// version is refused rather than misread.
//
// Batching: RecordExecution assigns the id at once (from a block of ids reserved in the
// database, so ids stay unique across processes) and queues the record; queued records are
// committed together, in one transaction, when `max_batch_size` are queued, when the oldest
// has waited `max_batch_delay` (a background thread sees to it), on Flush(), before any
// query, and on destruction. A crash therefore loses at most the last uncommitted batch, and
// never leaves part of an execution behind.
//
// Damage: a file SQLite finds damaged (one that is not a database, or is corrupt:
// "database disk image is malformed"), when opening it or at any later read or write, is
// recovered unless the store is read-only or `recover_damage` is false. Under
// `<path>.lock` (a file writers create beside the database to coordinate), what SQLite can
// still read of a copy of it (runs and executions, each with its id, the events of those
// executions, earlier recoveries) is written into a new database; the records on pages
// SQLite cannot reach are lost to it. The damaged file is moved aside, never deleted, to
// `<path>.damaged-<UTC time, e.g. 20261204T201500Z>` (with its -wal and -shm files), and
// the new one takes its place. The recovery is said once on stderr and recorded
// (Recoveries(), shown by `mlops runs` and `mlops show run:N`). The call that met the
// damage then runs once more on the new database and returns what that gives: Open
// succeeds; a Flush, or a batch commit, writes its batch (the queued executions are kept,
// with their ids) into the new database; a query answers from it. So damage is met and
// recovered once: no later Open, Flush or query fails because of it. Execution ids given
// out later continue above every id the damaged file gave out. Other processes that have
// the file open follow the path to the new database at their next use (every use first
// checks that the path still names their file); processes that meet the damage at once
// replace the file once. If the recovery itself fails (say the directory cannot be
// written) the call fails with the damage error, saying so, and the next call that meets
// the damage tries again; a store recovers at most 3 times (a disk that keeps damaging
// what is written must not fill the directory with copies). A read-only store never
// moves or writes anything: its damage errors (DATA_LOSS, or INVALID_ARGUMENT for a file
// that is not a database) say to open the database read-write to recover it.
//
// Example:
//   absl::StatusOr<std::unique_ptr<mlops::SqliteLineageStore>> store =
//       mlops::SqliteLineageStore::Open(".mlops/lineage.db");
//   // or SqliteLineageStore::Open(":memory:") for a private in-memory database
//
// Thread safety: safe for concurrent use by many threads and many processes.
#ifndef MLOPS_LINEAGE_SQLITE_LINEAGE_STORE_H_
#define MLOPS_LINEAGE_SQLITE_LINEAGE_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "mlops/hash/digest.h"
#include "mlops/lineage/lineage_store.h"

namespace mlops {

namespace lineage_internal {
class LineageDb;
class RecordQueue;
}  // namespace lineage_internal

// A value of an SQL query's parameter or result column: NULL, INTEGER, REAL or TEXT.
using SqlValue = std::variant<std::monostate, int64_t, double, std::string>;

// A read-only SQL query and the values of its parameters (?1, ?2, ...), for the searches
// of mlops/track, which build it from a parsed filter: user input is only ever a bound
// value, never part of the text.
struct SqlQuery {
  std::string sql;
  std::vector<SqlValue> params;
};

struct SqliteLineageOptions {
  // Commit queued executions once this many are waiting (a large batch writes each index
  // page its records touch once, not once per record). At most two batches are queued:
  // RecordExecution writes one itself when the background thread falls that far behind...
  int max_batch_size = 20000;
  // ...or once the oldest has waited this long. Zero commits every record at once.
  absl::Duration max_batch_delay = absl::Milliseconds(100);
  // How long a writer waits for another process's transaction before failing UNAVAILABLE.
  absl::Duration busy_timeout = absl::Seconds(60);
  // Open for reading only, e.g. to inspect a workspace one may not write (the `mlops`
  // command line's reading commands). The file is never created and the schema never
  // created.
  // No background thread is started, and every write method (BeginRun, UpdateRun,
  // DeleteRun, RecordExecution, UpdateExecution) fails FAILED_PRECONDITION.
  //
  // WAL: SQLite reads a WAL database through its -wal and -shm files, and a read-only
  // connection creates them when they are missing (and leaves them behind) if it may write
  // the directory, or fails if it may not. So:
  //   - if `<path>-wal` exists (a writer has the database open, or crashed), the database
  //     is opened read-only in the ordinary way: locking works, the committed contents of
  //     the WAL are seen, and SQLite uses the -shm file as it finds it (read-only if it may
  //     not write it) or, if it is missing, creates it when it may;
  //   - if it does not, every commit is in the database file (the last connection to close
  //     checkpoints and removes the WAL): the file is opened `immutable`, which creates no
  //     files and takes no locks. The store then sees the database as it was when opened,
  //     and a writer that starts meanwhile and checkpoints into the file (on closing, or
  //     past 64 MB of WAL) can make reads fail DATA_LOSS: read-only stores are for short
  //     inspections, not for following a database that others are writing.
  // Either way the database file itself is never written.
  bool read_only = false;
  // Recover a damaged file (see the top of the file). If false, damage is returned as an
  // error (DATA_LOSS, or INVALID_ARGUMENT for a file that is not a database) and nothing
  // is moved: every later use of the file fails the same way.
  bool recover_damage = true;
};

class SqliteLineageStore : public LineageStore {
 public:
  // The schema version this build writes. Version 2 (before experiment tracking) is
  // upgraded in place when opened read-write, in one transaction (a crash during it leaves
  // version 2 as it was), and read as version 3 without tracked values when opened
  // read-only. Version 1, without compact cache hits, was only ever written by development
  // builds, and is refused.
  static constexpr int kSchemaVersion = 3;

  // Opens (creating if needed, unless options.read_only) the database at `path`;
  // ":memory:" gives a private in-memory database. A damaged file (one that is not an
  // SQLite database, or is corrupt) is recovered (see the top of the file), and Open then
  // succeeds. Errors, each naming the path:
  //   INVALID_ARGUMENT     the file is another application's SQLite database; with
  //                        read_only or without recover_damage, it is not an SQLite
  //                        database; ":memory:" with read_only;
  //   FAILED_PRECONDITION  it was written by a newer schema than kSchemaVersion, or by a
  //                        development build (version 1); with read_only, it is an empty
  //                        database (no schema yet);
  //   NOT_FOUND            with read_only, there is no file at `path`;
  //   DATA_LOSS            with read_only or without recover_damage, it is corrupt; or
  //                        the recovery of a damaged file failed (the message says why);
  //   PERMISSION_DENIED / NOT_FOUND / ...  it cannot be opened or created.
  static absl::StatusOr<std::unique_ptr<SqliteLineageStore>> Open(
      const std::string& path, SqliteLineageOptions options = {});

  // Commits what is queued (errors are lost: call Flush() first to see them; damage met
  // here is still recovered).
  ~SqliteLineageStore() override;
  SqliteLineageStore(const SqliteLineageStore&) = delete;
  SqliteLineageStore& operator=(const SqliteLineageStore&) = delete;

  // The LineageStore methods: results and errors as lineage_store.h documents them, each
  // error naming the path. With read_only, the writes (BeginRun, UpdateRun, DeleteRun,
  // RecordExecution, UpdateExecution) fail FAILED_PRECONDITION; Flush has nothing to do.
  absl::StatusOr<int64_t> BeginRun(const Run& run) override;
  absl::Status UpdateRun(const Run& run) override;
  absl::StatusOr<Run> GetRun(int64_t id) override;
  absl::StatusOr<Page<Run>> FindRuns(const RunFilter& filter,
                                     const PageRequest& page = {}) override;
  absl::Status DeleteRun(int64_t id) override;
  absl::StatusOr<int64_t> RecordExecution(Execution execution) override;
  absl::Status UpdateExecution(const Execution& execution) override;
  absl::StatusOr<Execution> GetExecution(int64_t id) override;
  absl::StatusOr<Artifact> GetArtifact(const Digest& digest) override;
  absl::StatusOr<std::vector<Execution>> ExecutionsOfRun(int64_t run_id) override;
  absl::StatusOr<Page<Execution>> ExecutionsOfStep(const std::string& step_name,
                                                   const PageRequest& page = {}) override;
  absl::StatusOr<std::vector<Execution>> Producers(const Digest& digest) override;
  absl::StatusOr<std::vector<Execution>> Consumers(const Digest& digest) override;
  absl::StatusOr<Subgraph> Upstream(const LineageNode& from,
                                    const ClosureOptions& options = {}) override;
  absl::StatusOr<Subgraph> Downstream(const LineageNode& from,
                                      const ClosureOptions& options = {}) override;
  absl::Status Flush() override;
  absl::StatusOr<Page<Digest>> FindArtifactsByPrefix(absl::string_view hex_prefix,
                                                     const PageRequest& page = {}) override;
  absl::StatusOr<std::vector<StepOutput>> StepOutputs() override;
  absl::StatusOr<RunCounts> CountExecutions(int64_t run_id) override;
  absl::Status SetRunTag(int64_t run_id, absl::string_view key,
                         absl::string_view value) override;
  absl::Status LogRunParam(int64_t run_id, absl::string_view key,
                           absl::string_view value) override;
  // Queued with the executions: written with the next batch (at the latest by Flush, or
  // when so many points are queued that the call writes a batch itself).
  absl::Status LogMetricPoints(const MetricOwner& owner, absl::string_view key,
                               std::vector<MetricPoint> points) override;
  absl::StatusOr<RunValues> GetRunValues(int64_t run_id) override;
  absl::StatusOr<std::vector<MetricPoint>> MetricSeries(const MetricOwner& owner,
                                                        absl::string_view key) override;
  absl::StatusOr<std::vector<std::string>> MetricKeys(const MetricOwner& owner) override;
  absl::StatusOr<std::vector<Experiment>> Experiments() override;

  // Runs a read-only query on the database (once what is queued is written), for
  // mlops/track's searches over the tables tracking_schema.h describes (mlops/lineage/
  // internal). Returns the rows, each a value per column. INVALID_ARGUMENT for anything
  // but a SELECT, WITH or EXPLAIN query that writes nothing (no PRAGMA either: some change
  // the connection); errors from SQLite (a malformed query) name the path.
  absl::StatusOr<std::vector<std::vector<SqlValue>>> Select(const SqlQuery& query);

  // The recoveries of damaged files recorded in the database (see the top of the file),
  // oldest first; none for a database without them. DATA_LOSS if a record does not parse.
  absl::StatusOr<std::vector<LineageRecovery>> Recoveries();

  // The path the store was opened with.
  const std::string& path() const { return path_; }

 private:
  SqliteLineageStore(std::string path, SqliteLineageOptions options,
                     std::unique_ptr<lineage_internal::LineageDb> db,
                     std::unique_ptr<lineage_internal::RecordQueue> queue);
  // FAILED_PRECONDITION naming the path if the store is read-only.
  absl::Status CheckWritable() const;

  const std::string path_;
  const SqliteLineageOptions options_;
  // The connection, with its reads and writes (internal/lineage_db.h), and the executions
  // recorded but not yet written (internal/record_queue.h, which states the lock order).
  const std::unique_ptr<lineage_internal::LineageDb> db_;
  const std::unique_ptr<lineage_internal::RecordQueue> queue_;
};

}  // namespace mlops

#endif  // MLOPS_LINEAGE_SQLITE_LINEAGE_STORE_H_
