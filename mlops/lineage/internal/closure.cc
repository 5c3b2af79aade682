#include "mlops/lineage/internal/closure.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"

namespace mlops {
namespace lineage_internal {

// Breadth-first over the bipartite graph: executions → their artifacts (inputs when going
// up, outputs when going down) → the executions that produced (up) or consumed (down)
// those artifacts → ... Each step from artifacts to executions is one hop.
absl::StatusOr<Subgraph> Closure(LineageReader& reader, const LineageNode& from,
                                 const ClosureOptions& options, bool upstream) {
  absl::flat_hash_set<int64_t> seen_executions;
  absl::flat_hash_set<Digest> seen_artifacts;      // included in the result
  absl::flat_hash_set<Digest> expanded_artifacts;  // already put on a frontier
  std::vector<int64_t> execution_frontier;
  std::vector<Digest> artifact_frontier;
  std::vector<Event> events;
  absl::flat_hash_map<int64_t, Execution> loaded;

  if (from.artifact.has_value()) {
    absl::StatusOr<Artifact> start = reader.LoadArtifact(*from.artifact);
    if (!start.ok()) return start.status();
    seen_artifacts.insert(*from.artifact);
    expanded_artifacts.insert(*from.artifact);
    artifact_frontier.push_back(*from.artifact);
  } else {
    absl::StatusOr<Execution> start = reader.LoadExecution(from.execution_id);
    if (!start.ok()) return start.status();
    seen_executions.insert(from.execution_id);
    execution_frontier.push_back(from.execution_id);
  }

  const Event::Kind follow = upstream ? Event::INPUT : Event::OUTPUT;
  const Event::Kind back = upstream ? Event::OUTPUT : Event::INPUT;
  int hops = 0;
  while (true) {
    for (int64_t id : execution_frontier) {
      absl::StatusOr<Execution> e = reader.LoadExecution(id);
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
          reader.EdgeExecutions(d, back, options.include_cache_hits);
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
    absl::StatusOr<Artifact> a = reader.LoadArtifact(d);
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

}  // namespace lineage_internal
}  // namespace mlops
