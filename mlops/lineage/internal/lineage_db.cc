#include "mlops/lineage/internal/lineage_db.h"

#include <cstdio>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "mlops/lineage/internal/recovery.h"

namespace mlops {
namespace lineage_internal {
namespace {

// `s`, for a read-only store, saying how the damage it reports is recovered.
absl::Status HowToRecover(const absl::Status& s, const std::string& path) {
  return sqlite::WithFault(
      absl::Status(s.code(),
                   absl::StrCat(s.message(), "; the lineage database ", path,
                                " is damaged. Open it read-write to recover it: any program "
                                "that opens the workspace (mlops::Workspace::Open) moves the "
                                "damaged file aside and starts a new one with what can still "
                                "be read")),
      sqlite::FaultOf(s), sqlite::ResultCodeOf(s));
}

}  // namespace

absl::StatusOr<std::unique_ptr<LineageDb>> LineageDb::Open(const std::string& path,
                                                           const SqliteLineageOptions& options,
                                                           RecordQueue* queue) {
  std::unique_ptr<LineageDb> db(new LineageDb(path, options, queue));
  MutexLock lock(&db->mu_);
  absl::Status s = db->Connect();
  if (sqlite::IsDamage(s)) s = db->Damaged(s, 0);
  if (!s.ok()) return s;
  return db;
}

LineageDb::~LineageDb() {
  MutexLock lock(&mu_);
  std::optional<sqlite::RecoveryLock> shared;
  if (recovers() && conn_ != nullptr) shared.emplace(path_, sqlite::RecoveryLock::kShared);
  conn_.reset();
}

absl::Status LineageDb::Connect() {
  conn_.reset();
  std::optional<sqlite::RecoveryLock> shared;
  if (recovers()) shared.emplace(path_, sqlite::RecoveryLock::kShared);
  absl::StatusOr<std::unique_ptr<LineageConnection>> conn =
      LineageConnection::Open(path_, options_);
  if (!conn.ok()) {
    // Under the lock, the file refused: a recovery moves that one aside, and no other.
    absl::StatusOr<sqlite::FileId> id = sqlite::IdOf(path_);
    failed_file_ = id.ok() ? *id : sqlite::FileId();
    return conn.status();
  }
  conn_ = *std::move(conn);
  return absl::OkStatus();
}

absl::Status LineageDb::Follow() {
  if (conn_ == nullptr) return Connect();
  if (!recovers()) return absl::OkStatus();
  absl::StatusOr<sqlite::FileId> now = sqlite::IdOf(path_);
  if (now.ok() && *now == conn_->file) return absl::OkStatus();
  return Connect();  // replaced by another process's recovery
}

absl::Status LineageDb::Damaged(const absl::Status& why, int attempt) {
  if (options_.read_only) return HowToRecover(why, path_);
  if (!recovers() || attempt > 0) return why;
  if (recoveries_ >= kMaxRecoveries) {
    return absl::Status(
        why.code(),
        absl::StrCat(why.message(), " (the lineage database was recovered ", recoveries_,
                     " times by this process already: is the "
                     "disk failing?)"));
  }
  // The file the damage was met in: the connected one, or the one Connect refused.
  sqlite::FileId damaged = failed_file_;
  if (conn_ != nullptr) {
    damaged = conn_->file;
    sqlite::LeaveAsIs(*conn_->db);
    conn_.reset();
  }
  RecoveryInputs inputs;
  for (const auto& [id, run] : own_runs_) inputs.own_runs.push_back(run);
  inputs.known_runs = queue_->KnownRuns();
  inputs.known_runs.insert(inputs.known_runs.end(), writing_runs_.begin(), writing_runs_.end());
  inputs.reserved_ids_end = queue_->ReservedIdsEnd();
  inputs.run_id = last_run_;
  absl::StatusOr<std::optional<LineageRecovery>> recovered =
      RecoverLineageFile(path_, options_, why, damaged, inputs);
  if (!recovered.ok()) {
    return absl::Status(why.code(), absl::StrCat(why.message(),
                                                 "; and the damaged lineage database could "
                                                 "not be recovered (",
                                                 recovered.status().message(), "): move ", path_,
                                                 " aside (with its -wal and -shm files) "
                                                 "to start a new one"));
  }
  if (recovered->has_value()) {
    ++recoveries_;
    const LineageRecovery& r = **recovered;
    if (r.run_id() == 0) recovery_without_run_ = r.id();
    // Said once, by the process that recovered it; also recorded (SqliteLineageStore::
    // Recoveries, `mlops runs`).
    std::fprintf(stderr, "mlops: %s\n", DescribeRecovery(path_, r).c_str());
  }
  return Connect();
}

absl::Status LineageDb::Flush(RecordQueue& queue) {
  // Points first: the executions they belong to were queued before them.
  std::vector<PointsAppend> points = queue.TakePoints();
  std::vector<Execution> batch = queue.TakeBatch();
  if (batch.empty() && points.empty()) return absl::OkStatus();
  writing_runs_.clear();
  for (const Execution& e : batch) {
    if (e.run_id() != 0 && (writing_runs_.empty() || writing_runs_.back() != e.run_id())) {
      writing_runs_.push_back(e.run_id());
    }
  }
  for (const PointsAppend& p : points) {
    if (p.owner.run_id != 0) writing_runs_.push_back(p.owner.run_id);
  }
  absl::Status s = Write([&](LineageWriter& w) { return w.WriteBatch(batch, points); });
  writing_runs_.clear();
  if (!s.ok()) {
    queue.Requeue(std::move(batch));  // in front of anything queued meanwhile, to retry
    queue.RequeuePoints(std::move(points));
    return s;
  }
  queue.Written(std::move(batch));
  return absl::OkStatus();
}

absl::Status LineageDb::CheckRunExists(int64_t run_id, RecordQueue& queue) {
  if (queue.KnowsRun(run_id)) return absl::OkStatus();
  absl::Status s = Read([&](LineageReader& r) { return r.CheckRunExists(run_id); });
  if (!s.ok()) return s;
  queue.AddKnownRun(run_id);
  return absl::OkStatus();
}

absl::StatusOr<int64_t> LineageDb::BeginRun(const Run& run) {
  absl::StatusOr<int64_t> id = Write([&](LineageWriter& w) { return w.BeginRun(run); });
  if (!id.ok()) return id;
  Run& own = own_runs_[*id] = run;
  own.set_id(*id);
  last_run_ = *id;
  if (recovery_without_run_ != 0) {
    // The run of the process that recovered the file when it opened it. Only a record of
    // it: a failure loses nothing else.
    Write([&](LineageWriter&) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return SetRecoveryRun(*conn_->db, recovery_without_run_, *id);
    }).IgnoreError();
    recovery_without_run_ = 0;
  }
  return id;
}

absl::Status LineageDb::UpdateRun(const Run& run) {
  absl::Status s = Write([&](LineageWriter& w) { return w.UpdateRun(run); });
  if (s.ok()) {
    if (auto it = own_runs_.find(run.id()); it != own_runs_.end()) it->second = run;
  }
  return s;
}

absl::StatusOr<std::vector<LineageRecovery>> LineageDb::Recoveries() {
  return Read([&](LineageReader&) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return ReadRecoveries(*conn_->db, path_);
  });
}

}  // namespace lineage_internal
}  // namespace mlops
