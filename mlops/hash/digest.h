// mlops/hash/digest.h — 128-bit content digests (XXH3-128) and a streaming hasher.
//
// A `Digest` names a value by its content: the XXH3-128 hash of its bytes. Every cache key,
// stored value and lineage artifact in mlops is a Digest. Its text form is 32 lowercase hex
// characters, the same string `xxh128sum` prints for the same bytes, so a digest can be
// checked with standard tools.
//
// Example:
//   mlops::Digest d = mlops::Digest::Of("hello");
//   std::string hex = d.ToHex();                         // "b5e9c1ad071b3e7fc779cfaa5e523818"
//   absl::StatusOr<mlops::Digest> back = mlops::Digest::FromHex(hex);  // == d
//   fmt::print("{}\n", d);                               // same 32 characters
//
//   mlops::Hasher h;                                      // streaming: any split of the
//   h.Update("hel");                                      // input gives the digest of
//   h.Update("lo");                                       // the whole
//   assert(h.Finish() == d);
//
// Thread safety: `Digest` is a value type, safe to share. A `Hasher` is not safe for
// concurrent use; give each thread its own.
#ifndef MLOPS_HASH_DIGEST_H_
#define MLOPS_HASH_DIGEST_H_

#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t is embedded in Hasher (no heap state).
#include <xxhash.h>

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "fmt/format.h"

namespace mlops {

// A 128-bit XXH3 digest. Default-constructed digests are all zero (`IsZero()`); XXH3 of any
// input is never expected to be zero, so zero serves as "no digest".
class Digest {
 public:
  static constexpr size_t kBytes = 16;
  static constexpr size_t kHexChars = 32;

  constexpr Digest() = default;
  constexpr Digest(uint64_t high, uint64_t low) : high_(high), low_(low) {}

  // The digest of `bytes` in one shot. Same result as a Hasher fed the same bytes.
  static Digest Of(absl::string_view bytes);
  static Digest Of(const void* data, size_t size);

  // Parses 32 hex characters (either case). Returns INVALID_ARGUMENT, quoting the input, for
  // any other length or any non-hex character.
  static absl::StatusOr<Digest> FromHex(absl::string_view hex);

  // The canonical 16-byte form: big-endian `high` then `low` (XXH128_canonical_t), the
  // order in which the hex form prints. REQUIRES: `bytes` points to 16 readable bytes.
  static Digest FromBytes(const unsigned char* bytes);
  void ToBytes(unsigned char* out) const;  // REQUIRES: `out` has room for 16 bytes.

  // 32 lowercase hex characters.
  std::string ToHex() const;
  // The first `n` hex characters (n <= 32), for display.
  std::string ShortHex(size_t n = 12) const;

  constexpr uint64_t high() const { return high_; }
  constexpr uint64_t low() const { return low_; }
  constexpr bool IsZero() const { return high_ == 0 && low_ == 0; }

  friend constexpr bool operator==(const Digest& a, const Digest& b) {
    return a.high_ == b.high_ && a.low_ == b.low_;
  }
  friend constexpr bool operator!=(const Digest& a, const Digest& b) { return !(a == b); }
  // Orders as the hex strings do.
  friend constexpr bool operator<(const Digest& a, const Digest& b) {
    return a.high_ != b.high_ ? a.high_ < b.high_ : a.low_ < b.low_;
  }
  friend constexpr bool operator>(const Digest& a, const Digest& b) { return b < a; }
  friend constexpr bool operator<=(const Digest& a, const Digest& b) { return !(b < a); }
  friend constexpr bool operator>=(const Digest& a, const Digest& b) { return !(a < b); }

  // Lets Digest be a key of absl::flat_hash_map / flat_hash_set.
  template <typename H>
  friend H AbslHashValue(H h, const Digest& d) {
    return H::combine(std::move(h), d.high_, d.low_);
  }

  friend std::ostream& operator<<(std::ostream& os, const Digest& d) {
    return os << d.ToHex();
  }

 private:
  uint64_t high_ = 0;
  uint64_t low_ = 0;
};

// Streaming XXH3-128. Feeding the same bytes in any split gives the same digest as
// `Digest::Of` over their concatenation. Large updates use the widest SIMD path the CPU has
// (AVX2/AVX-512 through xxHash's runtime dispatcher).
//
// Not copyable (the state is large and aligned); movable by value is not offered either.
class Hasher {
 public:
  Hasher() { Reset(); }
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;

  // Forgets everything fed so far.
  void Reset();

  // Makes this hasher's state a copy of `other`'s (about 600 bytes copied): a snapshot to
  // roll back to.
  void CopyFrom(const Hasher& other);

  void Update(const void* data, size_t size);
  void Update(absl::string_view bytes) { Update(bytes.data(), bytes.size()); }

  // The digest of everything fed since construction or the last Reset(). Does not change the
  // state: more bytes may be fed afterwards and Finish() called again.
  Digest Finish() const;

 private:
  XXH3_state_t state_;
};

}  // namespace mlops

// fmt support: `fmt::format("{}", digest)` prints the 32 hex characters.
template <>
struct fmt::formatter<mlops::Digest> : fmt::formatter<fmt::string_view> {
  template <typename FormatContext>
  auto format(const mlops::Digest& d, FormatContext& ctx) const {
    const std::string hex = d.ToHex();
    return fmt::formatter<fmt::string_view>::format(fmt::string_view(hex), ctx);
  }
};

#endif  // MLOPS_HASH_DIGEST_H_
