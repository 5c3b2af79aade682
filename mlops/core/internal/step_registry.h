// Internal: the steps a Workspace has seen called, by name, version and types, with the
// function each runs, so that a second function declared under the same step is refused
// (mlops/core/callable_id.h). Include mlops/core/workspace.h instead.
//
// Thread safety: all methods may be called from any thread.
#ifndef MLOPS_CORE_INTERNAL_STEP_REGISTRY_H_
#define MLOPS_CORE_INTERNAL_STEP_REGISTRY_H_

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "mlops/base/mutex.h"
#include "mlops/core/callable_id.h"

namespace mlops {
struct ActionRequest;

namespace core_internal {

class StepRegistry {
 public:
  // OK if request.callable is unknown, or is the callable of the first request seen with
  // the same step name, version, input signatures and output signature (which it becomes
  // if there was none). Otherwise FAILED_PRECONDITION naming the step and both callables.
  absl::Status Check(const ActionRequest& request);

 private:
  Mutex mu_;
  absl::flat_hash_map<std::string, CallableId> steps_ ABSL_GUARDED_BY(mu_);
};

}  // namespace core_internal
}  // namespace mlops

#endif  // MLOPS_CORE_INTERNAL_STEP_REGISTRY_H_
