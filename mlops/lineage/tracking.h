// mlops/lineage/tracking.h — what experiment tracking keeps beside the lineage: the values
// of a run's tags, params and metrics, and metric series.
//
// A run belongs to one experiment (Run.experiment, "default" unless named) and has a name
// (Run.name) and tags (mutable: the last write wins). Params are strings; a run's own
// params (logged by the program, not by a step) are write-once. A metric is a series of
// points (step, value, wall time), e.g. the loss per epoch; a metric logged without a step
// is a point at step 0. A series' last point is the one with the highest step, then the
// latest time: it is the value listings show and searches compare.
//
// What a run's `params.X` and `metrics.X` are (RunValues, and what search compares): what
// the run logged itself or what any of its executions logged. What the run logged itself
// wins: a param it logged, and the last point of its own series of a metric. Otherwise the
// latest execution's: for a param, the execution written last; for a metric, the latest
// value (by the time it was logged; an execution's own series counts with its last point).
// Cache hits count as executions of their run, with the params and metrics recorded with
// the result they reuse.
//
// Values are stored as logged: NaN and ±infinity included.
//
// Thread safety: plain values and pure functions.
#ifndef MLOPS_LINEAGE_TRACKING_H_
#define MLOPS_LINEAGE_TRACKING_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace mlops {

// Names (of experiments, runs, tags, params and metrics) are 1 to this many bytes...
inline constexpr size_t kMaxTrackingNameBytes = 250;
// ...and param and tag values at most this many.
inline constexpr size_t kMaxTrackingValueBytes = 6000;

// OK if `name` is a valid name; INVALID_ARGUMENT naming `what` (e.g. "metric name") and
// quoting the name (shortened) if it is empty or longer than kMaxTrackingNameBytes.
absl::Status CheckTrackingName(absl::string_view what, absl::string_view name);
// OK if `value` is a valid param or tag value; INVALID_ARGUMENT naming `what` (e.g.
// "param 'lr'") and the size if it is longer than kMaxTrackingValueBytes.
absl::Status CheckTrackingValue(absl::string_view what, absl::string_view value);

// One point of a metric series.
struct MetricPoint {
  int64_t step = 0;
  double value = 0;
  absl::Time time;  // wall time when logged (kept to the microsecond)
};

// Whether `a` comes after `b` in a series: a higher step, or the same step and a later time.
// (Of two points with the same step and time, the one logged later is the last.)
inline bool IsLaterPoint(const MetricPoint& a, const MetricPoint& b) {
  return a.step != b.step ? a.step > b.step : a.time > b.time;
}

// Whose series: a run's own (execution_id 0) or an execution's (in run run_id).
struct MetricOwner {
  int64_t run_id = 0;
  int64_t execution_id = 0;

  static MetricOwner OfRun(int64_t run_id) { return MetricOwner{run_id, 0}; }
  static MetricOwner OfExecution(int64_t run_id, int64_t execution_id) {
    return MetricOwner{run_id, execution_id};
  }
};

// The value a metric shows: the last point of its series, and whose series it is (0: the
// run's own).
struct MetricValue {
  double value = 0;
  int64_t step = 0;
  absl::Time time;
  int64_t execution_id = 0;
};

// A run's tags, params and metrics, as described at the top of the file.
struct RunValues {
  std::map<std::string, std::string> tags;
  std::map<std::string, std::string> params;
  std::map<std::string, MetricValue> metrics;
};

// An experiment and how many runs it has.
struct Experiment {
  int64_t id = 0;
  std::string name;
  int64_t runs = 0;
  absl::Time last_start;  // the start of its newest run (InfinitePast if none)
};

}  // namespace mlops

#endif  // MLOPS_LINEAGE_TRACKING_H_
