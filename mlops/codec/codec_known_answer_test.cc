// Known answers for mlops/codec/codec.h: the bytes and digest of values of every supported
// kind, pinned by hand; each pinned encoding decodes to itself, and its prefixes and
// extensions are rejected.
//
// Every expected byte string in this file was written by hand from the encoding rules in
// codec.h / internal/*.h (and, for the proto, from the protobuf wire format); every expected
// digest is what `xxh128sum` prints for a file holding exactly those bytes. Neither was
// produced by running this code, so an accidental change of the encoding fails loudly.
#include "mlops/codec/codec.h"

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
#include "mlops/codec/codec_testing.h"
#include "mlops/codec/testdata/test_message.pb.h"
#include "mlops/hash/digest.h"

namespace mlops {
namespace {

using ::mlops::test::F32;
using ::mlops::test::F64;
using ::mlops::test::F64Bytes;
using ::mlops::test::FullMessage;
using ::mlops::test::kCanonicalNaN32;
using ::mlops::test::kCanonicalNaN64;
using ::mlops::test::Point;
using ::mlops::test::TestMessage;
using ::mlops::test::Tree;
using ::mlops::test::U32;
using ::mlops::test::U64;

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

}  // namespace
}  // namespace mlops
