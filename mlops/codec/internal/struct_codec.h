// Internal: MLOPS_CODEC_FIELDS and the codec of user structs. Include mlops/codec/codec.h.
#ifndef MLOPS_CODEC_INTERNAL_STRUCT_CODEC_H_
#define MLOPS_CODEC_INTERNAL_STRUCT_CODEC_H_

#include <cstdint>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "mlops/codec/encoder.h"
#include "mlops/codec/internal/codec_base.h"

// Declares the codec of a struct or class by listing its (accessible) fields, in order.
// Place it at namespace scope, either in the type's own namespace or at global scope with
// the type's qualified name (for a type whose namespace one cannot reopen):
//   namespace app { struct Point { double x; double y; }; MLOPS_CODEC_FIELDS(Point, x, y); }
//   MLOPS_CODEC_FIELDS(vendor::Pose, x, y, theta);   // at global scope
// Either way it declares functions that argument-dependent lookup finds: through the type
// in its own namespace, and through MlopsCodecGlobalScope (a type of the global namespace,
// passed to each of them) at global scope. It must come before the type's first use as a
// step input or output. The encoding is the fields' encodings in the listed order; the
// codec's name is `Type` as written (so `Point` and `app::Point` are different signatures,
// and different cache keys). Up to 40 fields.
#define MLOPS_CODEC_FIELDS(Type, ...) MLOPS_CODEC_FIELDS_VERSIONED(Type, 1, __VA_ARGS__)

// As MLOPS_CODEC_FIELDS, with an explicit codec version: bump it when the meaning of the
// fields changes without a change of their types, so that cached results are not reused.
#define MLOPS_CODEC_FIELDS_VERSIONED(Type, version, ...)                                  \
  [[maybe_unused]] inline auto MlopsCodecFields(Type& mlops_v, ::MlopsCodecGlobalScope) {  \
    return std::tie(MLOPS_INTERNAL_FOR_EACH(MLOPS_INTERNAL_FIELD, __VA_ARGS__));         \
  }                                                                                     \
  [[maybe_unused]] inline auto MlopsCodecFields(const Type& mlops_v,                     \
                                                ::MlopsCodecGlobalScope) {               \
    return std::tie(MLOPS_INTERNAL_FOR_EACH(MLOPS_INTERNAL_FIELD, __VA_ARGS__));         \
  }                                                                                     \
  [[maybe_unused]] inline constexpr const char* MlopsCodecName(const Type*,              \
                                                               ::MlopsCodecGlobalScope) { \
    return #Type;                                                                       \
  }                                                                                     \
  [[maybe_unused]] inline constexpr Type* MlopsCodecTag(Type*, ::MlopsCodecGlobalScope) {  \
    return nullptr;                                                                     \
  }                                                                                     \
  [[maybe_unused]] inline constexpr uint32_t MlopsCodecVersion(const Type*,              \
                                                               ::MlopsCodecGlobalScope) { \
    return version;                                                                     \
  }                                                                                     \
  static_assert(true, "")

// Passed to the functions MLOPS_CODEC_FIELDS declares, so that argument-dependent lookup
// also searches the global namespace, where a declaration for a type of another namespace
// may stand. Not for use outside this header.
struct MlopsCodecGlobalScope {};

#define MLOPS_INTERNAL_FIELD(f) mlops_v.f
#define MLOPS_INTERNAL_EXPAND(x) x
#define MLOPS_INTERNAL_NTH(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, _16, _17, _18, _19, _20, _21, _22, _23, _24, _25, _26, _27, _28, _29, _30, _31, _32, _33, _34, _35, _36, _37, _38, _39, _40, N, ...) N
#define MLOPS_INTERNAL_COUNT(...) \
  MLOPS_INTERNAL_EXPAND(MLOPS_INTERNAL_NTH(__VA_ARGS__, 40, 39, 38, 37, 36, 35, 34, 33, 32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1))
#define MLOPS_INTERNAL_CAT(a, b) MLOPS_INTERNAL_CAT2(a, b)
#define MLOPS_INTERNAL_CAT2(a, b) a##b
#define MLOPS_INTERNAL_FOR_EACH(m, ...) \
  MLOPS_INTERNAL_EXPAND(MLOPS_INTERNAL_CAT(MLOPS_INTERNAL_FE_, MLOPS_INTERNAL_COUNT(__VA_ARGS__))(m, __VA_ARGS__))
#define MLOPS_INTERNAL_FE_1(m, x) m(x)
#define MLOPS_INTERNAL_FE_2(m, x, ...) m(x), MLOPS_INTERNAL_EXPAND(MLOPS_INTERNAL_FE_1(m, __VA_ARGS__))
#define MLOPS_INTERNAL_FE_3(m, x, ...) m(x), MLOPS_INTERNAL_EXPAND(MLOPS_INTERNAL_FE_2(m, __VA_ARGS__))
#define MLOPS_INTERNAL_FE_4(m, x, ...) m(x), MLOPS_INTERNAL_EXPAND(MLOPS_INTERNAL_FE_3(m, __VA_ARGS__))
#define MLOPS_INTERNAL_FE_5(m, x, ...) m(x), MLOPS_INTERNAL_EXPAND(MLOPS_INTERNAL_FE_4(m, __VA_ARGS__))
#define MLOPS_INTERNAL_FE_6(m, x, ...) m(x), MLOPS_INTERNAL_EXPAND(MLOPS_INTERNAL_FE_5(m, __VA_ARGS__))
#define MLOPS_INTERNAL_FE_7(m, x, ...) m(x), MLOPS_INTERNAL_EXPAND(MLOPS_INTERNAL_FE_6(m, __VA_ARGS__))
#define MLOPS_INTERNAL_FE_8(m, x, ...) m(x), MLOPS_INTERNAL_EXPAND(MLOPS_INTERNAL_FE_7(m, __VA_ARGS__))
#define MLOPS_INTERNAL_FE_9(m, x, ...) m(x), MLOPS_INTERNAL_EXPAND(MLOPS_INTERNAL_FE_8(m, __VA_ARGS__))
#define MLOPS_INTERNAL_FE_10(m, x, ...) m(x), MLOPS_INTERNAL_EXPAND(MLOPS_INTERNAL_FE_9(m, __VA_ARGS__))
#define MLOPS_INTERNAL_FE_11(m, x, ...) m(x), MLOPS_INTERNAL_EXPAND(MLOPS_INTERNAL_FE_10(m, __VA_ARGS__))
#define MLOPS_INTERNAL_FE_12(m, x, ...) m(x), MLOPS_INTERNAL_EXPAND(MLOPS_INTERNAL_FE_11(m, __VA_ARGS__))
#define MLOPS_INTERNAL_FE_13(m, x, ...) m(x), MLOPS_INTERNAL_EXPAND(MLOPS_INTERNAL_FE_12(m, __VA_ARGS__))
#define MLOPS_INTERNAL_FE_14(m, x, ...) m(x), MLOPS_INTERNAL_EXPAND(MLOPS_INTERNAL_FE_13(m, __VA_ARGS__))
#define MLOPS_INTERNAL_FE_15(m, x, ...) m(x), MLOPS_INTERNAL_EXPAND(MLOPS_INTERNAL_FE_14(m, __VA_ARGS__))
#define MLOPS_INTERNAL_FE_16(m, x, ...) m(x), MLOPS_INTERNAL_EXPAND(MLOPS_INTERNAL_FE_15(m, __VA_ARGS__))
#define MLOPS_INTERNAL_FE_17(m, x, ...) m(x), MLOPS_INTERNAL_EXPAND(MLOPS_INTERNAL_FE_16(m, __VA_ARGS__))
#define MLOPS_INTERNAL_FE_18(m, x, ...) m(x), MLOPS_INTERNAL_EXPAND(MLOPS_INTERNAL_FE_17(m, __VA_ARGS__))
#define MLOPS_INTERNAL_FE_19(m, x, ...) m(x), MLOPS_INTERNAL_EXPAND(MLOPS_INTERNAL_FE_18(m, __VA_ARGS__))
#define MLOPS_INTERNAL_FE_20(m, x, ...) m(x), MLOPS_INTERNAL_EXPAND(MLOPS_INTERNAL_FE_19(m, __VA_ARGS__))
#define MLOPS_INTERNAL_FE_21(m, x, ...) m(x), MLOPS_INTERNAL_EXPAND(MLOPS_INTERNAL_FE_20(m, __VA_ARGS__))
#define MLOPS_INTERNAL_FE_22(m, x, ...) m(x), MLOPS_INTERNAL_EXPAND(MLOPS_INTERNAL_FE_21(m, __VA_ARGS__))
#define MLOPS_INTERNAL_FE_23(m, x, ...) m(x), MLOPS_INTERNAL_EXPAND(MLOPS_INTERNAL_FE_22(m, __VA_ARGS__))
#define MLOPS_INTERNAL_FE_24(m, x, ...) m(x), MLOPS_INTERNAL_EXPAND(MLOPS_INTERNAL_FE_23(m, __VA_ARGS__))
#define MLOPS_INTERNAL_FE_25(m, x, ...) m(x), MLOPS_INTERNAL_EXPAND(MLOPS_INTERNAL_FE_24(m, __VA_ARGS__))
#define MLOPS_INTERNAL_FE_26(m, x, ...) m(x), MLOPS_INTERNAL_EXPAND(MLOPS_INTERNAL_FE_25(m, __VA_ARGS__))
#define MLOPS_INTERNAL_FE_27(m, x, ...) m(x), MLOPS_INTERNAL_EXPAND(MLOPS_INTERNAL_FE_26(m, __VA_ARGS__))
#define MLOPS_INTERNAL_FE_28(m, x, ...) m(x), MLOPS_INTERNAL_EXPAND(MLOPS_INTERNAL_FE_27(m, __VA_ARGS__))
#define MLOPS_INTERNAL_FE_29(m, x, ...) m(x), MLOPS_INTERNAL_EXPAND(MLOPS_INTERNAL_FE_28(m, __VA_ARGS__))
#define MLOPS_INTERNAL_FE_30(m, x, ...) m(x), MLOPS_INTERNAL_EXPAND(MLOPS_INTERNAL_FE_29(m, __VA_ARGS__))
#define MLOPS_INTERNAL_FE_31(m, x, ...) m(x), MLOPS_INTERNAL_EXPAND(MLOPS_INTERNAL_FE_30(m, __VA_ARGS__))
#define MLOPS_INTERNAL_FE_32(m, x, ...) m(x), MLOPS_INTERNAL_EXPAND(MLOPS_INTERNAL_FE_31(m, __VA_ARGS__))
#define MLOPS_INTERNAL_FE_33(m, x, ...) m(x), MLOPS_INTERNAL_EXPAND(MLOPS_INTERNAL_FE_32(m, __VA_ARGS__))
#define MLOPS_INTERNAL_FE_34(m, x, ...) m(x), MLOPS_INTERNAL_EXPAND(MLOPS_INTERNAL_FE_33(m, __VA_ARGS__))
#define MLOPS_INTERNAL_FE_35(m, x, ...) m(x), MLOPS_INTERNAL_EXPAND(MLOPS_INTERNAL_FE_34(m, __VA_ARGS__))
#define MLOPS_INTERNAL_FE_36(m, x, ...) m(x), MLOPS_INTERNAL_EXPAND(MLOPS_INTERNAL_FE_35(m, __VA_ARGS__))
#define MLOPS_INTERNAL_FE_37(m, x, ...) m(x), MLOPS_INTERNAL_EXPAND(MLOPS_INTERNAL_FE_36(m, __VA_ARGS__))
#define MLOPS_INTERNAL_FE_38(m, x, ...) m(x), MLOPS_INTERNAL_EXPAND(MLOPS_INTERNAL_FE_37(m, __VA_ARGS__))
#define MLOPS_INTERNAL_FE_39(m, x, ...) m(x), MLOPS_INTERNAL_EXPAND(MLOPS_INTERNAL_FE_38(m, __VA_ARGS__))
#define MLOPS_INTERNAL_FE_40(m, x, ...) m(x), MLOPS_INTERNAL_EXPAND(MLOPS_INTERNAL_FE_39(m, __VA_ARGS__))

namespace mlops {
namespace codec_internal {

template <typename T, typename = void>
inline constexpr bool kHasFieldsDecl = false;
// The declaration must be for T itself: a type derived from a declared struct would
// otherwise find its base's functions through the derived-to-base conversion, and be
// encoded without its own fields.
template <typename T>
inline constexpr bool kHasFieldsDecl<
    T, std::enable_if_t<std::is_same_v<
           decltype(MlopsCodecTag(static_cast<T*>(nullptr), ::MlopsCodecGlobalScope{})), T*>>> =
    true;

template <typename Tuple>
struct FieldTypes;
template <typename... Refs>
struct FieldTypes<std::tuple<Refs...>> {
  using Decayed = std::tuple<std::decay_t<Refs>...>;
  static constexpr size_t kMinSize = (size_t{0} + ... + Codec<std::decay_t<Refs>>::kMinSize);
  static std::string Signatures() { return JoinSignatures<std::decay_t<Refs>...>(); }
};

}  // namespace codec_internal

// User structs declared with MLOPS_CODEC_FIELDS: the fields in order.
template <typename T>
struct Codec<T, std::enable_if_t<codec_internal::kHasFieldsDecl<T>>> {
  using Fields = codec_internal::FieldTypes<decltype(MlopsCodecFields(
      std::declval<T&>(), ::MlopsCodecGlobalScope{}))>;
  static constexpr bool kDefined = true;
  static constexpr uint32_t kVersion =
      MlopsCodecVersion(static_cast<const T*>(nullptr), ::MlopsCodecGlobalScope{});
  static constexpr size_t kMinSize = Fields::kMinSize;
  static std::string Name() {
    return MlopsCodecName(static_cast<const T*>(nullptr), ::MlopsCodecGlobalScope{});
  }
  static std::string Signature() {
    // A recursive type (a field that contains T again) refers back to itself by name.
    static thread_local bool in_progress = false;
    if (in_progress) return absl::StrCat(Name(), "/", kVersion);
    in_progress = true;
    std::string out = absl::StrCat(Name(), "/", kVersion, "{", Fields::Signatures(), "}");
    in_progress = false;
    return out;
  }
  static void Write(const T& v, Encoder& out) {
    std::apply([&out](const auto&... f) { (Codec<std::decay_t<decltype(f)>>::Write(f, out), ...); },
               MlopsCodecFields(v, ::MlopsCodecGlobalScope{}));
  }
  static bool Read(Decoder& in, T& v) {
    if (!in.Enter()) return false;
    const bool ok = std::apply(
        [&in](auto&... f) { return (Codec<std::decay_t<decltype(f)>>::Read(in, f) && ...); },
        MlopsCodecFields(v, ::MlopsCodecGlobalScope{}));
    in.Leave();
    return ok;
  }
};

}  // namespace mlops

#endif  // MLOPS_CODEC_INTERNAL_STRUCT_CODEC_H_
