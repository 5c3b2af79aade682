// Internal: codecs for bool, integers, float, double, std::string and Digest.
// Include mlops/codec/codec.h instead.
#ifndef MLOPS_CODEC_INTERNAL_SCALAR_CODECS_H_
#define MLOPS_CODEC_INTERNAL_SCALAR_CODECS_H_

#include <cstdint>
#include <string>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "mlops/codec/encoder.h"
#include "mlops/codec/internal/codec_base.h"
#include "mlops/hash/digest.h"

namespace mlops {

// bool: one byte, 0 or 1; any other byte fails to decode.
template <>
struct Codec<bool> {
  static constexpr bool kDefined = true;
  static constexpr uint32_t kVersion = 1;
  static constexpr size_t kMinSize = 1;
  static std::string Name() { return "bool"; }
  static std::string Signature() { return codec_internal::Versioned(Name(), kVersion); }
  static void Write(bool v, Encoder& out) { out.AppendInt<uint8_t>(v ? 1 : 0); }
  static bool Read(Decoder& in, bool& v) {
    uint8_t b = 0;
    if (!in.ReadInt(&b)) return false;
    if (b > 1) return in.Fail(absl::StrCat("bool byte is ", b, ", not 0 or 1"));
    v = b == 1;
    return true;
  }
};

// Integers: sizeof(T) bytes, little-endian, two's complement. Named by signedness and width
// ("i32", "u64"), so `long` and `long long` of the same width share a name and an encoding;
// plain `char` is "char".
template <typename T>
struct Codec<T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>>> {
  static constexpr bool kDefined = true;
  static constexpr uint32_t kVersion = 1;
  static constexpr size_t kMinSize = sizeof(T);
  static std::string Name() {
    if (std::is_same_v<T, char>) return "char";
    return absl::StrCat(std::is_signed_v<T> ? "i" : "u", 8 * sizeof(T));
  }
  static std::string Signature() { return codec_internal::Versioned(Name(), kVersion); }
  static void Write(T v, Encoder& out) { out.AppendInt(v); }
  static bool Read(Decoder& in, T& v) { return in.ReadInt(&v); }
};

// float and double: IEEE-754 bit pattern, little-endian; every NaN is written as the
// canonical quiet NaN and only that NaN decodes. -0.0 and +0.0 differ.
template <typename T>
struct Codec<T, std::enable_if_t<std::is_same_v<T, float> || std::is_same_v<T, double>>> {
  static constexpr bool kDefined = true;
  static constexpr uint32_t kVersion = 1;
  static constexpr size_t kMinSize = sizeof(T);
  static std::string Name() { return sizeof(T) == 4 ? "f32" : "f64"; }
  static std::string Signature() { return codec_internal::Versioned(Name(), kVersion); }
  static void Write(T v, Encoder& out) { out.AppendFloats(&v, 1); }
  static bool Read(Decoder& in, T& v) { return in.ReadFloats(&v, 1); }
};

// std::string: u64 length, then the bytes.
template <>
struct Codec<std::string> {
  static constexpr bool kDefined = true;
  static constexpr uint32_t kVersion = 1;
  static constexpr size_t kMinSize = 8;
  static std::string Name() { return "string"; }
  static std::string Signature() { return codec_internal::Versioned(Name(), kVersion); }
  // Takes any string_view, so that a caller encoding a string it only views (an action key's
  // step name) need not copy it.
  static void Write(absl::string_view v, Encoder& out) {
    out.AppendInt<uint64_t>(v.size());
    out.Append(v);
  }
  static bool Read(Decoder& in, std::string& v) {
    uint64_t n = 0;
    absl::string_view bytes;
    if (!in.ReadCount(1, &n) || !in.Take(n, &bytes)) return false;
    v.assign(bytes.data(), bytes.size());
    return true;
  }
};

// Digest: its 16 canonical bytes (as printed in hex).
template <>
struct Codec<Digest> {
  static constexpr bool kDefined = true;
  static constexpr uint32_t kVersion = 1;
  static constexpr size_t kMinSize = Digest::kBytes;
  static std::string Name() { return "digest"; }
  static std::string Signature() { return codec_internal::Versioned(Name(), kVersion); }
  static void Write(const Digest& v, Encoder& out) {
    unsigned char bytes[Digest::kBytes];
    v.ToBytes(bytes);
    out.Append(bytes, sizeof(bytes));
  }
  static bool Read(Decoder& in, Digest& v) {
    unsigned char bytes[Digest::kBytes];
    if (!in.Read(bytes, sizeof(bytes))) return false;
    v = Digest::FromBytes(bytes);
    return true;
  }
};

}  // namespace mlops

#endif  // MLOPS_CODEC_INTERNAL_SCALAR_CODECS_H_
