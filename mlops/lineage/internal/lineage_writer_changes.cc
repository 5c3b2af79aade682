// LineageWriter: runs, and the changes of what is written (UpdateExecution, DeleteRun) that
// hand the events of cache hits on from a representative that changes or goes away.
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "mlops/lineage/internal/columns.h"
#include "mlops/lineage/internal/lineage_writer.h"
#include "mlops/lineage/internal/tracking_schema.h"

namespace mlops {
namespace lineage_internal {

absl::StatusOr<int64_t> LineageWriter::ExperimentId(absl::string_view name) {
  absl::StatusOr<std::unique_ptr<sqlite::Statement>> add =
      db_.Prepare("INSERT OR IGNORE INTO experiments(name) VALUES(?1)");
  if (!add.ok()) return add.status();
  absl::Status s = (*add)->BindText(1, name).Run();
  if (!s.ok()) return s;
  absl::StatusOr<std::unique_ptr<sqlite::Statement>> get =
      db_.Prepare("SELECT id FROM experiments WHERE name = ?1");
  if (!get.ok()) return get.status();
  (*get)->BindText(1, name);
  absl::StatusOr<bool> row = (*get)->Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::InternalError(absl::StrCat("experiment '", name, "' went missing"));
  return (*get)->Int(0);
}

absl::Status LineageWriter::SetRunTag(int64_t run_id, absl::string_view key,
                                      absl::string_view value) {
  absl::Status s = stmts_.begin->Run();
  if (s.ok()) s = tracking_.SetRunTag(run_id, key, value);
  if (s.ok()) s = stmts_.commit->Run();
  if (!s.ok()) Rollback();
  return s;
}

absl::Status LineageWriter::LogRunParam(int64_t run_id, absl::string_view key,
                                        absl::string_view value) {
  absl::Status s = stmts_.begin->Run();
  if (s.ok()) s = tracking_.LogRunParam(run_id, key, value);
  if (s.ok()) s = stmts_.commit->Run();
  if (!s.ok()) Rollback();
  return s;
}

absl::StatusOr<int64_t> LineageWriter::BeginRun(const Run& run) {
  absl::Status s = stmts_.begin->Run();
  if (!s.ok()) return s;
  int64_t id = 0;
  {
    absl::StatusOr<std::unique_ptr<sqlite::Statement>> ins = db_.Prepare(
        "INSERT INTO runs(program, status, start_us, end_us, proto, experiment_id) "
        "VALUES(?1, ?2, ?3, ?4, x'', ?5)");
    absl::StatusOr<int64_t> experiment = ExperimentId(run.experiment());
    if (!ins.ok()) s = ins.status();
    if (s.ok() && !experiment.ok()) s = experiment.status();
    if (s.ok()) {
      (*ins)->BindText(1, run.program())
          .Bind(2, run.status())
          .Bind(3, Micros(run.start_time()))
          .Bind(4, Micros(run.end_time()))
          .Bind(5, *experiment);
      s = (*ins)->Run();
    }
    id = sqlite3_last_insert_rowid(db_.get());
  }
  if (s.ok()) {
    Run stored = run;
    stored.set_id(id);
    if (stored.name().empty()) stored.set_name(DefaultRunName(run.program(), id));
    absl::StatusOr<std::unique_ptr<sqlite::Statement>> upd =
        db_.Prepare("UPDATE runs SET proto = ?1, name = ?2 WHERE id = ?3");
    if (!upd.ok()) s = upd.status();
    if (s.ok()) {
      (*upd)->BindBlob(1, stored.SerializeAsString()).BindText(2, stored.name()).Bind(3, id);
      s = (*upd)->Run();
    }
  }
  if (s.ok()) s = stmts_.commit->Run();
  if (!s.ok()) {
    Rollback();
    return s;
  }
  return id;
}

absl::Status LineageWriter::UpdateRun(const Run& run) {
  absl::StatusOr<std::unique_ptr<sqlite::Statement>> upd = db_.Prepare(
      "UPDATE runs SET program = ?1, status = ?2, start_us = ?3, end_us = ?4, proto = ?5 "
      "WHERE id = ?6");
  if (!upd.ok()) return upd.status();
  (*upd)->BindText(1, run.program())
      .Bind(2, run.status())
      .Bind(3, Micros(run.start_time()))
      .Bind(4, Micros(run.end_time()))
      .BindBlob(5, run.SerializeAsString())
      .Bind(6, run.id());
  absl::Status s = (*upd)->Run();
  if (!s.ok()) return s;
  if (sqlite3_changes(db_.get()) == 0) {
    return absl::NotFoundError(absl::StrCat("no run with id ", run.id(), " in ", path_));
  }
  return absl::OkStatus();
}

absl::Status LineageWriter::UpdateExecution(const Execution& execution) {
  absl::StatusOr<Execution> existing = reader_.LoadExecution(execution.id());
  if (!existing.ok()) return existing.status();
  Execution updated = execution;
  absl::StatusOr<bool> compact = hits_.Contains(execution.id());
  if (!compact.ok()) return compact.status();
  if (*compact) {
    // A compact hit has no events of its own: write the new version afresh.
    ForgetCaches();
    absl::Status s = stmts_.begin->Run();
    if (!s.ok()) return s;
    s = hits_.Delete(execution.id());
    if (s.ok()) s = WriteExecution(updated);
    if (s.ok()) s = stmts_.commit->Run();
    if (!s.ok()) Rollback();
    return s;
  }
  int64_t rep = 0;
  std::string old_result;
  {
    sqlite::Statement& q = *stmts_.rep_of_execution;
    sqlite::ResetOnExit reset(q);
    q.Bind(1, execution.id());
    absl::StatusOr<bool> row = q.Step();
    if (!row.ok()) return row.status();
    if (*row) {
      rep = q.Int(0);
      old_result = std::string(q.Blob(1));
    }
  }
  const bool same_result = ResultKey(execution) == old_result;
  ForgetCaches();  // representatives and artifacts may change below
  absl::Status s = stmts_.begin->Run();
  if (!s.ok()) return s;
  absl::flat_hash_set<Digest> touched;
  // Compact hits repeat the representative as it was: keep them so, in full.
  if (rep == 0) s = MaterializeHits(execution.id(), *existing);
  if (s.ok()) s = DeleteEvents(*existing, &touched);
  if (s.ok()) {  // the new version may be written as a compact hit instead
    s = stmts_.delete_execution->Bind(1, execution.id()).Run();
  }
  // A representative whose result is unchanged stays one (hits name it); one whose result
  // changed hands its hits over to another execution of its old result.
  if (s.ok()) s = WriteExecution(updated, /*force_events=*/rep == 0 && same_result);
  if (s.ok() && rep == 0 && !same_result) s = ReassignHits(execution.id(), old_result);
  if (s.ok()) s = DeleteUnreferencedArtifacts(touched);  // those the new version dropped
  if (s.ok()) s = stmts_.commit->Run();
  if (!s.ok()) Rollback();
  return s;
}

absl::Status LineageWriter::DeleteRun(int64_t id) {
  ForgetCaches();  // representatives and artifacts change below
  absl::Status s = stmts_.begin->Run();
  if (!s.ok()) return s;
  // Remove the run's events (found through its executions' protos), then its executions;
  // hand the events of each action the run carried to the oldest remaining execution of
  // that action (a cache hit elsewhere); then remove the artifacts no event names any more,
  // and the run.
  absl::flat_hash_set<Digest> touched;
  struct Leaving {
    int64_t id;
    std::string result;
    Execution proto;
  };
  std::vector<Leaving> representatives;
  std::vector<int64_t> executions;  // the run's executions rows (its compact hits log nothing)
  {
    absl::StatusOr<std::unique_ptr<sqlite::Statement>> q =
        db_.Prepare("SELECT id, proto, rep_id, result_key FROM executions WHERE run_id = ?1");
    if (!q.ok()) s = q.status();
    if (s.ok()) (*q)->Bind(1, id);
    while (s.ok()) {
      absl::StatusOr<bool> row = (*q)->Step();
      if (!row.ok()) s = row.status();
      if (!s.ok() || !*row) break;
      executions.push_back((*q)->Int(0));
      if ((*q)->Int(2) != 0) continue;  // a hit: its events are its representative's
      Execution e;
      const absl::string_view blob = (*q)->Blob(1);
      if (!e.ParseFromArray(blob.data(), static_cast<int>(blob.size()))) {
        s = Corrupt(path_, "an execution does not parse");
        break;
      }
      s = DeleteEvents(e, &touched);
      representatives.push_back(Leaving{(*q)->Int(0), std::string((*q)->Blob(3)), std::move(e)});
    }
    if (q.ok()) (*q)->Reset();
  }
  // The run's compact hits go with it; those of other runs that repeat a leaving
  // representative are written out in full first, to be handed on below.
  if (s.ok()) s = hits_.DeleteOfRun(id);
  for (const Leaving& r : representatives) {
    if (!s.ok()) break;
    s = MaterializeHits(r.id, r.proto);
  }
  for (const char* sql : {"DELETE FROM executions WHERE run_id = ?1",
                          "DELETE FROM runs WHERE id = ?1"}) {
    if (!s.ok()) break;
    absl::StatusOr<std::unique_ptr<sqlite::Statement>> stmt = db_.Prepare(sql);
    if (!stmt.ok()) {
      s = stmt.status();
      break;
    }
    s = (*stmt)->Bind(1, id).Run();
  }
  for (const Leaving& r : representatives) {
    if (!s.ok()) break;
    s = ReassignHits(r.id, r.result);
  }
  if (s.ok()) s = DeleteUnreferencedArtifacts(touched);
  if (s.ok()) s = tracking_.DeleteRunValues(id, executions);
  if (s.ok()) s = stmts_.commit->Run();
  if (!s.ok()) Rollback();
  return s;
}

absl::Status LineageWriter::MaterializeHits(int64_t representative, const Execution& rep_proto) {
  absl::StatusOr<std::vector<Execution>> hits = hits_.Take(representative, rep_proto);
  if (!hits.ok()) return hits.status();
  const std::string result_key = ResultKey(rep_proto);
  for (const Execution& hit : *hits) {
    std::string proto;
    hit.SerializeToString(&proto);
    absl::Status s = InsertExecutionRow(hit, representative, result_key, proto, "");
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status LineageWriter::ReassignHits(int64_t old_rep, const std::string& result) {
  // Another representative of the same result, if there is one...
  int64_t heir = 0;
  if (!result.empty()) {
    sqlite::Statement& q = *stmts_.representative_of_result;
    sqlite::ResetOnExit reset(q);
    q.BindBlob(1, result).Bind(2, old_rep);
    absl::StatusOr<bool> row = q.Step();
    if (!row.ok()) return row.status();
    if (*row) heir = q.Int(0);
  }
  // ...else the oldest hit that named the old one becomes the representative.
  if (heir == 0) {
    sqlite::Statement& q = *stmts_.hits_of_representative;
    sqlite::ResetOnExit reset(q);
    q.Bind(1, old_rep);
    absl::StatusOr<bool> row = q.Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::OkStatus();  // nobody named it
    heir = q.Int(0);
  }
  absl::StatusOr<Execution> e = reader_.LoadExecution(heir);
  if (!e.ok()) return e.status();
  int64_t heir_rep = 0;
  {
    sqlite::Statement& rep = *stmts_.rep_of_execution;
    sqlite::ResetOnExit reset(rep);
    rep.Bind(1, heir);
    absl::StatusOr<bool> row = rep.Step();
    if (!row.ok()) return row.status();
    if (*row) heir_rep = rep.Int(0);
  }
  if (heir_rep != 0) {
    absl::Status s = WriteExecution(*e, /*force_events=*/true);
    if (!s.ok()) return s;
  }
  return stmts_.move_hits->Bind(1, heir).Bind(2, old_rep).Run();
}

}  // namespace lineage_internal
}  // namespace mlops
