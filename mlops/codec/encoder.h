// mlops/codec/encoder.h — the byte sink and source that codecs write to and read from.
//
// An `Encoder` either appends a value's canonical encoding to a string or feeds it straight
// into an XXH3-128 hash, so `Hash(v)` never builds the encoding in memory: small values are
// gathered in a stack buffer and hashed in one shot, large contiguous arrays are passed to
// the hasher in place. Either way the digest is exactly `Digest::Of(Encode(v))`.
//
// A `Decoder` reads an encoding back. Every read is bounds-checked; the first failure is
// recorded with its byte offset and every later read fails too, so a codec can chain reads
// and check once.
//
// Only codec authors (a specialization of mlops::Codec<T>) use these classes directly.
//
// Thread safety: neither class is safe for concurrent use; both are meant to be short-lived
// locals.
#ifndef MLOPS_CODEC_ENCODER_H_
#define MLOPS_CODEC_ENCODER_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <type_traits>

#include "absl/strings/string_view.h"
#include "mlops/hash/digest.h"

namespace mlops {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "mlops encodings are little-endian and copy host memory as is; big-endian "
              "hosts are not supported");

class Encoder {
 public:
  // Appends to `*out` (not cleared first). REQUIRES: `out` outlives the Encoder.
  explicit Encoder(std::string* out) : out_(out) {}
  // Hashes instead; read the result with Finish().
  Encoder() = default;
  Encoder(const Encoder&) = delete;
  Encoder& operator=(const Encoder&) = delete;

  void Append(const void* data, size_t size) {
    if (size == 0) return;  // data may be null (an empty vector's data())
    total_ += size;
    if (out_ != nullptr) {
      out_->append(static_cast<const char*>(data), size);
    } else if (buffered_ + size <= kBufferSize) {
      std::memcpy(buffer_ + buffered_, data, size);
      buffered_ += size;
    } else {
      AppendToHasher(data, size);
    }
  }
  void Append(absl::string_view bytes) { Append(bytes.data(), bytes.size()); }

  // Fixed-width little-endian integers.
  template <typename Int>
  void AppendInt(Int v) {
    static_assert(std::is_integral_v<Int>);
    Append(&v, sizeof(v));
  }

  // An array of floats or doubles by bit pattern, with every NaN written as the one canonical
  // quiet NaN (0x7ff8000000000000 / 0x7fc00000). Hashing checks for NaNs chunk by chunk while
  // the chunk is in cache, so large arrays are still read from memory once.
  void AppendFloats(const float* data, size_t count);
  void AppendFloats(const double* data, size_t count);

  // The digest of everything appended. REQUIRES: constructed in hashing mode; call once.
  Digest Finish();

  // How many bytes have been appended (the size of the encoding so far).
  size_t bytes_written() const { return total_; }

 private:
  static constexpr size_t kBufferSize = 512;

  void AppendToHasher(const void* data, size_t size);
  template <typename F>
  void AppendFloatsImpl(const F* data, size_t count);

  std::string* out_ = nullptr;
  size_t total_ = 0;
  size_t buffered_ = 0;
  std::optional<Hasher> hasher_;  // started only once the buffer overflows
  char buffer_[kBufferSize];
};

class Decoder {
 public:
  // Reads from `in`. REQUIRES: the bytes outlive the Decoder.
  explicit Decoder(absl::string_view in) : begin_(in.data()), in_(in) {}
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // Copies the next `size` bytes to `out`. False (and the decoder fails) if fewer remain.
  bool Read(void* out, size_t size) {
    if (!Need(size)) return false;
    if (size == 0) return true;  // out may be null (an empty vector's data())
    std::memcpy(out, in_.data(), size);
    in_.remove_prefix(size);
    return true;
  }

  // The next `size` bytes, in place. False if fewer remain.
  bool Take(size_t size, absl::string_view* out) {
    if (!Need(size)) return false;
    *out = in_.substr(0, size);
    in_.remove_prefix(size);
    return true;
  }

  template <typename Int>
  bool ReadInt(Int* v) {
    static_assert(std::is_integral_v<Int>);
    return Read(v, sizeof(*v));
  }

  // A u64 element count for elements that each take at least `min_element_size` bytes;
  // fails unless that many elements could fit in the bytes that remain, so a corrupt
  // prefix can never make a codec allocate more than the input's size.
  bool ReadCount(size_t min_element_size, uint64_t* count);

  // Reads `count` floats/doubles; fails on a NaN that is not the canonical one.
  bool ReadFloats(float* out, size_t count);
  bool ReadFloats(double* out, size_t count);

  // Records `why` (with the current offset) as the failure, unless one is already recorded.
  // Always returns false, for `return d.Fail("...")`.
  bool Fail(absl::string_view why);

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  size_t remaining() const { return in_.size(); }
  size_t offset() const { return static_cast<size_t>(in_.data() - begin_); }
  // The bytes from `from` (an earlier offset()) to the current position.
  absl::string_view Since(size_t from) const {
    return absl::string_view(begin_ + from, offset() - from);
  }

  // Nesting depth guard for recursive user types; Enter() fails past kMaxDepth.
  static constexpr int kMaxDepth = 256;
  bool Enter();
  void Leave() { --depth_; }

 private:
  bool Need(size_t size);

  const char* begin_;
  absl::string_view in_;
  int depth_ = 0;
  std::string error_;
};

}  // namespace mlops

#endif  // MLOPS_CODEC_ENCODER_H_
