#include "mlops/lineage/internal/lineage_reader.h"

#include <algorithm>
#include <iterator>
#include <memory>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "mlops/lineage/internal/columns.h"
#include "mlops/lineage/internal/tracking_schema.h"

namespace mlops {
namespace lineage_internal {
namespace {

// A run of a version 2 database read as it is (read-only) has no experiment or name in its
// proto: it is in "default", with its default name (as the upgrade would give it).
void FillDefaults(Run& run) {
  if (run.experiment().empty()) run.set_experiment("default");
  if (run.name().empty()) run.set_name(DefaultRunName(run.program(), run.id()));
}
template <typename M>
void FillDefaults(M&) {}

// Runs `stmt` (already bound) and parses column 0 of every row as a proto of type M.
template <typename M>
absl::StatusOr<std::vector<M>> ParseRows(sqlite::Statement& stmt, const std::string& path) {
  sqlite::ResetOnExit reset(stmt);
  std::vector<M> out;
  while (true) {
    absl::StatusOr<bool> row = stmt.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    const absl::string_view blob = stmt.Blob(0);
    M m;
    if (!m.ParseFromArray(blob.data(), static_cast<int>(blob.size()))) {
      return Corrupt(path, absl::StrCat("a stored ", M::descriptor()->name(),
                                        " does not parse"));
    }
    FillDefaults(m);
    out.push_back(std::move(m));
  }
  return out;
}

absl::Status NoRun(int64_t id, const std::string& path) {
  return absl::NotFoundError(absl::StrCat("no run with id ", id, " in ", path));
}

}  // namespace

absl::Status LineageReader::CheckRunExists(int64_t run_id) {
  sqlite::Statement& q = *stmts_.run_exists;
  sqlite::ResetOnExit reset(q);
  q.Bind(1, run_id);
  absl::StatusOr<bool> row = q.Step();
  if (!row.ok()) return row.status();
  return *row ? absl::OkStatus() : NoRun(run_id, path_);
}

absl::StatusOr<Run> LineageReader::GetRun(int64_t id) {
  absl::StatusOr<std::unique_ptr<sqlite::Statement>> q =
      db_.Prepare("SELECT proto FROM runs WHERE id = ?1");
  if (!q.ok()) return q.status();
  (*q)->Bind(1, id);
  absl::StatusOr<std::vector<Run>> rows = ParseRows<Run>(**q, path_);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return NoRun(id, path_);
  return std::move(rows->front());
}

absl::StatusOr<std::vector<Run>> LineageReader::FindRuns(const RunFilter& filter,
                                                         const NewestFirst& after,
                                                         int64_t limit) {
  // (start_us <= ?6 is implied; said, it lets SQLite use the index on start_us.)
  std::string sql =
      "SELECT proto FROM runs WHERE start_us <= ?6 AND (start_us < ?6 OR id < ?7)";
  if (filter.program) absl::StrAppend(&sql, " AND program = ?1");
  if (filter.status) absl::StrAppend(&sql, " AND status = ?2");
  if (filter.started_after) absl::StrAppend(&sql, " AND start_us >= ?3");
  if (filter.started_before) absl::StrAppend(&sql, " AND start_us < ?4");
  absl::StrAppend(&sql, " ORDER BY start_us DESC, id DESC LIMIT ?5");
  absl::StatusOr<std::unique_ptr<sqlite::Statement>> q = db_.Prepare(sql.c_str());
  if (!q.ok()) return q.status();
  if (filter.program) (*q)->BindText(1, *filter.program);
  if (filter.status) (*q)->Bind(2, *filter.status);
  if (filter.started_after) (*q)->Bind(3, absl::ToUnixMicros(*filter.started_after));
  if (filter.started_before) (*q)->Bind(4, absl::ToUnixMicros(*filter.started_before));
  (*q)->Bind(5, limit).Bind(6, after.start_us).Bind(7, after.id);
  return ParseRows<Run>(**q, path_);
}

absl::StatusOr<Execution> LineageReader::LoadExecution(int64_t id) {
  sqlite::Statement& q = *stmts_.get_execution;
  q.Bind(1, id);
  absl::StatusOr<std::vector<Execution>> rows = ParseRows<Execution>(q, path_);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return hits_.Load(id);  // NOT_FOUND if it is not one either
  return std::move(rows->front());
}

absl::StatusOr<std::vector<Execution>> LineageReader::LoadExecutions(
    const std::vector<int64_t>& ids) {
  std::vector<Execution> out;
  out.reserve(ids.size());
  for (int64_t id : ids) {
    absl::StatusOr<Execution> e = LoadExecution(id);
    if (!e.ok()) return e.status();
    out.push_back(*std::move(e));
  }
  return out;
}

absl::StatusOr<Artifact> LineageReader::LoadArtifact(const Digest& digest) {
  sqlite::Statement& q = *stmts_.get_artifact;
  sqlite::ResetOnExit reset(q);
  q.BindBlob(1, DigestBlob(digest));
  absl::StatusOr<bool> row = q.Step();
  if (!row.ok()) return row.status();
  if (!*row) {
    return absl::NotFoundError(
        absl::StrCat("no artifact ", digest.ToHex(), " in lineage ", path_));
  }
  Artifact a;
  a.set_digest(digest.ToHex());
  a.set_type_name(std::string(q.Text(0)));
  a.set_size(q.Int(1));
  a.set_label(std::string(q.Text(2)));
  a.set_uri(std::string(q.Text(3)));
  return a;
}

absl::StatusOr<std::vector<Execution>> LineageReader::ExecutionsOfRun(int64_t run_id) {
  absl::StatusOr<std::unique_ptr<sqlite::Statement>> q =
      db_.Prepare("SELECT proto FROM executions WHERE run_id = ?1 ORDER BY id");
  if (!q.ok()) return q.status();
  (*q)->Bind(1, run_id);
  absl::StatusOr<std::vector<Execution>> full = ParseRows<Execution>(**q, path_);
  if (!full.ok()) return full.status();
  absl::StatusOr<std::vector<Execution>> compact = hits_.OfRun(run_id);
  if (!compact.ok()) return compact.status();
  std::vector<Execution> out;
  out.reserve(full->size() + compact->size());
  std::merge(std::make_move_iterator(full->begin()), std::make_move_iterator(full->end()),
             std::make_move_iterator(compact->begin()), std::make_move_iterator(compact->end()),
             std::back_inserter(out),
             [](const Execution& a, const Execution& b) { return a.id() < b.id(); });
  return out;
}

absl::StatusOr<std::vector<Execution>> LineageReader::ExecutionsOfStep(
    const std::string& step_name, const NewestFirst& after, int64_t limit) {
  absl::StatusOr<std::unique_ptr<sqlite::Statement>> q = db_.Prepare(
      "SELECT proto FROM executions WHERE step = ?1 AND start_us <= ?3 "
      "AND (start_us < ?3 OR id < ?4) ORDER BY start_us DESC, id DESC LIMIT ?2");
  if (!q.ok()) return q.status();
  (*q)->BindText(1, step_name).Bind(2, limit).Bind(3, after.start_us).Bind(4, after.id);
  absl::StatusOr<std::vector<Execution>> full = ParseRows<Execution>(**q, path_);
  if (!full.ok()) return full.status();
  absl::StatusOr<std::vector<Execution>> compact = hits_.OfStep(step_name, after, limit);
  if (!compact.ok()) return compact.status();
  // Both newest first (start in whole microseconds, then id): merge and keep `limit`.
  const auto newer = [](const Execution& a, const Execution& b) {
    const int64_t ta = Micros(a.start_time());
    const int64_t tb = Micros(b.start_time());
    return ta != tb ? ta > tb : a.id() > b.id();
  };
  std::vector<Execution> out;
  out.reserve(full->size() + compact->size());
  std::merge(std::make_move_iterator(full->begin()), std::make_move_iterator(full->end()),
             std::make_move_iterator(compact->begin()), std::make_move_iterator(compact->end()),
             std::back_inserter(out), newer);
  if (limit >= 0 && out.size() > static_cast<size_t>(limit)) out.resize(limit);
  return out;
}

absl::StatusOr<std::vector<int64_t>> LineageReader::EdgeExecutions(const Digest& digest,
                                                                   Event::Kind kind,
                                                                   bool include_cache_hits) {
  std::vector<int64_t> computed, hits, representatives;
  {
    sqlite::Statement& q = *stmts_.edge_executions;
    sqlite::ResetOnExit reset(q);
    q.BindBlob(1, DigestBlob(digest)).Bind(2, kind);
    while (true) {
      absl::StatusOr<bool> row = q.Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      (q.Int(1) != 0 ? hits : computed).push_back(q.Int(0));
      representatives.push_back(q.Int(0));
    }
  }
  if (!include_cache_hits && !computed.empty()) return computed;
  // Hits without event rows of their own, found through their representative.
  absl::flat_hash_set<int64_t> seen(hits.begin(), hits.end());
  for (int64_t rep : representatives) {
    sqlite::Statement& q = *stmts_.hits_of_representative;
    sqlite::ResetOnExit reset(q);
    q.Bind(1, rep);
    while (true) {
      absl::StatusOr<bool> row = q.Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      if (seen.insert(q.Int(0)).second) hits.push_back(q.Int(0));
    }
  }
  std::sort(hits.begin(), hits.end());
  computed.insert(computed.end(), hits.begin(), hits.end());
  return computed;
}

absl::StatusOr<std::vector<Execution>> LineageReader::Producers(const Digest& digest) {
  absl::StatusOr<std::vector<int64_t>> ids =
      EdgeExecutions(digest, Event::OUTPUT, /*include_cache_hits=*/true);
  if (!ids.ok()) return ids.status();
  return LoadExecutions(*ids);
}

absl::StatusOr<std::vector<Execution>> LineageReader::Consumers(const Digest& digest) {
  absl::StatusOr<std::vector<int64_t>> ids =
      EdgeExecutions(digest, Event::INPUT, /*include_cache_hits=*/true);
  if (!ids.ok()) return ids.status();
  std::sort(ids->begin(), ids->end());
  return LoadExecutions(*ids);
}

}  // namespace lineage_internal
}  // namespace mlops
