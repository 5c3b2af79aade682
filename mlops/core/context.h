// mlops/core/context.h — what a running step may ask of mlops.
//
// A step that takes `mlops::Context&` as its first parameter gets: a deterministic seed
// derived from its action key (same step, version and inputs → same seed, on every
// machine), logging of parameters and metrics into its lineage record (they are cached with
// the result, so a cache hit records them too), its run and execution ids, and a scratch
// directory that is removed when the step returns.
//
// Metrics are series (mlops/lineage/tracking.h): each LogMetric appends a point (step,
// value, wall time) — the loss per epoch, say — kept in memory until the step returns and
// then written with the execution's record, batched behind the caller (a point costs the
// step tens of nanoseconds). The execution's record and listings show each metric's last
// point: the highest step, then the latest logged. A metric logged without a step is at
// step 0, so logging one again replaces the value shown (and adds a point).
//
// Names are 1 to 250 bytes and param values at most 6000 (tracking.h). A bad one is not
// logged, and fails the call when the step returns (INVALID_ARGUMENT naming it; nothing is
// cached).
//
// Example:
//   [](mlops::Context& ctx, const Dataset& d) {
//     std::mt19937_64 rng(ctx.seed());
//     ctx.LogParam("epochs", 100);
//     ...
//     ctx.LogMetric("loss", loss);
//   }
//
// Thread safety: a Context belongs to one step call; do not share it across threads.
#ifndef MLOPS_CORE_CONTEXT_H_
#define MLOPS_CORE_CONTEXT_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "mlops/hash/digest.h"
#include "mlops/lineage/tracking.h"

namespace mlops {

class Context {
 public:
  Context(std::string step_name, Digest action_key, int64_t run_id, int64_t execution_id,
          std::string scratch_root);
  ~Context();  // removes the scratch directory, if one was made
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  // A seed that depends only on the action key (step name, version and inputs).
  uint64_t seed() const { return action_key_.low() ^ (action_key_.high() * 0x9E3779B97F4A7C15ULL); }

  // Records a parameter in this execution's lineage record (the last value logged under a
  // name wins). Doubles are written in their shortest exact form.
  void LogParam(absl::string_view name, absl::string_view value);
  void LogParam(absl::string_view name, double value);
  void LogParam(absl::string_view name, int64_t value);
  void LogParam(absl::string_view name, int value) { LogParam(name, int64_t{value}); }
  // Appends a point to the metric's series: at `step` (e.g. the epoch), or at step 0.
  // NaN and infinities are kept as they are.
  void LogMetric(absl::string_view name, double value, int64_t step);
  void LogMetric(absl::string_view name, double value) { LogMetric(name, value, 0); }

  const std::string& step_name() const { return step_name_; }
  const Digest& action_key() const { return action_key_; }
  int64_t run_id() const { return run_id_; }
  int64_t execution_id() const { return execution_id_; }

  // A private, empty directory for this call, created on first use and removed (with its
  // contents) when the step returns. Errors name the path.
  absl::StatusOr<std::string> ScratchDir();

  const std::map<std::string, std::string>& params() const { return params_; }
  // Each metric's last point's value.
  std::map<std::string, double> metrics() const;
  // Each metric's points, in the order logged, moved out (the workspace hands them to the
  // lineage store when the step returns); the context then has none.
  std::map<std::string, std::vector<MetricPoint>> TakeSeries() {
    last_series_ = nullptr;
    return std::move(series_);
  }
  // OK, or the first bad name or value logged (INVALID_ARGUMENT, naming it).
  const absl::Status& status() const { return status_; }

 private:
  const std::string step_name_;
  const Digest action_key_;
  const int64_t run_id_;
  const int64_t execution_id_;
  const std::string scratch_root_;
  std::string scratch_;
  // The first error (a bad name or value), which fails the call.
  void Fail(absl::Status status);

  std::map<std::string, std::string> params_;
  std::map<std::string, std::vector<MetricPoint>> series_;
  // The series appended to last, so that a loop logging one metric finds it at once.
  std::vector<MetricPoint>* last_series_ = nullptr;
  std::string last_name_;
  absl::Status status_;
};

}  // namespace mlops

#endif  // MLOPS_CORE_CONTEXT_H_
