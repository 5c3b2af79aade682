// Internal: the records a Workspace's call leaves: its Execution in lineage (lineage.proto),
// and for a computed result its ActionResult in the cache (action_result.proto). Include
// mlops/core/workspace.h instead.
//
// Thread safety: pure functions.
#ifndef MLOPS_CORE_INTERNAL_CALL_RECORDS_H_
#define MLOPS_CORE_INTERNAL_CALL_RECORDS_H_

#include <google/protobuf/repeated_ptr_field.h>
#include <google/protobuf/timestamp.pb.h>

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "mlops/hash/digest.h"
#include "mlops/lineage/lineage.pb.h"
#include "mlops/store/action_result.pb.h"

namespace mlops {

struct ActionRequest;

namespace core_internal {

// `time` as a Timestamp, to the microsecond.
void SetTime(google::protobuf::Timestamp* t, absl::Time time);

// The execution of `request` (action key `key`) in run `run_id`: its step, version, action
// key and inputs; status, outputs and times are the caller's to set.
Execution NewExecution(const ActionRequest& request, const Digest& key, int64_t run_id);

// Appends an ArtifactRef for each output of `result` to `refs` (an execution's outputs, or
// its expected_outputs).
void AddOutputs(const ActionResult& result, google::protobuf::RepeatedPtrField<ArtifactRef>* refs);

// The execution recording a cache hit of `request` that returned `result`, at `now`: CACHED,
// with the outputs, params and metrics of the execution that computed it.
Execution HitExecution(const ActionRequest& request, const Digest& key, int64_t run_id,
                       const ActionResult& result, absl::Time now);

// The cache record of `exec`, which computed `request` from `start` to `end` on `host`: the
// execution and run that made it, its duration, params and metrics, and an output per
// output name (name and type; Store fills in digests and sizes).
ActionResult NewRecord(const ActionRequest& request, const Execution& exec,
                       const std::string& host, absl::Time start, absl::Time end);

}  // namespace core_internal
}  // namespace mlops

#endif  // MLOPS_CORE_INTERNAL_CALL_RECORDS_H_
