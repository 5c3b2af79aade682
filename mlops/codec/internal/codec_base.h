// Internal: the Codec primary template (no codec) and helpers shared by the built-in codecs.
// Include mlops/codec/codec.h instead.
#ifndef MLOPS_CODEC_INTERNAL_CODEC_BASE_H_
#define MLOPS_CODEC_INTERNAL_CODEC_BASE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "mlops/codec/encoder.h"

namespace mlops {

namespace codec_internal {
template <typename T>
inline constexpr bool kAlwaysFalse = false;
}  // namespace codec_internal

// The primary template: T has no codec. Specializations (built in, or written by users)
// define the members documented in codec.h. Using these members fails to compile.
template <typename T, typename Enable = void>
struct Codec {
  static constexpr bool kDefined = false;
  static constexpr uint32_t kVersion = 0;
  static constexpr size_t kMinSize = 1;

  template <typename U = T>
  static std::string Name() {
    static_assert(codec_internal::kAlwaysFalse<U>,
                  "mlops: this type has no mlops::Codec (the compiler names it in the "
                  "'required from' lines). Declare its fields with MLOPS_CODEC_FIELDS(Type, "
                  "field1, field2, ...) in Type's namespace, or at global scope with Type's "
                  "qualified name, before the type is used; or specialize mlops::Codec<Type> "
                  "(see mlops/codec/codec.h).");
    return "";
  }
  template <typename U = T>
  static std::string Signature() {
    return Name<U>();
  }
  template <typename U = T>
  static void Write(const U&, Encoder&) {
    Name<U>();
  }
  template <typename U = T>
  static bool Read(Decoder&, U&) {
    Name<U>();
    return false;
  }
};

namespace codec_internal {

// "name/version", the signature of a leaf codec.
inline std::string Versioned(absl::string_view name, uint32_t version) {
  return absl::StrCat(name, "/", version);
}

// Joins Codec<Ts>::Name() (or ::Signature()) with commas.
template <typename... Ts>
std::string JoinNames() {
  std::string out;
  ((out.empty() ? out = Codec<Ts>::Name() : out += "," + Codec<Ts>::Name()), ...);
  return out;
}
template <typename... Ts>
std::string JoinSignatures() {
  std::string out;
  ((out.empty() ? out = Codec<Ts>::Signature() : out += "," + Codec<Ts>::Signature()), ...);
  return out;
}

// Element types in a container must take at least one byte, so that an element count in
// the input can be checked against the bytes that remain.
template <typename T>
constexpr void RequireNonEmptyEncoding() {
  static_assert(Codec<T>::kMinSize >= 1,
                "mlops: container elements must have a non-empty encoding (an empty struct "
                "or std::tuple<> cannot be counted safely)");
}

}  // namespace codec_internal
}  // namespace mlops

#endif  // MLOPS_CODEC_INTERNAL_CODEC_BASE_H_
