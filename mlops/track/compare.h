// mlops/track/compare.h — runs and executions side by side: what differs between them.
//
// Compare reads, through the LineageStore API only, what each target (a run or an
// execution) was run with and what it measured, and lines the values up by name, one row
// per name with a value (or none) per target:
//   params       the params that differ (or all, CompareOptions::all_params): a run's are
//                RunValues.params (tracking.h: its own, else its latest execution's), an
//                execution's its Execution.params;
//   metrics      every metric, summarized (MetricSummary: last, min, max);
//   inputs       the data read, by name → digest: an execution's inputs (by input name);
//                a run's external inputs, the artifacts its executions read that no
//                execution of the run (cache hits included) output, named
//                "<step>.<input name>", or "<step>#<k>.<input name>" for the k-th call
//                (k ≥ 2) of a step in the run, in id order (as `mlops diff` pairs steps);
//   environment  the fields of the run's Environment (for an execution, its run's) that
//                differ: compiler, compiler_flags, os, cpu, "library_versions.<name>"
//                for each library, host and user (of the Run).
// The code revision (Environment.source_revision and source_state) is in each target's
// `run`. A row "differs" if some target's value is not the same as another's, a missing
// value counting as a value of its own.
//
// A metric of a target (MetricsOf): for a run, each metric of RunValues.metrics, with
// the series that value comes from: the run's own (MetricValue.execution_id 0) or that
// execution's (a cache hit's is the series of the execution it reuses, see
// LineageStore::MetricSeries). For an execution, each series it logged (MetricKeys) and
// each entry of Execution.metrics, which is a point at step 0 at the execution's end.
// A metric without a series is that one point. Its `last` is, for a run, the value
// RunValues shows; for an execution, the last point (tracking.h: highest step, then
// latest time) of its series and its Execution.metrics point.
//
// Non-finite values: NaN and ±infinity are kept as logged. min and max ignore NaN points
// (±infinity are ordered as usual); they are NaN only when every point is NaN.
//
// Example:
//   absl::StatusOr<mlops::Comparison> c = mlops::Compare(
//       store, {mlops::CompareTarget::OfRun(3), mlops::CompareTarget::OfRun(4)});
//   for (const mlops::CompareRow& p : c->params) { /* p.name, p.values[0], p.values[1] */ }
//
// Thread safety: pure functions over the store (which is safe for concurrent use); the
// results are plain values.
#ifndef MLOPS_TRACK_COMPARE_H_
#define MLOPS_TRACK_COMPARE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "mlops/lineage/lineage.pb.h"
#include "mlops/lineage/lineage_store.h"
#include "mlops/lineage/tracking.h"

namespace mlops {

// A run or an execution, by id.
struct CompareTarget {
  enum class Kind { kRun, kExecution };
  Kind kind = Kind::kRun;
  int64_t id = 0;

  static CompareTarget OfRun(int64_t id) { return CompareTarget{Kind::kRun, id}; }
  static CompareTarget OfExecution(int64_t id) { return CompareTarget{Kind::kExecution, id}; }
  friend bool operator==(const CompareTarget& a, const CompareTarget& b) {
    return a.kind == b.kind && a.id == b.id;
  }
};

// One metric of a target (see the top of the file).
struct TargetMetric {
  // Its series, in the order logged; the one point of its value if it has no series.
  std::vector<MetricPoint> points;
  // The value it shows.
  MetricPoint last;
};

// A metric's values over its points (see the top of the file).
struct MetricSummary {
  MetricPoint last;
  double min = 0;
  double max = 0;
  // How many points TargetMetric::points has (1 for a metric without a series).
  int64_t points = 0;
};

// One name and its value in each target: values[i] is targets[i]'s, nullopt if it has
// none.
struct CompareRow {
  std::string name;
  std::vector<std::optional<std::string>> values;
  bool differs = false;
};
struct MetricCompareRow {
  std::string name;
  std::vector<std::optional<MetricSummary>> values;
  bool differs = false;  // some summary (last, min, max; NaN equal to NaN) or presence differs
};

// What a comparison shows of one target.
struct ComparedTarget {
  CompareTarget target;
  // The run: the target itself, or the execution's run (empty, id 0, for an execution
  // that belongs to no run: its environment rows are then nullopt).
  Run run;
  // The execution, for an execution target; empty for a run.
  Execution execution;
};

struct Comparison {
  std::vector<ComparedTarget> targets;  // in the order given
  // Each list is sorted by name.
  std::vector<CompareRow> params;         // those that differ, or all (all_params)
  std::vector<MetricCompareRow> metrics;  // all
  std::vector<CompareRow> inputs;         // all; values are digests (32 lowercase hex)
  std::vector<CompareRow> environment;    // those that differ
};

struct CompareOptions {
  // List every param, not only those that differ.
  bool all_params = false;
};

// `targets` side by side, in the order given (a target may appear twice; one target
// alone is allowed: then nothing differs). INVALID_ARGUMENT if `targets` is empty;
// NOT_FOUND, naming the id, for a run or execution the store does not have; other errors
// of the store as they come.
absl::StatusOr<Comparison> Compare(LineageStore& store, const std::vector<CompareTarget>& targets,
                                   const CompareOptions& options = {});

// The metrics of `target` by name (see the top of the file). Errors as Compare.
absl::StatusOr<std::map<std::string, TargetMetric>> MetricsOf(LineageStore& store,
                                                              const CompareTarget& target);

// `metric` summarized: its last, and min and max over its points and its last.
MetricSummary Summarize(const TargetMetric& metric);

}  // namespace mlops

#endif  // MLOPS_TRACK_COMPARE_H_
