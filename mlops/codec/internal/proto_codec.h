// Internal: the codec of protobuf messages. Include mlops/codec/codec.h instead.
//
// Encoding: u64 length, then the message's deterministic serialization (map fields sorted,
// fields in number order). Decoding parses and then requires that re-serializing gives the
// same bytes, so only canonical encodings decode. Deterministic serialization is stable for a
// given protobuf version and schema; unknown fields are kept and encoded as received.
#ifndef MLOPS_CODEC_INTERNAL_PROTO_CODEC_H_
#define MLOPS_CODEC_INTERNAL_PROTO_CODEC_H_

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/message_lite.h>

#include <string>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "mlops/codec/encoder.h"
#include "mlops/codec/internal/codec_base.h"

namespace mlops {
namespace codec_internal {

// The deterministic serialization of `m`.
inline std::string DeterministicBytes(const google::protobuf::MessageLite& m) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    m.SerializePartialToCodedStream(&coded);
  }
  return bytes;
}

}  // namespace codec_internal

template <typename T>
struct Codec<T, std::enable_if_t<std::is_base_of_v<google::protobuf::MessageLite, T>>> {
  static constexpr bool kDefined = true;
  static constexpr uint32_t kVersion = 1;
  static constexpr size_t kMinSize = 8;
  static std::string Name() { return absl::StrCat("proto:", T::default_instance().GetTypeName()); }
  static std::string Signature() { return codec_internal::Versioned(Name(), kVersion); }
  static void Write(const T& v, Encoder& out) {
    const std::string bytes = codec_internal::DeterministicBytes(v);
    out.AppendInt<uint64_t>(bytes.size());
    out.Append(bytes);
  }
  static bool Read(Decoder& in, T& v) {
    uint64_t n = 0;
    absl::string_view bytes;
    if (!in.ReadCount(1, &n) || !in.Take(n, &bytes)) return false;
    if (bytes.size() > static_cast<size_t>(INT32_MAX) ||
        !v.ParsePartialFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
      return in.Fail(absl::StrCat("not a valid ", Name(), " message"));
    }
    if (codec_internal::DeterministicBytes(v) != bytes) {
      return in.Fail(absl::StrCat("not the deterministic serialization of a ", Name()));
    }
    return true;
  }
};

}  // namespace mlops

#endif  // MLOPS_CODEC_INTERNAL_PROTO_CODEC_H_
