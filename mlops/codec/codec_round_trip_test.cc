// Round trips through mlops/codec/codec.h: Decode(Encode(v)) == v with an identical
// re-encoding and Hash(v) == Digest::Of(Encode(v)), for values of every supported kind,
// large ones, NaNs at the hasher's chunk boundaries, and sizes around the encoder's buffer.
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

using ::mlops::test::Bits;
using ::mlops::test::ExpectBytesRoundTrip;
using ::mlops::test::ExpectRoundTrip;
using ::mlops::test::F32;
using ::mlops::test::F64;
using ::mlops::test::Forest;
using ::mlops::test::FullMessage;
using ::mlops::test::kCanonicalNaN32;
using ::mlops::test::kCanonicalNaN64;
using ::mlops::test::Node;
using ::mlops::test::Point;
using ::mlops::test::TestMessage;
using ::mlops::test::Tree;
using ::mlops::test::U32;
using ::mlops::test::U64;
using ::mlops::test::Unhex;
using ::mlops::test::Weights;

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

}  // namespace
}  // namespace mlops
