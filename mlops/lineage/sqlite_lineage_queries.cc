// SqliteLineageStore: queries (lookups, producers and consumers, closures).
#include <algorithm>
#include <iterator>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "mlops/base/internal/sqlite.h"
#include "mlops/lineage/internal/store_internal.h"
#include "mlops/lineage/sqlite_lineage_store.h"

namespace mlops {

using lineage_internal::DigestBlob;
using lineage_internal::DigestFromBlob;
using lineage_internal::Micros;

namespace {

absl::Status Corrupt(const std::string& path, absl::string_view what) {
  return absl::DataLossError(absl::StrCat("corrupt lineage database ", path, ": ", what));
}

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
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace

absl::StatusOr<Execution> SqliteLineageStore::LoadExecution(int64_t id) {
  sqlite::Statement& q = *stmts_->get_execution;
  q.Bind(1, id);
  absl::StatusOr<std::vector<Execution>> rows = ParseRows<Execution>(q, path_);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return LoadCompactHit(id);  // NOT_FOUND if it is not one either
  return std::move(rows->front());
}

absl::StatusOr<std::vector<Execution>> SqliteLineageStore::LoadExecutions(
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

absl::StatusOr<Artifact> SqliteLineageStore::LoadArtifact(const Digest& digest) {
  sqlite::Statement& q = *stmts_->get_artifact;
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

absl::StatusOr<std::vector<int64_t>> SqliteLineageStore::EdgeExecutions(
    const Digest& digest, int kind, bool include_cache_hits) {
  std::vector<int64_t> computed, hits, representatives;
  {
    sqlite::Statement& q = *stmts_->edge_executions;
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
  if (include_cache_hits || computed.empty()) {
    // Hits without event rows of their own, found through their representative.
    absl::flat_hash_set<int64_t> seen(hits.begin(), hits.end());
    for (int64_t rep : representatives) {
      sqlite::Statement& q = *stmts_->hits_of_representative;
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
  }
  if (include_cache_hits || computed.empty()) {
    computed.insert(computed.end(), hits.begin(), hits.end());
  }
  return computed;
}

absl::StatusOr<Run> SqliteLineageStore::GetRun(int64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::StatusOr<std::unique_ptr<sqlite::Statement>> q =
      db_->Prepare("SELECT proto FROM runs WHERE id = ?1");
  if (!q.ok()) return q.status();
  (*q)->Bind(1, id);
  absl::StatusOr<std::vector<Run>> rows = ParseRows<Run>(**q, path_);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return absl::NotFoundError(absl::StrCat("no run with id ", id, " in ", path_));
  return std::move(rows->front());
}

absl::StatusOr<std::vector<Run>> SqliteLineageStore::FindRuns(const RunFilter& filter) {
  std::string sql = "SELECT proto FROM runs WHERE 1";
  if (filter.program) absl::StrAppend(&sql, " AND program = ?1");
  if (filter.status) absl::StrAppend(&sql, " AND status = ?2");
  if (filter.started_after) absl::StrAppend(&sql, " AND start_us >= ?3");
  if (filter.started_before) absl::StrAppend(&sql, " AND start_us < ?4");
  absl::StrAppend(&sql, " ORDER BY start_us DESC, id DESC LIMIT ?5");
  std::lock_guard<std::mutex> lock(mu_);
  absl::StatusOr<std::unique_ptr<sqlite::Statement>> q = db_->Prepare(sql.c_str());
  if (!q.ok()) return q.status();
  if (filter.program) (*q)->BindText(1, *filter.program);
  if (filter.status) (*q)->Bind(2, *filter.status);
  if (filter.started_after) (*q)->Bind(3, absl::ToUnixMicros(*filter.started_after));
  if (filter.started_before) (*q)->Bind(4, absl::ToUnixMicros(*filter.started_before));
  (*q)->Bind(5, filter.limit);
  return ParseRows<Run>(**q, path_);
}

absl::StatusOr<Execution> SqliteLineageStore::GetExecution(int64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::Status s = FlushLocked();
  if (!s.ok()) return s;
  return LoadExecution(id);
}

absl::StatusOr<Artifact> SqliteLineageStore::GetArtifact(const Digest& digest) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::Status s = FlushLocked();
  if (!s.ok()) return s;
  return LoadArtifact(digest);
}

absl::StatusOr<std::vector<Execution>> SqliteLineageStore::ExecutionsOfRun(int64_t run_id) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::Status s = FlushLocked();
  if (!s.ok()) return s;
  {
    // Ask the database, not the cache of known runs: another process may have deleted it.
    std::lock_guard<std::mutex> queue(queue_mu_);
    known_runs_.erase(run_id);
  }
  s = CheckRunExists(run_id);
  if (!s.ok()) return s;
  absl::StatusOr<std::unique_ptr<sqlite::Statement>> q =
      db_->Prepare("SELECT proto FROM executions WHERE run_id = ?1 ORDER BY id");
  if (!q.ok()) return q.status();
  (*q)->Bind(1, run_id);
  absl::StatusOr<std::vector<Execution>> full = ParseRows<Execution>(**q, path_);
  if (!full.ok()) return full.status();
  absl::StatusOr<std::vector<Execution>> compact = CompactHitsOfRun(run_id);
  if (!compact.ok()) return compact.status();
  std::vector<Execution> out;
  out.reserve(full->size() + compact->size());
  std::merge(std::make_move_iterator(full->begin()), std::make_move_iterator(full->end()),
             std::make_move_iterator(compact->begin()), std::make_move_iterator(compact->end()),
             std::back_inserter(out),
             [](const Execution& a, const Execution& b) { return a.id() < b.id(); });
  return out;
}

absl::StatusOr<std::vector<Execution>> SqliteLineageStore::ExecutionsOfStep(
    const std::string& step_name, int limit) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::Status s = FlushLocked();
  if (!s.ok()) return s;
  absl::StatusOr<std::unique_ptr<sqlite::Statement>> q = db_->Prepare(
      "SELECT proto FROM executions WHERE step = ?1 ORDER BY start_us DESC, id DESC LIMIT ?2");
  if (!q.ok()) return q.status();
  (*q)->BindText(1, step_name).Bind(2, limit);
  absl::StatusOr<std::vector<Execution>> full = ParseRows<Execution>(**q, path_);
  if (!full.ok()) return full.status();
  absl::StatusOr<std::vector<Execution>> compact = CompactHitsOfStep(step_name, limit);
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

absl::StatusOr<std::vector<Execution>> SqliteLineageStore::Producers(const Digest& digest) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::Status s = FlushLocked();
  if (!s.ok()) return s;
  absl::StatusOr<std::vector<int64_t>> ids =
      EdgeExecutions(digest, Event::OUTPUT, /*include_cache_hits=*/true);
  if (!ids.ok()) return ids.status();
  return LoadExecutions(*ids);
}

absl::StatusOr<std::vector<Execution>> SqliteLineageStore::Consumers(const Digest& digest) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::Status s = FlushLocked();
  if (!s.ok()) return s;
  absl::StatusOr<std::vector<int64_t>> ids =
      EdgeExecutions(digest, Event::INPUT, /*include_cache_hits=*/true);
  if (!ids.ok()) return ids.status();
  std::sort(ids->begin(), ids->end());
  return LoadExecutions(*ids);
}

absl::StatusOr<Subgraph> SqliteLineageStore::Upstream(const LineageNode& from,
                                                      const ClosureOptions& options) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::Status s = FlushLocked();
  if (!s.ok()) return s;
  return Closure(from, options, /*upstream=*/true);
}

absl::StatusOr<Subgraph> SqliteLineageStore::Downstream(const LineageNode& from,
                                                        const ClosureOptions& options) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::Status s = FlushLocked();
  if (!s.ok()) return s;
  return Closure(from, options, /*upstream=*/false);
}

// Breadth-first over the bipartite graph: executions → their artifacts (inputs when going
// up, outputs when going down) → the executions that produced (up) or consumed (down)
// those artifacts → ... Each step from artifacts to executions is one hop.
absl::StatusOr<Subgraph> SqliteLineageStore::Closure(const LineageNode& from,
                                                     const ClosureOptions& options,
                                                     bool upstream) {
  absl::flat_hash_set<int64_t> seen_executions;
  absl::flat_hash_set<Digest> seen_artifacts;      // included in the result
  absl::flat_hash_set<Digest> expanded_artifacts;  // already put on a frontier
  std::vector<int64_t> execution_frontier;
  std::vector<Digest> artifact_frontier;
  std::vector<Event> events;
  absl::flat_hash_map<int64_t, Execution> loaded;

  if (from.artifact.has_value()) {
    absl::StatusOr<Artifact> start = LoadArtifact(*from.artifact);
    if (!start.ok()) return start.status();
    seen_artifacts.insert(*from.artifact);
    expanded_artifacts.insert(*from.artifact);
    artifact_frontier.push_back(*from.artifact);
  } else {
    absl::StatusOr<Execution> start = LoadExecution(from.execution_id);
    if (!start.ok()) return start.status();
    seen_executions.insert(from.execution_id);
    execution_frontier.push_back(from.execution_id);
  }

  const Event::Kind follow = upstream ? Event::INPUT : Event::OUTPUT;
  const Event::Kind back = upstream ? Event::OUTPUT : Event::INPUT;
  int hops = 0;
  while (true) {
    for (int64_t id : execution_frontier) {
      absl::StatusOr<Execution> e = LoadExecution(id);
      if (!e.ok()) return e.status();
      const auto add = [&](const auto& refs, Event::Kind kind) {
        for (const ArtifactRef& r : refs) {
          Event& ev = events.emplace_back();
          ev.set_execution_id(id);
          ev.set_digest(r.digest());
          ev.set_kind(kind);
          ev.set_name(r.name());
          const Digest d = *Digest::FromHex(r.digest());  // validated when recorded
          seen_artifacts.insert(d);
          // An artifact may be named first on the other side (an execution that passes an
          // input through as its output): expansion has its own record of what it visited.
          if (kind == follow && expanded_artifacts.insert(d).second) {
            artifact_frontier.push_back(d);
          }
        }
      };
      add(e->inputs(), Event::INPUT);
      add(e->outputs(), Event::OUTPUT);
      loaded.emplace(id, *std::move(e));
    }
    execution_frontier.clear();
    if (artifact_frontier.empty()) break;
    if (options.max_hops >= 0 && hops >= options.max_hops) break;
    for (const Digest& d : artifact_frontier) {
      absl::StatusOr<std::vector<int64_t>> ids =
          EdgeExecutions(d, back, options.include_cache_hits);
      if (!ids.ok()) return ids.status();
      for (int64_t id : *ids) {
        if (seen_executions.insert(id).second) execution_frontier.push_back(id);
      }
    }
    artifact_frontier.clear();
    ++hops;
    if (execution_frontier.empty()) break;
  }

  Subgraph graph;
  std::vector<int64_t> ids(seen_executions.begin(), seen_executions.end());
  std::sort(ids.begin(), ids.end());
  for (int64_t id : ids) *graph.add_executions() = std::move(loaded[id]);
  std::vector<Digest> digests(seen_artifacts.begin(), seen_artifacts.end());
  std::sort(digests.begin(), digests.end());
  for (const Digest& d : digests) {
    absl::StatusOr<Artifact> a = LoadArtifact(d);
    if (!a.ok()) return a.status();
    *graph.add_artifacts() = *std::move(a);
  }
  std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    if (a.execution_id() != b.execution_id()) return a.execution_id() < b.execution_id();
    if (a.kind() != b.kind()) return a.kind() < b.kind();
    if (a.name() != b.name()) return a.name() < b.name();
    return a.digest() < b.digest();
  });
  for (Event& e : events) *graph.add_events() = std::move(e);
  return graph;
}

}  // namespace mlops
