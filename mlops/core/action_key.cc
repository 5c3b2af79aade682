#include "mlops/core/action_key.h"

#include "mlops/codec/codec.h"

namespace mlops {

Digest ActionKey(absl::string_view step_name, int step_version,
                 absl::Span<const ActionInput> inputs, absl::string_view output_signature) {
  Encoder e;
  Codec<std::string>::Write("mlops.action/1", e);
  Codec<std::string>::Write(step_name, e);
  Codec<int32_t>::Write(step_version, e);
  e.AppendInt<uint64_t>(inputs.size());
  for (const ActionInput& in : inputs) {
    Codec<std::string>::Write(in.signature, e);
    Codec<Digest>::Write(in.digest, e);
  }
  Codec<std::string>::Write(output_signature, e);
  return e.Finish();
}

}  // namespace mlops
