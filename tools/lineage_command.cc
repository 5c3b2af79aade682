// `mlops lineage`: the graph upstream or downstream of an artifact or execution, as a text
// tree, DOT, JSON or SVG.
#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "mlops/base/file_io.h"
#include "mlops/lineage/export.h"
#include "tools/cli_workspace.h"
#include "tools/commands.h"
#include "tools/ids.h"
#include "tools/lineage_tree.h"
#include "tools/process.h"

namespace mlops {
namespace cli {
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
  // --json is --format json, as every listing has it; with a different --format it is a
  // contradiction, not a choice for us to make.
  if (args.has("json") && args.has("format") && args.value("format") != "json") {
    return UsageError(absl::StrCat("--json is --format json; it cannot go with --format ",
                                   args.value("format")));
  }
  const std::string format = args.has("json") ? "json" : args.value("format", "text");
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

  absl::StatusOr<std::unique_ptr<CliWorkspace>> ws =
      CliWorkspace::Open(workspace, CliWorkspace::Access::kRead);
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
    out = start.artifact ? LineageTreeFromArtifact(*graph, upstream, start_digest)
                         : LineageTreeFromExecution(*graph, upstream, start.execution_id);
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
