// mlops/core/callable_id.h — which function a step runs, so that two steps can be told apart.
//
// Two steps declared with one name, version and types share their cached results: within a
// program that is always a mistake (`MakeStep("f", 1, &Twice)` and `MakeStep("f", 1,
// &Square)` would return Twice's results for Square). A Step carries the CallableId of its
// function, and a Workspace refuses a call whose step is declared with another callable
// than the first call of that step it saw (see Workspace::Execute).
//
// Two callables are the same when they have the same type (by its mangled name, so a
// lambda in a header is one callable in every file that includes it) and, for function
// pointers, the same target. What this cannot tell apart, and counts as one callable:
// two objects of one functor type, two closures of one lambda with different captures,
// and two types of the same mangled name in different files (internal-linkage types, e.g.
// `const auto train = MakeStep("train", 1, [](...) {...});` at namespace scope in two .cc
// files: both closures are named after `train`). The check catches mistakes within a file
// and between differently named functions; it is no proof that two steps are one.
//
// Example:
//   mlops::CallableId id = mlops::CallableId::Of(&Twice);
//   id.Describe();   // "function Twice(int)" if the program exports its symbols
//                    // (-rdynamic), else "function of type int (*)(int) at ./app+0x11a0
//                    // (addr2line -f -C -e ./app 0x11a0 names it)"
//
// Thread safety: an immutable value.
#ifndef MLOPS_CORE_CALLABLE_ID_H_
#define MLOPS_CORE_CALLABLE_ID_H_

#include <functional>
#include <string>
#include <type_traits>
#include <typeinfo>

namespace mlops {

struct CallableId {
  const char* type = nullptr;     // typeid(...).name() of the callable (or of its target)
  const void* address = nullptr;  // a function pointer's target; null for other callables

  // False for a default-constructed id: nothing is known, and nothing is compared.
  bool known() const { return type != nullptr; }

  // What the callable is, for messages: "function Twice(int)", "lambda main::{lambda(int)#1}".
  std::string Describe() const;

  // The id of `fn`: a function pointer, a std::function (its target), or any other callable.
  template <typename Fn>
  static CallableId Of(const Fn& fn);

  friend bool operator==(const CallableId& a, const CallableId& b);
  friend bool operator!=(const CallableId& a, const CallableId& b) { return !(a == b); }
};

namespace callable_internal {

template <typename Fn>
struct IsStdFunction : std::false_type {};
template <typename R, typename... A>
struct IsStdFunction<std::function<R(A...)>> : std::true_type {
  using Pointer = R (*)(A...);
};

}  // namespace callable_internal

template <typename Fn>
CallableId CallableId::Of(const Fn& fn) {
  CallableId id;
  if constexpr (std::is_pointer_v<Fn> && std::is_function_v<std::remove_pointer_t<Fn>>) {
    id.type = typeid(Fn).name();
    id.address = reinterpret_cast<const void*>(fn);
  } else if constexpr (callable_internal::IsStdFunction<Fn>::value) {
    id.type = fn.target_type().name();
    using Pointer = typename callable_internal::IsStdFunction<Fn>::Pointer;
    if (const Pointer* target = fn.template target<Pointer>(); target != nullptr) {
      id.address = reinterpret_cast<const void*>(*target);
    }
  } else {
    id.type = typeid(Fn).name();
  }
  return id;
}

}  // namespace mlops

#endif  // MLOPS_CORE_CALLABLE_ID_H_
