#include "mlops/testing/bytes.h"

#include <set>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mlops {
namespace test {
namespace {

using ::testing::HasSubstr;

TEST(PatternTest, IsDeterministicAndDependsOnTheSeed) {
  EXPECT_EQ(Pattern(0, 1), "");
  EXPECT_EQ(Pattern(1000, 1), Pattern(1000, 1));
  EXPECT_NE(Pattern(1000, 1), Pattern(1000, 2));
  EXPECT_EQ(Pattern(1000, 3).size(), 1000u);
  EXPECT_EQ(Pattern(1000, 3).substr(0, 10), Pattern(10, 3));
  // Not a short repeating pattern: the 4 KiB chunks of a longer value all differ.
  const std::string long_value = Pattern(64 * 1024, 4);
  std::set<std::string> chunks;
  for (size_t at = 0; at < long_value.size(); at += 4096) chunks.insert(long_value.substr(at, 4096));
  EXPECT_EQ(chunks.size(), 16u);
}

TEST(Mod251Test, CountsModulo251) {
  const std::string s = Mod251(600);
  ASSERT_EQ(s.size(), 600u);
  EXPECT_EQ(s[0], '\0');
  EXPECT_EQ(static_cast<unsigned char>(s[250]), 250);
  EXPECT_EQ(s[251], '\0');
  EXPECT_EQ(static_cast<unsigned char>(s[599]), 599 % 251);
}

TEST(SameBytesTest, SuccessOnlyForEqualBytesAndFailureNamesTheFirstDifference) {
  EXPECT_TRUE(SameBytes("", ""));
  EXPECT_TRUE(SameBytes(std::string("a\0b", 3), std::string("a\0b", 3)));

  const ::testing::AssertionResult differ = SameBytes("abcdef", "abcXef");
  EXPECT_FALSE(differ);
  EXPECT_THAT(differ.message(), HasSubstr("actual size 6, expected size 6"));
  EXPECT_THAT(differ.message(), HasSubstr("first difference at offset 3"));

  const ::testing::AssertionResult prefix = SameBytes("abc", "abcdef");
  EXPECT_FALSE(prefix);
  EXPECT_THAT(prefix.message(), HasSubstr("actual size 3, expected size 6"));
  EXPECT_THAT(prefix.message(), HasSubstr("first difference at offset 3"));
  // The bytes themselves are not printed.
  EXPECT_THAT(prefix.message(), ::testing::Not(HasSubstr("abc")));
}

}  // namespace
}  // namespace test
}  // namespace mlops
