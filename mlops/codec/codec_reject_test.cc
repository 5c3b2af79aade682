// What mlops/codec/codec.h refuses to decode: truncated and trailing bytes, non-canonical
// encodings (bool bytes, tags, key order, NaNs, protos), huge counts (without allocating) and
// nesting past the depth guard; and unordered containers, whose encoding does not depend on
// insertion order.
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

using ::mlops::test::CountingAllocator;
using ::mlops::test::ExpectRejected;
using ::mlops::test::ExpectRoundTrip;
using ::mlops::test::F64Bytes;
using ::mlops::test::Forest;
using ::mlops::test::FullMessage;
using ::mlops::test::g_largest_allocation;
using ::mlops::test::kCanonicalNaN32;
using ::mlops::test::kCanonicalNaN64;
using ::mlops::test::Node;
using ::mlops::test::Point;
using ::mlops::test::Str;
using ::mlops::test::TestMessage;
using ::mlops::test::Tree;
using ::mlops::test::U32;
using ::mlops::test::U64;
using ::mlops::test::Unhex;
using ::testing::HasSubstr;

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

}  // namespace
}  // namespace mlops
