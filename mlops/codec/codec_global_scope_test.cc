// MLOPS_CODEC_FIELDS written at global scope with a qualified name, for a type whose
// namespace one cannot reopen (a third party's), works as it does in the type's own
// namespace.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "mlops/codec/codec.h"
#include "mlops/hash/digest.h"

namespace vendor {
struct Pose {
  double x = 0;
  double y = 0;
  std::string frame;
};
namespace geometry {
struct Segment {
  Pose from;
  Pose to;
};
}  // namespace geometry
struct Unrelated : Pose {  // derives from a declared type, declares nothing itself
  int32_t extra = 0;
};
}  // namespace vendor

// At global scope, qualified.
MLOPS_CODEC_FIELDS(vendor::Pose, x, y, frame);
MLOPS_CODEC_FIELDS_VERSIONED(vendor::geometry::Segment, 2, from, to);

namespace app {
struct Local {
  int32_t v = 0;
};
MLOPS_CODEC_FIELDS(Local, v);  // in the type's own namespace, as before
}  // namespace app

namespace mlops {
namespace {

TEST(CodecGlobalScopeTest, QualifiedDeclarationAtGlobalScopeGivesACodec) {
  static_assert(kHasCodec<vendor::Pose>);
  static_assert(kHasCodec<vendor::geometry::Segment>);
  static_assert(kHasCodec<app::Local>);
  EXPECT_EQ(CodecName<vendor::Pose>(), "vendor::Pose");
  EXPECT_EQ(CodecSignature<vendor::Pose>(), "vendor::Pose/1{f64/1,f64/1,string/1}");
  EXPECT_EQ(CodecSignature<vendor::geometry::Segment>(),
            "vendor::geometry::Segment/2{vendor::Pose/1{f64/1,f64/1,string/1},"
            "vendor::Pose/1{f64/1,f64/1,string/1}}");
  EXPECT_EQ(CodecSignature<app::Local>(), "Local/1{i32/1}");
}

TEST(CodecGlobalScopeTest, QualifiedDeclarationRoundTripsAndHashesItsEncoding) {
  const vendor::geometry::Segment s{{1.5, -2.0, "map"}, {3.25, 4.0, "odom"}};
  const std::string bytes = Encode(s);
  absl::StatusOr<vendor::geometry::Segment> back = Decode<vendor::geometry::Segment>(bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->from.x, 1.5);
  EXPECT_EQ(back->from.frame, "map");
  EXPECT_EQ(back->to.y, 4.0);
  EXPECT_EQ(back->to.frame, "odom");
  EXPECT_EQ(Hash(s), Digest::Of(bytes));
  // Encoded as its fields in order: x, y, then frame (u64 length + bytes), twice over.
  std::string expected;
  EncodeTo(1.5, &expected);
  EncodeTo(-2.0, &expected);
  EncodeTo(std::string("map"), &expected);
  EncodeTo(3.25, &expected);
  EncodeTo(4.0, &expected);
  EncodeTo(std::string("odom"), &expected);
  EXPECT_EQ(bytes, expected);
}

TEST(CodecGlobalScopeTest, QualifiedDeclarationWorksInsideContainers) {
  const std::vector<vendor::Pose> path = {{0, 0, "a"}, {1, 1, "b"}};
  const std::map<std::string, vendor::Pose> named = {{"home", {2, 3, "c"}}};
  absl::StatusOr<std::vector<vendor::Pose>> p = Decode<std::vector<vendor::Pose>>(Encode(path));
  absl::StatusOr<std::map<std::string, vendor::Pose>> n =
      Decode<std::map<std::string, vendor::Pose>>(Encode(named));
  ASSERT_TRUE(p.ok() && n.ok());
  ASSERT_EQ(p->size(), 2u);
  EXPECT_EQ((*p)[1].frame, "b");
  EXPECT_EQ(n->at("home").y, 3);
}

TEST(CodecGlobalScopeTest, DerivedTypeOfAGlobalDeclarationHasNoCodec) {
  EXPECT_FALSE(kHasCodec<vendor::Unrelated>);
}

}  // namespace
}  // namespace mlops
