// tools/metric_chart.h — the gnuplot script that draws metric series as an SVG line chart
// (`mlops metrics --format svg`).
//
// One panel per metric, in name order, stacked top to bottom; in each, x is labeled
// "step" and y with the metric's name, and each target that has the metric is one line
// (points joined in step order, then time), named in the legend as TargetLabel says
// ("run 3", "exec 7"). NaN and infinite points cannot be placed and are left out, counted
// in `skipped_points`; a line left with no point is left out, and so is a panel left with
// no line.
//
// The script holds no user text outside single-quoted gnuplot strings (GnuplotQuote): the
// data are inline datablocks of numbers; metric names appear only as quoted labels, where
// gnuplot expands nothing (no backslash escapes, no `command` or @macro substitution). The
// terminal is `noenhanced`, so names show as typed (an underscore is not a subscript).
//
// Example:
//   const GnuplotChart chart = MakeGnuplotChart(series);
//   if (chart.panels > 0) svg = RunProgram(gnuplot, {}, chart.script);
//
// Thread safety: pure functions.
#ifndef TOOLS_METRIC_CHART_H_
#define TOOLS_METRIC_CHART_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "tools/metric_series.h"

namespace mlops {
namespace cli {

struct GnuplotChart {
  std::string script;          // for gnuplot's standard input; the SVG goes to its standard output
  int panels = 0;              // metrics drawn (0: nothing to draw; the script is then empty)
  int64_t skipped_points = 0;  // NaN or infinite points left out
};

GnuplotChart MakeGnuplotChart(const std::vector<TargetSeries>& series);

// `text` as a single-quoted gnuplot string: each ' doubled, each control character
// (below 0x20, and 0x7f) replaced by a space, since a line break would end the command.
std::string GnuplotQuote(absl::string_view text);

}  // namespace cli
}  // namespace mlops

#endif  // TOOLS_METRIC_CHART_H_
