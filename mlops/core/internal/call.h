// Internal: the template half of Workspace::Call. Include mlops/core/workspace.h instead.
#ifndef MLOPS_CORE_INTERNAL_CALL_H_
#define MLOPS_CORE_INTERNAL_CALL_H_

#include <exception>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "mlops/codec/codec.h"
#include "mlops/core/step.h"
#include "mlops/core/stored.h"

namespace mlops {
namespace call_internal {

template <typename T>
using Bare = std::remove_cv_t<std::remove_reference_t<T>>;

// Whether Param can be list-initialized from Arg, i.e. without a narrowing conversion.
template <typename Param, typename Arg, typename = void>
inline constexpr bool kNoNarrowing = false;
template <typename Param, typename Arg>
inline constexpr bool kNoNarrowing<Param, Arg, std::void_t<decltype(Param{std::declval<Arg>()})>> =
    true;

// Whether an argument of type Arg can be passed for a parameter of type Param: the same
// type, a Stored<Param>, or an implicit conversion that loses nothing (3.7 for an int
// parameter would be keyed as 3, so it does not compile).
template <typename Param, typename Arg>
inline constexpr bool kArgFits =
    std::is_same_v<Bare<Arg>, Stored<Param>> ||
    (std::is_convertible_v<Arg&&, const Param&> && kNoNarrowing<Param, Arg&&>);

// Holds one argument as a `const Param&` for the duration of a call, and knows its digest
// if it came from the store.
template <typename Param, typename Arg>
class ArgHolder {
 public:
  static constexpr bool kIsStored = std::is_same_v<Bare<Arg>, Stored<Param>>;
  static constexpr bool kIsSame = std::is_same_v<Bare<Arg>, Param>;

  explicit ArgHolder(Arg&& arg) : arg_(std::forward<Arg>(arg)) {
    if constexpr (!kIsStored && !kIsSame) converted_.emplace(std::forward<Arg>(arg));
  }

  const Param& get() const {
    if constexpr (kIsStored) {
      return arg_.value();
    } else if constexpr (kIsSame) {
      return arg_;
    } else {
      return *converted_;
    }
  }

  // Fills in request->inputs[index] for this argument (hashing it unless its digest is
  // known); for a file, also notes its stamp in request->files.
  absl::Status Describe(Workspace& ws, size_t index, ActionRequest* request) const {
    ActionInput* in = &request->inputs[index];
    in->name = absl::StrCat("arg", index);
    if constexpr (std::is_same_v<Param, File>) {
      FileStamp stamp;
      absl::StatusOr<Digest> d = ws.DigestOfFile(get().path(), &stamp);
      if (!d.ok()) return d.status();
      request->files.push_back(FileInput{get().path(), stamp, *d});
      in->signature = "file";
      in->type_name = "file";
      in->digest = *d;
      in->size = stamp.size;
      in->label = get().path();
      in->uri = get().path();
    } else {
      in->signature = CodecSignature<Param>();
      in->type_name = CodecName<Param>();
      if constexpr (kIsStored) {
        in->digest = arg_.digest();
        in->size = arg_.size();
      } else {
        size_t size = 0;
        in->digest = Hash(get(), &size);
        in->size = static_cast<int64_t>(size);
      }
    }
    return absl::OkStatus();
  }

 private:
  Arg&& arg_;
  std::optional<Param> converted_;
};

// The outputs of a step as a list of types.
template <typename Output>
struct Outputs {
  using Types = std::tuple<Output>;
  using Result = Stored<Output>;
  static constexpr bool kTuple = false;
};
template <typename... Ts>
struct Outputs<std::tuple<Ts...>> {
  using Types = std::tuple<Ts...>;
  using Result = std::tuple<Stored<Ts>...>;
  static constexpr bool kTuple = true;
};

template <typename Types, size_t... I>
void DescribeOutputs(ActionRequest* req, bool tuple, std::index_sequence<I...>) {
  (req->output_names.push_back(tuple ? std::to_string(I) : std::string("output")), ...);
  (req->output_types.push_back(CodecName<std::tuple_element_t<I, Types>>()), ...);
  req->output_signature = CodecSignature<Types>();
}

// Encodes each output into `out`.
template <typename Output>
std::vector<std::string> EncodeOutputs(const Output& value) {
  if constexpr (Outputs<Output>::kTuple) {
    return std::apply(
        [](const auto&... v) { return std::vector<std::string>{Encode(v)...}; }, value);
  } else {
    return {Encode(value)};
  }
}

// Builds the result by decoding cached bytes.
template <typename Output, size_t... I>
absl::StatusOr<typename Outputs<Output>::Result> FromCached(const ActionOutcome& outcome,
                                                            std::index_sequence<I...>) {
  using Types = typename Outputs<Output>::Types;
  absl::Status status;
  auto decode = [&](auto tag, size_t i) {
    using T = typename decltype(tag)::type;
    absl::StatusOr<T> v = Decode<T>(outcome.bytes[i]->view());
    if (!v.ok()) {
      if (status.ok()) status = v.status();
      return Stored<T>(std::make_shared<const T>(), outcome.digests[i], outcome.sizes[i]);
    }
    return Stored<T>(std::make_shared<const T>(*std::move(v)), outcome.digests[i],
                     outcome.sizes[i]);
  };
  auto stored = std::make_tuple(
      decode(std::common_type<std::tuple_element_t<I, Types>>{}, I)...);
  if (!status.ok()) return status;
  if constexpr (Outputs<Output>::kTuple) {
    return stored;
  } else {
    return std::get<0>(std::move(stored));
  }
}

// INTERNAL: the output codec of step `step_name` did not decode what it had just encoded.
inline absl::Status CodecDoesNotRoundTrip(absl::string_view step_name,
                                          const absl::Status& decoding) {
  return absl::InternalError(absl::StrCat(
      "step '", step_name, "': an output's codec does not decode the value it has just "
      "encoded (a codec's Read must accept every encoding its Write gives; see "
      "mlops/codec/codec.h): ", decoding.message()));
}

// Calls fn, turning StatusOr results and exceptions into a Status naming the step.
template <typename S, typename Holders, size_t... I>
absl::StatusOr<typename S::Output> Invoke(const S& step, Context& ctx, const Holders& holders,
                                          std::index_sequence<I...>) {
  try {
    if constexpr (S::kTakesContext) {
      return step.fn()(ctx, std::get<I>(holders).get()...);
    } else {
      (void)ctx;
      return step.fn()(std::get<I>(holders).get()...);
    }
  } catch (const std::exception& e) {
    return absl::UnknownError(absl::StrCat("step '", step.name(), "' threw ",
                                           typeid(e).name(), ": ", e.what()));
  } catch (...) {
    return absl::UnknownError(absl::StrCat("step '", step.name(), "' threw a non-std exception"));
  }
}

// Records on each Stored output whether the call hit the cache, and its execution id.
template <typename T>
Stored<T> MarkCall(Stored<T> v, const ActionOutcome& outcome) {
  v.set_call(outcome.cache_hit, outcome.execution_id);
  return v;
}
template <typename... T>
std::tuple<Stored<T>...> MarkCall(std::tuple<Stored<T>...> v, const ActionOutcome& outcome) {
  std::apply([&](auto&... s) { (s.set_call(outcome.cache_hit, outcome.execution_id), ...); }, v);
  return v;
}

template <typename S, typename... Args, size_t... I>
auto CallImpl(Workspace& ws, const CallOptions& options, const S& step,
              std::index_sequence<I...>, Args&&... args)
    -> absl::StatusOr<typename Outputs<typename S::Output>::Result> {
  using Params = typename S::Inputs;
  using Output = typename S::Output;
  using Types = typename Outputs<Output>::Types;
  constexpr size_t kOutputs = std::tuple_size_v<Types>;
  static_assert((kArgFits<std::tuple_element_t<I, Params>, Args> && ...),
                "mlops: an argument's type does not match the step's parameter type (a "
                "Stored<T> may stand for a T)");
  step_internal::CheckInputTypes<std::tuple_element_t<I, Params>...>();

  std::tuple<ArgHolder<std::tuple_element_t<I, Params>, Args>...> holders(
      std::forward<Args>(args)...);
  ActionRequest req;
  req.step_name = step.name();
  req.step_version = step.version();
  req.callable = step.callable();
  req.mode = options.mode;
  req.inputs.resize(sizeof...(I));
  absl::Status status;
  ((status.ok() ? (status = std::get<I>(holders).Describe(ws, I, &req), 0) : 0),
   ...);
  if (!status.ok()) return status;
  DescribeOutputs<Types>(&req, Outputs<Output>::kTuple, std::make_index_sequence<kOutputs>{});

  // A computed result is returned decoded from its encoding, as a hit of the same call
  // would return it: the same bits either way (a NaN's payload, say, is canonical in both).
  bool computed = false;
  const ActionRunner runner = [&](Context& ctx) -> absl::StatusOr<std::vector<std::string>> {
    absl::StatusOr<Output> out = Invoke(step, ctx, holders, std::index_sequence<I...>{});
    if (!out.ok()) return out.status();
    computed = true;
    return EncodeOutputs(*out);
  };
  absl::StatusOr<ActionOutcome> outcome = ws.Execute(req, runner);
  if (!outcome.ok()) return outcome.status();
  absl::StatusOr<typename Outputs<Output>::Result> result =
      FromCached<Output>(*outcome, std::make_index_sequence<kOutputs>{});
  if (result.ok()) return MarkCall(*std::move(result), *outcome);
  if (computed) return CodecDoesNotRoundTrip(step.name(), result.status());
  if (req.mode == CacheMode::kReadOnly) return result;
  // Cached bytes that do not decode as the step's output type: never return them; compute.
  req.mode = CacheMode::kForce;
  outcome = ws.Execute(req, runner);
  if (!outcome.ok()) return outcome.status();
  result = FromCached<Output>(*outcome, std::make_index_sequence<kOutputs>{});
  if (!result.ok()) return CodecDoesNotRoundTrip(step.name(), result.status());
  return MarkCall(*std::move(result), *outcome);
}

}  // namespace call_internal

template <typename Fn, typename... Args>
auto Workspace::Call(const Step<Fn>& step, Args&&... args) {
  return Call(CallOptions{default_mode_}, step, std::forward<Args>(args)...);
}

template <typename Fn, typename... Args>
auto Workspace::Call(const CallOptions& options, const Step<Fn>& step, Args&&... args) {
  static_assert(sizeof...(Args) == std::tuple_size_v<typename Step<Fn>::Inputs>,
                "mlops: the step is called with the wrong number of arguments");
  return call_internal::CallImpl(*this, options, step, std::index_sequence_for<Args...>{},
                                 std::forward<Args>(args)...);
}

}  // namespace mlops

#endif  // MLOPS_CORE_INTERNAL_CALL_H_
