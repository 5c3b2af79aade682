#include "mlops/core/internal/call_records.h"

#include "absl/strings/str_cat.h"
#include "mlops/core/workspace.h"

namespace mlops {
namespace core_internal {

void SetTime(google::protobuf::Timestamp* t, absl::Time time) {
  const int64_t us = absl::ToUnixMicros(time);
  t->set_seconds(us / 1000000);
  t->set_nanos(static_cast<int32_t>(us % 1000000) * 1000);
}

Execution NewExecution(const ActionRequest& request, const Digest& key, int64_t run_id) {
  Execution exec;
  exec.set_run_id(run_id);
  exec.set_step_name(request.step_name);
  exec.set_step_version(absl::StrCat(request.step_version));
  exec.set_action_key(key.ToHex());
  for (const ActionInput& in : request.inputs) {
    ArtifactRef* ref = exec.add_inputs();
    ref->set_name(in.name);
    ref->set_digest(in.digest.ToHex());
    ref->set_type_name(in.type_name);
    ref->set_size(in.size);
    ref->set_label(in.label);
    ref->set_uri(in.uri);
  }
  return exec;
}

void AddOutputs(const ActionResult& result, google::protobuf::RepeatedPtrField<ArtifactRef>* refs) {
  for (const OutputRef& out : result.outputs()) {
    ArtifactRef* ref = refs->Add();
    ref->set_name(out.name());
    ref->set_digest(out.digest());
    ref->set_size(out.size());
    ref->set_type_name(out.type_name());
  }
}

Execution HitExecution(const ActionRequest& request, const Digest& key, int64_t run_id,
                       const ActionResult& result, absl::Time now) {
  Execution exec = NewExecution(request, key, run_id);
  exec.set_status(Execution::CACHED);
  exec.set_cache_hit(true);
  SetTime(exec.mutable_start_time(), now);
  SetTime(exec.mutable_end_time(), now);
  AddOutputs(result, exec.mutable_outputs());
  *exec.mutable_params() = result.params();
  *exec.mutable_metrics() = result.metrics();
  return exec;
}

ActionResult NewRecord(const ActionRequest& request, const Execution& exec,
                       const std::string& host, absl::Time start, absl::Time end) {
  ActionResult record;
  SetTime(record.mutable_created(), end);
  record.set_execution_id(absl::StrCat(exec.id()));
  record.set_run_id(absl::StrCat(exec.run_id()));
  record.set_host(host);
  record.set_duration_us(absl::ToInt64Microseconds(end - start));
  *record.mutable_params() = exec.params();
  *record.mutable_metrics() = exec.metrics();
  for (size_t i = 0; i < request.output_names.size(); ++i) {
    OutputRef* out = record.add_outputs();
    out->set_name(request.output_names[i]);
    out->set_type_name(request.output_types[i]);
  }
  return record;
}

}  // namespace core_internal
}  // namespace mlops
