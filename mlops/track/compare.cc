#include "mlops/track/compare.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace mlops {
namespace {

using NamedValues = std::map<std::string, std::string>;

absl::Time ToTime(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

bool SameNumber(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }

bool SameSummary(const std::optional<MetricSummary>& a, const std::optional<MetricSummary>& b) {
  if (!a || !b) return !a && !b;
  return SameNumber(a->last.value, b->last.value) && SameNumber(a->min, b->min) &&
         SameNumber(a->max, b->max);
}

// One row per name any of `per_target` has, in name order; only those that differ if
// `only_differing`.
std::vector<CompareRow> Rows(const std::vector<NamedValues>& per_target, bool only_differing) {
  std::set<std::string> names;
  for (const NamedValues& values : per_target) {
    for (const auto& [name, value] : values) names.insert(name);
  }
  std::vector<CompareRow> rows;
  for (const std::string& name : names) {
    CompareRow row;
    row.name = name;
    for (const NamedValues& values : per_target) {
      auto it = values.find(name);
      row.values.push_back(it == values.end() ? std::nullopt
                                              : std::optional<std::string>(it->second));
    }
    for (const std::optional<std::string>& v : row.values) {
      if (v != row.values.front()) row.differs = true;
    }
    if (row.differs || !only_differing) rows.push_back(std::move(row));
  }
  return rows;
}

// The fields of the environment that Compare lines up (see compare.h); none for no run.
NamedValues EnvironmentOf(const Run& run) {
  if (run.id() == 0) return {};
  const Environment& env = run.environment();
  NamedValues out = {{"compiler", env.compiler()},
                     {"compiler_flags", env.compiler_flags()},
                     {"os", env.os()},
                     {"cpu", env.cpu()},
                     {"host", run.host()},
                     {"user", run.user()}};
  for (const auto& [name, version] : env.library_versions()) {
    out.emplace(absl::StrCat("library_versions.", name), version);
  }
  return out;
}

// What the run's executions read that none of them output, named as compare.h says.
absl::StatusOr<NamedValues> ExternalInputs(LineageStore& store, int64_t run_id) {
  absl::StatusOr<std::vector<Execution>> executions = store.ExecutionsOfRun(run_id);
  if (!executions.ok()) return executions.status();
  std::set<std::string> produced;
  for (const Execution& e : *executions) {
    for (const ArtifactRef& out : e.outputs()) produced.insert(out.digest());
  }
  NamedValues inputs;
  std::map<std::string, int> calls;  // step → calls so far
  for (const Execution& e : *executions) {
    const int k = ++calls[e.step_name()];
    const std::string prefix = k == 1 ? e.step_name() : absl::StrCat(e.step_name(), "#", k);
    for (const ArtifactRef& in : e.inputs()) {
      if (produced.count(in.digest()) == 0) {
        inputs.emplace(absl::StrCat(prefix, ".", in.name()), in.digest());
      }
    }
  }
  return inputs;
}

// What Compare reads of one target.
struct TargetValues {
  ComparedTarget shown;
  NamedValues params;
  std::map<std::string, MetricSummary> metrics;
  NamedValues inputs;
};

absl::StatusOr<TargetValues> Load(LineageStore& store, const CompareTarget& target) {
  TargetValues v;
  v.shown.target = target;
  if (target.kind == CompareTarget::Kind::kRun) {
    absl::StatusOr<Run> run = store.GetRun(target.id);
    if (!run.ok()) return run.status();
    v.shown.run = *std::move(run);
    absl::StatusOr<RunValues> values = store.GetRunValues(target.id);
    if (!values.ok()) return values.status();
    v.params = values->params;
    absl::StatusOr<NamedValues> inputs = ExternalInputs(store, target.id);
    if (!inputs.ok()) return inputs.status();
    v.inputs = *std::move(inputs);
  } else {
    absl::StatusOr<Execution> e = store.GetExecution(target.id);
    if (!e.ok()) return e.status();
    if (e->run_id() != 0) {
      absl::StatusOr<Run> run = store.GetRun(e->run_id());
      if (!run.ok()) return run.status();
      v.shown.run = *std::move(run);
    }
    v.params = NamedValues(e->params().begin(), e->params().end());
    for (const ArtifactRef& in : e->inputs()) v.inputs.emplace(in.name(), in.digest());
    v.shown.execution = *std::move(e);
  }
  absl::StatusOr<std::map<std::string, TargetMetric>> metrics = MetricsOf(store, target);
  if (!metrics.ok()) return metrics.status();
  for (const auto& [name, metric] : *metrics) v.metrics.emplace(name, Summarize(metric));
  return v;
}

}  // namespace

MetricSummary Summarize(const TargetMetric& metric) {
  MetricSummary s;
  s.last = metric.last;
  s.points = static_cast<int64_t>(metric.points.size());
  s.min = s.max = std::numeric_limits<double>::quiet_NaN();
  bool any = false;
  const auto add = [&](double value) {
    if (std::isnan(value)) return;
    s.min = any ? std::min(s.min, value) : value;
    s.max = any ? std::max(s.max, value) : value;
    any = true;
  };
  for (const MetricPoint& p : metric.points) add(p.value);
  add(metric.last.value);
  return s;
}

absl::StatusOr<std::map<std::string, TargetMetric>> MetricsOf(LineageStore& store,
                                                              const CompareTarget& target) {
  std::map<std::string, TargetMetric> out;
  if (target.kind == CompareTarget::Kind::kRun) {
    absl::StatusOr<RunValues> values = store.GetRunValues(target.id);
    if (!values.ok()) return values.status();
    for (const auto& [name, value] : values->metrics) {
      const MetricOwner owner = value.execution_id == 0
                                    ? MetricOwner::OfRun(target.id)
                                    : MetricOwner::OfExecution(target.id, value.execution_id);
      absl::StatusOr<std::vector<MetricPoint>> series = store.MetricSeries(owner, name);
      if (!series.ok()) return series.status();
      TargetMetric& m = out[name];
      m.last = MetricPoint{value.step, value.value, value.time};
      m.points = series->empty() ? std::vector<MetricPoint>{m.last} : *std::move(series);
    }
    return out;
  }
  absl::StatusOr<Execution> e = store.GetExecution(target.id);
  if (!e.ok()) return e.status();
  const MetricOwner owner = MetricOwner::OfExecution(e->run_id(), e->id());
  absl::StatusOr<std::vector<std::string>> keys = store.MetricKeys(owner);
  if (!keys.ok()) return keys.status();
  for (const std::string& key : *keys) {
    absl::StatusOr<std::vector<MetricPoint>> series = store.MetricSeries(owner, key);
    if (!series.ok()) return series.status();
    if (series->empty()) continue;
    TargetMetric& m = out[key];
    m.points = *std::move(series);
    m.last = m.points.front();
    for (const MetricPoint& p : m.points) {
      if (IsLaterPoint(p, m.last)) m.last = p;
    }
  }
  for (const auto& [key, value] : e->metrics()) {
    const MetricPoint at_end{0, value, ToTime(e->end_time())};
    TargetMetric& m = out[key];
    if (m.points.empty()) {
      m.points = {at_end};
      m.last = at_end;
    } else if (IsLaterPoint(at_end, m.last)) {
      m.last = at_end;
    }
  }
  return out;
}

absl::StatusOr<Comparison> Compare(LineageStore& store, const std::vector<CompareTarget>& targets,
                                   const CompareOptions& options) {
  if (targets.empty()) {
    return absl::InvalidArgumentError("nothing to compare: no run or execution given");
  }
  std::vector<TargetValues> loaded;
  for (const CompareTarget& t : targets) {
    absl::StatusOr<TargetValues> v = Load(store, t);
    if (!v.ok()) return v.status();
    loaded.push_back(*std::move(v));
  }
  Comparison c;
  std::vector<NamedValues> params, inputs, environment;
  std::set<std::string> metric_names;
  for (TargetValues& v : loaded) {
    params.push_back(v.params);
    inputs.push_back(v.inputs);
    environment.push_back(EnvironmentOf(v.shown.run));
    for (const auto& [name, summary] : v.metrics) metric_names.insert(name);
    c.targets.push_back(std::move(v.shown));
  }
  c.params = Rows(params, !options.all_params);
  c.inputs = Rows(inputs, /*only_differing=*/false);
  c.environment = Rows(environment, /*only_differing=*/true);
  for (const std::string& name : metric_names) {
    MetricCompareRow row;
    row.name = name;
    for (const TargetValues& v : loaded) {
      auto it = v.metrics.find(name);
      row.values.push_back(it == v.metrics.end() ? std::nullopt
                                                 : std::optional<MetricSummary>(it->second));
    }
    for (const std::optional<MetricSummary>& s : row.values) {
      if (!SameSummary(s, row.values.front())) row.differs = true;
    }
    c.metrics.push_back(std::move(row));
  }
  return c;
}

}  // namespace mlops
