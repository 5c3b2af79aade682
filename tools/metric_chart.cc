#include "tools/metric_chart.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "absl/strings/str_cat.h"
#include "fmt/format.h"

namespace mlops {
namespace cli {

std::string GnuplotQuote(absl::string_view text) {
  std::string out = "'";
  for (const char c : text) {
    if (c == '\'') {
      out += "''";
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      out += ' ';
    } else {
      out += c;
    }
  }
  out += '\'';
  return out;
}

GnuplotChart MakeGnuplotChart(const std::vector<TargetSeries>& series) {
  GnuplotChart chart;
  // metric → its lines: (legend, datablock name), in the order of `series`.
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> panels;
  std::string data;
  int blocks = 0;
  for (const TargetSeries& s : series) {
    std::vector<MetricPoint> points;
    for (const MetricPoint& p : s.points) {
      if (std::isfinite(p.value)) {
        points.push_back(p);
      } else {
        ++chart.skipped_points;
      }
    }
    if (points.empty()) continue;
    std::stable_sort(points.begin(), points.end(),
                     [](const MetricPoint& a, const MetricPoint& b) { return IsLaterPoint(b, a); });
    const std::string block = absl::StrCat("$D", ++blocks);
    absl::StrAppend(&data, block, " << EOD\n");
    for (const MetricPoint& p : points)
      absl::StrAppend(&data, p.step, " ", fmt::format("{}", p.value), "\n");
    absl::StrAppend(&data, "EOD\n");
    panels[s.metric].emplace_back(TargetLabel(s.target), block);
  }
  chart.panels = static_cast<int>(panels.size());
  if (chart.panels == 0) return chart;

  std::string& out = chart.script;
  absl::StrAppend(&out, "set terminal svg size 900,", 360 * chart.panels,
                  " noenhanced dynamic background '#ffffff'\n", data);
  if (chart.panels > 1) absl::StrAppend(&out, "set multiplot layout ", chart.panels, ",1\n");
  absl::StrAppend(&out, "set key outside right top\nset grid\nset xlabel 'step'\n");
  for (const auto& [metric, lines] : panels) {
    absl::StrAppend(&out, "set ylabel ", GnuplotQuote(metric), "\nplot ");
    for (size_t i = 0; i < lines.size(); ++i) {
      absl::StrAppend(&out, i == 0 ? "" : ", ", lines[i].second,
                      " using 1:2 with linespoints title ", GnuplotQuote(lines[i].first));
    }
    out += "\n";
  }
  if (chart.panels > 1) out += "unset multiplot\n";
  return chart;
}

}  // namespace cli
}  // namespace mlops
