// Randomized tests of Decode: random values of several types are encoded, then truncated and
// mutated (bit flips, bytes set to 0x00/0xff/random, inserted, deleted, corrupted counts),
// and fully random byte strings are decoded too. For every input, Decode must either fail
// with INVALID_ARGUMENT naming the type, or return a value whose encoding is byte-for-byte
// the input (decoding is canonical) and whose Hash is the input's digest (and
// Hash(value, &size) the input's size). Inputs are decoded
// from exactly-sized heap buffers, so AddressSanitizer sees any read past the end.
//
// Seeds are fixed: every run sees the same inputs. The run takes a few seconds, also under
// --config=asan.
#include <google/protobuf/stubs/logging.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/codec/codec.h"
#include "mlops/codec/testdata/test_message.pb.h"
#include "mlops/hash/digest.h"

namespace mlops {
namespace {

using ::testing::HasSubstr;
using TestMessage = ::mlops::testing::TestMessage;

// ---------------------------------------------------------------------------------------
// Types under test.

struct Point {
  double x = 0;
  double y = 0;
  std::string label;
};
MLOPS_CODEC_FIELDS(Point, x, y, label);

struct Tree {
  int32_t v = 0;
  std::vector<Tree> kids;
};
MLOPS_CODEC_FIELDS(Tree, v, kids);

struct Record {
  uint32_t id = 0;
  std::string name;
  std::optional<Point> where;
  std::vector<Point> path;
  std::set<int16_t> tags;
  std::unordered_map<std::string, bool> flags;
  Digest ref;
  std::array<float, 2> range = {0, 0};
  std::vector<bool> mask;
  std::variant<std::string, Tree> extra;
};
MLOPS_CODEC_FIELDS(Record, id, name, where, path, tags, flags, ref, range, mask, extra);

using Doubles = std::vector<double>;
using IntLists = std::map<std::string, std::vector<int>>;
using Mixed = std::tuple<std::optional<std::string>, std::variant<int64_t, double, std::string>, bool>;

// ---------------------------------------------------------------------------------------
// Random values.

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

Doubles RandomDoubles(Rng& rng) {
  Doubles v(rng.OneIn(50) ? 4096 + rng.Below(5000) : rng.Size(12, 200));
  for (double& d : v) d = rng.Double();
  return v;
}

IntLists RandomIntLists(Rng& rng) {
  IntLists m;
  const size_t n = rng.Size(4, 20);
  for (size_t i = 0; i < n; ++i) {
    std::vector<int>& v = m[rng.String(4)];
    v.resize(rng.Size(6, 100));
    for (int& x : v) x = rng.OneIn(3) ? static_cast<int>(rng.Below(3)) : static_cast<int>(rng.Next());
  }
  return m;
}

Mixed RandomMixed(Rng& rng) {
  Mixed t;
  if (!rng.OneIn(3)) std::get<0>(t) = rng.String(10);
  switch (rng.Below(3)) {
    case 0:
      std::get<1>(t) = static_cast<int64_t>(rng.Next()) >> rng.Below(64);
      break;
    case 1:
      std::get<1>(t) = rng.Double();  // at an unaligned offset
      break;
    default:
      std::get<1>(t) = rng.String(10);
  }
  std::get<2>(t) = rng.OneIn(2);
  return t;
}

TestMessage RandomMessage(Rng& rng, int depth = 0) {
  TestMessage m;
  if (!rng.OneIn(3)) {
    std::string name(rng.Size(6, 30), 'x');
    for (char& c : name) c = static_cast<char>('a' + rng.Below(26));
    m.set_name(name);
  }
  if (!rng.OneIn(3)) m.set_count(static_cast<int64_t>(rng.Next()) >> rng.Below(64));
  const size_t values = rng.Size(3, 40);
  for (size_t i = 0; i < values; ++i) m.add_values(rng.Double());
  const size_t tags = rng.Size(3, 20);
  for (size_t i = 0; i < tags; ++i) {
    (*m.mutable_tags())[absl::StrCat("t", rng.Below(10))] = static_cast<int32_t>(rng.Next());
  }
  if (!rng.OneIn(3)) m.set_kind(static_cast<TestMessage::Kind>(rng.Below(4)));
  if (depth < 3 && rng.OneIn(3)) *m.mutable_child() = RandomMessage(rng, depth + 1);
  return m;
}

Point RandomPoint(Rng& rng) {
  return Point{rng.Double(), rng.Double(), rng.String(6)};
}

Tree RandomTree(Rng& rng, int depth = 0) {
  Tree t;
  t.v = static_cast<int32_t>(rng.Next());
  if (depth < 4) {
    const size_t kids = rng.Below(depth == 0 ? 4 : 3);
    for (size_t i = 0; i < kids; ++i) t.kids.push_back(RandomTree(rng, depth + 1));
  }
  return t;
}

Record RandomRecord(Rng& rng) {
  Record r;
  r.id = static_cast<uint32_t>(rng.Next());
  r.name = rng.String(8);
  if (rng.OneIn(2)) r.where = RandomPoint(rng);
  const size_t points = rng.Size(3, 10);
  for (size_t i = 0; i < points; ++i) r.path.push_back(RandomPoint(rng));
  const size_t tags = rng.Size(4, 30);
  for (size_t i = 0; i < tags; ++i) r.tags.insert(static_cast<int16_t>(rng.Next()));
  const size_t flags = rng.Size(4, 30);
  for (size_t i = 0; i < flags; ++i) r.flags[rng.String(3)] = rng.OneIn(2);
  if (rng.OneIn(2)) r.ref = Digest(rng.Next(), rng.Next());
  r.range = {rng.Float(), rng.Float()};
  r.mask.resize(rng.Size(5, 40));
  for (size_t i = 0; i < r.mask.size(); ++i) r.mask[i] = rng.OneIn(2);
  if (rng.OneIn(2)) {
    r.extra = RandomTree(rng, 2);
  } else {
    r.extra = rng.String(5);
  }
  return r;
}

// ---------------------------------------------------------------------------------------
// The check.

std::string Hex(absl::string_view bytes, size_t max = 200) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < bytes.size() && i < max; ++i) {
    out += kDigits[static_cast<unsigned char>(bytes[i]) >> 4];
    out += kDigits[static_cast<unsigned char>(bytes[i]) & 0xf];
  }
  if (bytes.size() > max) out += "...";
  return out;
}

struct Stats {
  size_t accepted = 0;
  size_t rejected = 0;
  size_t accepted_changed = 0;  // mutated inputs that decoded (to a different value)
};

// Decodes `input` as T: either a clean INVALID_ARGUMENT naming T, or a value that encodes
// back to exactly `input`.
template <typename T>
void CheckInput(absl::string_view input, Stats& stats, bool mutated) {
  std::unique_ptr<char[]> copy(new char[input.size()]);
  if (!input.empty()) std::memcpy(copy.get(), input.data(), input.size());
  const absl::string_view exact(copy.get(), input.size());
  absl::StatusOr<T> decoded = Decode<T>(exact);
  if (!decoded.ok()) {
    ++stats.rejected;
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument)
        << decoded.status() << "\ninput: " << Hex(input);
    EXPECT_THAT(std::string(decoded.status().message()),
                HasSubstr(absl::StrCat(" bytes as ", CodecName<T>(), ": ")));
    return;
  }
  ++stats.accepted;
  if (mutated) ++stats.accepted_changed;
  const std::string again = Encode(*decoded);
  EXPECT_TRUE(again == input) << "Decode accepted a non-canonical encoding of "
                              << CodecName<T>() << "\n  input:      " << Hex(input)
                              << "\n  re-encoded: " << Hex(again);
  size_t size = 0;
  EXPECT_EQ(Hash(*decoded, &size), Digest::Of(input)) << Hex(input);
  EXPECT_EQ(size, input.size()) << Hex(input);
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

// Random bytes: uniformly random, or built from small counts, tags and zero runs so that
// some of them get far into the decoder.
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

// MLOPS_CODEC_FUZZ_SCALE=N (an environment variable; 1 by default) runs N times as many
// values and random inputs, for a longer local run.
size_t Scale() {
  const char* env = std::getenv("MLOPS_CODEC_FUZZ_SCALE");
  const long scale = env == nullptr ? 1 : std::atol(env);
  return scale > 0 ? static_cast<size_t>(scale) : 1;
}

template <typename T, typename Generate>
void Fuzz(uint64_t seed, size_t values, size_t mutations_per_value, size_t random_inputs,
          Generate generate) {
  SCOPED_TRACE(absl::StrCat(CodecName<T>(), " seed ", seed));
  values *= Scale();
  random_inputs *= Scale();
  Rng rng(seed);
  Stats stats;
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

class CodecFuzzTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Mutated protos with invalid UTF-8 in string fields make protobuf log an error for
    // each; they are rejected all the same.
    google::protobuf::SetLogHandler(nullptr);
  }
};

TEST_F(CodecFuzzTest, VectorOfDoubles) {
  Fuzz<Doubles>(1, 400, 120, 6000, RandomDoubles);
}

TEST_F(CodecFuzzTest, MapOfIntVectors) {
  Fuzz<IntLists>(2, 400, 120, 6000, RandomIntLists);
}

TEST_F(CodecFuzzTest, TupleOfOptionalVariantBool) {
  Fuzz<Mixed>(3, 600, 120, 6000, RandomMixed);
}

TEST_F(CodecFuzzTest, Proto) {
  Fuzz<TestMessage>(4, 400, 120, 6000, [](Rng& rng) { return RandomMessage(rng); });
}

TEST_F(CodecFuzzTest, Struct) {
  Fuzz<Point>(5, 600, 120, 6000, [](Rng& rng) { return RandomPoint(rng); });
}

TEST_F(CodecFuzzTest, RecursiveStruct) {
  Fuzz<Tree>(6, 300, 120, 6000, [](Rng& rng) { return RandomTree(rng); });
}

TEST_F(CodecFuzzTest, StructOfEverything) {
  Fuzz<Record>(7, 300, 120, 6000, RandomRecord);
}

}  // namespace
}  // namespace mlops
