// Internal: codecs for std::vector and std::array. Include mlops/codec/codec.h instead.
//
// Encodings (all counts are u64 little-endian):
//   vector<T>          count, elements (integers and floats as one contiguous block)
//   array<T, N>        N elements, no count
#ifndef MLOPS_CODEC_INTERNAL_SEQUENCE_CODECS_H_
#define MLOPS_CODEC_INTERNAL_SEQUENCE_CODECS_H_

#include <algorithm>
#include <array>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "mlops/codec/encoder.h"
#include "mlops/codec/internal/codec_base.h"
#include "mlops/codec/internal/scalar_codecs.h"

namespace mlops {
namespace codec_internal {

// Element types whose encoding is their memory, copied as one block.
template <typename T>
inline constexpr bool kIsBlockInt = std::is_integral_v<T> && !std::is_same_v<T, bool>;
template <typename T>
inline constexpr bool kIsFloat = std::is_same_v<T, float> || std::is_same_v<T, double>;

template <typename T>
void WriteElements(const T* data, size_t n, Encoder& out) {
  if constexpr (kIsBlockInt<T>) {
    out.Append(data, n * sizeof(T));
  } else if constexpr (kIsFloat<T>) {
    out.AppendFloats(data, n);
  } else {
    for (size_t i = 0; i < n; ++i) Codec<T>::Write(data[i], out);
  }
}

template <typename T>
bool ReadElements(Decoder& in, T* data, size_t n) {
  if constexpr (kIsBlockInt<T>) {
    if (n > in.remaining() / sizeof(T)) return in.Fail("truncated array");
    return in.Read(data, n * sizeof(T));
  } else if constexpr (kIsFloat<T>) {
    return in.ReadFloats(data, n);
  } else {
    for (size_t i = 0; i < n; ++i) {
      if (!Codec<T>::Read(in, data[i])) return false;
    }
    return true;
  }
}

// Reserves room for `n` elements, but never more memory than 4x the bytes left to read,
// whatever a (possibly corrupt) count says; the container grows as elements really arrive.
template <typename Container>
void ReserveBounded(Container& c, uint64_t n, const Decoder& in) {
  using T = typename Container::value_type;
  const uint64_t cap = in.remaining() * 4 / sizeof(T) + 1;
  c.reserve(static_cast<size_t>(std::min(n, cap)));
}

}  // namespace codec_internal

template <typename T, typename A>
struct Codec<std::vector<T, A>, std::enable_if_t<Codec<T>::kDefined>> {
  static constexpr bool kDefined = true;
  static constexpr uint32_t kVersion = 1;
  static constexpr size_t kMinSize = 8;
  static std::string Name() { return absl::StrCat("vector<", Codec<T>::Name(), ">"); }
  static std::string Signature() {
    return absl::StrCat("vector/", kVersion, "<", Codec<T>::Signature(), ">");
  }
  static void Write(const std::vector<T, A>& v, Encoder& out) {
    codec_internal::RequireNonEmptyEncoding<T>();
    out.AppendInt<uint64_t>(v.size());
    if constexpr (std::is_same_v<T, bool>) {
      for (bool b : v) Codec<bool>::Write(b, out);
    } else {
      codec_internal::WriteElements(v.data(), v.size(), out);
    }
  }
  static bool Read(Decoder& in, std::vector<T, A>& v) {
    codec_internal::RequireNonEmptyEncoding<T>();
    uint64_t n = 0;
    if (!in.ReadCount(Codec<T>::kMinSize, &n)) return false;
    v.clear();
    if constexpr (std::is_same_v<T, bool>) {
      v.reserve(n);
      for (uint64_t i = 0; i < n; ++i) {
        bool b = false;
        if (!Codec<bool>::Read(in, b)) return false;
        v.push_back(b);
      }
      return true;
    } else if constexpr (codec_internal::kIsBlockInt<T> || codec_internal::kIsFloat<T>) {
      v.resize(n);  // n * sizeof(T) <= bytes left, checked by ReadCount
      return codec_internal::ReadElements(in, v.data(), n);
    } else {
      codec_internal::ReserveBounded(v, n, in);
      for (uint64_t i = 0; i < n; ++i) {
        v.emplace_back();
        if (!Codec<T>::Read(in, v.back())) return false;
      }
      return true;
    }
  }
};

template <typename T, size_t N>
struct Codec<std::array<T, N>, std::enable_if_t<Codec<T>::kDefined>> {
  static constexpr bool kDefined = true;
  static constexpr uint32_t kVersion = 1;
  static constexpr size_t kMinSize = N * Codec<T>::kMinSize;
  static std::string Name() { return absl::StrCat("array<", Codec<T>::Name(), ",", N, ">"); }
  static std::string Signature() {
    return absl::StrCat("array/", kVersion, "<", Codec<T>::Signature(), ",", N, ">");
  }
  static void Write(const std::array<T, N>& v, Encoder& out) {
    codec_internal::WriteElements(v.data(), N, out);
  }
  static bool Read(Decoder& in, std::array<T, N>& v) {
    return codec_internal::ReadElements(in, v.data(), N);
  }
};

}  // namespace mlops

#endif  // MLOPS_CODEC_INTERNAL_SEQUENCE_CODECS_H_
