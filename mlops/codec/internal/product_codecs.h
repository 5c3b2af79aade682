// Internal: codecs for std::pair, std::tuple, std::optional and std::variant. Include
// mlops/codec/codec.h instead.
//
// Encodings:
//   pair, tuple        the elements in order
//   optional<T>        u8 0 (empty) or 1 followed by the value
//   variant<Ts...>     u32 alternative index, then the alternative
#ifndef MLOPS_CODEC_INTERNAL_PRODUCT_CODECS_H_
#define MLOPS_CODEC_INTERNAL_PRODUCT_CODECS_H_

#include <cstdint>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "mlops/codec/encoder.h"
#include "mlops/codec/internal/codec_base.h"
#include "mlops/codec/internal/scalar_codecs.h"

namespace mlops {
template <typename A, typename B>
struct Codec<std::pair<A, B>, std::enable_if_t<Codec<A>::kDefined && Codec<B>::kDefined>> {
  static constexpr bool kDefined = true;
  static constexpr uint32_t kVersion = 1;
  static constexpr size_t kMinSize = Codec<A>::kMinSize + Codec<B>::kMinSize;
  static std::string Name() {
    return absl::StrCat("pair<", codec_internal::JoinNames<A, B>(), ">");
  }
  static std::string Signature() {
    return absl::StrCat("pair/", kVersion, "<", codec_internal::JoinSignatures<A, B>(), ">");
  }
  static void Write(const std::pair<A, B>& v, Encoder& out) {
    Codec<A>::Write(v.first, out);
    Codec<B>::Write(v.second, out);
  }
  static bool Read(Decoder& in, std::pair<A, B>& v) {
    return Codec<A>::Read(in, v.first) && Codec<B>::Read(in, v.second);
  }
};

template <typename... Ts>
struct Codec<std::tuple<Ts...>, std::enable_if_t<(Codec<Ts>::kDefined && ...)>> {
  static constexpr bool kDefined = true;
  static constexpr uint32_t kVersion = 1;
  static constexpr size_t kMinSize = (size_t{0} + ... + Codec<Ts>::kMinSize);
  static std::string Name() {
    return absl::StrCat("tuple<", codec_internal::JoinNames<Ts...>(), ">");
  }
  static std::string Signature() {
    return absl::StrCat("tuple/", kVersion, "<", codec_internal::JoinSignatures<Ts...>(), ">");
  }
  static void Write(const std::tuple<Ts...>& v, Encoder& out) {
    // [&], not [&out]: with no Ts the capture would be unused.
    std::apply([&](const Ts&... e) { (Codec<Ts>::Write(e, out), ...); }, v);
  }
  static bool Read(Decoder& in, std::tuple<Ts...>& v) {
    return std::apply([&](Ts&... e) { return (Codec<Ts>::Read(in, e) && ...); }, v);
  }
};

template <typename T>
struct Codec<std::optional<T>, std::enable_if_t<Codec<T>::kDefined>> {
  static constexpr bool kDefined = true;
  static constexpr uint32_t kVersion = 1;
  static constexpr size_t kMinSize = 1;
  static std::string Name() { return absl::StrCat("optional<", Codec<T>::Name(), ">"); }
  static std::string Signature() {
    return absl::StrCat("optional/", kVersion, "<", Codec<T>::Signature(), ">");
  }
  static void Write(const std::optional<T>& v, Encoder& out) {
    out.AppendInt<uint8_t>(v.has_value() ? 1 : 0);
    if (v.has_value()) Codec<T>::Write(*v, out);
  }
  static bool Read(Decoder& in, std::optional<T>& v) {
    uint8_t tag = 0;
    if (!in.ReadInt(&tag)) return false;
    if (tag == 0) {
      v.reset();
      return true;
    }
    if (tag != 1) return in.Fail(absl::StrCat("optional tag is ", tag, ", not 0 or 1"));
    return Codec<T>::Read(in, v.emplace());
  }
};

template <typename... Ts>
struct Codec<std::variant<Ts...>, std::enable_if_t<(Codec<Ts>::kDefined && ...)>> {
  static constexpr bool kDefined = true;
  static constexpr uint32_t kVersion = 1;
  static constexpr size_t kMinSize = 4 + std::min({Codec<Ts>::kMinSize...});
  static std::string Name() {
    return absl::StrCat("variant<", codec_internal::JoinNames<Ts...>(), ">");
  }
  static std::string Signature() {
    return absl::StrCat("variant/", kVersion, "<", codec_internal::JoinSignatures<Ts...>(),
                        ">");
  }
  static void Write(const std::variant<Ts...>& v, Encoder& out) {
    out.AppendInt<uint32_t>(static_cast<uint32_t>(v.index()));
    std::visit([&out](const auto& alt) { Codec<std::decay_t<decltype(alt)>>::Write(alt, out); },
               v);
  }
  static bool Read(Decoder& in, std::variant<Ts...>& v) {
    uint32_t index = 0;
    if (!in.ReadInt(&index)) return false;
    if (index >= sizeof...(Ts)) {
      return in.Fail(absl::StrCat("variant index ", index, " is out of range (",
                                  sizeof...(Ts), " alternatives)"));
    }
    return ReadAlternative(in, v, index, std::index_sequence_for<Ts...>{});
  }

 private:
  template <size_t... I>
  static bool ReadAlternative(Decoder& in, std::variant<Ts...>& v, uint32_t index,
                              std::index_sequence<I...>) {
    bool ok = false;
    (void)((index == I ? (ok = Codec<std::variant_alternative_t<I, std::variant<Ts...>>>::Read(
                              in, v.template emplace<I>()),
                          true)
                       : false) ||
           ...);
    return ok;
  }
};

}  // namespace mlops

#endif  // MLOPS_CODEC_INTERNAL_PRODUCT_CODECS_H_
