// mlops/codec/codec.h — one canonical encoding and one content digest for every value.
//
// `Codec<T>` is how mlops turns a C++ value into bytes and back. Its encoding is
// deterministic and canonical: equal values give equal bytes on every machine and in every
// process (fixed-width little-endian integers, floats by bit pattern with a single canonical
// NaN, length-prefixed containers, unordered containers in sorted order), and `Decode`
// accepts only canonical bytes, so `Encode(Decode(b)) == b` whenever decoding succeeds. The
// digest of a value is the XXH3-128 of its encoding: `Hash(v) == Digest::Of(Encode(v))`,
// computed without building the encoding (a large std::vector<double> is hashed in place,
// in one pass).
//
// Built in: bool; every integer type; float and double; std::string; std::vector;
// std::array; std::map and std::set; std::unordered_map and std::unordered_set (entries
// sorted by their encoded key); std::pair; std::tuple; std::optional; std::variant; Digest;
// protobuf messages (deterministic serialization); and user structs, through one line:
//
//   namespace app {
//   struct Point { double x; double y; std::string label; };
//   MLOPS_CODEC_FIELDS(Point, x, y, label);   // in the type's namespace, next to the type
//   }  // namespace app
//   MLOPS_CODEC_FIELDS(vendor::Pose, x, y);    // or at global scope, with the qualified name
//
// MLOPS_CODEC_FIELDS must be written at namespace scope (not inside a class or function):
// in the type's own namespace, or at global scope naming the type with its qualified name
// (for a type whose namespace one cannot reopen); in both cases before the type's first
// use with the codec. The codec's name is the type as written there.
//
// Floating point: a value is keyed by its bit pattern. Every NaN is encoded as the one
// canonical quiet NaN (0x7ff8000000000000 for double, 0x7fc00000 for float), so NaNs with
// different payloads are the same key and decode as that NaN; a step call returns the
// decoded (canonical) value whether it computed or hit. -0.0 and +0.0 are different
// values and different keys (they are different bits, and 1/x tells them apart).
//
// Example:
//   std::vector<double> v = {1.0, 2.5};
//   std::string bytes = mlops::Encode(v);
//   absl::StatusOr<std::vector<double>> back = mlops::Decode<std::vector<double>>(bytes);
//   mlops::Digest d = mlops::Hash(v);                    // == Digest::Of(bytes)
//   std::string sig = mlops::CodecSignature<Point>();    // "Point/1{f64/1,f64/1,string/1}"
//
// Using a type with no codec fails to compile with a static_assert that says how to add
// one; the type is named in the compiler's "required from" lines.
//
// Every codec has a version (`kVersion`); `CodecSignature<T>()` spells the whole type tree
// with each codec's version, so a cache key that includes it changes whenever any codec in
// the tree changes its encoding.
//
// Writing a codec by hand: specialize `mlops::Codec<T>` with
//   static constexpr bool kDefined = true;
//   static constexpr uint32_t kVersion = 1;           // bump when the encoding changes
//   static constexpr size_t kMinSize = ...;           // fewest bytes any encoding takes
//   static std::string Name();                         // e.g. "MyType"
//   static std::string Signature();                    // e.g. "MyType/1"
//   static void Write(const T& v, Encoder& out);
//   static bool Read(Decoder& in, T& v);               // false via in.Fail(...) on bad bytes
//
// Decoding requires the type to be default-constructible.
//
// Thread safety: all functions here are safe to call concurrently.
#ifndef MLOPS_CODEC_CODEC_H_
#define MLOPS_CODEC_CODEC_H_

#include <string>
#include <type_traits>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "mlops/codec/encoder.h"
#include "mlops/codec/internal/codec_base.h"       // IWYU pragma: export
#include "mlops/codec/internal/map_codecs.h"       // IWYU pragma: export
#include "mlops/codec/internal/product_codecs.h"   // IWYU pragma: export
#include "mlops/codec/internal/sequence_codecs.h"  // IWYU pragma: export
#include "mlops/codec/internal/proto_codec.h"       // IWYU pragma: export
#include "mlops/codec/internal/scalar_codecs.h"     // IWYU pragma: export
#include "mlops/codec/internal/struct_codec.h"      // IWYU pragma: export
#include "mlops/hash/digest.h"

namespace mlops {

// True if T has a codec (built in, declared with MLOPS_CODEC_FIELDS, or specialized).
// (const and reference qualifiers are ignored.)
template <typename T>
inline constexpr bool kHasCodec = Codec<std::remove_cv_t<std::remove_reference_t<T>>>::kDefined;

#define MLOPS_INTERNAL_NO_CODEC_MESSAGE                                                     \
  "mlops: this type has no mlops::Codec (the compiler names it in the 'required from' "    \
  "lines). Declare its fields with MLOPS_CODEC_FIELDS(Type, field1, field2, ...) in "      \
  "Type's namespace, or at global scope with Type's qualified name, before the type is "   \
  "used; or specialize mlops::Codec<Type> (see mlops/codec/codec.h)."

// Appends the canonical encoding of `value` to `*out`.
template <typename T>
void EncodeTo(const T& value, std::string* out) {
  static_assert(kHasCodec<T>, MLOPS_INTERNAL_NO_CODEC_MESSAGE);
  Encoder e(out);
  Codec<T>::Write(value, e);
}

// The canonical encoding of `value`.
template <typename T>
std::string Encode(const T& value) {
  std::string out;
  EncodeTo(value, &out);
  return out;
}

// The value encoded by `bytes`. Returns INVALID_ARGUMENT, naming the type and the byte
// offset, when the bytes are truncated, have trailing bytes, or are not a canonical encoding
// of a T. Never reads past `bytes`. Every length prefix is checked against the bytes left
// before anything is reserved, so a corrupt count cannot make Decode allocate more than a
// small multiple of bytes.size(); the value itself can of course take more memory than its
// encoding (a vector of empty std::optional<std::array<double, 512>> takes 4 KiB per byte).
template <typename T>
absl::StatusOr<T> Decode(absl::string_view bytes) {
  static_assert(kHasCodec<T>, MLOPS_INTERNAL_NO_CODEC_MESSAGE);
  static_assert(std::is_default_constructible_v<T>,
                "mlops::Decode<T> needs a default-constructible T");
  Decoder d(bytes);
  T value{};
  if (Codec<T>::Read(d, value) && d.remaining() != 0) {
    d.Fail(absl::StrCat(d.remaining(), " trailing bytes after the value"));
  }
  if (!d.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("cannot decode ", bytes.size(),
                                                   " bytes as ", Codec<T>::Name(), ": ",
                                                   d.error()));
  }
  return value;
}

// The content digest of `value`: Digest::Of(Encode(value)), without building the encoding.
template <typename T>
Digest Hash(const T& value) {
  static_assert(kHasCodec<T>, MLOPS_INTERNAL_NO_CODEC_MESSAGE);
  Encoder e;
  Codec<T>::Write(value, e);
  return e.Finish();
}

// As Hash(value), also setting `*encoded_size` to the size of Encode(value) in bytes.
template <typename T>
Digest Hash(const T& value, size_t* encoded_size) {
  static_assert(kHasCodec<T>, MLOPS_INTERNAL_NO_CODEC_MESSAGE);
  Encoder e;
  Codec<T>::Write(value, e);
  *encoded_size = e.bytes_written();
  return e.Finish();
}

// The type's name as codecs spell it, e.g. "vector<f64>" or "Point".
template <typename T>
const std::string& CodecName() {
  static_assert(kHasCodec<T>, MLOPS_INTERNAL_NO_CODEC_MESSAGE);
  static const std::string* const name =
      new std::string(Codec<std::remove_cv_t<std::remove_reference_t<T>>>::Name());
  return *name;
}

// The type tree with every codec's version, e.g. "vector/1<f64/1>". Part of cache keys.
template <typename T>
const std::string& CodecSignature() {
  static_assert(kHasCodec<T>, MLOPS_INTERNAL_NO_CODEC_MESSAGE);
  static const std::string* const signature =
      new std::string(Codec<std::remove_cv_t<std::remove_reference_t<T>>>::Signature());
  return *signature;
}

}  // namespace mlops

#endif  // MLOPS_CODEC_CODEC_H_
