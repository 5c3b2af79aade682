#include "mlops/core/internal/step_registry.h"

#include "absl/strings/str_cat.h"
#include "mlops/core/workspace.h"

namespace mlops {
namespace core_internal {

absl::Status StepRegistry::Check(const ActionRequest& request) {
  if (!request.callable.known()) return absl::OkStatus();
  // The name's length leads, so that no name can run into the fields after it.
  std::string key = absl::StrCat(request.step_name.size(), ":", request.step_name, "\n",
                                 request.step_version, "\n", request.output_signature);
  for (const ActionInput& in : request.inputs) absl::StrAppend(&key, "\n", in.signature);
  MutexLock lock(&mu_);
  const auto [it, inserted] = steps_.try_emplace(std::move(key), request.callable);
  if (inserted || it->second == request.callable) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "step '", request.step_name, "' (version ", request.step_version,
      ") is declared with two different functions in this program: ", it->second.Describe(),
      " and ", request.callable.Describe(), ". With the same name, version and types they "
      "would share cached results (the second would return the first's); give one of them "
      "its own step name"));
}

}  // namespace core_internal
}  // namespace mlops
