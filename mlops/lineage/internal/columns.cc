#include "mlops/lineage/internal/columns.h"

#include <cstdint>
#include <utility>

namespace mlops {
namespace lineage_internal {

std::string ResultKey(const Execution& e) {
  if (e.action_key().empty() || e.outputs_size() == 0) return "";
  Hasher h;
  h.Update(DigestBlob(*Digest::FromHex(e.action_key())));
  for (const ArtifactRef& out : e.outputs()) {
    const uint64_t name_size = out.name().size();
    h.Update(&name_size, sizeof(name_size));
    h.Update(out.name());
    h.Update(DigestBlob(*Digest::FromHex(out.digest())));
  }
  return DigestBlob(h.Finish());
}

namespace {

absl::Status ValidateRef(const ArtifactRef& ref, absl::string_view role) {
  if (!Digest::FromHex(ref.digest()).ok()) {
    return absl::InvalidArgumentError(absl::StrCat(role, " \"", ref.name(),
                                                   "\" has a malformed digest \"",
                                                   ref.digest(), "\""));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateExecution(const Execution& e) {
  if (e.step_name().empty()) {
    return absl::InvalidArgumentError("execution has no step name");
  }
  if (!e.action_key().empty() && !Digest::FromHex(e.action_key()).ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("execution of ", e.step_name(), " has a malformed action key \"",
                     e.action_key(), "\""));
  }
  for (const auto& [refs, role] : {std::make_pair(&e.inputs(), "input"),
                                   std::make_pair(&e.outputs(), "output"),
                                   std::make_pair(&e.expected_outputs(), "expected output")}) {
    for (const ArtifactRef& r : *refs) {
      absl::Status s = ValidateRef(r, role);
      if (!s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace lineage_internal
}  // namespace mlops
