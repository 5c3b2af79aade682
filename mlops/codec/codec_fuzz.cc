#include "mlops/codec/codec_fuzz.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"

namespace mlops {
namespace test {

std::string ShortHex(absl::string_view bytes, size_t max) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < bytes.size() && i < max; ++i) {
    out += kDigits[static_cast<unsigned char>(bytes[i]) >> 4];
    out += kDigits[static_cast<unsigned char>(bytes[i]) & 0xf];
  }
  if (bytes.size() > max) out += "...";
  return out;
}

std::string Mutate(Rng& rng, std::string s) {
  const size_t count = 1 + rng.Below(3);
  for (size_t m = 0; m < count; ++m) {
    const size_t op = rng.Below(9);
    if (s.empty() && op != 4) continue;
    const size_t pos = s.empty() ? 0 : rng.Below(s.size());
    switch (op) {
      case 0:  // flip a bit
        s[pos] = static_cast<char>(s[pos] ^ (1 << rng.Below(8)));
        break;
      case 1:
        s[pos] = '\xff';
        break;
      case 2:
        s[pos] = '\0';
        break;
      case 3:
        s[pos] = static_cast<char>(rng.Next());
        break;
      case 4:  // insert a byte
        s.insert(s.begin() + static_cast<std::ptrdiff_t>(rng.Below(s.size() + 1)),
                 static_cast<char>(rng.OneIn(2) ? rng.Next() : 0));
        break;
      case 5:  // delete a byte
        s.erase(pos, 1);
        break;
      case 6:  // a small or huge little-endian u64 at a random offset (a corrupt count)
        if (s.size() >= 8) {
          const size_t at = rng.Below(s.size() - 7);
          const uint64_t v = rng.OneIn(4) ? rng.Next() : rng.Below(70);
          for (int i = 0; i < 8; ++i) s[at + i] = static_cast<char>(v >> (8 * i));
        }
        break;
      case 7:  // increment or decrement a byte (a count or tag off by one)
        s[pos] = static_cast<char>(s[pos] + (rng.OneIn(2) ? 1 : -1));
        break;
      default:  // swap two bytes
        std::swap(s[pos], s[rng.Below(s.size())]);
    }
  }
  return s;
}

std::string RandomBytes(Rng& rng) {
  std::string s;
  const size_t len = rng.Size(24, 300);
  if (rng.OneIn(2)) {
    for (size_t i = 0; i < len; ++i) s += static_cast<char>(rng.Next());
    return s;
  }
  while (s.size() < len) {
    switch (rng.Below(5)) {
      case 0: {  // a small u64 count
        const uint64_t v = rng.Below(6);
        for (int i = 0; i < 8; ++i) s += static_cast<char>(v >> (8 * i));
        break;
      }
      case 1:  // a small u32 index
        s += static_cast<char>(rng.Below(4));
        s.append(3, '\0');
        break;
      case 2:  // a tag or bool
        s += static_cast<char>(rng.Below(3));
        break;
      case 3:
        s.append(rng.Below(9), '\0');
        break;
      default:
        s += static_cast<char>(rng.Next());
    }
  }
  return s;
}

size_t FuzzScale() {
  const char* env = std::getenv("MLOPS_CODEC_FUZZ_SCALE");
  const long scale = env == nullptr ? 1 : std::atol(env);
  return scale > 0 ? static_cast<size_t>(scale) : 1;
}

}  // namespace test
}  // namespace mlops
