#include "mlops/lineage/internal/salvage.h"

#include <algorithm>
#include <memory>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "mlops/lineage/internal/columns.h"
#include "mlops/lineage/internal/key_scan.h"
#include "mlops/lineage/internal/tracking_schema.h"

namespace mlops {
namespace lineage_internal {
namespace {

// Executions are written in transactions of this many.
constexpr size_t kBatch = 1000;
// Where the old block of ids cannot be read: room above the salvaged ids for ids other
// processes may have reserved (16 blocks of the largest size, record_queue.cc).
constexpr int64_t kIdMargin = int64_t{1} << 24;

template <typename M>
bool ParseBlob(absl::string_view blob, M* m) {
  return m->ParseFromArray(blob.data(), static_cast<int>(blob.size()));
}

// The writes of a salvage into `to`, and what it has written.
class Salvager {
 public:
  Salvager(sqlite::Db* from, LineageConnection& to, const RecoveryInputs& inputs)
      : from_(from), to_(to), inputs_(inputs) {}

  absl::StatusOr<SalvageCounts> All() {
    absl::Status s;
    if (from_ != nullptr) {
      s = to_.db->Exec("BEGIN");
      if (s.ok()) s = CopyRuns();
      if (s.ok()) s = to_.db->Exec("COMMIT");
      if (s.ok()) s = CopyExecutions();
      if (s.ok()) s = CopyCompactHits();
    } else {
      counts_.complete = false;
    }
    if (s.ok()) s = to_.db->Exec("BEGIN");
    if (s.ok() && from_ != nullptr) s = CopyRecoveries();
    if (s.ok() && from_ != nullptr) s = CopyTracking();
    if (s.ok()) s = RecreateRuns();
    if (s.ok()) s = ContinueIds();
    if (s.ok()) s = to_.db->Exec("COMMIT");
    if (!s.ok()) return s;
    return counts_;
  }

 private:
  absl::Status InsertRun(Run run) {
    if (run.experiment().empty()) run.set_experiment("default");
    if (run.name().empty()) run.set_name(DefaultRunName(run.program(), run.id()));
    absl::StatusOr<std::unique_ptr<sqlite::Statement>> exp =
        to_.db->Prepare("INSERT OR IGNORE INTO experiments(name) VALUES(?1)");
    if (!exp.ok()) return exp.status();
    absl::Status s = (*exp)->BindText(1, run.experiment()).Run();
    if (!s.ok()) return s;
    absl::StatusOr<std::unique_ptr<sqlite::Statement>> ins = to_.db->Prepare(
        "INSERT OR REPLACE INTO runs(id, program, status, start_us, end_us, proto, "
        "experiment_id, name) VALUES(?1, ?2, ?3, ?4, ?5, ?6, "
        "(SELECT id FROM experiments WHERE name = ?7), ?8)");
    if (!ins.ok()) return ins.status();
    (*ins)
        ->Bind(1, run.id())
        .BindText(2, run.program())
        .Bind(3, run.status())
        .Bind(4, Micros(run.start_time()))
        .Bind(5, Micros(run.end_time()))
        .BindBlob(6, run.SerializeAsString())
        .BindText(7, run.experiment())
        .BindText(8, run.name());
    s = (*ins)->Run();
    if (s.ok()) runs_.insert(run.id());
    return s;
  }

  absl::Status CopyRuns() {
    return ScanTable(*from_, "runs", "id, proto", false, &counts_.complete,
                     [this](sqlite::Statement& q) { return RunRow(q); });
  }

  // A row (id, proto) of the runs table.
  absl::Status RunRow(sqlite::Statement& q) {
    Run run;
    if (!ParseBlob(q.Blob(1), &run) || (run.id() != 0 && run.id() != q.Int(0))) {
      counts_.complete = false;
      return absl::OkStatus();
    }
    run.set_id(q.Int(0));
    if (run.program().empty()) run.set_program("(unknown)");
    ++counts_.runs;
    return InsertRun(run);
  }

  // Queues `e` to be written if it reads whole.
  absl::Status Add(Execution e, int64_t id) {
    if ((e.id() != 0 && e.id() != id) || !ValidateExecution(e).ok()) {
      counts_.complete = false;
      return absl::OkStatus();
    }
    e.set_id(id);
    max_id_ = std::max(max_id_, id);
    if (e.run_id() != 0) {
      auto [it, added] = run_starts_.try_emplace(e.run_id(), e.start_time());
      if (!added && Micros(e.start_time()) < Micros(it->second)) it->second = e.start_time();
    }
    counts_.events += e.inputs_size() + e.outputs_size();
    batch_.push_back(std::move(e));
    return batch_.size() >= kBatch ? WriteBatch() : absl::OkStatus();
  }

  absl::Status WriteBatch() {
    if (batch_.empty()) return absl::OkStatus();
    absl::Status s = to_.writer->WriteBatch(batch_);
    counts_.executions += static_cast<int64_t>(batch_.size());
    batch_.clear();
    return s;
  }

  absl::Status CopyExecutions() {
    absl::Status s = ScanTable(*from_, "executions", "id, proto", false, &counts_.complete,
                               [this](sqlite::Statement& q) {
                                 Execution e;
                                 if (ParseBlob(q.Blob(1), &e)) return Add(std::move(e), q.Int(0));
                                 counts_.complete = false;
                                 return absl::OkStatus();
                               });
    if (!s.ok()) return s;
    return WriteBatch();
  }

  // Compact hits, rebuilt from their representatives (CompactHits::Load on `from`).
  absl::Status CopyCompactHits() {
    absl::StatusOr<std::unique_ptr<Statements>> stmts = PrepareStatements(*from_, true);
    if (!stmts.ok()) {
      counts_.complete = false;
      return absl::OkStatus();
    }
    CompactHits hits(from_->path(), **stmts);
    absl::Status s =
        ScanTable(*from_, "hits", "id", false, &counts_.complete, [&](sqlite::Statement& q) {
          absl::StatusOr<Execution> hit = hits.Load(q.Int(0));
          if (hit.ok()) return Add(*std::move(hit), q.Int(0));
          if (!sqlite::IsDamage(hit.status())) return hit.status();
          counts_.complete = false;  // its representative is unreadable
          return absl::OkStatus();
        });
    if (!s.ok()) return s;
    return WriteBatch();
  }

  // The tables of experiment tracking (tracking_schema.h), row by row as they are, over
  // what the executions written above rebuilt from their records; each up to the first
  // damage met (their keys are not integers, so there is no stepping over it). A database
  // from before tracking has none.
  absl::Status CopyTracking() {
    for (const char* table : {"run_tags", "run_params", "run_metrics", "execution_params",
                              "execution_metrics", "metric_points"}) {
      absl::StatusOr<std::unique_ptr<sqlite::Statement>> rows =
          from_->Prepare(absl::StrCat("SELECT * FROM ", table).c_str());
      if (!rows.ok()) continue;  // no such table (or its schema is unreadable)
      const int columns = sqlite3_column_count((*rows)->get());
      std::string sql = absl::StrCat("INSERT OR REPLACE INTO ", table, " VALUES(?1");
      for (int c = 2; c <= columns; ++c) absl::StrAppend(&sql, ", ?", c);
      sql += ")";
      absl::StatusOr<std::unique_ptr<sqlite::Statement>> ins = to_.db->Prepare(sql.c_str());
      if (!ins.ok()) return ins.status();
      for (;;) {
        absl::StatusOr<bool> row = (*rows)->Step();
        if (!row.ok()) {
          if (!sqlite::IsDamage(row.status())) return row.status();
          counts_.complete = false;
          break;
        }
        if (!*row) break;
        for (int c = 0; c < columns; ++c) {
          sqlite3_bind_value((*ins)->get(), c + 1, sqlite3_column_value((*rows)->get(), c));
        }
        absl::Status s = (*ins)->Run();
        if (!s.ok()) return s;
      }
    }
    return absl::OkStatus();
  }

  absl::Status CopyRecoveries() {
    absl::StatusOr<std::unique_ptr<sqlite::Statement>> ins =
        to_.db->Prepare("INSERT OR REPLACE INTO recoveries(id, run_id, proto) VALUES(?1, ?2, ?3)");
    if (!ins.ok()) return ins.status();
    return ScanTable(
        *from_, "recoveries", "id, run_id, proto", true, &counts_.complete,
        [&](sqlite::Statement& q) {
          LineageRecovery r;
          if (!ParseBlob(q.Blob(2), &r)) return absl::OkStatus();
          return (*ins)->Bind(1, q.Int(0)).Bind(2, q.Int(1)).BindBlob(3, q.Blob(2)).Run();
        });
  }

  // Every run that salvaged executions or the recovering process need.
  absl::Status RecreateRuns() {
    absl::flat_hash_map<int64_t, const Run*> own;
    for (const Run& r : inputs_.own_runs) own[r.id()] = &r;
    std::vector<int64_t> needed(inputs_.known_runs);
    for (const auto& [id, start] : run_starts_) needed.push_back(id);
    for (const Run& r : inputs_.own_runs) needed.push_back(r.id());
    std::sort(needed.begin(), needed.end());
    needed.erase(std::unique(needed.begin(), needed.end()), needed.end());
    for (int64_t id : needed) {
      if (id <= 0 || runs_.contains(id)) continue;
      Run run;
      if (auto it = own.find(id); it != own.end()) {
        run = *it->second;
      } else {
        run.set_id(id);
        run.set_program("(unknown: record damaged)");
        if (auto it = run_starts_.find(id); it != run_starts_.end()) {
          *run.mutable_start_time() = it->second;
        }
      }
      ++counts_.runs_recreated;
      absl::Status s = InsertRun(run);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  // Execution ids continue above every id given out; run ids above every run id.
  absl::Status ContinueIds() {
    int64_t next = std::max(max_id_ + 1, inputs_.reserved_ids_end);
    absl::StatusOr<int64_t> old_next = absl::UnavailableError("no file");
    if (from_ != nullptr) {
      old_next = from_->QueryInt("SELECT next FROM id_blocks WHERE kind = 'execution'");
    }
    next = old_next.ok() ? std::max(next, *old_next) : next + kIdMargin;
    absl::StatusOr<std::unique_ptr<sqlite::Statement>> ids =
        to_.db->Prepare("UPDATE id_blocks SET next = ?1 WHERE kind = 'execution'");
    if (!ids.ok()) return ids.status();
    absl::Status s = (*ids)->Bind(1, next).Run();
    if (!s.ok()) return s;
    if (from_ == nullptr) return absl::OkStatus();
    absl::StatusOr<int64_t> old_seq =
        from_->QueryInt("SELECT seq FROM sqlite_sequence WHERE name = 'runs'");
    if (!old_seq.ok()) return absl::OkStatus();
    absl::StatusOr<std::unique_ptr<sqlite::Statement>> seq = to_.db->Prepare(
        "INSERT INTO sqlite_sequence(name, seq) SELECT 'runs', ?1 "
        "WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'runs')");
    if (!seq.ok()) return seq.status();
    s = (*seq)->Bind(1, *old_seq).Run();
    if (!s.ok()) return s;
    seq = to_.db->Prepare("UPDATE sqlite_sequence SET seq = max(seq, ?1) WHERE name = 'runs'");
    if (!seq.ok()) return seq.status();
    return (*seq)->Bind(1, *old_seq).Run();
  }

  sqlite::Db* const from_;  // null: nothing could be read
  LineageConnection& to_;
  const RecoveryInputs& inputs_;
  SalvageCounts counts_;
  std::vector<Execution> batch_;
  absl::flat_hash_set<int64_t> runs_;                                     // written
  absl::flat_hash_map<int64_t, google::protobuf::Timestamp> run_starts_;  // earliest
  int64_t max_id_ = 0;
};

}  // namespace

absl::StatusOr<SalvageCounts> Salvage(sqlite::Db* from, LineageConnection& to,
                                      const RecoveryInputs& inputs) {
  return Salvager(from, to, inputs).All();
}

}  // namespace lineage_internal
}  // namespace mlops
