// Which types have a codec (kHasCodec, checked at compile time), their codec names and
// signatures, and decode errors that name the whole type.
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

using ::mlops::test::Forest;
using ::mlops::test::Node;
using ::mlops::test::Point;
using ::mlops::test::TestMessage;
using ::mlops::test::Tree;
using ::mlops::test::Weights;
using ::testing::HasSubstr;

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
