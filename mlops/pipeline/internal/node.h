// Internal: a pipeline node with its types erased, as the builder stores it and the
// executor runs it. Include mlops/pipeline/pipeline.h instead.
#ifndef MLOPS_PIPELINE_INTERNAL_NODE_H_
#define MLOPS_PIPELINE_INTERNAL_NODE_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "mlops/core/workspace.h"

namespace mlops {
namespace pipeline_internal {

// A value handed from node to node: a `const T` of the type its handle names.
using Value = std::shared_ptr<const void>;

// One input of a node.
struct InputSpec {
  enum class Kind { kUpstream, kLiteral, kFile };
  Kind kind = Kind::kLiteral;
  int node = -1;   // kUpstream: the producing node
  int output = 0;  // kUpstream: which of its outputs
  // kLiteral: the value (a const Param); kFile: the mlops::File.
  Value literal;
  // As the engine sees the input. Complete for literals (hashed when the node was added);
  // upstream inputs get their digest and size, files their digest, when the node runs.
  ActionInput described;
};

// Decodes one output's bytes into a Value of the output's type.
using Decoder = absl::StatusOr<Value> (*)(absl::string_view bytes);

// Runs the step on `inputs` (one pointer per parameter, to a value of that parameter's
// type), appends the computed outputs to `*outputs`, and returns their encodings.
using Invoker = std::function<absl::StatusOr<std::vector<std::string>>(
    Context& ctx, const void* const* inputs, std::vector<Value>* outputs)>;

struct NodeSpec {
  std::string name;
  std::string step_name;
  int step_version = 0;
  CallableId callable;  // the step's function (Workspace::Execute checks it)
  std::vector<InputSpec> inputs;
  std::vector<std::string> output_names;
  std::vector<std::string> output_types;
  std::string output_signature;
  std::vector<Decoder> decoders;  // one per output
  Invoker invoke;
  std::vector<int> upstream;  // distinct producing nodes, ascending
};

template <typename T>
absl::StatusOr<Value> DecodeValue(absl::string_view bytes) {
  absl::StatusOr<T> v = Decode<T>(bytes);
  if (!v.ok()) return v.status();
  return Value(std::make_shared<const T>(*std::move(v)));
}

}  // namespace pipeline_internal
}  // namespace mlops

#endif  // MLOPS_PIPELINE_INTERNAL_NODE_H_
