#include "mlops/core/context.h"

#include <unistd.h>

#include <atomic>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "fmt/format.h"
#include "mlops/base/file_io.h"

namespace mlops {

Context::Context(std::string step_name, Digest action_key, int64_t run_id,
                 int64_t execution_id, std::string scratch_root)
    : step_name_(std::move(step_name)),
      action_key_(action_key),
      run_id_(run_id),
      execution_id_(execution_id),
      scratch_root_(std::move(scratch_root)) {}

Context::~Context() {
  if (!scratch_.empty()) RemoveAll(scratch_).IgnoreError();
}

void Context::Fail(absl::Status status) {
  if (status_.ok()) {
    status_ = absl::InvalidArgumentError(
        absl::StrCat("it logged a bad name or value: ", status.message()));
  }
}

void Context::LogParam(absl::string_view name, absl::string_view value) {
  absl::Status s = CheckTrackingName("param name", name);
  if (s.ok()) s = CheckTrackingValue(absl::StrCat("param '", name, "'"), value);
  if (!s.ok()) return Fail(s);
  params_[std::string(name)] = std::string(value);
}

void Context::LogParam(absl::string_view name, double value) {
  LogParam(name, fmt::format("{}", value));  // shortest exact form
}

void Context::LogParam(absl::string_view name, int64_t value) {
  LogParam(name, absl::StrCat(value));
}

void Context::LogMetric(absl::string_view name, double value, int64_t step) {
  const absl::Time now = absl::Now();
  if (last_series_ == nullptr || name != last_name_) {
    absl::Status s = CheckTrackingName("metric name", name);
    if (!s.ok()) return Fail(s);
    last_series_ = &series_[std::string(name)];
    last_name_ = std::string(name);
  }
  last_series_->push_back(MetricPoint{step, value, now});
}

std::map<std::string, double> Context::metrics() const {
  std::map<std::string, double> last;
  for (const auto& [name, points] : series_) {
    const MetricPoint* best = &points.front();
    for (const MetricPoint& p : points) {
      if (!IsLaterPoint(*best, p)) best = &p;  // ties: the one logged later
    }
    last.emplace(name, best->value);
  }
  return last;
}

absl::StatusOr<std::string> Context::ScratchDir() {
  if (!scratch_.empty()) return scratch_;
  static std::atomic<uint64_t> counter{0};
  const std::string root = scratch_root_.empty() ? "/tmp/mlops-scratch" : scratch_root_;
  const std::string dir = absl::StrCat(root, "/", ::getpid(), "-", execution_id_, "-",
                                       counter.fetch_add(1, std::memory_order_relaxed));
  absl::Status s = RemoveAll(dir);
  if (s.ok()) s = MakeDirectories(dir);
  if (!s.ok()) return s;
  scratch_ = dir;
  return scratch_;
}

}  // namespace mlops
