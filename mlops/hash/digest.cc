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

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

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
  for (size_t i = 0; i < kHexChars; ++i) {
    const int v = HexValue(hex[i]);
    if (v < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("digest has a non-hex character at position ", i, ": \"",
                       absl::CHexEscape(hex), "\""));
    }
    parts[i / 16] = (parts[i / 16] << 4) | static_cast<uint64_t>(v);
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
