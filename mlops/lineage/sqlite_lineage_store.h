// mlops/lineage/sqlite_lineage_store.h — the embedded LineageStore: one SQLite file.
//
// The database runs in WAL mode with a busy timeout, so many processes can record into one
// file at once while others query it. Each record is stored twice over: as indexed columns
// (digests, step names, run ids, times) for queries, and as its serialized proto for
// fidelity. A cache hit that repeats the execution it got its result from, in everything
// but its id, run, status and times, is stored as one small row naming that execution and
// read back exactly as recorded (most executions of a warm rerun are such hits). The schema version is kept in `PRAGMA user_version`; a database written by a
// newer schema is refused rather than misread.
//
// Batching: RecordExecution assigns the id at once (from a block of ids reserved in the
// database, so ids stay unique across processes) and queues the record; queued records are
// committed together, in one transaction, when `max_batch_size` are queued, when the oldest
// has waited `max_batch_delay` (a background thread sees to it), on Flush(), before any
// query, and on destruction. A crash therefore loses at most the last uncommitted batch, and
// never leaves part of an execution behind.
//
// Example:
//   absl::StatusOr<std::unique_ptr<mlops::SqliteLineageStore>> store =
//       mlops::SqliteLineageStore::Open(".mlops/lineage.db");
//   // or SqliteLineageStore::Open(":memory:") for a private in-memory database
//
// Thread safety: safe for concurrent use by many threads and many processes.
#ifndef MLOPS_LINEAGE_SQLITE_LINEAGE_STORE_H_
#define MLOPS_LINEAGE_SQLITE_LINEAGE_STORE_H_

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/time/time.h"
#include "mlops/lineage/lineage_store.h"

namespace mlops {

namespace sqlite {
class Db;
class Statement;
}  // namespace sqlite

struct SqliteLineageOptions {
  // Commit queued executions once this many are waiting (large batches write each index
  // page that many records touch once, not once per record: 1M recorded executions cost
  // 18.9 us each with 20,000 per batch, 24 us with 1,000; at most two batches are queued,
  // about 30 MB)...
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
};

class SqliteLineageStore : public LineageStore {
 public:
  // The schema version this build writes, and the only one it reads. (Version 1, without
  // compact cache hits, was only ever written by development builds, and is refused.)
  static constexpr int kSchemaVersion = 2;

  // Opens (creating if needed, unless options.read_only) the database at `path`;
  // ":memory:" gives a private in-memory database. Errors, each naming the path:
  //   INVALID_ARGUMENT     the file is not an SQLite database, or is another
  //                        application's SQLite database; ":memory:" with read_only;
  //   FAILED_PRECONDITION  it was written by a newer schema than kSchemaVersion, or by a
  //                        development build (version 1); with read_only, it is an empty
  //                        database (no schema yet);
  //   NOT_FOUND            with read_only, there is no file at `path`;
  //   DATA_LOSS            it is corrupt;
  //   PERMISSION_DENIED / NOT_FOUND / ...  it cannot be opened or created.
  static absl::StatusOr<std::unique_ptr<SqliteLineageStore>> Open(
      const std::string& path, SqliteLineageOptions options = {});

  // Commits what is queued (errors are lost: call Flush() first to see them).
  ~SqliteLineageStore() override;
  SqliteLineageStore(const SqliteLineageStore&) = delete;
  SqliteLineageStore& operator=(const SqliteLineageStore&) = delete;

  absl::StatusOr<int64_t> BeginRun(const Run& run) override;
  absl::Status UpdateRun(const Run& run) override;
  absl::StatusOr<Run> GetRun(int64_t id) override;
  absl::StatusOr<std::vector<Run>> FindRuns(const RunFilter& filter) override;
  absl::Status DeleteRun(int64_t id) override;
  absl::StatusOr<int64_t> RecordExecution(Execution execution) override;
  absl::Status UpdateExecution(const Execution& execution) override;
  absl::StatusOr<Execution> GetExecution(int64_t id) override;
  absl::StatusOr<Artifact> GetArtifact(const Digest& digest) override;
  absl::StatusOr<std::vector<Execution>> ExecutionsOfRun(int64_t run_id) override;
  absl::StatusOr<std::vector<Execution>> ExecutionsOfStep(const std::string& step_name,
                                                          int limit = 100) override;
  absl::StatusOr<std::vector<Execution>> Producers(const Digest& digest) override;
  absl::StatusOr<std::vector<Execution>> Consumers(const Digest& digest) override;
  absl::StatusOr<Subgraph> Upstream(const LineageNode& from,
                                    const ClosureOptions& options = {}) override;
  absl::StatusOr<Subgraph> Downstream(const LineageNode& from,
                                      const ClosureOptions& options = {}) override;
  absl::Status Flush() override;

  const std::string& path() const { return path_; }

 private:
  struct Statements;

  SqliteLineageStore(std::string path, SqliteLineageOptions options,
                     std::unique_ptr<sqlite::Db> db);
  absl::Status Init();
  absl::Status PrepareStatements();
  // FAILED_PRECONDITION naming the path if the store is read-only.
  absl::Status CheckWritable() const;

  // All of these REQUIRE mu_ held.
  absl::Status FlushLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Writes `e` (replacing a row with its id) with its events, unless it is a cache hit
  // whose action's events another execution already carries (see the schema's notes); such
  // a hit that repeats that execution goes to the hits table. `e` is left as it was.
  absl::Status WriteExecution(Execution& e, bool force_events = false)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Writes the executions row of `e` (serialized as `proto`), without events.
  absl::Status InsertExecutionRow(const Execution& e, int64_t representative,
                                  const std::string& result_key, const std::string& proto,
                                  const std::string& template_blob)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Compact hits (sqlite_lineage_hits.cc; see the notes there).
  // Writes `e`, a hit of `representative`, as a hits row if it repeats the representative
  // in everything that row does not keep; sets `*written` if it did.
  absl::Status WriteCompactHit(Execution& e, const std::string& result_key,
                               int64_t representative, bool* written)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The compact hit with this id, rebuilt; NOT_FOUND if there is none.
  absl::StatusOr<Execution> LoadCompactHit(int64_t id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<bool> IsCompactHit(int64_t id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Turns the compact hits of `representative` (whose proto they repeat is `rep_proto`)
  // into full executions rows that name it.
  absl::Status MaterializeHits(int64_t representative, const Execution& rep_proto)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The compact hits of a run (id order), and of a step (newest first, at most `limit`).
  absl::StatusOr<std::vector<Execution>> CompactHitsOfRun(int64_t run_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::vector<Execution>> CompactHitsOfStep(const std::string& step_name,
                                                           int limit)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::vector<Execution>> CompactHits(sqlite::Statement& q)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Deletes the events of `e` (as its proto lists them), adding their digests to `*digests`
  // when it is not null.
  absl::Status DeleteEvents(const Execution& e, absl::flat_hash_set<Digest>* digests)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Deletes those of `digests` that no event names any more.
  absl::Status DeleteUnreferencedArtifacts(const absl::flat_hash_set<Digest>& digests)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Rolls back the write transaction and forgets what it may have cached.
  void Rollback() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The row id of the artifact `ref` names, inserting it (or filling in its empty type,
  // label and URI) as needed.
  absl::StatusOr<int64_t> ArtifactId(const ArtifactRef& ref) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Forgets the cached representatives and artifact ids if another connection has written
  // since the last check. REQUIRES: inside a write transaction.
  absl::Status CheckRepresentatives() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Points the hits that name `old_rep` (a representative that is going away or changing
  // its result) at another representative of `result`, or makes the oldest of them the
  // representative.
  absl::Status ReassignHits(int64_t old_rep, const std::string& result)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Reserves a block of execution ids in the database: [first, end).
  absl::StatusOr<std::pair<int64_t, int64_t>> ReserveIds() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CheckRunExists(int64_t run_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<Execution> LoadExecution(int64_t id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::vector<Execution>> LoadExecutions(const std::vector<int64_t>& ids)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<Artifact> LoadArtifact(const Digest& digest) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::vector<int64_t>> EdgeExecutions(const Digest& digest, int kind,
                                                      bool include_cache_hits)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<Subgraph> Closure(const LineageNode& from, const ClosureOptions& options,
                                   bool upstream) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FlusherLoop();
  // Replaces the queued (not yet written) execution with execution.id(), if there is one.
  bool UpdateQueued(const Execution& execution) ABSL_LOCKS_EXCLUDED(queue_mu_);

  const std::string path_;
  const SqliteLineageOptions options_;

  // std::mutex, not absl::Mutex: Debian's Abseil is not built with ThreadSanitizer.
  // mu_ guards the database connection; queue_mu_ the queue of unwritten executions, so
  // that recording never waits for a batch being written. Lock order: mu_, then queue_mu_.
  std::mutex mu_;
  std::unique_ptr<sqlite::Db> db_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<Statements> stmts_ ABSL_GUARDED_BY(mu_);
  // Artifact row ids by digest, known from this connection's writes and lookups; valid
  // while no other connection writes (as representatives_).
  absl::flat_hash_map<Digest, int64_t> artifact_ids_ ABSL_GUARDED_BY(mu_);
  int64_t id_block_size_ ABSL_GUARDED_BY(mu_) = 0;  // the next block's size
  // Representatives by result key, known from this connection's own writes and lookups;
  // valid while no other connection writes (data_version_ unchanged).
  struct Representative {
    explicit Representative(int64_t id) : id(id) {}
    int64_t id;
    // The digest of its proto without the fields a compact hit keeps, once computed.
    bool has_template = false;
    Digest template_digest;
  };
  absl::flat_hash_map<std::string, Representative> representatives_ ABSL_GUARDED_BY(mu_);
  int64_t data_version_ ABSL_GUARDED_BY(mu_) = -1;

  std::mutex queue_mu_ ABSL_ACQUIRED_AFTER(mu_);
  std::condition_variable queue_cv_;
  std::vector<Execution> pending_ ABSL_GUARDED_BY(queue_mu_);
  // Written batches, destroyed by the next RecordExecution: the threads that allocated the
  // records free them, which glibc's allocator does far faster than a foreign thread.
  std::vector<std::vector<Execution>> written_ ABSL_GUARDED_BY(queue_mu_);
  absl::Time oldest_pending_ ABSL_GUARDED_BY(queue_mu_);
  int64_t next_id_ ABSL_GUARDED_BY(queue_mu_) = 0;  // next id of the reserved block
  int64_t block_end_ ABSL_GUARDED_BY(queue_mu_) = 0;
  absl::flat_hash_set<int64_t> known_runs_ ABSL_GUARDED_BY(queue_mu_);
  bool stopping_ ABSL_GUARDED_BY(queue_mu_) = false;
  std::thread flusher_;

  // Read-only lookups for tools (the `mlops` command line); in sqlite_lineage_lookup.cc.
 public:
  absl::StatusOr<std::vector<Digest>> FindArtifactsByPrefix(absl::string_view hex_prefix,
                                                            int limit = 100) override;
  absl::StatusOr<std::vector<StepOutput>> StepOutputs() override;
  absl::StatusOr<RunCounts> CountExecutions(int64_t run_id) override;
};

}  // namespace mlops

#endif  // MLOPS_LINEAGE_SQLITE_LINEAGE_STORE_H_
