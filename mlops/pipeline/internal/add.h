// Internal: the template half of Pipeline::Add and RunResult::Get. Include
// mlops/pipeline/pipeline.h instead.
#ifndef MLOPS_PIPELINE_INTERNAL_ADD_H_
#define MLOPS_PIPELINE_INTERNAL_ADD_H_

#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "mlops/codec/codec.h"
#include "mlops/core/workspace.h"
#include "mlops/pipeline/internal/node.h"

namespace mlops {
namespace pipeline_internal {

template <typename T>
struct IsHandle : std::false_type {};
template <typename T>
struct IsHandle<Handle<T>> : std::true_type {};

// Whether an input of type Arg may be passed for a parameter of type Param: a Handle<Param>,
// or (any other handle excepted) a value that fits as in Workspace::Call.
template <typename Param, typename Arg>
inline constexpr bool kInputFits = std::is_same_v<call_internal::Bare<Arg>, Handle<Param>> ||
                                   (!IsHandle<call_internal::Bare<Arg>>::value &&
                                    call_internal::kArgFits<Param, Arg>);

// A parameter seen through a pointer, shaped like call_internal::ArgHolder for Invoke.
template <typename Param>
struct Ref {
  const Param* value;
  const Param& get() const { return *value; }
};

struct Access {
  template <typename T>
  static Handle<T> MakeHandle(uint64_t pipeline, int node, int output) {
    return Handle<T>(pipeline, node, output);
  }
  static uint64_t Id(const Pipeline& p) { return p.id_; }
  static int Size(const Pipeline& p) { return static_cast<int>(p.nodes_.size()); }
  static void Add(Pipeline& p, NodeSpec node) { p.AddNode(std::move(node)); }
  static void Fail(Pipeline& p, absl::Status error) { p.Fail(std::move(error)); }
};

// Describes one input of a node being added (hashing a literal), or returns why it cannot.
template <typename Param, typename Arg>
absl::Status DescribeInput(const Pipeline& p, size_t index, Arg&& arg, InputSpec* in) {
  in->described.name = absl::StrCat("arg", index);
  using B = call_internal::Bare<Arg>;
  if constexpr (IsHandle<B>::value) {
    if (arg.pipeline_id() != Access::Id(p) || arg.node() < 0 || arg.node() >= Access::Size(p)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "input ", in->described.name, " is a handle of another pipeline (or an unset one)"));
    }
    in->kind = InputSpec::Kind::kUpstream;
    in->node = arg.node();
    in->output = arg.output();
    in->described.signature = CodecSignature<Param>();
    in->described.type_name = CodecName<Param>();
  } else if constexpr (std::is_same_v<Param, File>) {
    auto file = std::make_shared<const File>(std::forward<Arg>(arg));
    in->kind = InputSpec::Kind::kFile;
    in->described.signature = "file";
    in->described.type_name = "file";
    in->described.label = file->path();
    in->described.uri = file->path();
    in->literal = std::move(file);
  } else {
    in->kind = InputSpec::Kind::kLiteral;
    in->described.signature = CodecSignature<Param>();
    in->described.type_name = CodecName<Param>();
    if constexpr (std::is_same_v<B, Stored<Param>>) {
      in->described.digest = arg.digest();
      in->described.size = arg.size();
      in->literal = arg.shared();
    } else {
      auto value = std::make_shared<const Param>(std::forward<Arg>(arg));
      size_t size = 0;
      in->described.digest = Hash(*value, &size);
      in->described.size = static_cast<int64_t>(size);
      in->literal = std::move(value);
    }
  }
  return absl::OkStatus();
}

template <typename Types, size_t... O>
void DescribeOutputs(NodeSpec* node, std::index_sequence<O...>) {
  (node->decoders.push_back(&DecodeValue<std::tuple_element_t<O, Types>>), ...);
}

// Appends each of `encoded`, decoded as the matching element of Types, to `values`.
template <typename Types, size_t... O>
absl::Status DecodeEach(const std::vector<std::string>& encoded, std::vector<Value>* values,
                        std::index_sequence<O...>) {
  absl::Status status;
  const auto decode = [&](absl::StatusOr<Value> v) {
    if (!status.ok()) return;
    if (v.ok()) {
      values->push_back(*std::move(v));
    } else {
      status = v.status();
    }
  };
  (decode(DecodeValue<std::tuple_element_t<O, Types>>(encoded[O])), ...);
  return status;
}

template <typename S, size_t... I>
Invoker MakeInvoker(const S& step, std::index_sequence<I...>) {
  return [step](Context& ctx, const void* const* inputs,
                std::vector<Value>* outputs) -> absl::StatusOr<std::vector<std::string>> {
    using Params = typename S::Inputs;
    using Output = typename S::Output;
    (void)inputs;
    const std::tuple<Ref<std::tuple_element_t<I, Params>>...> refs(
        Ref<std::tuple_element_t<I, Params>>{
            static_cast<const std::tuple_element_t<I, Params>*>(inputs[I])}...);
    absl::StatusOr<Output> out =
        call_internal::Invoke(step, ctx, refs, std::index_sequence<I...>{});
    if (!out.ok()) return out.status();
    std::vector<std::string> encoded = call_internal::EncodeOutputs(*out);
    // Downstream nodes and RunResult get the outputs decoded from their encoding, as a
    // cache hit gives them: the same bits whether the node ran or hit.
    using Types = typename call_internal::Outputs<Output>::Types;
    absl::Status decoded = DecodeEach<Types>(
        encoded, outputs, std::make_index_sequence<std::tuple_size_v<Types>>{});
    if (!decoded.ok()) return call_internal::CodecDoesNotRoundTrip(step.name(), decoded);
    return encoded;
  };
}

template <typename Output, size_t... O>
auto MakeHandles(uint64_t pipeline, int node, std::index_sequence<O...>) {
  if constexpr (call_internal::Outputs<Output>::kTuple) {
    return std::make_tuple(Access::MakeHandle<std::tuple_element_t<O, Output>>(
        pipeline, node, static_cast<int>(O))...);
  } else {
    return Access::MakeHandle<Output>(pipeline, node, 0);
  }
}

template <typename S, typename... Args, size_t... I>
auto AddImpl(Pipeline& p, std::string name, const S& step, std::index_sequence<I...>,
             Args&&... inputs) {
  using Params = typename S::Inputs;
  using Output = typename S::Output;
  using Types = typename call_internal::Outputs<Output>::Types;
  constexpr size_t kOutputs = std::tuple_size_v<Types>;
  static_assert((kInputFits<std::tuple_element_t<I, Params>, Args> && ...),
                "mlops: a pipeline input does not match the step's parameter type (pass a "
                "Handle<T> of an earlier node, a T, or a Stored<T>)");
  step_internal::CheckInputTypes<std::tuple_element_t<I, Params>...>();

  NodeSpec node;
  node.name = std::move(name);
  node.step_name = step.name();
  node.step_version = step.version();
  node.callable = step.callable();
  node.inputs.resize(sizeof...(I));
  absl::Status status;
  ((status.ok() ? (status = DescribeInput<std::tuple_element_t<I, Params>>(
                       p, I, std::forward<Args>(inputs), &node.inputs[I]),
                   0)
                : 0),
   ...);
  ActionRequest outputs;
  call_internal::DescribeOutputs<Types>(&outputs, call_internal::Outputs<Output>::kTuple,
                                        std::make_index_sequence<kOutputs>{});
  node.output_names = std::move(outputs.output_names);
  node.output_types = std::move(outputs.output_types);
  node.output_signature = std::move(outputs.output_signature);
  DescribeOutputs<Types>(&node, std::make_index_sequence<kOutputs>{});
  node.invoke = MakeInvoker(step, std::index_sequence<I...>{});
  const int index = Access::Size(p);
  if (status.ok()) {
    Access::Add(p, std::move(node));
  } else {
    Access::Fail(
        p, absl::Status(status.code(), absl::StrCat("node '", node.name, "' (step '",
                                                    node.step_name, "'): ", status.message())));
    node.inputs.clear();  // keep the graph well formed: the node has no inputs
    Access::Add(p, std::move(node));
  }
  return MakeHandles<Output>(Access::Id(p), index, std::make_index_sequence<kOutputs>{});
}

}  // namespace pipeline_internal

template <typename Fn, typename... Args>
auto Pipeline::Add(std::string name, const Step<Fn>& step, Args&&... inputs) {
  static_assert(sizeof...(Args) == std::tuple_size_v<typename Step<Fn>::Inputs>,
                "mlops: the step is given the wrong number of inputs");
  return pipeline_internal::AddImpl(*this, std::move(name), step,
                                    std::index_sequence_for<Args...>{},
                                    std::forward<Args>(inputs)...);
}

template <typename T>
absl::StatusOr<Stored<T>> RunResult::Get(const Handle<T>& handle) const {
  absl::Status error;
  const NodeResult* node = Find(handle, &error);
  if (node == nullptr) return error;
  const size_t slot = static_cast<size_t>(slot_[static_cast<size_t>(handle.node())]);
  const auto& values = values_[slot];
  const size_t out = static_cast<size_t>(handle.output());
  if (out >= values.size() || values[out] == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("node '", node->name,
                     "' was not a target of the run: its value was not "
                     "loaded (run it as a target to get its value)"));
  }
  Stored<T> stored(std::static_pointer_cast<const T>(values[out]), node->digests[out],
                   node->sizes[out]);
  stored.set_call(node->outcome == NodeOutcome::kHit, node->execution_id);
  return stored;
}

}  // namespace mlops

#endif  // MLOPS_PIPELINE_INTERNAL_ADD_H_
