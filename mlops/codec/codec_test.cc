// Tests of mlops/codec/codec.h: known answers (bytes and digests pinned by hand), round
// trips, canonical-decoding rejections, unordered containers, names and signatures.
//
// Every expected byte string in this file was written by hand from the encoding rules in
// codec.h / internal/*.h (and, for the proto, from the protobuf wire format); every expected
// digest is what `xxh128sum` prints for a file holding exactly those bytes. Neither was
// produced by running this code, so an accidental change of the encoding fails loudly.
#include "mlops/codec/codec.h"

#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/codec/testdata/test_message.pb.h"
#include "mlops/hash/digest.h"

namespace mlops {
namespace {

using ::testing::HasSubstr;
using TestMessage = ::mlops::testing::TestMessage;

// ---------------------------------------------------------------------------------------
// User types.

struct Point {
  double x = 0;
  double y = 0;
  std::string label;
  bool operator==(const Point& o) const { return x == o.x && y == o.y && label == o.label; }
};
MLOPS_CODEC_FIELDS(Point, x, y, label);

// A recursive type.
struct Tree {
  int32_t v = 0;
  std::vector<Tree> kids;
  bool operator==(const Tree& o) const { return v == o.v && kids == o.kids; }
};
MLOPS_CODEC_FIELDS(Tree, v, kids);

// Mutually recursive types.
struct Forest;
struct Node {
  std::string name;
  std::vector<Forest> forests;
  bool operator==(const Node& o) const;
};
struct Forest {
  std::vector<Node> nodes;
  bool operator==(const Forest& o) const { return nodes == o.nodes; }
};
bool Node::operator==(const Node& o) const { return name == o.name && forests == o.forests; }
MLOPS_CODEC_FIELDS(Node, name, forests);
MLOPS_CODEC_FIELDS(Forest, nodes);

// An explicit codec version.
struct Weights {
  int32_t n = 0;
  std::vector<float> w;
  bool operator==(const Weights& o) const { return n == o.n && w == o.w; }
};
MLOPS_CODEC_FIELDS_VERSIONED(Weights, 3, n, w);

// No codec declared.
struct NoCodec {
  int x = 0;
};
enum class Color { kRed, kGreen };

// ---------------------------------------------------------------------------------------
// kHasCodec.

static_assert(kHasCodec<bool>);
static_assert(kHasCodec<char>);
static_assert(kHasCodec<signed char>);
static_assert(kHasCodec<unsigned char>);
static_assert(kHasCodec<int8_t> && kHasCodec<int16_t> && kHasCodec<int32_t> &&
              kHasCodec<int64_t>);
static_assert(kHasCodec<uint8_t> && kHasCodec<uint16_t> && kHasCodec<uint32_t> &&
              kHasCodec<uint64_t>);
static_assert(kHasCodec<long> && kHasCodec<long long> && kHasCodec<unsigned long>);
static_assert(kHasCodec<float> && kHasCodec<double>);
static_assert(kHasCodec<std::string>);
static_assert(kHasCodec<Digest>);
static_assert(kHasCodec<std::vector<double>>);
static_assert(kHasCodec<std::vector<bool>>);
static_assert(kHasCodec<std::array<uint16_t, 3>>);
static_assert(kHasCodec<std::map<std::string, int>>);
static_assert(kHasCodec<std::set<int>>);
static_assert(kHasCodec<std::unordered_map<std::string, int>>);
static_assert(kHasCodec<std::unordered_set<int>>);
static_assert(kHasCodec<std::pair<int, std::string>>);
static_assert(kHasCodec<std::tuple<>>);
static_assert(kHasCodec<std::tuple<bool, uint8_t, int64_t>>);
static_assert(kHasCodec<std::optional<int>>);
static_assert(kHasCodec<std::variant<int, std::string>>);
static_assert(kHasCodec<TestMessage>);
static_assert(kHasCodec<Point>);
static_assert(kHasCodec<Tree>);
static_assert(kHasCodec<Node> && kHasCodec<Forest>);
static_assert(kHasCodec<std::vector<std::map<std::string, std::optional<std::variant<int, std::string>>>>>);
static_assert(kHasCodec<const Point&>);  // cv and reference qualifiers are ignored
static_assert(kHasCodec<const std::string>);

static_assert(!kHasCodec<NoCodec>);
static_assert(!kHasCodec<long double>);
static_assert(!kHasCodec<Color>);
static_assert(!kHasCodec<const char*>);
static_assert(!kHasCodec<int*>);
static_assert(!kHasCodec<std::vector<NoCodec>>);
static_assert(!kHasCodec<std::vector<long double>>);
static_assert(!kHasCodec<std::map<std::string, NoCodec>>);
static_assert(!kHasCodec<std::pair<int, long double>>);
static_assert(!kHasCodec<std::tuple<int, NoCodec>>);
static_assert(!kHasCodec<std::optional<NoCodec>>);
static_assert(!kHasCodec<std::variant<int, NoCodec>>);

// ---------------------------------------------------------------------------------------
// Helpers.

std::string Hex(absl::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * bytes.size());
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 0xf];
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  ADD_FAILURE() << "bad hex character '" << c << "'";
  return 0;
}

// Hex (spaces ignored) to bytes.
std::string Unhex(absl::string_view hex) {
  std::string digits;
  for (char c : hex) {
    if (c != ' ') digits += c;
  }
  EXPECT_EQ(digits.size() % 2, 0u) << hex;
  std::string out;
  for (size_t i = 0; i + 1 < digits.size(); i += 2) {
    out += static_cast<char>(16 * HexValue(digits[i]) + HexValue(digits[i + 1]));
  }
  return out;
}

std::string U64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(v >> (8 * i));
  return out;
}
std::string U32(uint32_t v) {
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>(v >> (8 * i));
  return out;
}
std::string Str(absl::string_view s) { return absl::StrCat(U64(s.size()), s); }

double F64(uint64_t bits) {
  double d;
  std::memcpy(&d, &bits, sizeof(d));
  return d;
}
float F32(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}
uint64_t Bits(double d) {
  uint64_t b;
  std::memcpy(&b, &d, sizeof(b));
  return b;
}
std::string F64Bytes(double d) { return U64(Bits(d)); }

constexpr uint64_t kCanonicalNaN64 = 0x7ff8000000000000ull;
constexpr uint32_t kCanonicalNaN32 = 0x7fc00000u;

// Decodes from a heap buffer of exactly bytes.size() bytes, so that AddressSanitizer catches
// any read past the end.
template <typename T>
absl::StatusOr<T> DecodeExact(absl::string_view bytes) {
  std::unique_ptr<char[]> copy(new char[bytes.size()]);
  if (!bytes.empty()) std::memcpy(copy.get(), bytes.data(), bytes.size());
  return Decode<T>(absl::string_view(copy.get(), bytes.size()));
}

// Checks that decoding `bytes` as T fails with INVALID_ARGUMENT, naming the type (and
// `why`, when given).
template <typename T>
void ExpectRejected(absl::string_view bytes, absl::string_view why = "") {
  absl::StatusOr<T> r = DecodeExact<T>(bytes);
  ASSERT_FALSE(r.ok()) << "accepted " << Hex(bytes) << " as " << CodecName<T>();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr(absl::StrCat("cannot decode ", bytes.size(), " bytes as ",
                                     CodecName<T>(), ": ")));
  if (!why.empty()) {
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(std::string(why)));
  }
}

// Pins the encoding and digest of `value`, checks that the pinned bytes decode and re-encode
// to themselves, that every proper prefix is rejected as truncated, and that a trailing byte
// is rejected.
template <typename T>
void CheckKnownAnswer(const T& value, absl::string_view hex, absl::string_view digest) {
  const std::string bytes = Encode(value);
  EXPECT_EQ(Hex(bytes), hex);
  EXPECT_EQ(Hash(value).ToHex(), digest);
  EXPECT_EQ(Digest::Of(bytes).ToHex(), digest);
  size_t size = 12345;
  EXPECT_EQ(Hash(value, &size).ToHex(), digest);
  EXPECT_EQ(size, Unhex(hex).size());

  const std::string pinned = Unhex(hex);
  absl::StatusOr<T> back = DecodeExact<T>(pinned);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(Hex(Encode(*back)), hex);
  EXPECT_EQ(Hash(*back).ToHex(), digest);

  // EncodeTo appends, after a prefix of any length (so values also land at unaligned
  // offsets).
  for (const std::string prefix : {"prefix..", "prefix."}) {
    std::string appended = prefix;
    EncodeTo(value, &appended);
    EXPECT_EQ(appended, prefix + pinned);
  }

  for (size_t n = 0; n < pinned.size(); ++n) {
    SCOPED_TRACE(absl::StrCat("prefix of ", n, " bytes"));
    ExpectRejected<T>(pinned.substr(0, n));
  }
  ExpectRejected<T>(pinned + '\0', "1 trailing bytes");
  ExpectRejected<T>(pinned + "\x01\x02\x03", "3 trailing bytes");
}

#define EXPECT_KNOWN_ANSWER(value, hex, digest) \
  do {                                          \
    SCOPED_TRACE(#value);                       \
    CheckKnownAnswer(value, hex, digest);       \
  } while (0)

template <typename T>
bool Same(const T& a, const T& b) {
  return a == b;
}
bool Same(const TestMessage& a, const TestMessage& b) {
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

// Decode(Encode(v)) == v, the re-encoding is identical, and Hash == Digest::Of(Encode).
template <typename T>
void ExpectRoundTrip(const T& v) {
  const std::string bytes = Encode(v);
  EXPECT_EQ(Hash(v), Digest::Of(bytes));
  size_t size = 12345;
  EXPECT_EQ(Hash(v, &size), Digest::Of(bytes));
  EXPECT_EQ(size, bytes.size());
  absl::StatusOr<T> back = DecodeExact<T>(bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(Same(*back, v)) << CodecName<T>() << " " << Hex(bytes.substr(0, 256));
  EXPECT_TRUE(Encode(*back) == bytes) << CodecName<T>();
  EXPECT_EQ(Hash(*back), Digest::Of(bytes));
}

// For values containing NaNs (not equal to themselves): the bytes round-trip.
template <typename T>
void ExpectBytesRoundTrip(const T& v) {
  const std::string bytes = Encode(v);
  EXPECT_EQ(Hash(v), Digest::Of(bytes));
  size_t size = 12345;
  EXPECT_EQ(Hash(v, &size), Digest::Of(bytes));
  EXPECT_EQ(size, bytes.size());
  absl::StatusOr<T> back = DecodeExact<T>(bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(Encode(*back) == bytes) << CodecName<T>();
  EXPECT_EQ(Hash(*back), Digest::Of(bytes));
}

TestMessage FullMessage() {
  TestMessage m;
  m.set_name("x");
  m.set_count(3);
  m.add_values(1.5);
  (*m.mutable_tags())["b"] = 2;  // inserted out of order: the serialization sorts them
  (*m.mutable_tags())["a"] = 1;
  m.set_kind(TestMessage::KIND_B);
  m.mutable_child()->set_name("y");
  return m;
}

// ---------------------------------------------------------------------------------------
// Known answers.

TEST(CodecKnownAnswerTest, Bool) {
  EXPECT_KNOWN_ANSWER(false, "00", "a6cd5e9392000f6ac44bdff4074eecdb");
  EXPECT_KNOWN_ANSWER(true, "01", "51025a4491835505e12ef9d2eb86ceeb");
}

TEST(CodecKnownAnswerTest, Integers) {
  EXPECT_KNOWN_ANSWER(int8_t{0}, "00", "a6cd5e9392000f6ac44bdff4074eecdb");
  EXPECT_KNOWN_ANSWER(int8_t{-1}, "ff", "7e5dc90380f0640bd6bcec3c6b29d72e");
  EXPECT_KNOWN_ANSWER(int8_t{127}, "7f", "239010a41856cead2a140471f45ff181");
  EXPECT_KNOWN_ANSWER(int8_t{-128}, "80", "39f23593542c7e2b6b148c0872500941");
  EXPECT_KNOWN_ANSWER(uint8_t{0}, "00", "a6cd5e9392000f6ac44bdff4074eecdb");
  EXPECT_KNOWN_ANSWER(uint8_t{255}, "ff", "7e5dc90380f0640bd6bcec3c6b29d72e");
  EXPECT_KNOWN_ANSWER(int16_t{-2}, "feff", "2d75487280593f5200e7cbba5da9e337");
  EXPECT_KNOWN_ANSWER(int16_t{0x1234}, "3412", "d3e4de1e5ac61688b5fada9396afc87b");
  EXPECT_KNOWN_ANSWER(std::numeric_limits<int16_t>::min(), "0080",
                      "e4b02fe7c660c8f8602107e185478d3f");
  EXPECT_KNOWN_ANSWER(uint16_t{0xabcd}, "cdab", "3c4453d72ef94cc09674a483dc4626c9");
  EXPECT_KNOWN_ANSWER(uint16_t{0xffff}, "ffff", "1ef68584fc39b4c3b25805c594dec06b");
  EXPECT_KNOWN_ANSWER(int32_t{1}, "01000000", "45cdd2e492a8bbfc29cc0124ca8bf34b");
  EXPECT_KNOWN_ANSWER(int32_t{-1}, "ffffffff", "a03472865ceee4a8780952daaa607a20");
  EXPECT_KNOWN_ANSWER(int32_t{0x12345678}, "78563412", "4c587cb8ff3a10e9723a1fe26b4505b6");
  EXPECT_KNOWN_ANSWER(std::numeric_limits<int32_t>::min(), "00000080",
                      "65c0d8ac00ea75280d24978b9cf42470");
  EXPECT_KNOWN_ANSWER(uint32_t{0xdeadbeef}, "efbeadde", "a60a8ec36b02f92a50212f9cd7a534bf");
  EXPECT_KNOWN_ANSWER(int64_t{-2}, "feffffffffffffff", "6ea91d5282efcca4ccea657e3d21a9da");
  EXPECT_KNOWN_ANSWER(int64_t{0x0102030405060708}, "0807060504030201",
                      "f29531cf5c95abf55e5d745f3707486f");
  EXPECT_KNOWN_ANSWER(std::numeric_limits<int64_t>::min(), "0000000000000080",
                      "5e7cddf0bb0f028812de6347328b719b");
  EXPECT_KNOWN_ANSWER(std::numeric_limits<uint64_t>::max(), "ffffffffffffffff",
                      "dc6b20d207425aa58b3249d34c2ef0b0");
  EXPECT_KNOWN_ANSWER(uint64_t{1}, "0100000000000000", "bdc94bce2eda264dbc08dc21994df8a2");
  EXPECT_KNOWN_ANSWER('A', "41", "9b0498cbe3839becd0d496e05c553485");
  EXPECT_KNOWN_ANSWER('\0', "00", "a6cd5e9392000f6ac44bdff4074eecdb");
  // long and long long share the 64-bit encoding.
  EXPECT_KNOWN_ANSWER(-2L, "feffffffffffffff", "6ea91d5282efcca4ccea657e3d21a9da");
  EXPECT_KNOWN_ANSWER(-2LL, "feffffffffffffff", "6ea91d5282efcca4ccea657e3d21a9da");
}

TEST(CodecKnownAnswerTest, Float) {
  EXPECT_KNOWN_ANSWER(1.0f, "0000803f", "e6f9acca6893caeb591ef4e963e120d4");
  EXPECT_KNOWN_ANSWER(-0.0f, "00000080", "65c0d8ac00ea75280d24978b9cf42470");
  EXPECT_KNOWN_ANSWER(std::numeric_limits<float>::infinity(), "0000807f",
                      "6a1d4e709290e146babc884fcf8171fa");
  EXPECT_KNOWN_ANSWER(0.1f, "cdcccc3d", "6748ce2761213fd6a8a8949bfaec51b0");
  // Every NaN encodes as the canonical quiet NaN 0x7fc00000.
  for (uint32_t nan : {0x7fc00000u, 0x7fc12345u, 0xffc00000u, 0x7f800001u, 0xffffffffu}) {
    SCOPED_TRACE(nan);
    EXPECT_KNOWN_ANSWER(F32(nan), "0000c07f", "4c0cb5af0f065910d3000d02d61d2bd1");
  }
}

TEST(CodecKnownAnswerTest, Double) {
  EXPECT_KNOWN_ANSWER(0.0, "0000000000000000", "2c0a8a99dc147d5445c3b49d035665b2");
  EXPECT_KNOWN_ANSWER(1.0, "000000000000f03f", "1d85e13540b8f55dacbcf3ae8a39cd07");
  EXPECT_KNOWN_ANSWER(-0.0, "0000000000000080", "5e7cddf0bb0f028812de6347328b719b");
  EXPECT_KNOWN_ANSWER(std::numeric_limits<double>::infinity(), "000000000000f07f",
                      "1d45544bffe0c29278dc7955838204b9");
  EXPECT_KNOWN_ANSWER(-std::numeric_limits<double>::infinity(), "000000000000f0ff",
                      "9230c8dca94144c35b42d6eebc610d92");
  EXPECT_KNOWN_ANSWER(0.1, "9a9999999999b93f", "cf9b24153a63f28683533b2d8e3714b5");
  EXPECT_KNOWN_ANSWER(std::numeric_limits<double>::denorm_min(), "0100000000000000",
                      "bdc94bce2eda264dbc08dc21994df8a2");
  // Every NaN (quiet or signalling, either sign, any payload) encodes as 0x7ff8000000000000.
  for (uint64_t nan : {0x7ff8000000000000ull, 0x7ff8000000000123ull, 0xfff8000000000000ull,
                       0x7ff0000000000001ull, 0xffffffffffffffffull}) {
    SCOPED_TRACE(nan);
    EXPECT_KNOWN_ANSWER(F64(nan), "000000000000f87f", "bf8c655e1d469c5001496f760121fd3f");
  }
  // -0.0 and +0.0 differ.
  EXPECT_NE(Encode(0.0), Encode(-0.0));
  EXPECT_NE(Hash(0.0), Hash(-0.0));
}

TEST(CodecKnownAnswerTest, String) {
  EXPECT_KNOWN_ANSWER(std::string(), "0000000000000000", "2c0a8a99dc147d5445c3b49d035665b2");
  EXPECT_KNOWN_ANSWER(std::string("abc"), "0300000000000000616263",
                      "45bcdc88efffd44520b986a5e7fe1438");
  EXPECT_KNOWN_ANSWER(std::string("a\0b", 3), "0300000000000000610062",
                      "3401c977d88be9bed25bdf9ff026f7e1");
}

TEST(CodecKnownAnswerTest, Vectors) {
  const std::vector<double> doubles = {1.0, -0.0, F64(0x7ff0000000000001ull)};
  EXPECT_KNOWN_ANSWER(doubles,
                      "0300000000000000"
                      "000000000000f03f"
                      "0000000000000080"
                      "000000000000f87f",
                      "749cf7b0cdfbaa3d969ccc477d5da574");
  const std::vector<int32_t> ints = {1, -1, 256};
  EXPECT_KNOWN_ANSWER(ints, "0300000000000000" "01000000" "ffffffff" "00010000",
                      "85962e0e0447d0217f2c5ee86c77cca0");
  const std::vector<bool> bools = {true, false, true};
  EXPECT_KNOWN_ANSWER(bools, "0300000000000000" "01" "00" "01",
                      "5ae8d713bf7bf2433b2cdcec1db73e5e");
  const std::vector<std::string> strings = {"a", ""};
  EXPECT_KNOWN_ANSWER(strings, "0200000000000000" "0100000000000000" "61" "0000000000000000",
                      "0fd15db56342a0de722454b783e63cb6");
  EXPECT_KNOWN_ANSWER(std::vector<double>(), "0000000000000000",
                      "2c0a8a99dc147d5445c3b49d035665b2");
  EXPECT_KNOWN_ANSWER(std::vector<int32_t>(), "0000000000000000",
                      "2c0a8a99dc147d5445c3b49d035665b2");
  EXPECT_KNOWN_ANSWER(std::vector<bool>(), "0000000000000000",
                      "2c0a8a99dc147d5445c3b49d035665b2");
}

TEST(CodecKnownAnswerTest, Array) {
  const std::array<uint16_t, 3> a = {1, 2, 0xffff};
  EXPECT_KNOWN_ANSWER(a, "0100" "0200" "ffff", "221c56d5316487065b4fc9051c780f2d");
}

TEST(CodecKnownAnswerTest, MapAndSet) {
  const std::map<std::string, int> m = {{"b", 2}, {"a", 1}};
  EXPECT_KNOWN_ANSWER(m,
                      "0200000000000000"
                      "0100000000000000" "61" "01000000"
                      "0100000000000000" "62" "02000000",
                      "3ac6cc993ffae3dd767a405f71f7a8bf");
  const std::set<int> s = {3, -1, 2};
  EXPECT_KNOWN_ANSWER(s, "0300000000000000" "ffffffff" "02000000" "03000000",
                      "345878e5c7f259483f21a044ef586463");
}

TEST(CodecKnownAnswerTest, UnorderedContainersAreSortedByEncodedKey) {
  // "b" encodes as 01.. 62 and "aa" as 02.. 6161: the length prefix sorts "b" first.
  const std::unordered_map<std::string, int> m = {{"aa", 1}, {"b", 2}};
  EXPECT_KNOWN_ANSWER(m,
                      "0200000000000000"
                      "0100000000000000" "62" "02000000"
                      "0200000000000000" "6161" "01000000",
                      "dd77dc037c1da488ebbe8f51430cdd36");
  // Little-endian bytes: 256 = 00010000 < 1 = 01000000 < -1 = ffffffff.
  const std::unordered_set<int> s = {1, 256, -1};
  EXPECT_KNOWN_ANSWER(s, "0300000000000000" "00010000" "01000000" "ffffffff",
                      "b4788a89568ac0ad849a9d8d6f3e5570");
}

TEST(CodecKnownAnswerTest, PairAndTuple) {
  const std::pair<int16_t, std::string> p = {-1, "hi"};
  EXPECT_KNOWN_ANSWER(p, "ffff" "0200000000000000" "6869", "9a9f4b230f8d9986b1cfe39df287bf73");
  const std::tuple<bool, uint8_t, int64_t> t = {true, 7, -1};
  EXPECT_KNOWN_ANSWER(t, "01" "07" "ffffffffffffffff", "ac96efec472b00039800fe6e2291135b");
  // The empty tuple encodes as nothing; its digest is the digest of no bytes.
  EXPECT_KNOWN_ANSWER(std::tuple<>(), "", "99aa06d3014798d86001c324468d497f");
}

TEST(CodecKnownAnswerTest, Optional) {
  EXPECT_KNOWN_ANSWER(std::optional<int32_t>(), "00", "a6cd5e9392000f6ac44bdff4074eecdb");
  EXPECT_KNOWN_ANSWER(std::optional<int32_t>(5), "01" "05000000",
                      "448c3885516a9798981bb101aefcb220");
  EXPECT_KNOWN_ANSWER(std::optional<std::string>(""), "01" "0000000000000000",
                      "fa3f5392c40387fb428516d12156e7b6");
}

TEST(CodecKnownAnswerTest, Variant) {
  using V = std::variant<int32_t, std::string, double>;
  EXPECT_KNOWN_ANSWER(V(int32_t{7}), "00000000" "07000000", "1acae675846ecddb80b760bda079febd");
  EXPECT_KNOWN_ANSWER(V(std::string("x")), "01000000" "0100000000000000" "78",
                      "9d9a772ec87ba5d6246f742ccb4551ad");
  EXPECT_KNOWN_ANSWER(V(1.0), "02000000" "000000000000f03f", "0a9cf20cc5d1386be908404728e5bc1c");
}

TEST(CodecKnownAnswerTest, Digest) {
  // Digest::Of("") is 99aa06d3014798d86001c324468d497f; its 16 bytes are its hex form.
  EXPECT_KNOWN_ANSWER(Digest::Of(""), "99aa06d3014798d86001c324468d497f",
                      "88dffc9e4422ed4caabe9acf44c07a05");
  EXPECT_KNOWN_ANSWER(Digest(0x0102030405060708ull, 0x090a0b0c0d0e0f10ull),
                      "0102030405060708090a0b0c0d0e0f10", "6d84a882f6411b41eada823104bd7174");
}

TEST(CodecKnownAnswerTest, Proto) {
  EXPECT_KNOWN_ANSWER(TestMessage(), "0000000000000000", "2c0a8a99dc147d5445c3b49d035665b2");
  // Wire format, fields in number order, map entries sorted by key:
  //   0a 01 78                      name = "x"
  //   10 03                         count = 3
  //   1a 08 000000000000f83f        values = [1.5] (packed)
  //   22 05 0a0161 1001             tags {key: "a" value: 1}
  //   22 05 0a0162 1002             tags {key: "b" value: 2}
  //   28 02                         kind = KIND_B
  //   32 03 0a0179                  child {name: "y"}
  // 36 bytes, preceded by the u64 length 0x24.
  EXPECT_KNOWN_ANSWER(FullMessage(),
                      "2400000000000000"
                      "0a0178"
                      "1003"
                      "1a08000000000000f83f"
                      "22050a01611001"
                      "22050a01621002"
                      "2802"
                      "32030a0179",
                      "f4a15ac976136de080d4e641f739d4ce");
}

TEST(CodecKnownAnswerTest, Structs) {
  EXPECT_KNOWN_ANSWER((Point{1.0, -2.0, "p"}),
                      "000000000000f03f" "00000000000000c0" "0100000000000000" "70",
                      "44d26dac58162236b4a4fb2bfd31218a");
  const Tree tree{1, {Tree{2, {}}, Tree{3, {}}}};
  EXPECT_KNOWN_ANSWER(tree,
                      "01000000" "0200000000000000"
                      "02000000" "0000000000000000"
                      "03000000" "0000000000000000",
                      "6105a0e9f156653de35bd8e330459d8d");
}

TEST(CodecKnownAnswerTest, Nested) {
  using V = std::variant<int, std::string>;
  const std::vector<std::map<std::string, std::optional<V>>> v = {
      {{"n", std::nullopt}, {"k", V(5)}}};
  EXPECT_KNOWN_ANSWER(v,
                      "0100000000000000"                   // one map
                      "0200000000000000"                   // two entries
                      "0100000000000000" "6b"              // "k"
                      "01" "00000000" "05000000"           // optional{variant<0>{5}}
                      "0100000000000000" "6e"              // "n"
                      "00",                                // nullopt
                      "78a5e922736918dc4392e452ef149bea");
}

// Larger values whose bytes follow from the rules (built here byte by byte, not by the
// codec) and whose digests were computed with xxh128sum.
TEST(CodecKnownAnswerTest, LargeValues) {
  {
    // 10000 doubles i*0.5 with NaNs at both sides of the first 32 KiB chunk boundary.
    std::vector<double> v(10000);
    std::string expected = U64(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
      const bool nan = i == 0 || i == 4095 || i == 4096 || i == v.size() - 1;
      v[i] = nan ? F64(0xfff8000000000abcull) : 0.5 * static_cast<double>(i);
      expected += nan ? U64(kCanonicalNaN64) : F64Bytes(v[i]);
    }
    EXPECT_TRUE(Encode(v) == expected);
    EXPECT_EQ(Hash(v).ToHex(), "00a94540e05ec6f2bbdfe25c71955150");
    EXPECT_EQ(Digest::Of(expected).ToHex(), "00a94540e05ec6f2bbdfe25c71955150");
  }
  {
    // 20000 floats i*0.25 with NaNs at both sides of the first chunk boundary (8192 floats).
    std::vector<float> v(20000);
    std::string expected = U64(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
      const bool nan = i == 0 || i == 8191 || i == 8192 || i == v.size() - 1;
      v[i] = nan ? F32(0x7f800001u) : 0.25f * static_cast<float>(i);
      uint32_t bits;
      std::memcpy(&bits, &v[i], 4);
      expected += U32(nan ? kCanonicalNaN32 : bits);
    }
    EXPECT_TRUE(Encode(v) == expected);
    EXPECT_EQ(Hash(v).ToHex(), "3034d08f89dc95e11188229c5a7dead6");
  }
  {
    // Crosses the encoder's 512-byte buffer.
    std::vector<uint8_t> v(600);
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint8_t>(i % 251);
    EXPECT_EQ(Hash(v).ToHex(), "6131fb7813a600e6cd95a3087c1649ce");
    EXPECT_EQ(Hash(std::string(1000, 'x')).ToHex(), "9ded8b00f48e420af32d4d8b7c06495d");
    std::vector<std::string> strings;
    for (int i = 0; i < 100; ++i) strings.push_back(absl::StrCat("s", i));
    EXPECT_EQ(Hash(strings).ToHex(), "f46852efd1c342966921ef6e8cdfcd18");
  }
  {
    // A million doubles i*0.25, then the same with NaNs at 0, 4095, 4096 and the end.
    std::vector<double> v(1000000);
    for (size_t i = 0; i < v.size(); ++i) v[i] = 0.25 * static_cast<double>(i);
    EXPECT_EQ(Hash(v).ToHex(), "685ccc291fbd7cb200c60055dc7ad7ac");
    size_t size = 0;
    EXPECT_EQ(Hash(v, &size).ToHex(), "685ccc291fbd7cb200c60055dc7ad7ac");
    EXPECT_EQ(size, 8000008u);
    for (size_t i : {size_t{0}, size_t{4095}, size_t{4096}, v.size() - 1}) {
      v[i] = F64(0x7ff0000000000001ull);
    }
    EXPECT_EQ(Hash(v).ToHex(), "eab0277d1981a37bcd001d40b9290418");
    EXPECT_EQ(Digest::Of(Encode(v)).ToHex(), "eab0277d1981a37bcd001d40b9290418");
  }
}

// ---------------------------------------------------------------------------------------
// Round trips.

TEST(CodecRoundTripTest, Scalars) {
  for (bool b : {false, true}) ExpectRoundTrip(b);
  for (int8_t v : {int8_t{0}, int8_t{-1}, std::numeric_limits<int8_t>::min(),
                   std::numeric_limits<int8_t>::max()}) {
    ExpectRoundTrip(v);
  }
  for (uint8_t v : {uint8_t{0}, uint8_t{1}, uint8_t{255}}) ExpectRoundTrip(v);
  for (int16_t v : {int16_t{0}, int16_t{-300}, std::numeric_limits<int16_t>::min(),
                    std::numeric_limits<int16_t>::max()}) {
    ExpectRoundTrip(v);
  }
  for (uint16_t v : {uint16_t{0}, uint16_t{0x8001}, uint16_t{0xffff}}) ExpectRoundTrip(v);
  for (int32_t v : {0, -1, 123456789, std::numeric_limits<int32_t>::min(),
                    std::numeric_limits<int32_t>::max()}) {
    ExpectRoundTrip(v);
  }
  for (uint32_t v : {0u, 1u, 0x80000000u, 0xffffffffu}) ExpectRoundTrip(v);
  for (int64_t v : {int64_t{0}, int64_t{-1}, std::numeric_limits<int64_t>::min(),
                    std::numeric_limits<int64_t>::max()}) {
    ExpectRoundTrip(v);
  }
  for (uint64_t v : {uint64_t{0}, std::numeric_limits<uint64_t>::max()}) ExpectRoundTrip(v);
  for (char c : {'\0', 'a', '\x7f', '\x80', '\xff'}) ExpectRoundTrip(c);
  for (signed char c : {static_cast<signed char>(-128), static_cast<signed char>(127)}) {
    ExpectRoundTrip(c);
  }
  for (unsigned char c : {static_cast<unsigned char>(0), static_cast<unsigned char>(255)}) {
    ExpectRoundTrip(c);
  }
  ExpectRoundTrip(-5L);
  ExpectRoundTrip(-5LL);
  ExpectRoundTrip(5UL);
  ExpectRoundTrip(u'\xffff');
  ExpectRoundTrip(U'\x10ffff');
  ExpectRoundTrip(L'x');
}

TEST(CodecRoundTripTest, Floats) {
  using DL = std::numeric_limits<double>;
  for (double d : {0.0, 1.0, -1.5, 0.1, DL::infinity(), -DL::infinity(), DL::max(),
                   DL::lowest(), DL::min(), DL::denorm_min(), -DL::denorm_min(),
                   DL::epsilon()}) {
    ExpectRoundTrip(d);
  }
  using FL = std::numeric_limits<float>;
  for (float f : {0.0f, 1.0f, -1.5f, 0.1f, FL::infinity(), -FL::infinity(), FL::max(),
                  FL::lowest(), FL::min(), FL::denorm_min()}) {
    ExpectRoundTrip(f);
  }
  // -0.0 keeps its sign.
  absl::StatusOr<double> neg = Decode<double>(Encode(-0.0));
  ASSERT_TRUE(neg.ok());
  EXPECT_EQ(Bits(*neg), 0x8000000000000000ull);
  absl::StatusOr<float> negf = Decode<float>(Encode(-0.0f));
  ASSERT_TRUE(negf.ok());
  EXPECT_TRUE(std::signbit(*negf));
  // A NaN decodes as the canonical NaN.
  absl::StatusOr<double> nan = Decode<double>(Encode(F64(0xfff0000000000007ull)));
  ASSERT_TRUE(nan.ok());
  EXPECT_EQ(Bits(*nan), kCanonicalNaN64);
  ExpectBytesRoundTrip(F64(0xfff0000000000007ull));
  ExpectBytesRoundTrip(F32(0xff800001u));
}

TEST(CodecRoundTripTest, Strings) {
  ExpectRoundTrip(std::string());
  ExpectRoundTrip(std::string("\0\0\0", 3));
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  ExpectRoundTrip(all);
  ExpectRoundTrip(std::string(100000, '\xab'));
}

TEST(CodecRoundTripTest, Vectors) {
  ExpectRoundTrip(std::vector<double>{1.0, -0.0, 2.5e300});
  ExpectRoundTrip(std::vector<float>{1.0f, -2.0f});
  ExpectRoundTrip(std::vector<int32_t>{1, -1, 7});
  ExpectRoundTrip(std::vector<int64_t>{std::numeric_limits<int64_t>::min(), 0});
  ExpectRoundTrip(std::vector<uint8_t>{0, 255});
  ExpectRoundTrip(std::vector<char>{'a', '\0', 'b'});
  ExpectRoundTrip(std::vector<uint16_t>{65535});
  ExpectRoundTrip(std::vector<bool>{true, false, false, true, true});
  ExpectRoundTrip(std::vector<bool>());
  ExpectRoundTrip(std::vector<std::string>{"", "a", std::string(600, 'z')});
  ExpectRoundTrip(std::vector<std::string>());
  ExpectRoundTrip(std::vector<Digest>{Digest::Of("a"), Digest()});
  ExpectRoundTrip(std::vector<Point>{{1, 2, "a"}, {3, 4, ""}});
  ExpectRoundTrip(std::vector<Point>());
  ExpectRoundTrip(std::vector<std::vector<int32_t>>{{1}, {2, 3}});
  ExpectRoundTrip(std::vector<double>());
  ExpectRoundTrip(std::vector<float>());
  ExpectRoundTrip(std::vector<int32_t>());
  ExpectRoundTrip(std::vector<uint8_t>());
  ExpectRoundTrip(std::vector<std::vector<int32_t>>{{}, {1}});
  ExpectBytesRoundTrip(std::vector<double>{F64(0x7ff4000000000000ull), 1.0});
}

TEST(CodecRoundTripTest, Arrays) {
  ExpectRoundTrip(std::array<uint16_t, 3>{1, 2, 3});
  ExpectRoundTrip(std::array<double, 4>{1.0, -0.0, 3.0, 1e-300});
  ExpectRoundTrip(std::array<float, 2>{1.0f, 2.0f});
  ExpectRoundTrip(std::array<bool, 3>{true, false, true});
  ExpectRoundTrip(std::array<std::string, 2>{"a", "bc"});
  ExpectRoundTrip(std::array<std::optional<int>, 2>{std::nullopt, 4});
  EXPECT_EQ(Encode(std::array<int32_t, 2>{1, 2}), Unhex("01000000 02000000"));
}

TEST(CodecRoundTripTest, MapsAndSets) {
  ExpectRoundTrip(std::map<std::string, int>{{"a", 1}, {"b", 2}, {"", -1}});
  ExpectRoundTrip(std::map<std::string, int>());
  ExpectRoundTrip(std::map<int, std::vector<std::string>>{{-5, {"x"}}, {7, {"y", "z"}}});
  ExpectRoundTrip(std::map<int, std::string, std::greater<int>>{{1, "a"}, {2, "b"}});
  ExpectRoundTrip(std::set<int>{3, -1, 2});
  ExpectRoundTrip(std::set<std::string>{"b", "a", "\xff", ""});
  ExpectRoundTrip(std::set<int>());
  ExpectRoundTrip(std::set<double>{-0.5, 0.0, 1.0});
  ExpectRoundTrip(std::unordered_map<std::string, int>{{"a", 1}, {"b", 2}, {"aa", 3}});
  ExpectRoundTrip(std::unordered_map<std::string, int>());
  ExpectRoundTrip(std::unordered_map<int64_t, Point>{{1, {1, 2, "a"}}, {-1, {3, 4, "b"}}});
  ExpectRoundTrip(std::unordered_set<int>{1, 256, -1, 0});
  ExpectRoundTrip(std::unordered_set<std::string>{"", "x", "\x80"});
  ExpectRoundTrip(std::unordered_set<int>());
  ExpectRoundTrip(std::unordered_set<double>{1.5, -1.5, 0.0});
  // std::map orders by its comparator; the encoding follows the container's order.
  EXPECT_EQ(Encode(std::map<int, bool, std::greater<int>>{{1, true}, {2, false}}),
            Unhex("0200000000000000 02000000 00 01000000 01"));
}

TEST(CodecRoundTripTest, PairTupleOptionalVariant) {
  ExpectRoundTrip(std::pair<int, std::string>{-1, "x"});
  ExpectRoundTrip(std::pair<std::string, std::vector<bool>>{"", {true}});
  ExpectRoundTrip(std::tuple<>());
  ExpectRoundTrip(std::tuple<bool, uint8_t, int64_t, std::string, double>{true, 1, -2, "s", 0.5});
  ExpectRoundTrip(std::optional<int>());
  ExpectRoundTrip(std::optional<int>(0));
  ExpectRoundTrip(std::optional<std::string>(""));
  ExpectRoundTrip(std::optional<std::optional<bool>>(std::optional<bool>()));
  ExpectRoundTrip(std::optional<std::optional<bool>>());
  ExpectRoundTrip(std::optional<std::optional<bool>>(false));
  using V = std::variant<int32_t, std::string, double, std::vector<int32_t>>;
  ExpectRoundTrip(V(int32_t{-4}));
  ExpectRoundTrip(V(std::string("s")));
  ExpectRoundTrip(V(2.5));
  ExpectRoundTrip(V(std::vector<int32_t>{1, 2}));
  // Repeated alternative types are told apart by index.
  using Twice = std::variant<int, int>;
  ExpectRoundTrip(Twice(std::in_place_index<0>, 3));
  ExpectRoundTrip(Twice(std::in_place_index<1>, 3));
  EXPECT_NE(Encode(Twice(std::in_place_index<0>, 3)), Encode(Twice(std::in_place_index<1>, 3)));
}

TEST(CodecRoundTripTest, DigestAndProto) {
  ExpectRoundTrip(Digest());
  ExpectRoundTrip(Digest::Of("hello"));
  ExpectRoundTrip(TestMessage());
  ExpectRoundTrip(FullMessage());
  TestMessage m = FullMessage();
  m.set_count(-1);
  for (int i = 0; i < 100; ++i) m.add_values(i * 0.5);
  for (int i = 0; i < 50; ++i) (*m.mutable_tags())[absl::StrCat("k", i)] = i;
  m.mutable_child()->mutable_child()->set_count(7);
  ExpectRoundTrip(m);
  ExpectBytesRoundTrip(std::vector<TestMessage>{m, TestMessage(), FullMessage()});
  // Map order in the proto does not depend on insertion order.
  TestMessage a, b;
  for (int i = 0; i < 20; ++i) (*a.mutable_tags())[absl::StrCat("k", i)] = i;
  for (int i = 19; i >= 0; --i) (*b.mutable_tags())[absl::StrCat("k", i)] = i;
  EXPECT_EQ(Encode(a), Encode(b));
  EXPECT_EQ(Hash(a), Hash(b));
}

Tree RandomTree(std::mt19937_64& rng, int depth) {
  Tree t;
  t.v = static_cast<int32_t>(rng());
  if (depth > 0) {
    const int kids = static_cast<int>(rng() % 4);
    for (int i = 0; i < kids; ++i) t.kids.push_back(RandomTree(rng, depth - 1));
  }
  return t;
}

TEST(CodecRoundTripTest, Structs) {
  ExpectRoundTrip(Point{1, 2, "label"});
  ExpectRoundTrip(Point{});
  ExpectRoundTrip(Tree{});
  std::mt19937_64 rng(42);
  for (int i = 0; i < 20; ++i) ExpectRoundTrip(RandomTree(rng, 6));
  Node n{"root", {Forest{{Node{"a", {}}, Node{"b", {Forest{}}}}}}};
  ExpectRoundTrip(n);
  ExpectRoundTrip(Forest{{n, n}});
  ExpectRoundTrip(Weights{3, {1.0f, 2.0f, 3.0f}});
  // A struct encodes exactly as the tuple of its fields.
  EXPECT_EQ(Encode(Point{1, 2, "l"}), Encode(std::make_tuple(1.0, 2.0, std::string("l"))));
}

TEST(CodecRoundTripTest, Nested) {
  using V = std::variant<int, std::string>;
  using Nested = std::vector<std::map<std::string, std::optional<V>>>;
  Nested v;
  std::mt19937_64 rng(7);
  for (int i = 0; i < 50; ++i) {
    std::map<std::string, std::optional<V>> m;
    const int entries = static_cast<int>(rng() % 6);
    for (int j = 0; j < entries; ++j) {
      std::optional<V> value;
      switch (rng() % 3) {
        case 0:
          break;
        case 1:
          value = V(static_cast<int>(rng()));
          break;
        default:
          value = V(std::string(rng() % 40, static_cast<char>('a' + j)));
      }
      m[absl::StrCat("key", rng() % 100)] = value;
    }
    v.push_back(std::move(m));
  }
  ExpectRoundTrip(v);
  ExpectRoundTrip(Nested());
  ExpectRoundTrip(Nested{{}});
  ExpectRoundTrip(std::map<std::string, std::vector<std::optional<Tree>>>{
      {"t", {std::nullopt, Tree{1, {Tree{2, {}}}}}}});
  ExpectRoundTrip(std::tuple<std::unordered_map<std::string, std::set<int>>, std::array<Point, 2>>{
      {{"a", {1, 2}}, {"b", {}}}, {Point{1, 2, "x"}, Point{3, 4, "y"}}});
}

TEST(CodecRoundTripTest, LargeVectors) {
  std::vector<double> v(1000000);
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> dist(-1e6, 1e6);
  for (double& d : v) d = dist(rng);
  ExpectRoundTrip(v);
  std::vector<int64_t> ints(300000);
  for (int64_t& i : ints) i = static_cast<int64_t>(rng());
  ExpectRoundTrip(ints);
  std::vector<float> floats(300000);
  for (float& f : floats) f = static_cast<float>(dist(rng));
  ExpectRoundTrip(floats);
  std::vector<std::string> strings(20000);
  for (std::string& s : strings) s = std::string(rng() % 50, 'q');
  ExpectRoundTrip(strings);
}

// NaNs at the edges of the hasher's 32 KiB float chunks (4096 doubles, 8192 floats), in
// vectors whose length is just below, at and above chunk multiples.
TEST(CodecRoundTripTest, NaNsAtChunkBoundaries) {
  const double kNaNs[] = {F64(0x7ff0000000000001ull), F64(0xfff8000000000000ull),
                          F64(0x7ff8000000000000ull), F64(0x7fffffffffffffffull)};
  for (size_t n : {size_t{1}, size_t{127}, size_t{128}, size_t{129}, size_t{4095},
                   size_t{4096}, size_t{4097}, size_t{8191}, size_t{8192}, size_t{8193},
                   size_t{12289}, size_t{1000000}}) {
    for (size_t variant = 0; variant < 5; ++variant) {
      SCOPED_TRACE(absl::StrCat("n=", n, " variant=", variant));
      std::vector<double> v(n);
      for (size_t i = 0; i < n; ++i) v[i] = static_cast<double>(i) + 0.125;
      std::vector<double> canonical = v;
      std::vector<size_t> at;
      if (variant == 0) at = {0};
      if (variant == 1) at = {4095};
      if (variant == 2) at = {4096};
      if (variant == 3) at = {n - 1};
      if (variant == 4) at = {0, 4095, 4096, 8191, 8192, n - 1};
      for (size_t i : at) {
        if (i >= n) continue;
        v[i] = kNaNs[i % 4];
        canonical[i] = F64(kCanonicalNaN64);
      }
      const std::string bytes = Encode(v);
      ASSERT_EQ(bytes.size(), 8 + 8 * n);
      EXPECT_TRUE(bytes == Encode(canonical));
      for (size_t i : at) {
        if (i < n) {
          EXPECT_EQ(bytes.substr(8 + 8 * i, 8), U64(kCanonicalNaN64)) << i;
        }
      }
      EXPECT_EQ(Hash(v), Digest::Of(bytes));
      EXPECT_EQ(Hash(canonical), Digest::Of(bytes));
      size_t size = 0;
      EXPECT_EQ(Hash(v, &size), Digest::Of(bytes));
      EXPECT_EQ(size, bytes.size());
      ExpectBytesRoundTrip(v);
      // The same after a prefix that leaves the encoder's small buffer partly full.
      const std::pair<std::string, std::vector<double>> p{std::string(304, 'p'), v};
      EXPECT_EQ(Hash(p), Digest::Of(Encode(p)));
    }
  }
  for (size_t n : {size_t{8191}, size_t{8192}, size_t{8193}, size_t{16385}}) {
    SCOPED_TRACE(n);
    std::vector<float> v(n, 1.5f);
    for (size_t i : {size_t{0}, size_t{8191}, size_t{8192}, n - 1}) {
      if (i < n) v[i] = F32(0xffc00001u);
    }
    const std::string bytes = Encode(v);
    for (size_t i : {size_t{0}, size_t{8191}, size_t{8192}, n - 1}) {
      if (i < n) {
        EXPECT_EQ(bytes.substr(8 + 4 * i, 4), U32(kCanonicalNaN32)) << i;
      }
    }
    EXPECT_EQ(Hash(v), Digest::Of(bytes));
    ExpectBytesRoundTrip(v);
  }
}

// Sizes around the encoder's 512-byte buffer and its 1024-byte small-float threshold, with
// different amounts already buffered.
TEST(CodecRoundTripTest, SizesAroundTheSmallBuffer) {
  for (size_t prefix : {size_t{0}, size_t{1}, size_t{7}, size_t{100}, size_t{496},
                        size_t{503}, size_t{504}, size_t{505}, size_t{511}, size_t{512},
                        size_t{513}, size_t{1024}, size_t{2000}}) {
    const std::string head(prefix, 'h');
    for (size_t n = 0; n < 1100; n += (n > 480 && n < 540) || (n > 1000 && n < 1040) ? 1 : 13) {
      SCOPED_TRACE(absl::StrCat("prefix=", prefix, " n=", n));
      const std::string s(n, static_cast<char>(n));
      EXPECT_EQ(Hash(s), Digest::Of(Encode(s)));
      const std::pair<std::string, std::string> ps{head, s};
      EXPECT_EQ(Hash(ps), Digest::Of(Encode(ps)));
      std::vector<double> d(n / 4 + (n % 2));
      for (size_t i = 0; i < d.size(); ++i) d[i] = i % 7 == 3 ? F64(0x7ff0000000000002ull) : i;
      const std::tuple<std::string, std::vector<double>, bool> t{head, d, true};
      EXPECT_EQ(Hash(t), Digest::Of(Encode(t)));
      size_t size = 0;
      EXPECT_EQ(Hash(t, &size), Digest::Of(Encode(t)));
      EXPECT_EQ(size, Encode(t).size());
      std::vector<float> f(n / 2);
      for (size_t i = 0; i < f.size(); ++i) f[i] = i % 5 == 1 ? F32(0x7f800003u) : i;
      const std::pair<std::string, std::vector<float>> pf{head, f};
      EXPECT_EQ(Hash(pf), Digest::Of(Encode(pf)));
      std::vector<uint8_t> bytes(n, 0x5a);
      EXPECT_EQ(Hash(std::make_pair(head, bytes)), Digest::Of(Encode(std::make_pair(head, bytes))));
    }
  }
  // Many small appends.
  std::vector<std::tuple<bool, int16_t, std::string>> many;
  for (int i = 0; i < 1000; ++i) many.emplace_back(i % 2 == 0, i, std::string(i % 9, 'm'));
  ExpectRoundTrip(many);
}

// ---------------------------------------------------------------------------------------
// Rejections.

TEST(CodecRejectTest, TruncatedAndTrailing) {
  const std::string v = Encode(std::vector<double>{1.0, 2.0});
  ExpectRejected<std::vector<double>>(v.substr(0, 12));
  ExpectRejected<std::vector<double>>(v.substr(0, 4), "truncated");
  ExpectRejected<std::vector<double>>(v + "x", "1 trailing bytes");
  ExpectRejected<std::string>("", "truncated");
  ExpectRejected<std::string>(Unhex("0500000000000000 61626364"));
  ExpectRejected<Point>(Encode(Point{1, 2, "abc"}).substr(0, 20));
  ExpectRejected<TestMessage>(Encode(FullMessage()).substr(0, 30));
  ExpectRejected<Tree>(Unhex("01000000 0100000000000000 02000000"));
  ExpectRejected<std::tuple<>>("x", "1 trailing bytes");
  ExpectRejected<int32_t>("abc", "truncated");
  ExpectRejected<bool>("");
  // The message gives the byte offset.
  absl::StatusOr<std::vector<double>> r = Decode<std::vector<double>>(v + "xyz");
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("(at byte 24)"));
}

TEST(CodecRejectTest, BoolByteOtherThanZeroOrOne) {
  for (const char* bad : {"\x02", "\xff", "\x80"}) {
    ExpectRejected<bool>(bad, "bool byte");
    ExpectRejected<std::vector<bool>>(absl::StrCat(U64(2), "\x01", bad), "bool byte");
    ExpectRejected<std::array<bool, 2>>(absl::StrCat(std::string(1, '\0'), bad));
    ExpectRejected<std::optional<bool>>(absl::StrCat("\x01", bad));
  }
}

TEST(CodecRejectTest, OptionalTag) {
  ExpectRejected<std::optional<int32_t>>(Unhex("02 05000000"), "optional tag is 2");
  ExpectRejected<std::optional<int32_t>>(Unhex("ff 05000000"), "optional tag is 255");
  ExpectRejected<std::optional<int32_t>>(Unhex("00 05000000"), "4 trailing bytes");
}

TEST(CodecRejectTest, VariantIndexOutOfRange) {
  using V = std::variant<int32_t, std::string, double>;
  ExpectRejected<V>(Unhex("03000000 05000000"), "variant index 3 is out of range");
  ExpectRejected<V>(Unhex("ffffffff 05000000"), "out of range");
  ExpectRejected<V>(Unhex("00000001 05000000"), "out of range");
}

TEST(CodecRejectTest, MapAndSetKeysOutOfOrderOrRepeated) {
  using M = std::map<std::string, int>;
  const std::string a1 = Str("a") + U32(1);
  const std::string b2 = Str("b") + U32(2);
  ExpectRejected<M>(U64(2) + b2 + a1, "not in strictly increasing order");
  ExpectRejected<M>(U64(2) + a1 + a1, "not in strictly increasing order");
  ExpectRejected<M>(U64(3) + a1 + b2 + a1, "not in strictly increasing order");
  EXPECT_TRUE(Decode<M>(U64(2) + a1 + b2).ok());
  using S = std::set<int>;
  ExpectRejected<S>(U64(2) + U32(3) + U32(2), "not in strictly increasing order");
  ExpectRejected<S>(U64(2) + U32(2) + U32(2), "not in strictly increasing order");
  // -1 < 2 for std::less<int>, though its bytes (ffffffff) sort after 2's.
  EXPECT_TRUE(Decode<S>(U64(2) + U32(0xffffffffu) + U32(2)).ok());
  ExpectRejected<S>(U64(2) + U32(2) + U32(0xffffffffu), "not in strictly increasing order");
  // With std::greater the order is reversed.
  using G = std::map<int, bool, std::greater<int>>;
  ExpectRejected<G>(U64(2) + U32(1) + "\x01" + U32(2) + std::string(1, '\0'));
}

TEST(CodecRejectTest, UnorderedContainersNotSortedByKeyBytes) {
  using M = std::unordered_map<std::string, int>;
  const std::string aa1 = Str("aa") + U32(1);
  const std::string b2 = Str("b") + U32(2);
  // Sorted as strings ("aa" < "b") but not as encoded keys.
  ExpectRejected<M>(U64(2) + aa1 + b2, "not sorted by their encoding, or repeat");
  ExpectRejected<M>(U64(2) + b2 + b2, "not sorted by their encoding, or repeat");
  EXPECT_TRUE(Decode<M>(U64(2) + b2 + aa1).ok());
  using S = std::unordered_set<int>;
  // Numeric order (1 < 256) is not byte order (00010000 < 01000000).
  ExpectRejected<S>(U64(2) + U32(1) + U32(256), "not sorted by their encoding, or repeat");
  ExpectRejected<S>(U64(2) + U32(1) + U32(1), "not sorted by their encoding, or repeat");
  EXPECT_TRUE(Decode<S>(U64(2) + U32(256) + U32(1)).ok());
}

TEST(CodecRejectTest, NonCanonicalNaN) {
  for (uint64_t nan : {0x7ff0000000000001ull, 0xfff8000000000000ull, 0x7ff8000000000001ull,
                       0x7fffffffffffffffull}) {
    SCOPED_TRACE(nan);
    ExpectRejected<double>(U64(nan), "not the canonical quiet NaN");
    ExpectRejected<std::vector<double>>(U64(3) + F64Bytes(1) + U64(nan) + F64Bytes(2),
                                        "not the canonical quiet NaN");
    ExpectRejected<std::array<double, 2>>(F64Bytes(1) + U64(nan), "canonical quiet NaN");
    ExpectRejected<Point>(U64(nan) + F64Bytes(0) + Str(""), "canonical quiet NaN");
    ExpectRejected<std::variant<int32_t, double>>(U32(1) + U64(nan), "canonical quiet NaN");
  }
  for (uint32_t nan : {0x7f800001u, 0xffc00000u, 0x7fc00001u}) {
    SCOPED_TRACE(nan);
    ExpectRejected<float>(U32(nan), "not the canonical quiet NaN");
    ExpectRejected<std::vector<float>>(U64(2) + U32(nan) + U32(0), "canonical quiet NaN");
  }
  // Deep inside a large vector, past the first chunk.
  std::string big = U64(5000);
  for (int i = 0; i < 5000; ++i) big += i == 4096 ? U64(0xfff8000000000000ull) : F64Bytes(i);
  ExpectRejected<std::vector<double>>(big, "(at byte ");
  // The canonical NaNs are accepted.
  EXPECT_TRUE(Decode<double>(U64(kCanonicalNaN64)).ok());
  EXPECT_TRUE(Decode<float>(U32(kCanonicalNaN32)).ok());
}

// Allocations through this allocator are counted, to check that corrupt counts never make
// the decoder allocate.
size_t g_largest_allocation = 0;
template <typename T>
struct CountingAllocator {
  using value_type = T;
  CountingAllocator() = default;
  template <typename U>
  CountingAllocator(const CountingAllocator<U>&) {}  // NOLINT
  T* allocate(size_t n) {
    g_largest_allocation = std::max(g_largest_allocation, n * sizeof(T));
    return std::allocator<T>().allocate(n);
  }
  void deallocate(T* p, size_t n) { std::allocator<T>().deallocate(p, n); }
  friend bool operator==(const CountingAllocator&, const CountingAllocator&) { return true; }
  friend bool operator!=(const CountingAllocator&, const CountingAllocator&) { return false; }
};

TEST(CodecRejectTest, HugeLengthPrefixFailsWithoutAllocating) {
  const std::string payload(64, '\0');
  for (uint64_t count : {uint64_t{1} << 62, ~uint64_t{0}, uint64_t{1} << 32, uint64_t{65}}) {
    SCOPED_TRACE(count);
    const std::string bytes = U64(count) + payload;
    g_largest_allocation = 0;
    ExpectRejected<std::vector<double, CountingAllocator<double>>>(bytes, "exceeds the");
    ExpectRejected<std::vector<int32_t, CountingAllocator<int32_t>>>(bytes + "\x01\x02\x03\x04",
                                                                     "exceeds the");
    ExpectRejected<std::vector<std::string, CountingAllocator<std::string>>>(bytes,
                                                                             "exceeds the");
    ExpectRejected<std::vector<Point, CountingAllocator<Point>>>(bytes, "exceeds the");
    ExpectRejected<std::vector<bool, CountingAllocator<bool>>>(bytes, "exceeds the");
    EXPECT_EQ(g_largest_allocation, 0u);
    ExpectRejected<std::string>(bytes, "exceeds the");
    ExpectRejected<TestMessage>(bytes, "exceeds the");
    ExpectRejected<std::map<std::string, int>>(bytes, "exceeds the");
    ExpectRejected<std::set<int64_t>>(bytes, "exceeds the");
    ExpectRejected<std::unordered_map<std::string, int>>(bytes, "exceeds the");
    ExpectRejected<std::unordered_set<int64_t>>(bytes, "exceeds the");
    ExpectRejected<std::vector<std::vector<double>>>(bytes, "exceeds the");
    ExpectRejected<Tree>(U32(1) + bytes, "exceeds the");
    ExpectRejected<std::optional<std::string>>("\x01" + bytes, "exceeds the");
  }
  // A count the bytes could hold, but with elements missing: the reservation stays bounded
  // by the input's size.
  g_largest_allocation = 0;
  ExpectRejected<std::vector<std::string, CountingAllocator<std::string>>>(
      U64(1000) + std::string(8000, '\x01'));
  EXPECT_GT(g_largest_allocation, 0u);
  EXPECT_LE(g_largest_allocation, 4 * 8000 + sizeof(std::string));
}

// Tree{0, {Tree{0, {... depth levels ...}}}}, built byte by byte.
std::string TreeChainBytes(size_t depth) {
  std::string out;
  out.reserve(12 * depth);
  for (size_t i = 0; i + 1 < depth; ++i) out += U32(static_cast<uint32_t>(i)) + U64(1);
  out += U32(static_cast<uint32_t>(depth)) + U64(0);
  return out;
}

TEST(CodecRejectTest, DepthGuard) {
  static_assert(Decoder::kMaxDepth == 256);
  // Exactly at the limit: decodes, and matches the encoding of the same tree.
  Tree deep;
  Tree* t = &deep;
  for (int i = 0; i + 1 < Decoder::kMaxDepth; ++i) {
    t->v = i;
    t->kids.emplace_back();
    t = &t->kids.back();
  }
  t->v = Decoder::kMaxDepth;
  EXPECT_EQ(Encode(deep), TreeChainBytes(Decoder::kMaxDepth));
  ExpectRoundTrip(deep);
  // One past: encodes (encoding has no limit) but does not decode.
  t->kids.emplace_back();
  t->kids.back().v = Decoder::kMaxDepth + 1;
  t->v = Decoder::kMaxDepth;
  const std::string too_deep = Encode(deep);
  ExpectRejected<Tree>(too_deep, "nesting deeper than 256 levels");
  // Far past the limit: fails cleanly instead of overflowing the stack.
  ExpectRejected<Tree>(TreeChainBytes(100000), "nesting deeper than 256 levels");
  ExpectRejected<std::vector<Tree>>(U64(1) + TreeChainBytes(100000), "nesting deeper");
  // Mutual recursion counts every struct level.
  std::string forest;
  for (int i = 0; i < 1000; ++i) forest += U64(1) + Str("n") + U64(1);  // Forest{Node{"n", {
  forest += U64(0);
  ExpectRejected<Forest>(forest, "nesting deeper than 256 levels");
  // Protobuf messages nested 100000 deep are rejected by protobuf's own recursion limit.
  std::vector<size_t> len(100001, 0);
  auto varint_size = [](size_t v) {
    size_t n = 1;
    while (v >= 128) v >>= 7, ++n;
    return n;
  };
  for (size_t d = 100000; d-- > 0;) len[d] = 1 + varint_size(len[d + 1]) + len[d + 1];
  std::string proto;
  for (size_t d = 0; d < 100000; ++d) {
    proto += '\x32';
    for (size_t v = len[d + 1]; ; v >>= 7) {
      if (v < 128) {
        proto += static_cast<char>(v);
        break;
      }
      proto += static_cast<char>((v & 0x7f) | 0x80);
    }
  }
  ASSERT_EQ(proto.size(), len[0]);
  ExpectRejected<TestMessage>(U64(proto.size()) + proto, "not a valid");
}

TEST(CodecRejectTest, NonCanonicalProto) {
  // Fields out of number order: count before name.
  ExpectRejected<TestMessage>(Unhex("0500000000000000 1003 0a0178"), "deterministic");
  // Map entries out of key order.
  ExpectRejected<TestMessage>(Unhex("0e00000000000000 22050a01621002 22050a01611001"),
                              "deterministic");
  // A default value written out.
  ExpectRejected<TestMessage>(Unhex("0200000000000000 1000"), "deterministic");
  // Unpacked repeated double.
  ExpectRejected<TestMessage>(Unhex("0900000000000000 19000000000000f83f"), "deterministic");
  // Not a message at all.
  ExpectRejected<TestMessage>(Unhex("0300000000000000 ffffff"), "not a valid");
  // The canonical form of the last two decodes.
  EXPECT_TRUE(Decode<TestMessage>(Unhex("0a00000000000000 1a08000000000000f83f")).ok());
}

// ---------------------------------------------------------------------------------------
// Unordered containers.

TEST(CodecUnorderedTest, InsertionOrderDoesNotMatter) {
  std::vector<std::string> keys;
  for (int i = 0; i < 1000; ++i) keys.push_back(absl::StrCat("key", i * 7919 % 1000));
  std::unordered_map<std::string, int> forward, backward, shuffled;
  for (size_t i = 0; i < keys.size(); ++i) forward[keys[i]] = static_cast<int>(i);
  backward.reserve(5000);
  for (size_t i = keys.size(); i-- > 0;) backward[keys[i]] = static_cast<int>(i);
  std::vector<size_t> order(keys.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937_64(3));
  shuffled.max_load_factor(0.25f);
  for (size_t i : order) shuffled[keys[i]] = static_cast<int>(i);
  ASSERT_EQ(forward, backward);
  ASSERT_EQ(forward, shuffled);
  EXPECT_EQ(Encode(forward), Encode(backward));
  EXPECT_EQ(Encode(forward), Encode(shuffled));
  EXPECT_EQ(Hash(forward), Hash(shuffled));
  ExpectRoundTrip(shuffled);

  // The expected order, independently: by encoded key bytes.
  std::map<std::string, int> by_bytes;
  for (const auto& [k, v] : forward) by_bytes[Str(k)] = v;
  std::string expected = U64(by_bytes.size());
  for (const auto& [k, v] : by_bytes) expected += k + U32(static_cast<uint32_t>(v));
  EXPECT_TRUE(Encode(forward) == expected);

  std::unordered_set<int64_t> s1, s2;
  for (int64_t i = -500; i < 500; ++i) s1.insert(i * 1000003);
  for (int64_t i = 499; i >= -500; --i) s2.insert(i * 1000003);
  s2.rehash(10007);
  EXPECT_EQ(Encode(s1), Encode(s2));
  EXPECT_EQ(Hash(s1), Hash(s2));
  ExpectRoundTrip(s2);

  std::unordered_map<int, std::unordered_set<std::string>> n1, n2;
  for (int i = 0; i < 50; ++i) {
    n1[i];
    for (int j = 0; j < i % 7; ++j) n1[i].insert(absl::StrCat(j));
  }
  for (int i = 49; i >= 0; --i) {
    n2[i];
    for (int j = i % 7; j-- > 0;) n2[i].insert(absl::StrCat(j));
  }
  EXPECT_EQ(Encode(n1), Encode(n2));
  ExpectRoundTrip(n1);
}

// ---------------------------------------------------------------------------------------
// Names and signatures.

TEST(CodecNameTest, NamesAndSignatures) {
  EXPECT_EQ((CodecName<bool>()), "bool");
  EXPECT_EQ((CodecName<char>()), "char");
  EXPECT_EQ((CodecName<signed char>()), "i8");
  EXPECT_EQ((CodecName<unsigned char>()), "u8");
  EXPECT_EQ((CodecName<int16_t>()), "i16");
  EXPECT_EQ((CodecName<uint16_t>()), "u16");
  EXPECT_EQ((CodecName<int32_t>()), "i32");
  EXPECT_EQ((CodecName<uint32_t>()), "u32");
  EXPECT_EQ((CodecName<long>()), "i64");
  EXPECT_EQ((CodecName<long long>()), "i64");
  EXPECT_EQ((CodecName<unsigned long long>()), "u64");
  EXPECT_EQ((CodecName<float>()), "f32");
  EXPECT_EQ((CodecName<double>()), "f64");
  EXPECT_EQ((CodecName<std::string>()), "string");
  EXPECT_EQ((CodecName<Digest>()), "digest");
  EXPECT_EQ((CodecSignature<int32_t>()), "i32/1");
  EXPECT_EQ((CodecSignature<std::string>()), "string/1");

  EXPECT_EQ((CodecName<std::vector<double>>()), "vector<f64>");
  EXPECT_EQ((CodecSignature<std::vector<double>>()), "vector/1<f64/1>");
  EXPECT_EQ((CodecName<std::map<std::string, int>>()), "map<string,i32>");
  EXPECT_EQ((CodecSignature<std::map<std::string, int>>()), "map/1<string/1,i32/1>");
  EXPECT_EQ((CodecName<std::set<int>>()), "set<i32>");
  EXPECT_EQ((CodecName<std::unordered_map<std::string, int>>()), "unordered_map<string,i32>");
  EXPECT_EQ((CodecSignature<std::unordered_set<uint64_t>>()), "unordered_set/1<u64/1>");
  EXPECT_EQ((CodecName<std::array<uint16_t, 3>>()), "array<u16,3>");
  EXPECT_EQ((CodecSignature<std::array<uint16_t, 3>>()), "array/1<u16/1,3>");
  EXPECT_EQ((CodecName<std::pair<int16_t, std::string>>()), "pair<i16,string>");
  EXPECT_EQ((CodecSignature<std::tuple<bool, uint8_t, int64_t>>()),
            "tuple/1<bool/1,u8/1,i64/1>");
  EXPECT_EQ((CodecName<std::tuple<>>()), "tuple<>");
  EXPECT_EQ((CodecName<std::optional<int>>()), "optional<i32>");
  EXPECT_EQ((CodecName<std::variant<int, std::string, double>>()), "variant<i32,string,f64>");
  EXPECT_EQ((CodecSignature<std::variant<int, std::string>>()),
            "variant/1<i32/1,string/1>");
  EXPECT_EQ((CodecName<std::vector<std::map<std::string, std::optional<std::variant<int, std::string>>>>>()),
            "vector<map<string,optional<variant<i32,string>>>>");
  EXPECT_EQ((CodecName<TestMessage>()), "proto:mlops.testing.TestMessage");
  EXPECT_EQ((CodecSignature<TestMessage>()), "proto:mlops.testing.TestMessage/1");

  EXPECT_EQ((CodecName<Point>()), "Point");
  EXPECT_EQ((CodecSignature<Point>()), "Point/1{f64/1,f64/1,string/1}");
  EXPECT_EQ((CodecSignature<std::vector<Point>>()), "vector/1<Point/1{f64/1,f64/1,string/1}>");
  EXPECT_EQ((CodecSignature<std::pair<Point, Point>>()),
            "pair/1<Point/1{f64/1,f64/1,string/1},Point/1{f64/1,f64/1,string/1}>");
  EXPECT_EQ((CodecName<Weights>()), "Weights");
  EXPECT_EQ((CodecSignature<Weights>()), "Weights/3{i32/1,vector/1<f32/1>}");
  // Recursive types refer back to themselves by name instead of recursing forever.
  EXPECT_EQ((CodecName<Tree>()), "Tree");
  EXPECT_EQ((CodecSignature<Tree>()), "Tree/1{i32/1,vector/1<Tree/1>}");
  EXPECT_EQ((CodecSignature<Node>()), "Node/1{string/1,vector/1<Forest/1{vector/1<Node/1>}>}");
  EXPECT_EQ((CodecSignature<Forest>()),
            "Forest/1{vector/1<Node/1{string/1,vector/1<Forest/1>}>}");
  // Through the codec directly, twice: the recursion guard is reset after each call.
  EXPECT_EQ(Codec<Tree>::Signature(), "Tree/1{i32/1,vector/1<Tree/1>}");
  EXPECT_EQ(Codec<Tree>::Signature(), "Tree/1{i32/1,vector/1<Tree/1>}");
  // cv and reference qualifiers are ignored.
  EXPECT_EQ((CodecName<const std::string&>()), "string");
  EXPECT_EQ((CodecSignature<const Point>()), "Point/1{f64/1,f64/1,string/1}");
}

// The decode error names the whole type being decoded.
TEST(CodecNameTest, ErrorsNameTheType) {
  absl::StatusOr<std::vector<std::map<std::string, int>>> r =
      Decode<std::vector<std::map<std::string, int>>>("abc");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("cannot decode 3 bytes as vector<map<string,i32>>: truncated"));
  absl::StatusOr<Point> p = Decode<Point>("");
  EXPECT_THAT(std::string(p.status().message()), HasSubstr("as Point:"));
}

}  // namespace
}  // namespace mlops
