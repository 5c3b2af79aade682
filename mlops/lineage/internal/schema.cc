#include "mlops/lineage/internal/schema.h"

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "mlops/base/internal/sqlite_file.h"
#include "mlops/lineage/internal/tracking_schema.h"

namespace mlops {
namespace lineage_internal {
namespace {

// An execution's events are also in its proto, so the events table is keyed only for the
// lookups by artifact (producers, consumers); the events of one execution are read from its
// proto. Events name artifacts by a row id given in order of first sight, not by digest: a
// new output's events then append rather than land at random places in the index, and only
// the digest → id index takes a random write per artifact.
//
// Cache hits are most of the executions of a warm pipeline, and each repeats the inputs and
// outputs of the execution that computed its action. So among the executions with the same
// result (action key and outputs: result_key), one, the representative (rep_id = 0),
// carries the event rows; a hit names its representative in rep_id instead. Indexing hits
// by representative (ids that arrive in near order) rather than by action key (random)
// keeps a warm run's index writes sequential. When a representative is deleted, another
// execution of the action takes its place.
//
// A hit that repeats its representative in everything but its id, run, status and times is
// a compact hit (compact_hits.h): a row of `hits` instead of one of `executions` with its
// proto. Execution ids are unique across both tables. A representative keeps in `template`
// the digest such a hit must match (empty for other rows, and for representatives of
// databases upgraded from development builds: it is then computed when needed).
//
// A damaged database is replaced by a new one holding what could be read of it
// (recovery.h); `recoveries` keeps a LineageRecovery per replacement, with run_id as a
// column of its own so that it can be set once that run begins. Version 2 databases made
// before it lack the table: readers take that as no recoveries (only a recovery writes it,
// into a database it has just created).
//
// Experiment tracking (schema 3, tracking.h) adds the experiment and name of each run as
// columns of `runs` (experiment 1 is "default") and the tables of kTrackingSchema
// (tracking_schema.h), which an upgrade from version 2 adds to an older database.
//
// Every statement is idempotent so that two processes creating the schema at once both
// succeed (the second, inside its own IMMEDIATE transaction, sees the first's tables).
constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS runs(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  program TEXT NOT NULL,
  status INTEGER NOT NULL,
  start_us INTEGER NOT NULL,
  end_us INTEGER NOT NULL,
  proto BLOB NOT NULL,
  experiment_id INTEGER NOT NULL DEFAULT 1,
  name TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS runs_by_program ON runs(program, start_us);
CREATE INDEX IF NOT EXISTS runs_by_start ON runs(start_us);
CREATE TABLE IF NOT EXISTS executions(
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL,
  step TEXT NOT NULL,
  action_key BLOB NOT NULL,
  status INTEGER NOT NULL,
  cache_hit INTEGER NOT NULL,
  rep_id INTEGER NOT NULL,
  result_key BLOB NOT NULL,
  start_us INTEGER NOT NULL,
  end_us INTEGER NOT NULL,
  proto BLOB NOT NULL,
  template BLOB NOT NULL DEFAULT x'');
CREATE INDEX IF NOT EXISTS executions_by_run ON executions(run_id);
CREATE INDEX IF NOT EXISTS executions_by_result ON executions(result_key) WHERE rep_id = 0;
CREATE INDEX IF NOT EXISTS executions_by_rep ON executions(rep_id) WHERE rep_id != 0;
CREATE INDEX IF NOT EXISTS executions_by_step ON executions(step, start_us);
CREATE TABLE IF NOT EXISTS artifacts(
  id INTEGER PRIMARY KEY,
  digest BLOB NOT NULL UNIQUE,
  type_name TEXT NOT NULL,
  size INTEGER NOT NULL,
  label TEXT NOT NULL,
  uri TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events(
  artifact_id INTEGER NOT NULL,
  kind INTEGER NOT NULL,
  execution_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  PRIMARY KEY(artifact_id, kind, execution_id, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS id_blocks(kind TEXT PRIMARY KEY, next INTEGER NOT NULL);
INSERT OR IGNORE INTO id_blocks VALUES('execution', 1);
CREATE TABLE IF NOT EXISTS hits(
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL,
  rep_id INTEGER NOT NULL,
  start_ns INTEGER NOT NULL,
  end_ns INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS hits_by_run ON hits(run_id);
CREATE INDEX IF NOT EXISTS hits_by_rep ON hits(rep_id);
CREATE TABLE IF NOT EXISTS recoveries(
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL,
  proto BLOB NOT NULL);
)sql";

}  // namespace

absl::StatusOr<std::unique_ptr<sqlite::Db>> OpenLineageDb(const std::string& path,
                                                          const SqliteLineageOptions& options) {
  if (options.read_only && path == ":memory:") {
    return absl::InvalidArgumentError("a read-only lineage store needs a database file");
  }
  sqlite::OwnedFile file;
  file.name = "lineage";
  file.description = "mlops lineage";
  file.application_id = kLineageApplicationId;
  file.schema_version = SqliteLineageStore::kSchemaVersion;
  // Version 1 was only ever written by builds during development (it had no compact hits);
  // version 2 (without tracking) is upgraded.
  file.check_version = [&path](int64_t version) {
    if (version == 2) return absl::OkStatus();
    return absl::FailedPreconditionError(absl::StrCat(
        path, " was written by a development build of mlops (lineage schema version ",
        version, ", which no release wrote); this build reads version ",
        SqliteLineageStore::kSchemaVersion,
        " only. Its records cannot be read: move it aside (with its -wal and -shm files) "
        "to record a new lineage there"));
  };
  file.create_schema = [](sqlite::Db& db, int64_t version) {
    if (version == 2) return UpgradeFromVersion2(db);
    absl::Status s = db.Exec(kSchema);
    if (s.ok()) s = db.Exec(kTrackingSchema);
    return s;
  };
  file.busy_timeout = options.busy_timeout;
  file.read_only = options.read_only;
  absl::StatusOr<std::unique_ptr<sqlite::Db>> db = sqlite::OpenOwned(path, file);
  if (!db.ok() || path == ":memory:") return db;
  if (options.read_only) {
    absl::StatusOr<int64_t> version = (*db)->QueryInt("PRAGMA user_version");
    if (!version.ok()) return version.status();
    if (*version == 2) {
      absl::Status s = ReadVersion2AsVersion3(**db);
      if (!s.ok()) return s;
    }
    return db;
  }
  // Room for the pages a large batch touches, and checkpoints of 64 MB of WAL at a time.
  absl::Status s = (*db)->Exec("PRAGMA cache_size=-262144; PRAGMA wal_autocheckpoint=16384;");
  if (!s.ok()) return s;
  return db;
}

}  // namespace lineage_internal
}  // namespace mlops
