// mlops/core/context.h — what a running step may ask of mlops.
//
// A step that takes `mlops::Context&` as its first parameter gets: a deterministic seed
// derived from its action key (same step, version and inputs → same seed, on every
// machine), logging of parameters and metrics into its lineage record (they are cached with
// the result, so a cache hit records them too), its run and execution ids, and a scratch
// directory that is removed when the step returns.
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

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "mlops/hash/digest.h"

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

  // Records a parameter or metric in this execution's lineage record (the last value
  // logged under a name wins).
  void LogParam(absl::string_view name, absl::string_view value);
  void LogParam(absl::string_view name, double value);
  void LogParam(absl::string_view name, int64_t value);
  void LogParam(absl::string_view name, int value) { LogParam(name, int64_t{value}); }
  void LogMetric(absl::string_view name, double value);

  const std::string& step_name() const { return step_name_; }
  const Digest& action_key() const { return action_key_; }
  int64_t run_id() const { return run_id_; }
  int64_t execution_id() const { return execution_id_; }

  // A private, empty directory for this call, created on first use and removed (with its
  // contents) when the step returns. Errors name the path.
  absl::StatusOr<std::string> ScratchDir();

  const std::map<std::string, std::string>& params() const { return params_; }
  const std::map<std::string, double>& metrics() const { return metrics_; }

 private:
  const std::string step_name_;
  const Digest action_key_;
  const int64_t run_id_;
  const int64_t execution_id_;
  const std::string scratch_root_;
  std::string scratch_;
  std::map<std::string, std::string> params_;
  std::map<std::string, double> metrics_;
};

}  // namespace mlops

#endif  // MLOPS_CORE_CONTEXT_H_
