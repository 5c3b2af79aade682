#include "mlops/lineage/internal/tracking_schema.h"

#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "mlops/base/mutex.h"
#include "mlops/lineage/internal/columns.h"
#include "mlops/lineage/internal/tracking_writer.h"
#include "mlops/lineage/lineage.pb.h"

namespace mlops {
namespace lineage_internal {
namespace {

Mutex hook_mu;
std::function<void(absl::string_view)>* stage_hook ABSL_GUARDED_BY(hook_mu) = nullptr;

void Stage(absl::string_view name) {
  MutexLock lock(&hook_mu);
  if (stage_hook != nullptr) (*stage_hook)(name);
}

// Gives every run of an old database the experiment and name its proto lacks.
absl::Status UpgradeRuns(sqlite::Db& db) {
  absl::StatusOr<std::unique_ptr<sqlite::Statement>> read =
      db.Prepare("SELECT id, proto FROM runs ORDER BY id");
  absl::StatusOr<std::unique_ptr<sqlite::Statement>> write =
      db.Prepare("UPDATE runs SET name = ?1, proto = ?2 WHERE id = ?3");
  if (!read.ok()) return read.status();
  if (!write.ok()) return write.status();
  for (;;) {
    absl::StatusOr<bool> row = (*read)->Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::OkStatus();
    Run run;
    const absl::string_view blob = (*read)->Blob(1);
    if (!run.ParseFromArray(blob.data(), static_cast<int>(blob.size()))) {
      return Corrupt(db.path(), absl::StrCat("run ", (*read)->Int(0), " does not parse"));
    }
    run.set_id((*read)->Int(0));
    if (run.experiment().empty()) run.set_experiment("default");
    if (run.name().empty()) run.set_name(DefaultRunName(run.program(), run.id()));
    (*write)->BindText(1, run.name()).BindBlob(2, run.SerializeAsString()).Bind(3, run.id());
    absl::Status s = (*write)->Run();
    if (!s.ok()) return s;
  }
}

// Writes the tracked values of every execution recorded so far: full rows, then compact
// hits (their representative's params and metrics, for their runs).
absl::Status UpgradeValues(sqlite::Db& db) {
  TrackingWriter writer(db.path(), db);
  absl::StatusOr<std::unique_ptr<sqlite::Statement>> rows =
      db.Prepare("SELECT id, proto FROM executions ORDER BY id");
  if (!rows.ok()) return rows.status();
  absl::flat_hash_map<int64_t, Execution> logged;  // executions that logged values, by id
  for (;;) {
    absl::StatusOr<bool> row = (*rows)->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    Execution e;
    const absl::string_view blob = (*rows)->Blob(1);
    if (!e.ParseFromArray(blob.data(), static_cast<int>(blob.size()))) {
      return Corrupt(db.path(), absl::StrCat("execution ", (*rows)->Int(0), " does not parse"));
    }
    e.set_id((*rows)->Int(0));
    if (e.params().empty() && e.metrics().empty()) continue;
    absl::Status s = writer.WriteExecutionValues(e);
    if (!s.ok()) return s;
    if (!e.cache_hit()) {
      for (const auto& [key, value] : e.metrics()) {
        PointsAppend one{MetricOwner::OfExecution(e.run_id(), e.id()), key, {}};
        one.points.push_back(
            MetricPoint{0, value, absl::FromUnixMicros(Micros(e.end_time()))});
        s = writer.Append(one);
        if (!s.ok()) return s;
      }
    }
    logged.emplace(e.id(), std::move(e));
  }
  absl::StatusOr<std::unique_ptr<sqlite::Statement>> hits =
      db.Prepare("SELECT id, run_id, rep_id, end_ns FROM hits ORDER BY id");
  if (!hits.ok()) return hits.status();
  for (;;) {
    absl::StatusOr<bool> row = (*hits)->Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::OkStatus();
    auto rep = logged.find((*hits)->Int(2));
    if (rep == logged.end()) continue;  // its representative logged nothing
    Execution hit = rep->second;
    hit.set_id((*hits)->Int(0));
    hit.set_run_id((*hits)->Int(1));
    hit.set_cache_hit(true);
    const int64_t end_ns = (*hits)->Int(3);
    hit.mutable_end_time()->set_seconds(end_ns / 1000000000);
    hit.mutable_end_time()->set_nanos(static_cast<int32_t>(end_ns % 1000000000));
    absl::Status s = writer.WriteExecutionValues(hit);
    if (!s.ok()) return s;
  }
}

}  // namespace

std::string DefaultRunName(absl::string_view program, int64_t id) {
  absl::string_view base = program;
  if (size_t slash = base.find_last_of('/'); slash != absl::string_view::npos) {
    base.remove_prefix(slash + 1);
  }
  if (base.empty()) base = "run";
  if (base.size() > 200) base = base.substr(0, 200);
  return absl::StrCat(base, "-", id);
}

absl::Status UpgradeFromVersion2(sqlite::Db& db) {
  absl::Status s = db.Exec(
      "ALTER TABLE runs ADD COLUMN experiment_id INTEGER NOT NULL DEFAULT 1;"
      "ALTER TABLE runs ADD COLUMN name TEXT NOT NULL DEFAULT '';");
  if (!s.ok()) return s;
  Stage("columns");
  s = db.Exec(kTrackingSchema);
  if (!s.ok()) return s;
  Stage("tables");
  s = UpgradeRuns(db);
  if (!s.ok()) return s;
  Stage("runs");
  s = UpgradeValues(db);
  if (!s.ok()) return s;
  Stage("values");
  return absl::OkStatus();
}

absl::Status ReadVersion2AsVersion3(sqlite::Db& db) {
  // Temporary objects shadow the file's: `runs` reads as the view.
  std::string tables = absl::StrReplaceAll(
      kTrackingSchema,
      {{"CREATE TABLE IF NOT EXISTS ", "CREATE TEMP TABLE IF NOT EXISTS "},
       {"CREATE INDEX IF NOT EXISTS runs_by_experiment ON runs(experiment_id, start_us);", ""}});
  const std::string sql = absl::StrCat(
      "PRAGMA query_only=0;", tables,
      "CREATE TEMP VIEW IF NOT EXISTS runs AS SELECT id, program, status, start_us, end_us, "
      "proto, 1 AS experiment_id, replace(program, rtrim(program, replace(program, '/', '')), "
      "'') || '-' || id AS name FROM main.runs;"
      "PRAGMA query_only=1;");
  return db.Exec(sql.c_str());
}

void SetUpgradeStageHookForTesting(std::function<void(absl::string_view stage)> hook) {
  MutexLock lock(&hook_mu);
  delete stage_hook;
  stage_hook = hook ? new std::function<void(absl::string_view)>(std::move(hook)) : nullptr;
}

}  // namespace lineage_internal
}  // namespace mlops
