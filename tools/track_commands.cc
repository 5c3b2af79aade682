// `mlops experiments` and `mlops compare`.
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "mlops/track/compare.h"
#include "tools/cli_workspace.h"
#include "tools/commands.h"
#include "tools/ids.h"
#include "tools/metric_series.h"
#include "tools/records.h"
#include "tools/units.h"

namespace mlops {
namespace cli {
namespace {

constexpr Align L = Align::kLeft, R = Align::kRight;

bool SameNumber(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }

// "last [min, max]", or the last alone when all three are the same.
std::string MetricCell(const MetricSummary& s) {
  if (SameNumber(s.last.value, s.min) && SameNumber(s.min, s.max)) {
    return FormatMetricValue(s.last.value);
  }
  return absl::StrCat(FormatMetricValue(s.last.value), " [", FormatMetricValue(s.min), ", ",
                      FormatMetricValue(s.max), "]");
}

// The run's source revision, shortened, marked if the tree had uncommitted changes.
std::string SourceCell(const Run& run) {
  const Environment& env = run.environment();
  if (env.source_revision().empty()) return "-";
  return absl::StrCat(
      env.source_revision().substr(0, 12),
      env.source_state() == Environment::SOURCE_MODIFIED ? " (uncommitted changes)" : "");
}

Target AsTarget(const CompareTarget& t) {
  Target out;
  out.kind = t.kind == CompareTarget::Kind::kRun ? Target::kRun : Target::kExecution;
  out.id = t.id;
  return out;
}

bool IsExecution(const ComparedTarget& t) {
  return t.target.kind == CompareTarget::Kind::kExecution;
}

std::string CompareText(const Comparison& c, bool all_params) {
  bool any_execution = false;
  for (const ComparedTarget& t : c.targets) any_execution |= IsExecution(t);
  std::vector<std::vector<std::string>> rows;
  // A row of the header part: `title` and one cell per target.
  const auto add = [&](const std::string& title, auto cell) {
    std::vector<std::string> row = {title};
    for (const ComparedTarget& t : c.targets) row.push_back(cell(t));
    rows.push_back(std::move(row));
  };
  add("", [](const ComparedTarget& t) { return TargetLabel(AsTarget(t.target)); });
  const auto of_run = [](std::string (*field)(const Run&)) {
    return [field](const ComparedTarget& t) { return t.run.id() == 0 ? "-" : field(t.run); };
  };
  if (any_execution) {
    add("run", [](const ComparedTarget& t) {
      return t.run.id() == 0 ? std::string("-") : absl::StrCat(t.run.id());
    });
    add("step", [](const ComparedTarget& t) {
      return IsExecution(t) ? t.execution.step_name() : std::string("-");
    });
  }
  add("experiment", of_run([](const Run& r) { return r.experiment(); }));
  add("name", of_run([](const Run& r) { return r.name(); }));
  add("program", of_run([](const Run& r) { return r.program(); }));
  add("status", [](const ComparedTarget& t) {
    return IsExecution(t) ? StatusName(t.execution.status()) : StatusName(t.run.status());
  });
  add("source", of_run([](const Run& r) { return SourceCell(r); }));

  const auto section = [&](const std::string& title, const std::vector<CompareRow>& list,
                           const char* if_empty, bool digests) {
    rows.push_back({title});
    if (list.empty()) rows.back().push_back(if_empty);
    for (const CompareRow& r : list) {
      std::vector<std::string> row = {"  " + r.name};
      for (const std::optional<std::string>& v : r.values) {
        if (!v) {
          row.push_back("-");
        } else if (digests) {
          absl::StatusOr<Digest> d = Digest::FromHex(*v);
          row.push_back(d.ok() ? d->ShortHex() : *v);
        } else {
          row.push_back(*v);
        }
      }
      rows.push_back(std::move(row));
    }
  };
  section("params:", c.params, all_params ? "(none)" : "(none differ)", false);
  rows.push_back({"metrics:"});
  if (c.metrics.empty()) rows.back().push_back("(none)");
  for (const MetricCompareRow& r : c.metrics) {
    std::vector<std::string> row = {"  " + r.name};
    for (const std::optional<MetricSummary>& v : r.values) row.push_back(v ? MetricCell(*v) : "-");
    rows.push_back(std::move(row));
  }
  section("inputs:", c.inputs, "(none)", true);
  section("environment:", c.environment, "(none differs)", false);
  return FormatTable(rows);
}

void WriteRows(JsonWriter& w, const std::vector<CompareRow>& rows) {
  w.BeginArray();
  for (const CompareRow& r : rows) {
    w.BeginObject().Key("name").String(r.name).Key("differs").Bool(r.differs);
    w.Key("values").BeginArray();
    for (const std::optional<std::string>& v : r.values) {
      if (v) {
        w.String(*v);
      } else {
        w.Null();
      }
    }
    w.EndArray().EndObject();
  }
  w.EndArray();
}

std::string CompareJson(const Comparison& c, bool all_params) {
  JsonWriter w;
  w.BeginObject().Key("targets").BeginArray();
  for (const ComparedTarget& t : c.targets) {
    const Environment& env = t.run.environment();
    w.BeginObject();
    w.Key("target").String(TargetName(AsTarget(t.target)));
    w.Key("kind").String(IsExecution(t) ? "execution" : "run");
    w.Key("id").Int(t.target.id);
    w.Key("run_id").Int(t.run.id());
    w.Key("step").String(t.execution.step_name());
    w.Key("experiment").String(t.run.experiment());
    w.Key("name").String(t.run.name());
    w.Key("program").String(t.run.program());
    w.Key("status").String(IsExecution(t) ? StatusName(t.execution.status())
                                          : StatusName(t.run.status()));
    w.Key("source_revision").String(env.source_revision());
    w.Key("source_modified");
    if (env.source_state() == Environment::SOURCE_STATE_UNKNOWN) {
      w.Null();
    } else {
      w.Bool(env.source_state() == Environment::SOURCE_MODIFIED);
    }
    w.EndObject();
  }
  w.EndArray();
  w.Key("all_params").Bool(all_params);
  w.Key("params");
  WriteRows(w, c.params);
  w.Key("metrics").BeginArray();
  for (const MetricCompareRow& r : c.metrics) {
    w.BeginObject().Key("name").String(r.name).Key("differs").Bool(r.differs);
    w.Key("values").BeginArray();
    for (const std::optional<MetricSummary>& v : r.values) {
      if (!v) {
        w.Null();
        continue;
      }
      w.BeginObject().Key("last");
      WriteMetricValueJson(w, v->last.value);
      w.Key("last_step").Int(v->last.step).Key("min");
      WriteMetricValueJson(w, v->min);
      w.Key("max");
      WriteMetricValueJson(w, v->max);
      w.Key("points").Int(v->points).EndObject();
    }
    w.EndArray().EndObject();
  }
  w.EndArray();
  w.Key("inputs");
  WriteRows(w, c.inputs);
  w.Key("environment");
  WriteRows(w, c.environment);
  w.EndObject();
  return w.str();
}

}  // namespace

absl::Status Experiments(const Args& args, const std::string& workspace) {
  absl::StatusOr<std::unique_ptr<CliWorkspace>> ws =
      CliWorkspace::Open(workspace, CliWorkspace::Access::kRead);
  if (!ws.ok()) return ws.status();
  absl::StatusOr<std::vector<Experiment>> experiments = (*ws)->lineage().Experiments();
  if (!experiments.ok()) return experiments.status();
  if (args.has("json")) {
    JsonWriter w;
    w.BeginObject().Key("experiments").BeginArray();
    for (const Experiment& e : *experiments) {
      w.BeginObject().Key("id").Int(e.id).Key("name").String(e.name).Key("runs").Int(e.runs);
      w.Key("last_start");
      if (e.last_start == absl::InfinitePast()) {
        w.Null();
      } else {
        w.String(FormatUtcTime(e.last_start));
      }
      w.EndObject();
    }
    w.EndArray().EndObject();
    return Print(w.str());
  }
  std::vector<std::vector<std::string>> rows = {{"EXPERIMENT", "RUNS", "LAST START"}};
  for (const Experiment& e : *experiments) {
    rows.push_back({e.name, absl::StrCat(e.runs),
                    e.last_start == absl::InfinitePast() ? "-" : FormatLocalTime(e.last_start)});
  }
  return Print(FormatTable(rows, {L, R, L}));
}

absl::Status Compare(const Args& args, const std::string& workspace) {
  std::vector<CompareTarget> targets;
  for (const std::string& a : args.positional) {
    absl::StatusOr<Target> t = ParseRunOrExecution(a);
    if (!t.ok()) return t.status();
    targets.push_back(t->kind == Target::kExecution ? CompareTarget::OfExecution(t->id)
                                                    : CompareTarget::OfRun(t->id));
  }
  CompareOptions options;
  options.all_params = args.has("all-params");
  absl::StatusOr<std::unique_ptr<CliWorkspace>> ws =
      CliWorkspace::Open(workspace, CliWorkspace::Access::kRead);
  if (!ws.ok()) return ws.status();
  absl::StatusOr<Comparison> c = mlops::Compare((*ws)->lineage(), targets, options);
  if (!c.ok()) return c.status();
  return Print(args.has("json") ? CompareJson(*c, options.all_params)
                                : CompareText(*c, options.all_params));
}

}  // namespace cli
}  // namespace mlops
