// Internal: the tables of experiment tracking (schema 3, see tracking.h), and the upgrade of
// a version 2 lineage database to version 3.
//
// Tables (times in microseconds since the epoch; a REAL that SQLite holds as NULL is a NaN,
// which SQLite cannot store as a number):
//   experiments(id, name)                 1 is "default"; runs.experiment_id names one.
//   run_tags(run_id, key, value)          mutable.
//   run_params(run_id, key, value, execution_id)
//       a run's params as search sees them (tracking.h): its own (execution_id 0, written
//       once) or the latest execution's that logged the key.
//   run_metrics(run_id, key, value, step, time_us, execution_id)
//       a run's metrics as search sees them: the last point of the series logged last
//       (execution_id 0: the run's own).
//   execution_params(execution_id, key, value), execution_metrics(execution_id, key,
//       value, step, time_us)
//       of executions that computed their result (cache hits take their representative's).
//   metric_points(owner, key, chunk, points)
//       the series: owner is an execution id, or minus a run id for a run's own series;
//       each append writes new chunks (numbered on from the last) of up to kPointsPerChunk
//       points, each 24 bytes: step (int64), value (double bits), time_us (int64), all
//       little-endian.
// The *_by_key indexes let a search start from the runs that have a given key and value.
//
// Thread safety: the functions take the connection, which the caller owns.
#ifndef MLOPS_LINEAGE_INTERNAL_TRACKING_SCHEMA_H_
#define MLOPS_LINEAGE_INTERNAL_TRACKING_SCHEMA_H_

#include <functional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "mlops/base/internal/sqlite.h"

namespace mlops {
namespace lineage_internal {

inline constexpr char kTrackingSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS experiments(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE);
INSERT OR IGNORE INTO experiments VALUES(1, 'default');
CREATE INDEX IF NOT EXISTS runs_by_experiment ON runs(experiment_id, start_us);
CREATE TABLE IF NOT EXISTS run_tags(
  run_id INTEGER NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY(run_id, key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS run_tags_by_key ON run_tags(key, value);
CREATE TABLE IF NOT EXISTS run_params(
  run_id INTEGER NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  execution_id INTEGER NOT NULL,
  PRIMARY KEY(run_id, key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS run_params_by_key ON run_params(key, value);
CREATE TABLE IF NOT EXISTS run_metrics(
  run_id INTEGER NOT NULL,
  key TEXT NOT NULL,
  value REAL,
  step INTEGER NOT NULL,
  time_us INTEGER NOT NULL,
  execution_id INTEGER NOT NULL,
  PRIMARY KEY(run_id, key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS run_metrics_by_key ON run_metrics(key, value);
CREATE TABLE IF NOT EXISTS execution_params(
  execution_id INTEGER NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY(execution_id, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS execution_metrics(
  execution_id INTEGER NOT NULL,
  key TEXT NOT NULL,
  value REAL,
  step INTEGER NOT NULL,
  time_us INTEGER NOT NULL,
  PRIMARY KEY(execution_id, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS metric_points(
  owner INTEGER NOT NULL,
  key TEXT NOT NULL,
  chunk INTEGER NOT NULL,
  points BLOB NOT NULL,
  PRIMARY KEY(owner, key, chunk)) WITHOUT ROWID;
)sql";

// Points per metric_points row.
inline constexpr int kPointsPerChunk = 4096;

// Upgrades a version 2 database to version 3, inside the caller's write transaction
// (OpenOwned's, which then sets the version): adds the runs' experiment and name (every
// old run in "default", named "<program's base name>-<id>"), the tracking tables, and
// fills them from what the executions recorded (their params and metrics, each metric as
// one point at step 0 at the execution's end). A failure, or a crash, before the commit
// leaves the database at version 2 as it was.
absl::Status UpgradeFromVersion2(sqlite::Db& db);

// For a version 2 database opened read-only (which cannot be upgraded): temporary tables
// and a view that make it read as a version 3 database whose runs are in "default", with
// their default names, and have no tracked values (the upgrade, at the first read-write
// open, fills them in from the executions' records).
absl::Status ReadVersion2AsVersion3(sqlite::Db& db);

// For tests of the upgrade: called after each stage of UpgradeFromVersion2 with its name
// ("columns", "tables", "runs", "values"); null by default. Set it before opening.
void SetUpgradeStageHookForTesting(std::function<void(absl::string_view stage)> hook);

// "<base name of program>-<id>", the default name of a run.
std::string DefaultRunName(absl::string_view program, int64_t id);

}  // namespace lineage_internal
}  // namespace mlops

#endif  // MLOPS_LINEAGE_INTERNAL_TRACKING_SCHEMA_H_
