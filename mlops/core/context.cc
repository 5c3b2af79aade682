#include "mlops/core/context.h"

#include <unistd.h>

#include <atomic>
#include <utility>

#include "absl/strings/str_cat.h"
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

void Context::LogParam(absl::string_view name, absl::string_view value) {
  params_[std::string(name)] = std::string(value);
}

void Context::LogParam(absl::string_view name, double value) {
  params_[std::string(name)] = fmt::format("{}", value);  // shortest exact form
}

void Context::LogParam(absl::string_view name, int64_t value) {
  params_[std::string(name)] = absl::StrCat(value);
}

void Context::LogMetric(absl::string_view name, double value) {
  metrics_[std::string(name)] = value;
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
