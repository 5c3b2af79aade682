#include "mlops/lineage/internal/columns.h"

#include <cstdint>

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

}  // namespace lineage_internal
}  // namespace mlops
