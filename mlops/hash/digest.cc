#include "mlops/hash/digest.h"

// XXH3_*_dispatch: AVX2/AVX-512 when the CPU has them. Keep the plain names plain.
#define XXH_DISPATCH_DISABLE_REPLACE
#include <xxh_x86dispatch.h>

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace mlops {
namespace {

// Below this size the one-shot scalar/SSE2 path of XXH3 beats the dispatcher's extra call.
constexpr size_t kDispatchThreshold = 1024;

constexpr char kHexDigits[] = "0123456789abcdef";

// Value of each hex digit, -1 for every other byte.
struct HexTable {
  int8_t value[256];
  constexpr HexTable() : value() {
    for (int i = 0; i < 256; ++i) value[i] = -1;
    for (int i = 0; i < 10; ++i) value['0' + i] = static_cast<int8_t>(i);
    for (int i = 0; i < 6; ++i) {
      value['a' + i] = static_cast<int8_t>(10 + i);
      value['A' + i] = static_cast<int8_t>(10 + i);
    }
  }
};
constexpr HexTable kHex;

int HexValue(char c) { return kHex.value[static_cast<unsigned char>(c)]; }

}  // namespace

Digest Digest::Of(const void* data, size_t size) {
  const XXH128_hash_t h = size < kDispatchThreshold ? XXH3_128bits(data, size)
                                                    : XXH3_128bits_dispatch(data, size);
  return Digest(h.high64, h.low64);
}

Digest Digest::Of(absl::string_view bytes) { return Of(bytes.data(), bytes.size()); }

absl::StatusOr<Digest> Digest::FromHex(absl::string_view hex) {
  if (hex.size() != kHexChars) {
    return absl::InvalidArgumentError(
        absl::StrCat("digest must be ", kHexChars, " hex characters, got ", hex.size(),
                     ": \"", absl::CHexEscape(hex.substr(0, 80)), "\""));
  }
  uint64_t parts[2] = {0, 0};
  int bad = 0;  // any invalid digit makes this negative; checked once, after the loop
  for (size_t i = 0; i < kHexChars; ++i) {
    const int v = HexValue(hex[i]);
    bad |= v;
    parts[i / 16] = (parts[i / 16] << 4) | static_cast<uint64_t>(v & 0xf);
  }
  if (bad < 0) {
    size_t i = 0;
    while (HexValue(hex[i]) >= 0) ++i;
    return absl::InvalidArgumentError(
        absl::StrCat("digest has a non-hex character at position ", i, ": \"",
                     absl::CHexEscape(hex), "\""));
  }
  return Digest(parts[0], parts[1]);
}

Digest Digest::FromBytes(const unsigned char* bytes) {
  XXH128_canonical_t canonical;
  std::memcpy(canonical.digest, bytes, kBytes);
  const XXH128_hash_t h = XXH128_hashFromCanonical(&canonical);
  return Digest(h.high64, h.low64);
}

void Digest::ToBytes(unsigned char* out) const {
  XXH128_canonical_t canonical;
  XXH128_canonicalFromHash(&canonical, XXH128_hash_t{low_, high_});
  std::memcpy(out, canonical.digest, kBytes);
}

std::string Digest::ToHex() const {
  std::string out(kHexChars, '0');
  for (int i = 0; i < 16; ++i) {
    out[i] = kHexDigits[(high_ >> (60 - 4 * i)) & 0xf];
    out[16 + i] = kHexDigits[(low_ >> (60 - 4 * i)) & 0xf];
  }
  return out;
}

std::string Digest::ShortHex(size_t n) const {
  std::string hex = ToHex();
  if (n < hex.size()) hex.resize(n);
  return hex;
}

void Hasher::Reset() { XXH3_128bits_reset(&state_); }

void Hasher::CopyFrom(const Hasher& other) { XXH3_copyState(&state_, &other.state_); }

void Hasher::Update(const void* data, size_t size) {
  if (size == 0) return;
  if (size < kDispatchThreshold) {
    XXH3_128bits_update(&state_, data, size);
  } else {
    XXH3_128bits_update_dispatch(&state_, data, size);
  }
}

Digest Hasher::Finish() const {
  const XXH128_hash_t h = XXH3_128bits_digest(&state_);
  return Digest(h.high64, h.low64);
}

}  // namespace mlops
