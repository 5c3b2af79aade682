#include "mlops/codec/codec.h"

#include "gtest/gtest.h"
#include "mlops/codec/testdata/test_message.pb.h"

namespace mlops {
namespace {

struct Point {
  double x = 0;
  double y = 0;
  std::string label;
  bool operator==(const Point& o) const { return x == o.x && y == o.y && label == o.label; }
};
MLOPS_CODEC_FIELDS(Point, x, y, label);

TEST(CodecSmoke, Basics) {
  std::vector<double> v = {1.0, 2.5};
  EXPECT_EQ(Hash(v), Digest::Of(Encode(v)));
  auto back = Decode<std::vector<double>>(Encode(v));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, v);
  Point p{1, 2, "a"};
  EXPECT_EQ(*Decode<Point>(Encode(p)), p);
  EXPECT_EQ(CodecSignature<Point>(), "Point/1{f64/1,f64/1,string/1}");
  testing::TestMessage m;
  m.set_name("x");
  (*m.mutable_tags())["b"] = 2;
  (*m.mutable_tags())["a"] = 1;
  auto mb = Decode<testing::TestMessage>(Encode(m));
  ASSERT_TRUE(mb.ok()) << mb.status();
  EXPECT_EQ(Encode(*mb), Encode(m));
  std::unordered_map<std::string, int> um = {{"a", 1}, {"b", 2}};
  auto umb = Decode<std::unordered_map<std::string, int>>(Encode(um));
  ASSERT_TRUE(umb.ok()) << umb.status();
  EXPECT_EQ(*umb, um);
  std::variant<int, std::string> var = std::string("s");
  using V = std::variant<int, std::string>;
  EXPECT_EQ(*Decode<V>(Encode(var)), var);
}

}  // namespace
}  // namespace mlops
