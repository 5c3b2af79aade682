// mlops/core/step.h — a step: a named, versioned C++ function whose calls are cached.
//
// A Step pairs a callable (lambda, function pointer or functor) with a name and a version.
// Its parameter and result types are deduced from the callable; each must have a codec
// (mlops/codec/codec.h), which the compiler checks. The callable may:
//   * take a `mlops::Context&` first (seed, param/metric logging, scratch directory);
//   * take its inputs by value or by const reference (a `const mlops::File&` parameter is a
//     file input, named by its content);
//   * return `T`, `absl::StatusOr<T>`, or a std::tuple of several outputs (or a StatusOr of
//     one); each tuple element is stored, hashed and traced separately.
//
// THE VERSION IS THE ONLY THING THAT TELLS OLD CODE FROM NEW. The cache key is the step's
// name, version and input and output types and values, not its code: edit the function's
// body and keep its version, and every later run returns the results the old code
// computed, silently. Bump the version whenever the function's behaviour changes. To find
// a step whose code changed under an unchanged version, run the program in verify mode
// (`MLOPS_CACHE_MODE=verify ./program`, or WorkspaceOptions::default_mode =
// CacheMode::kVerify): every call is computed again and compared with its cached result,
// and a difference fails the call ABORTED naming the step, recorded in lineage as
// nondeterminism (`mlops show` lists it).
//
// Within one program, two steps with one name and version and the same types but
// different functions would share their results; a Workspace refuses the second with
// FAILED_PRECONDITION naming both functions (mlops/core/callable_id.h).
//
// Example:
//   const auto train = mlops::MakeStep("train", 1,
//       [](mlops::Context& ctx, const Dataset& d, const Params& p) -> Model { ... });
//   absl::StatusOr<mlops::Stored<Model>> model = workspace.Call(train, data, params);
//
// Thread safety: a Step is immutable and may be shared; the callable must be safe to call
// from the threads that call it.
#ifndef MLOPS_CORE_STEP_H_
#define MLOPS_CORE_STEP_H_

#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "absl/status/statusor.h"
#include "mlops/core/callable_id.h"
#include "mlops/core/context.h"
#include "mlops/core/stored.h"

namespace mlops {
namespace step_internal {

// Signature of a callable: its parameters (decayed) and its return type.
template <typename T>
struct Signature : Signature<decltype(&T::operator())> {};
template <typename R, typename... A>
struct Signature<R (*)(A...)> {
  using Return = R;
  using Params = std::tuple<A...>;
  static constexpr bool kMutable = false;
};
template <typename R, typename... A>
struct Signature<R(A...)> : Signature<R (*)(A...)> {};
template <typename C, typename R, typename... A>
struct Signature<R (C::*)(A...) const> : Signature<R (*)(A...)> {};
template <typename C, typename R, typename... A>
struct Signature<R (C::*)(A...)> : Signature<R (*)(A...)> {
  static constexpr bool kMutable = true;
};
template <typename C, typename R, typename... A>
struct Signature<R (C::*)(A...) const noexcept> : Signature<R (*)(A...)> {};
template <typename C, typename R, typename... A>
struct Signature<R (C::*)(A...) noexcept> : Signature<R (*)(A...)> {
  static constexpr bool kMutable = true;
};
template <typename R, typename... A>
struct Signature<R (*)(A...) noexcept> : Signature<R (*)(A...)> {};

template <typename T>
struct IsStatusOr : std::false_type {};
template <typename T>
struct IsStatusOr<absl::StatusOr<T>> : std::true_type {};

// T for T and for absl::StatusOr<T>.
template <typename T>
struct Unwrap {
  using Type = T;
};
template <typename T>
struct Unwrap<absl::StatusOr<T>> {
  using Type = T;
};

template <typename T>
struct IsTuple : std::false_type {};
template <typename... T>
struct IsTuple<std::tuple<T...>> : std::true_type {};

template <typename Tuple>
struct DropFirst {
  using Type = std::tuple<>;  // only named, never used, for a step with no parameters
};
template <typename First, typename... Rest>
struct DropFirst<std::tuple<First, Rest...>> {
  using Type = std::tuple<Rest...>;
};

template <typename Tuple>
struct FirstIsContext : std::false_type {};
template <typename First, typename... Rest>
struct FirstIsContext<std::tuple<First, Rest...>>
    : std::is_same<std::remove_cv_t<std::remove_reference_t<First>>, Context> {};

template <typename Tuple>
struct Decayed;
template <typename... T>
struct Decayed<std::tuple<T...>> {
  using Type = std::tuple<std::remove_cv_t<std::remove_reference_t<T>>...>;
};

// An input type is File, or a type with a codec.
template <typename T>
inline constexpr bool kIsInputType = std::is_same_v<T, File> || kHasCodec<T>;

// Fails to compile, saying how to mend it, unless every parameter type is an input type.
// Workspace::Call and Pipeline::Add check their step's parameters with it.
template <typename... Params>
constexpr void CheckInputTypes() {
  static_assert((kIsInputType<Params> && ...),
                "mlops: a step parameter type has no mlops::Codec; declare one with "
                "MLOPS_CODEC_FIELDS (see mlops/codec/codec.h)");
}

}  // namespace step_internal

template <typename Fn>
class Step {
  using Sig = step_internal::Signature<std::decay_t<Fn>>;
  using RawReturn = typename Sig::Return;

 public:
  // Whether the callable takes a Context& first.
  static constexpr bool kTakesContext = step_internal::FirstIsContext<typename Sig::Params>::value;
  // The parameter types without the Context, decayed (e.g. std::tuple<Dataset, double>).
  using Inputs = typename step_internal::Decayed<std::conditional_t<
      kTakesContext, typename step_internal::DropFirst<typename Sig::Params>::Type,
      typename Sig::Params>>::Type;
  // The value the step produces: T for T and StatusOr<T>.
  using Output = typename step_internal::Unwrap<RawReturn>::Type;
  static constexpr bool kReturnsStatusOr = step_internal::IsStatusOr<RawReturn>::value;
  static constexpr bool kMultipleOutputs = step_internal::IsTuple<Output>::value;

  static_assert(!Sig::kMutable,
                "mlops: a step's function must be callable as const (a mutable lambda or a "
                "non-const operator() keeps state between calls, which caching would skip)");

  // REQUIRES: `name` is not empty.
  Step(std::string name, int version, Fn fn)
      : name_(std::move(name)), version_(version), fn_(std::move(fn)),
        callable_(CallableId::Of(fn_)) {}

  const std::string& name() const { return name_; }
  int version() const { return version_; }
  const Fn& fn() const { return fn_; }
  // Which function this step runs (to refuse two functions under one name and version).
  const CallableId& callable() const { return callable_; }

 private:
  std::string name_;
  int version_;
  Fn fn_;
  CallableId callable_;
};

template <typename Fn>
Step(std::string, int, Fn) -> Step<Fn>;

// Declares a step. Equivalent to `Step(name, version, fn)`; reads well at namespace scope.
template <typename Fn>
Step<std::decay_t<Fn>> MakeStep(std::string name, int version, Fn&& fn) {
  return Step<std::decay_t<Fn>>(std::move(name), version, std::forward<Fn>(fn));
}

}  // namespace mlops

#endif  // MLOPS_CORE_STEP_H_
