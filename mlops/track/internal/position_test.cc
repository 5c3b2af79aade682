// EncodePosition and DecodePosition: exact round trips, and the positions a token must not
// carry.
#include "mlops/track/internal/position.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/testing/status_matchers.h"

namespace mlops {
namespace track {
namespace internal {
namespace {

using ::mlops::test::StatusIs;

uint64_t Bits(double d) {
  uint64_t b;
  std::memcpy(&b, &d, sizeof(b));
  return b;
}

TEST(PositionTest, RoundTripsExactly) {
  const std::vector<SqlValue> position = {int64_t{0},
                                          -0.0,
                                          int64_t{0},
                                          std::numeric_limits<double>::infinity(),
                                          int64_t{0},
                                          0.1,
                                          int64_t{0},
                                          std::string("a\0b:1", 5),
                                          int64_t{1},
                                          std::monostate{},
                                          int64_t{2},
                                          std::monostate{},
                                          std::numeric_limits<int64_t>::min(),
                                          std::numeric_limits<int64_t>::max()};
  const std::vector<std::string> parts = EncodePosition(position);
  ASSERT_OK_AND_ASSIGN(const std::vector<SqlValue> back, DecodePosition(parts, 6, "t"));
  ASSERT_EQ(back.size(), position.size());
  for (size_t i = 0; i < position.size(); ++i) {
    if (const double* d = std::get_if<double>(&position[i])) {
      ASSERT_TRUE(std::holds_alternative<double>(back[i])) << i;
      EXPECT_EQ(Bits(std::get<double>(back[i])), Bits(*d)) << i;
    } else {
      EXPECT_EQ(back[i], position[i]) << i;
    }
  }
}

TEST(PositionTest, RefusesWhatNoRowHas) {
  auto decode = [](std::vector<std::string> parts, size_t keys) {
    return DecodePosition(parts, keys, "token");
  };
  EXPECT_OK(decode({"i0", "d0", "i5", "i6"}, 1).status());
  EXPECT_OK(decode({"i1", "n", "i5", "i6"}, 1).status());
  const auto invalid = StatusIs(absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(decode({"i5", "i6"}, 1), invalid);                // too few
  EXPECT_THAT(decode({"i0", "d0", "i5", "i6"}, 0), invalid);    // too many
  EXPECT_THAT(decode({"i3", "n", "i5", "i6"}, 1), invalid);     // rank out of range
  EXPECT_THAT(decode({"d0", "d0", "i5", "i6"}, 1), invalid);    // rank not an integer
  EXPECT_THAT(decode({"i0", "n", "i5", "i6"}, 1), invalid);     // rank 0 without a value
  EXPECT_THAT(decode({"i1", "d0", "i5", "i6"}, 1), invalid);    // rank 1 with one
  EXPECT_THAT(decode({"i0", "d0", "s5", "i6"}, 1), invalid);    // start not an integer
  EXPECT_THAT(decode({"i0", "d0", "i5", "n"}, 1), invalid);     // id missing
  EXPECT_THAT(decode({"i0", "x", "i5", "i6"}, 1), invalid);     // no such tag
  EXPECT_THAT(decode({"i0", "", "i5", "i6"}, 1), invalid);      // empty
  EXPECT_THAT(decode({"i0", "d", "i5", "i6"}, 1), invalid);     // no bits
  EXPECT_THAT(decode({"i0", "dxyz", "i5", "i6"}, 1), invalid);  // not hex
  EXPECT_THAT(decode({"i0", "d0", "i05", "i6"}, 1), invalid);   // not as written
  EXPECT_THAT(decode({"i0", "d0", "i5", "nx"}, 1), invalid);
}

}  // namespace
}  // namespace internal
}  // namespace track
}  // namespace mlops
