#include "tools/metric_series.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "tools/args.h"
#include "tools/json_writer.h"
#include "tools/records.h"
#include "tools/units.h"

namespace mlops {
namespace cli {

absl::StatusOr<MetricsArgs> ParseMetricsArgs(const std::vector<std::string>& tokens) {
  MetricsArgs out;
  for (const std::string& token : tokens) {
    absl::string_view name = token;
    if (!absl::ConsumePrefix(&name, "metric:") && IsIdForm(token)) {
      absl::StatusOr<Target> t = ParseRunOrExecution(token);
      if (!t.ok()) return t.status();
      const bool seen = std::any_of(out.targets.begin(), out.targets.end(), [&](const Target& o) {
        return o.kind == t->kind && o.id == t->id;
      });
      if (!seen) out.targets.push_back(*t);
      continue;
    }
    if (name.empty()) return UsageError(absl::StrCat("\"", token, "\" names no metric"));
    if (std::find(out.names.begin(), out.names.end(), name) == out.names.end()) {
      out.names.emplace_back(name);
    }
  }
  if (out.targets.empty()) {
    return UsageError("give at least one run (ID, run:ID) or execution (exec:ID)");
  }
  return out;
}

std::string TargetName(const Target& target) {
  return absl::StrCat(target.kind == Target::kExecution ? "exec:" : "run:", target.id);
}

std::string TargetLabel(const Target& target) {
  return absl::StrCat(target.kind == Target::kExecution ? "exec " : "run ", target.id);
}

std::string CsvField(absl::string_view field) {
  if (field.find_first_of(",\"\r\n") == absl::string_view::npos) return std::string(field);
  return absl::StrCat("\"", absl::StrReplaceAll(field, {{"\"", "\"\""}}), "\"");
}

std::string SeriesText(const std::vector<TargetSeries>& series) {
  std::vector<std::vector<std::string>> rows = {{"TARGET", "METRIC", "STEP", "VALUE", "TIME"}};
  for (const TargetSeries& s : series) {
    for (const MetricPoint& p : s.points) {
      rows.push_back({TargetName(s.target), s.metric, absl::StrCat(p.step),
                      FormatMetricValue(p.value), FormatLocalTime(p.time)});
    }
  }
  return FormatTable(rows, {Align::kLeft, Align::kLeft, Align::kRight, Align::kRight});
}

std::string SeriesCsv(const std::vector<TargetSeries>& series) {
  std::string out = "target,metric,step,value,time\n";
  for (const TargetSeries& s : series) {
    const std::string prefix = absl::StrCat(TargetName(s.target), ",", CsvField(s.metric), ",");
    for (const MetricPoint& p : s.points) {
      absl::StrAppend(&out, prefix, p.step, ",", FormatMetricValue(p.value), ",",
                      FormatUtcTime(p.time), "\n");
    }
  }
  return out;
}

std::string SeriesJson(const std::vector<TargetSeries>& series) {
  JsonWriter w;
  w.BeginObject().Key("series").BeginArray();
  for (const TargetSeries& s : series) {
    w.BeginObject();
    w.Key("target").String(TargetName(s.target));
    w.Key("kind").String(s.target.kind == Target::kExecution ? "execution" : "run");
    w.Key("id").Int(s.target.id);
    w.Key("metric").String(s.metric);
    w.Key("points").BeginArray();
    for (const MetricPoint& p : s.points) {
      w.BeginObject().Key("step").Int(p.step).Key("value");
      WriteMetricValueJson(w, p.value);
      const std::string time = FormatUtcTime(p.time);
      w.Key("time");
      if (time.empty()) {
        w.Null();
      } else {
        w.String(time);
      }
      w.EndObject();
    }
    w.EndArray().EndObject();
  }
  w.EndArray().EndObject();
  return w.str();
}

}  // namespace cli
}  // namespace mlops
