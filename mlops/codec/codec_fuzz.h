// The harness of the codec fuzz tests (codec_fuzz_*_test.cc): a seeded random source, the
// check that every input must pass, mutations of valid encodings, and random byte strings.
//
// For every input, Decode must either fail with INVALID_ARGUMENT naming the type, or return
// a value whose encoding is byte-for-byte the input (decoding is canonical) and whose Hash is
// the input's digest (and Hash(value, &size) the input's size). Inputs are decoded from
// exactly-sized heap buffers, so AddressSanitizer sees any read past the end.
//
// Example:
//   TEST_F(CodecFuzzTest, VectorOfDoubles) {
//     Fuzz<std::vector<double>>(/*seed=*/1, 400, 120, 6000, RandomDoubles);
//   }
//
// Thread safety: an Rng belongs to one thread; Fuzz runs on the calling thread.
#ifndef MLOPS_CODEC_CODEC_FUZZ_H_
#define MLOPS_CODEC_CODEC_FUZZ_H_

#include <google/protobuf/stubs/logging.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <memory>
#include <random>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/codec/codec.h"
#include "mlops/hash/digest.h"

namespace mlops {
namespace test {

// A seeded source of random values (std::mt19937_64), biased towards the values that find
// bugs: special doubles and NaNs, small sizes, keys from a small alphabet.
class Rng {
 public:
  explicit Rng(uint64_t seed) : gen_(seed) {}
  uint64_t Next() { return gen_(); }
  // Uniform in [0, n). REQUIRES: n > 0.
  size_t Below(size_t n) { return static_cast<size_t>(gen_() % n); }
  bool OneIn(size_t n) { return Below(n) == 0; }
  // Mostly small, sometimes larger.
  size_t Size(size_t small, size_t large) { return OneIn(8) ? Below(large + 1) : Below(small + 1); }

  double Double() {
    static const uint64_t kSpecial[] = {
        0x0000000000000000ull, 0x8000000000000000ull, 0x7ff0000000000000ull,
        0xfff0000000000000ull, 0x0000000000000001ull, 0x3ff0000000000000ull,
        0x7fefffffffffffffull, 0x7ff8000000000000ull, 0xfff8000000000000ull,
        0x7ff0000000000001ull, 0x7ff8000000000abcull};
    uint64_t bits;
    switch (Below(4)) {
      case 0:
        bits = kSpecial[Below(sizeof(kSpecial) / sizeof(kSpecial[0]))];
        break;
      case 1:
        bits = Next();  // any bit pattern, NaNs included
        break;
      default: {
        const double d = static_cast<double>(static_cast<int64_t>(Next() % 2001) - 1000) / 8;
        std::memcpy(&bits, &d, 8);
      }
    }
    double d;
    std::memcpy(&d, &bits, 8);
    return d;
  }

  float Float() {
    uint32_t bits = static_cast<uint32_t>(Next());
    if (OneIn(2)) bits = OneIn(2) ? 0x7fc00000u : 0x3f800000u;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
  }

  // Bytes from a small alphabet (so that keys collide and sort in interesting ways), or any
  // byte.
  std::string String(size_t max_len) {
    std::string s(Size(max_len, 3 * max_len), '\0');
    const bool any_byte = OneIn(4);
    for (char& c : s) c = static_cast<char>(any_byte ? Next() : 'a' + Below(3));
    return s;
  }

 private:
  std::mt19937_64 gen_;
};

// Lower-case hex of at most the first `max` bytes of `bytes`, then "..." if there are more.
std::string ShortHex(absl::string_view bytes, size_t max = 200);

// What CheckInput saw.
struct FuzzStats {
  size_t accepted = 0;
  size_t rejected = 0;
  size_t accepted_changed = 0;  // mutated inputs that decoded (to a different value)
};

// Decodes `input` as T: either a clean INVALID_ARGUMENT naming T, or a value that encodes
// back to exactly `input`.
template <typename T>
void CheckInput(absl::string_view input, FuzzStats& stats, bool mutated) {
  std::unique_ptr<char[]> copy(new char[input.size()]);
  if (!input.empty()) std::memcpy(copy.get(), input.data(), input.size());
  const absl::string_view exact(copy.get(), input.size());
  absl::StatusOr<T> decoded = Decode<T>(exact);
  if (!decoded.ok()) {
    ++stats.rejected;
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument)
        << decoded.status() << "\ninput: " << ShortHex(input);
    EXPECT_THAT(std::string(decoded.status().message()),
                ::testing::HasSubstr(absl::StrCat(" bytes as ", CodecName<T>(), ": ")));
    return;
  }
  ++stats.accepted;
  if (mutated) ++stats.accepted_changed;
  const std::string again = Encode(*decoded);
  EXPECT_TRUE(again == input) << "Decode accepted a non-canonical encoding of "
                              << CodecName<T>() << "\n  input:      " << ShortHex(input)
                              << "\n  re-encoded: " << ShortHex(again);
  size_t size = 0;
  EXPECT_EQ(Hash(*decoded, &size), Digest::Of(input)) << ShortHex(input);
  EXPECT_EQ(size, input.size()) << ShortHex(input);
}

// `s` with 1 to 3 random mutations: bit flips, bytes set to 0x00/0xff/random, inserted,
// deleted, incremented or swapped bytes, and corrupt u64 counts.
std::string Mutate(Rng& rng, std::string s);

// Random bytes: uniformly random, or built from small counts, tags and zero runs so that
// some of them get far into the decoder.
std::string RandomBytes(Rng& rng);

// MLOPS_CODEC_FUZZ_SCALE=N (an environment variable; 1 by default) runs N times as many
// values and random inputs, for a longer local run.
size_t FuzzScale();

// Fuzzes Decode<T> with `values` random values from `generate(rng)` (each encoded, then
// checked as is, truncated, with a trailing byte, and with `mutations_per_value` mutations)
// and `random_inputs` random byte strings, from Rng(seed); then expects both outcomes to
// have been reached (at least `values` accepted, more than `values` rejected). Stops early
// once the test has failed. Prints the counts to stdout.
template <typename T, typename Generate>
void Fuzz(uint64_t seed, size_t values, size_t mutations_per_value, size_t random_inputs,
          Generate generate) {
  SCOPED_TRACE(absl::StrCat(CodecName<T>(), " seed ", seed));
  values *= FuzzScale();
  random_inputs *= FuzzScale();
  Rng rng(seed);
  FuzzStats stats;
  for (size_t i = 0; i < values && !::testing::Test::HasFailure(); ++i) {
    const T value = generate(rng);
    const std::string bytes = Encode(value);
    EXPECT_EQ(Hash(value), Digest::Of(bytes));
    CheckInput<T>(bytes, stats, /*mutated=*/false);

    // Truncations: every length for short encodings, some for long ones.
    if (bytes.size() <= 200) {
      for (size_t n = 0; n < bytes.size(); ++n) CheckInput<T>(bytes.substr(0, n), stats, true);
    } else {
      for (size_t k = 0; k < 40; ++k) {
        CheckInput<T>(bytes.substr(0, rng.Below(bytes.size())), stats, true);
      }
      for (size_t n : {size_t{0}, size_t{7}, size_t{8}, size_t{9}, bytes.size() - 1}) {
        CheckInput<T>(bytes.substr(0, n), stats, true);
      }
    }
    // Trailing bytes.
    CheckInput<T>(bytes + static_cast<char>(rng.Next()), stats, true);
    // Mutations.
    for (size_t k = 0; k < mutations_per_value; ++k) {
      const std::string mutated = Mutate(rng, bytes);
      CheckInput<T>(mutated, stats, mutated != bytes);
    }
  }
  for (size_t i = 0; i < random_inputs && !::testing::Test::HasFailure(); ++i) {
    CheckInput<T>(RandomBytes(rng), stats, true);
  }
  std::cout << CodecName<T>() << ": " << stats.accepted << " accepted (" << stats.accepted_changed
            << " of them truncated/mutated/random), " << stats.rejected << " rejected\n";
  // The fuzzer reaches both outcomes.
  EXPECT_GE(stats.accepted, values);
  EXPECT_GT(stats.rejected, values);
}

// Silences protobuf's log: mutated protos with invalid UTF-8 in string fields make protobuf
// log an error for each (they are rejected all the same).
class CodecFuzzTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Mutated protos with invalid UTF-8 in string fields make protobuf log an error for
    // each; they are rejected all the same.
    google::protobuf::SetLogHandler(nullptr);
  }
};

}  // namespace test
}  // namespace mlops

#endif  // MLOPS_CODEC_CODEC_FUZZ_H_
