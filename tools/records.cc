#include "tools/records.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "fmt/format.h"
#include "tools/units.h"

namespace mlops {
namespace cli {

absl::Time ToTime(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

absl::Duration DurationOf(const google::protobuf::Timestamp& start,
                          const google::protobuf::Timestamp& end) {
  if (end.seconds() == 0 && end.nanos() == 0) return -absl::Seconds(1);
  return ToTime(end) - ToTime(start);
}

std::string StatusName(Run::Status s) {
  return Run::Status_IsValid(s) ? Run::Status_Name(s) : "STATUS_UNKNOWN";
}

std::string StatusName(Execution::Status s) {
  return Execution::Status_IsValid(s) ? Execution::Status_Name(s) : "STATUS_UNKNOWN";
}

RunCounts CountExecutions(const std::vector<Execution>& executions) {
  RunCounts c;
  for (const Execution& e : executions) {
    ++c.executions;
    if (e.cache_hit()) ++c.cache_hits;
    if (e.status() == Execution::FAILED) ++c.failed;
  }
  return c;
}

namespace {

// Seconds as a double, or null when the end is unknown.
void WriteDuration(JsonWriter& w, const google::protobuf::Timestamp& start,
                   const google::protobuf::Timestamp& end) {
  const absl::Duration d = DurationOf(start, end);
  if (d < absl::ZeroDuration()) {
    w.Null();
  } else {
    w.Double(absl::ToDoubleSeconds(d));
  }
}

void WriteTime(JsonWriter& w, const google::protobuf::Timestamp& t) {
  const std::string s = FormatUtcTime(ToTime(t));
  if (s.empty()) {
    w.Null();
  } else {
    w.String(s);
  }
}

template <typename Map>
std::map<std::string, typename Map::mapped_type> Sorted(const Map& m) {
  return std::map<std::string, typename Map::mapped_type>(m.begin(), m.end());
}

}  // namespace

void WriteParamsJson(JsonWriter& w, const google::protobuf::Map<std::string, std::string>& m) {
  w.BeginObject();
  for (const auto& [k, v] : Sorted(m)) w.Key(k).String(v);
  w.EndObject();
}

void WriteMetricsJson(JsonWriter& w, const google::protobuf::Map<std::string, double>& m) {
  w.BeginObject();
  for (const auto& [k, v] : Sorted(m)) w.Key(k).Double(v);
  w.EndObject();
}

std::string FormatMetricValue(double v) {
  if (std::isnan(v)) return "nan";  // fmt would say "-nan" for a negative one
  return fmt::format("{}", v);
}

void WriteMetricValueJson(JsonWriter& w, double v) {
  if (std::isnan(v)) {
    w.String("NaN");
  } else if (std::isinf(v)) {
    w.String(v > 0 ? "Infinity" : "-Infinity");
  } else {
    w.Double(v);
  }
}

void WriteRunJson(JsonWriter& w, const Run& run, const RunCounts& counts,
                  bool with_environment, const RunValues* values) {
  w.BeginObject();
  w.Key("id").Int(run.id());
  w.Key("program").String(run.program());
  w.Key("args").BeginArray();
  for (const std::string& a : run.args()) w.String(a);
  w.EndArray();
  w.Key("host").String(run.host());
  w.Key("user").String(run.user());
  w.Key("status").String(StatusName(run.status()));
  w.Key("start_time");
  WriteTime(w, run.start_time());
  w.Key("end_time");
  WriteTime(w, run.end_time());
  w.Key("duration_seconds");
  WriteDuration(w, run.start_time(), run.end_time());
  w.Key("executions").Int(counts.executions);
  w.Key("hits").Int(counts.cache_hits);
  w.Key("failed").Int(counts.failed);
  w.Key("experiment").String(run.experiment());
  w.Key("name").String(run.name());
  if (with_environment) {
    const Environment& env = run.environment();
    w.Key("environment").BeginObject();
    w.Key("compiler").String(env.compiler());
    w.Key("compiler_flags").String(env.compiler_flags());
    w.Key("os").String(env.os());
    w.Key("cpu").String(env.cpu());
    w.Key("source_revision").String(env.source_revision());
    w.Key("source_modified");
    if (env.source_state() == Environment::SOURCE_STATE_UNKNOWN) {
      w.Null();
    } else {
      w.Bool(env.source_state() == Environment::SOURCE_MODIFIED);
    }
    w.Key("library_versions");
    WriteParamsJson(w, env.library_versions());
    w.EndObject();
  }
  if (values != nullptr) {
    w.Key("tags").BeginObject();
    for (const auto& [k, v] : values->tags) w.Key(k).String(v);
    w.EndObject().Key("params").BeginObject();
    for (const auto& [k, v] : values->params) w.Key(k).String(v);
    w.EndObject().Key("metrics").BeginObject();
    for (const auto& [k, m] : values->metrics) {
      w.Key(k).BeginObject().Key("value");
      WriteMetricValueJson(w, m.value);
      w.Key("step").Int(m.step).Key("time");
      const std::string time = FormatUtcTime(m.time);
      if (time.empty()) {
        w.Null();
      } else {
        w.String(time);
      }
      w.Key("execution_id").Int(m.execution_id).EndObject();
    }
    w.EndObject();
  }
  w.EndObject();
}

void WriteRecoveryJson(JsonWriter& w, const LineageRecovery& r) {
  w.BeginObject();
  w.Key("id").Int(r.id());
  w.Key("time");
  WriteTime(w, r.time());
  w.Key("run_id").Int(r.run_id());
  w.Key("host").String(r.host());
  w.Key("pid").Int(r.pid());
  w.Key("reason").String(r.reason());
  w.Key("damaged_path").String(r.damaged_path());
  w.Key("runs").Int(r.runs());
  w.Key("runs_recreated").Int(r.runs_recreated());
  w.Key("executions").Int(r.executions());
  w.Key("events").Int(r.events());
  w.Key("complete").Bool(r.complete());
  w.Key("method").String(r.method());
  w.EndObject();
}

std::string RecoveryLine(const LineageRecovery& r) {
  std::string line = absl::StrCat("the lineage database was found damaged and recovered at ",
                                  FormatLocalTime(ToTime(r.time())));
  if (r.run_id() != 0) absl::StrAppend(&line, " by run ", r.run_id());
  absl::StrAppend(&line, ": the damaged file is kept as ", r.damaged_path(), "; ", r.runs(),
                  " runs, ", r.executions(), " executions and ", r.events(),
                  " events were salvaged");
  if (r.runs_recreated() > 0) {
    absl::StrAppend(&line, " (", r.runs_recreated(), " runs recreated, their records lost)");
  }
  if (absl::StartsWith(r.method(), "none")) {
    absl::StrAppend(&line, "; the file could not be read at all");
  } else if (!r.complete()) {
    absl::StrAppend(&line, "; the records on damaged pages are lost");
  }
  return line;
}

void WriteArtifactRefJson(JsonWriter& w, const ArtifactRef& ref) {
  w.BeginObject();
  w.Key("name").String(ref.name());
  w.Key("digest").String(ref.digest());
  w.Key("type_name").String(ref.type_name());
  w.Key("size").Int(ref.size());
  w.Key("label").String(ref.label());
  w.Key("uri").String(ref.uri());
  w.EndObject();
}

void WriteExecutionJson(JsonWriter& w, const Execution& e) {
  w.BeginObject();
  w.Key("id").Int(e.id());
  w.Key("run_id").Int(e.run_id());
  w.Key("step").String(e.step_name());
  w.Key("version").String(e.step_version());
  w.Key("action_key").String(e.action_key());
  w.Key("status").String(StatusName(e.status()));
  w.Key("cache_hit").Bool(e.cache_hit());
  w.Key("start_time");
  WriteTime(w, e.start_time());
  w.Key("end_time");
  WriteTime(w, e.end_time());
  w.Key("duration_seconds");
  WriteDuration(w, e.start_time(), e.end_time());
  w.Key("inputs").BeginArray();
  for (const ArtifactRef& r : e.inputs()) WriteArtifactRefJson(w, r);
  w.EndArray();
  w.Key("outputs").BeginArray();
  for (const ArtifactRef& r : e.outputs()) WriteArtifactRefJson(w, r);
  w.EndArray();
  w.Key("params");
  WriteParamsJson(w, e.params());
  w.Key("metrics");
  WriteMetricsJson(w, e.metrics());
  w.Key("error_message").String(e.error_message());
  w.Key("nondeterministic").Bool(e.nondeterministic());
  w.EndObject();
}

std::string FormatTable(const std::vector<std::vector<std::string>>& rows,
                        const std::vector<Align>& align) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string text;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      if (i > 0) line += "  ";
      const size_t pad = widths[i] - row[i].size();
      if (i < align.size() && align[i] == Align::kRight) {
        line.append(pad, ' ');
        line += row[i];
      } else {
        line += row[i];
        line.append(pad, ' ');
      }
    }
    // A left-aligned or empty last cell: no trailing blanks.
    while (!line.empty() && line.back() == ' ') line.pop_back();
    absl::StrAppend(&text, line, "\n");
  }
  return text;
}

void PrintTable(std::FILE* out, const std::vector<std::vector<std::string>>& rows,
                const std::vector<Align>& align) {
  std::fputs(FormatTable(rows, align).c_str(), out);
}

}  // namespace cli
}  // namespace mlops
