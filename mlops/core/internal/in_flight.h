// Internal: the calls a Workspace is computing right now, so that concurrent calls of one
// action key in this process compute once. Include mlops/core/workspace.h instead.
//
// The first caller of a key leads: Join returns nothing, the caller computes and then
// reports the outcome with Finish. Callers that Join meanwhile wait for that outcome.
//
// Thread safety: all methods may be called from any thread.
#ifndef MLOPS_CORE_INTERNAL_IN_FLIGHT_H_
#define MLOPS_CORE_INTERNAL_IN_FLIGHT_H_

#include <memory>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "mlops/base/mutex.h"
#include "mlops/cache/cached_result.h"
#include "mlops/hash/digest.h"

namespace mlops {
namespace core_internal {

class InFlightCalls {
 public:
  // What the leader's call came to: its status, and on success the stored result.
  struct Outcome {
    absl::Status status;
    std::shared_ptr<const CachedResult> entry;
  };

  // If a call of `key` is in flight, waits for it and returns its outcome. Otherwise
  // registers the caller as the leader and returns nullopt. REQUIRES: a leader calls
  // Finish(key, ...) exactly once.
  std::optional<Outcome> Join(const Digest& key);
  // Ends the leader's call of `key`, waking those waiting for it with `outcome`.
  void Finish(const Digest& key, Outcome outcome);

 private:
  struct Flight {
    Mutex mu;
    CondVar done_cv;
    bool done ABSL_GUARDED_BY(mu) = false;
    Outcome outcome ABSL_GUARDED_BY(mu);
  };

  Mutex mu_;
  absl::flat_hash_map<Digest, std::shared_ptr<Flight>> flights_ ABSL_GUARDED_BY(mu_);
};

}  // namespace core_internal
}  // namespace mlops

#endif  // MLOPS_CORE_INTERNAL_IN_FLIGHT_H_
