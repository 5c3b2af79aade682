// `mlops metrics`: the metric series of runs and executions, as a table, CSV, JSON or an
// SVG line chart drawn by gnuplot.
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "mlops/base/file_io.h"
#include "mlops/track/compare.h"
#include "tools/cli_workspace.h"
#include "tools/commands.h"
#include "tools/metric_chart.h"
#include "tools/metric_series.h"
#include "tools/process.h"

namespace mlops {
namespace cli {

absl::Status Metrics(const Args& args, const std::string& workspace) {
  absl::StatusOr<MetricsArgs> wanted = ParseMetricsArgs(args.positional);
  if (!wanted.ok()) return wanted.status();
  if (args.has("json") && args.has("format") && args.value("format") != "json") {
    return UsageError(
        absl::StrCat("--json is --format json; it cannot go with --format ", args.value("format")));
  }
  const std::string format = args.has("json") ? "json" : args.value("format", "text");
  if (format != "text" && format != "csv" && format != "json" && format != "svg") {
    return UsageError(
        absl::StrCat("--format must be text, csv, json or svg, not \"", format, "\""));
  }
  std::string output;
  if (args.has("output")) {
    output = UserPath(args.value("output"));
    if (output.empty()) return UsageError("--output needs a file name");
  }
  // Look for gnuplot before any work, so its absence is reported at once.
  std::string gnuplot;
  if (format == "svg") {
    std::optional<std::string> found = FindOnPath("gnuplot");
    if (!found) {
      return absl::FailedPreconditionError(
          "gnuplot is not installed; install it with: sudo apt-get install gnuplot-nox");
    }
    gnuplot = *found;
  }

  absl::StatusOr<std::unique_ptr<CliWorkspace>> ws =
      CliWorkspace::Open(workspace, CliWorkspace::Access::kRead);
  if (!ws.ok()) return ws.status();
  std::vector<TargetSeries> series;
  std::vector<std::string> target_names;
  std::map<std::string, bool> found;  // name asked for → some target has it
  for (const std::string& name : wanted->names) found[name] = false;
  for (const Target& t : wanted->targets) {
    target_names.push_back(TargetName(t));
    absl::StatusOr<std::map<std::string, TargetMetric>> metrics =
        MetricsOf((*ws)->lineage(), t.kind == Target::kExecution ? CompareTarget::OfExecution(t.id)
                                                                 : CompareTarget::OfRun(t.id));
    if (!metrics.ok()) return metrics.status();
    for (auto& [name, metric] : *metrics) {
      if (!wanted->names.empty() && found.count(name) == 0) continue;
      found[name] = true;
      series.push_back(TargetSeries{t, name, std::move(metric.points)});
    }
  }
  const std::string of_targets = absl::StrJoin(target_names, ", ");
  for (const std::string& name : wanted->names) {
    if (!found[name]) {
      return absl::NotFoundError(absl::StrCat("no metric \"", name, "\" in ", of_targets));
    }
  }

  std::string out;
  if (format == "text") {
    out = series.empty() ? absl::StrCat("no metrics recorded for ", of_targets, "\n")
                         : SeriesText(series);
  } else if (format == "csv") {
    out = SeriesCsv(series);
  } else if (format == "json") {
    out = SeriesJson(series);
  } else {
    const GnuplotChart chart = MakeGnuplotChart(series);
    if (chart.skipped_points > 0) {
      std::fprintf(stderr,
                   "mlops metrics: note: %lld NaN or infinite points are not drawn (the text, "
                   "csv and json formats show them)\n",
                   static_cast<long long>(chart.skipped_points));
    }
    if (chart.panels == 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "nothing to draw: ", series.empty() ? "no metrics recorded for " : "no finite points in ",
          of_targets));
    }
    absl::StatusOr<std::string> svg = RunProgram(gnuplot, {}, chart.script);
    if (!svg.ok()) return svg.status();
    out = *std::move(svg);
  }
  if (!output.empty()) return WriteFileAtomically(output, out);
  return Print(out);
}

}  // namespace cli
}  // namespace mlops
