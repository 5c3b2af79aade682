// `mlops lineage`: the graph upstream or downstream of an artifact or execution, as a text
// tree, DOT, JSON or SVG.
#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <utility>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "mlops/base/file_io.h"
#include "mlops/lineage/export.h"
#include "tools/cli_workspace.h"
#include "tools/commands.h"
#include "tools/ids.h"
#include "tools/process.h"
#include "tools/records.h"
#include "tools/units.h"

namespace mlops {
namespace cli {
namespace {

// The subgraph as a tree from its start node: each node's children are the next nodes
// away from the start (producers and inputs upstream, consumers and outputs downstream).
// A node met a second time is printed once more, marked, and not expanded again.
class TreePrinter {
 public:
  TreePrinter(const Subgraph& g, bool upstream) : upstream_(upstream) {
    for (const Execution& e : g.executions()) executions_[e.id()] = &e;
    for (const Artifact& a : g.artifacts()) artifacts_[a.digest()] = &a;
    for (const Event& ev : g.events()) {
      // Toward the start: from an artifact to the executions that made it (upstream) or
      // read it (downstream); from an execution to what it read (up) or made (down).
      const bool artifact_to_execution = upstream_ ? ev.kind() == Event::OUTPUT
                                                   : ev.kind() == Event::INPUT;
      if (artifact_to_execution) {
        executions_of_[ev.digest()].push_back(ev.execution_id());
      } else {
        artifacts_of_[ev.execution_id()].emplace_back(ev.name(), ev.digest());
      }
    }
  }

  std::string FromArtifact(const std::string& digest) {
    ArtifactNode("", digest, "", "");
    return out_;
  }
  std::string FromExecution(int64_t id) {
    ExecutionNode(id, "", "");
    return out_;
  }

 private:
  std::string ArtifactLabel(const std::string& name, const std::string& digest) const {
    std::string s = name.empty() ? "" : absl::StrCat(name, ": ");
    auto it = artifacts_.find(digest);
    absl::StrAppend(&s, digest.substr(0, 12));
    if (it != artifacts_.end()) {
      const Artifact& a = *it->second;
      absl::StrAppend(&s, "  ", a.type_name(), "  ", FormatBytes(a.size()));
      if (!a.label().empty()) absl::StrAppend(&s, "  ", a.label());
    }
    return s;
  }

  std::string ExecutionLabel(int64_t id) const {
    auto it = executions_.find(id);
    if (it == executions_.end()) return absl::StrCat("execution ", id);
    const Execution& e = *it->second;
    return absl::StrCat(e.step_name(), " #", id, "  (run ", e.run_id(), ", ",
                        e.cache_hit() ? "cache hit" : absl::AsciiStrToLower(StatusName(e.status())),
                        ")");
  }

  void ArtifactNode(const std::string& name, const std::string& digest,
                    const std::string& lead, const std::string& indent) {
    const bool again = !seen_artifacts_.insert(digest).second;
    const auto it = executions_of_.find(digest);
    absl::StrAppend(&out_, lead, ArtifactLabel(name, digest),
                    again && it != executions_of_.end() ? "  (see above)" : "", "\n");
    if (again || it == executions_of_.end()) return;
    const std::vector<int64_t>& children = it->second;
    for (size_t i = 0; i < children.size(); ++i) {
      const bool last = i + 1 == children.size();
      ExecutionNode(children[i], indent + (last ? "└─ " : "├─ "),
                    indent + (last ? "   " : "│  "));
    }
  }

  void ExecutionNode(int64_t id, const std::string& lead, const std::string& indent) {
    const bool again = !seen_executions_.insert(id).second;
    absl::StrAppend(&out_, lead, ExecutionLabel(id), again ? "  (see above)" : "", "\n");
    if (again) return;
    const auto it = artifacts_of_.find(id);
    if (it == artifacts_of_.end()) return;
    const auto& children = it->second;
    for (size_t i = 0; i < children.size(); ++i) {
      const bool last = i + 1 == children.size();
      ArtifactNode(children[i].first, children[i].second, indent + (last ? "└─ " : "├─ "),
                   indent + (last ? "   " : "│  "));
    }
  }

  const bool upstream_;
  absl::flat_hash_map<int64_t, const Execution*> executions_;
  absl::flat_hash_map<std::string, const Artifact*> artifacts_;
  // Ordered by id and by name: the events come sorted by execution, kind and name.
  absl::flat_hash_map<std::string, std::vector<int64_t>> executions_of_;
  absl::flat_hash_map<int64_t, std::vector<std::pair<std::string, std::string>>> artifacts_of_;
  absl::flat_hash_set<std::string> seen_artifacts_;
  absl::flat_hash_set<int64_t> seen_executions_;
  std::string out_;
};

}  // namespace

absl::Status Lineage(const Args& args, const std::string& workspace) {
  if (args.has("upstream") && args.has("downstream")) {
    return UsageError("give --upstream or --downstream, not both");
  }
  const bool upstream = !args.has("downstream");
  ClosureOptions options;
  if (args.has("depth")) {
    absl::StatusOr<int64_t> depth = ParseCount(args.value("depth"), "--depth");
    if (!depth.ok()) return depth.status();
    options.max_hops = static_cast<int>(std::min<int64_t>(*depth, 1 << 30));
  }
  const std::string format = args.value("format", "text");
  if (format != "text" && format != "dot" && format != "json" && format != "svg") {
    return UsageError(
        absl::StrCat("--format must be text, dot, json or svg, not \"", format, "\""));
  }
  absl::StatusOr<Target> target = ParseTarget(args.positional[0]);
  if (!target.ok()) return target.status();
  if (target->kind == Target::kRun) {
    return UsageError(absl::StrCat("lineage starts at a digest or an execution, not a run (\"",
                                   args.positional[0], "\")"));
  }
  // Look for dot before any work, so its absence is reported at once.
  std::string dot;
  if (format == "svg") {
    std::optional<std::string> found = FindOnPath("dot");
    if (!found) {
      return absl::FailedPreconditionError(
          "Graphviz's dot is not installed; install it with: sudo apt-get install graphviz "
          "(or use --format dot)");
    }
    dot = *found;
  }

  absl::StatusOr<std::unique_ptr<CliWorkspace>> ws = CliWorkspace::Open(workspace);
  if (!ws.ok()) return ws.status();
  LineageNode start;
  std::string start_digest;
  if (target->kind == Target::kDigest) {
    absl::StatusOr<Digest> d = (*ws)->ResolveDigest(target->prefix);
    if (!d.ok()) return d.status();
    start = LineageNode::Of(*d);
    start_digest = d->ToHex();
  } else {
    start = LineageNode::OfExecution(target->id);  // a bare number is an execution here
  }
  absl::StatusOr<Subgraph> graph = upstream ? (*ws)->lineage().Upstream(start, options)
                                            : (*ws)->lineage().Downstream(start, options);
  if (!graph.ok()) return graph.status();

  std::string out;
  if (format == "text") {
    TreePrinter printer(*graph, upstream);
    out = start.artifact ? printer.FromArtifact(start_digest)
                         : printer.FromExecution(start.execution_id);
  } else if (format == "dot") {
    out = ToDot(*graph);
  } else if (format == "json") {
    absl::StatusOr<std::string> json = ToJson(*graph);
    if (!json.ok()) return json.status();
    out = *json;
    if (out.empty() || out.back() != '\n') out += '\n';
  } else {
    absl::StatusOr<std::string> svg = RunProgram(dot, {"-Tsvg"}, ToDot(*graph));
    if (!svg.ok()) return svg.status();
    out = *svg;
  }
  if (args.has("output")) {
    const std::string path = UserPath(args.value("output"));
    if (path.empty()) return UsageError("--output needs a file name");
    return WriteFileAtomically(path, out);
  }
  return Print(out);
}

}  // namespace cli
}  // namespace mlops
