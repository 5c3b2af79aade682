// tools/metric_series.h — metric series as `mlops metrics` reads its arguments and prints
// them: a text table, CSV and JSON (the SVG chart is metric_chart.h's).
//
// Example:
//   absl::StatusOr<MetricsArgs> a = ParseMetricsArgs({"run:3", "exec:7", "loss"});
//   // a->targets: run 3, execution 7; a->names: {"loss"}
//   std::string csv = SeriesCsv({{a->targets[0], "loss", points}});
//
// Thread safety: pure functions.
#ifndef TOOLS_METRIC_SERIES_H_
#define TOOLS_METRIC_SERIES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "mlops/lineage/tracking.h"
#include "tools/ids.h"

namespace mlops {
namespace cli {

// What `mlops metrics` was asked for.
struct MetricsArgs {
  std::vector<Target> targets;     // kRun or kExecution, each once, in the order given
  std::vector<std::string> names;  // metric names, each once, in the order given
};

// Splits the arguments: a token of an id's form (IsIdForm: digits, run:N, exec:N) is a
// target (digits: a run), `metric:NAME` is the metric NAME (for a name that looks like an
// id), any other token a metric name. A usage error quoting the token for a malformed id
// (e.g. "run:x", "0"), and one if no target is given.
absl::StatusOr<MetricsArgs> ParseMetricsArgs(const std::vector<std::string>& tokens);

// A target as it is typed, "run:3" / "exec:7", and as a legend shows it, "run 3" / "exec 7".
// REQUIRES: kind is kRun or kExecution.
std::string TargetName(const Target& target);
std::string TargetLabel(const Target& target);

// One metric of one target: its points, in the order logged.
struct TargetSeries {
  Target target;
  std::string metric;
  std::vector<MetricPoint> points;
};

// Every point, one line each, in the order of `series` and of their points; values as
// FormatMetricValue (tools/records.h) writes them: shortest round-trip, nan, inf, -inf.
//   text: a table TARGET METRIC STEP VALUE TIME (local time, to the second);
//   csv:  header `target,metric,step,value,time`, time in RFC 3339 UTC with microseconds,
//         fields quoted as RFC 4180 says when they hold a comma, a quote or a line break;
//   json: {"series": [{"target", "kind", "id", "metric", "points": [{"step", "value",
//         "time"}]}]}, values as WriteMetricValueJson writes them ("NaN", "Infinity").
std::string SeriesText(const std::vector<TargetSeries>& series);
std::string SeriesCsv(const std::vector<TargetSeries>& series);
std::string SeriesJson(const std::vector<TargetSeries>& series);

// `field` as one CSV field (RFC 4180): as it is, or in double quotes with each quote
// doubled if it holds a comma, a quote, CR or LF.
std::string CsvField(absl::string_view field);

}  // namespace cli
}  // namespace mlops

#endif  // TOOLS_METRIC_SERIES_H_
