#include "mlops/testing/files.h"

#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mlops {
namespace test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

TEST(FilesTest, MakeTempDirMakesANewEmptyDirectoryEachCall) {
  const std::string a = MakeTempDir("stem");
  const std::string b = MakeTempDir("stem");
  EXPECT_NE(a, b);
  EXPECT_TRUE(IsDir(a));
  EXPECT_TRUE(IsDir(b));
  EXPECT_THAT(ListDir(a), IsEmpty());
  const char* root = std::getenv("TEST_TMPDIR");
  ASSERT_NE(root, nullptr);
  EXPECT_THAT(a, StartsWith(std::string(root) + "/stem."));
}

TEST(FilesTest, FreshDirIsNamedAfterTheTest) {
  const std::string a = FreshDir();
  const std::string b = FreshDir();
  EXPECT_NE(a, b);
  EXPECT_THAT(a, HasSubstr("/FilesTest.FreshDirIsNamedAfterTheTest."));
  EXPECT_THAT(ListDir(a), IsEmpty());
}

class FreshDirNameTest : public ::testing::TestWithParam<int> {};

TEST_P(FreshDirNameTest, CharactersOtherThanNameCharactersBecomeUnderscores) {
  // The test's name is "Param/FreshDirNameTest.CharactersOther...Underscores/0".
  const std::string dir = FreshDir();
  EXPECT_THAT(dir, HasSubstr("/Param_FreshDirNameTest.CharactersOtherThanNameCharactersBecome"
                             "Underscores_0."));
  EXPECT_TRUE(IsDir(dir));
}

INSTANTIATE_TEST_SUITE_P(Param, FreshDirNameTest, ::testing::Values(0));

TEST(FilesTest, SpitThenSlurpRoundTripsAnyBytes) {
  const std::string path = FreshDir() + "/f";
  const std::string bytes("a\0b\xff\n", 5);
  Spit(path, bytes);
  EXPECT_EQ(Slurp(path), bytes);
  Spit(path, "short");  // truncates
  EXPECT_EQ(Slurp(path), "short");
  const std::string big(200000, 'x');  // more than one read buffer
  Spit(path, big);
  EXPECT_EQ(Slurp(path), big);
}

TEST(FilesTest, SetAgeMovesBothTimesIntoThePast) {
  const std::string path = FreshDir() + "/f";
  Spit(path, "x");
  const time_t before = ::time(nullptr);
  SetAge(path, 3600);
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_LE(st.st_mtim.tv_sec, before - 3600 + 1);
  EXPECT_GE(st.st_mtim.tv_sec, before - 3600 - 5);
  EXPECT_EQ(st.st_atim.tv_sec, st.st_mtim.tv_sec);
}

TEST(FilesTest, ListDirIsSortedWithoutDotEntries) {
  const std::string dir = FreshDir();
  EXPECT_THAT(ListDir(dir), IsEmpty());
  Spit(dir + "/b", "");
  Spit(dir + "/a", "");
  Spit(dir + "/.hidden", "");
  ASSERT_EQ(::mkdir((dir + "/c").c_str(), 0755), 0);
  EXPECT_THAT(ListDir(dir), ElementsAre(".hidden", "a", "b", "c"));
}

TEST(FilesTest, ExistsAndIsDir) {
  const std::string dir = FreshDir();
  Spit(dir + "/file", "x");
  ASSERT_EQ(::symlink("missing", (dir + "/dangling").c_str()), 0);
  ASSERT_EQ(::symlink(dir.c_str(), (dir + "/dir_link").c_str()), 0);
  EXPECT_TRUE(Exists(dir));
  EXPECT_TRUE(Exists(dir + "/file"));
  EXPECT_TRUE(Exists(dir + "/dangling"));
  EXPECT_FALSE(Exists(dir + "/missing"));
  EXPECT_TRUE(IsDir(dir));
  EXPECT_FALSE(IsDir(dir + "/file"));
  EXPECT_FALSE(IsDir(dir + "/dir_link"));
  EXPECT_FALSE(IsDir(dir + "/missing"));
}

TEST(FilesTest, WriteTreeCreatesParentsAndReportsPathsInOrder) {
  const std::string root = FreshDir() + "/tree";
  std::vector<std::string> paths;
  WriteTree(root, {{"z", "zed"}, {"a/b/c.txt", "deep"}, {"a/d", ""}}, &paths);
  EXPECT_THAT(paths, ElementsAre(root + "/z", root + "/a/b/c.txt", root + "/a/d"));
  EXPECT_EQ(Slurp(root + "/z"), "zed");
  EXPECT_EQ(Slurp(root + "/a/b/c.txt"), "deep");
  EXPECT_EQ(Slurp(root + "/a/d"), "");
  EXPECT_THAT(ListDir(root), ElementsAre("a", "z"));
  WriteTree(root, {{"z", "again"}});  // without `paths`; overwrites
  EXPECT_EQ(Slurp(root + "/z"), "again");
}

// Checks, after TempDirTest::TearDown, that the directory is gone.
class TempDirTestTest : public TempDirTest {
 protected:
  void TearDown() override {
    const std::string dir = dir_;
    TempDirTest::TearDown();
    EXPECT_FALSE(Exists(dir)) << dir;
  }
};

TEST_F(TempDirTestTest, GivesAnEmptyDirectoryAndWritesBelowIt) {
  EXPECT_TRUE(IsDir(dir_));
  EXPECT_THAT(ListDir(dir_), IsEmpty());
  EXPECT_EQ(Path("x/y"), dir_ + "/x/y");
  EXPECT_EQ(Write("x/y", "content"), dir_ + "/x/y");
  EXPECT_EQ(Slurp(dir_ + "/x/y"), "content");
}

}  // namespace
}  // namespace test
}  // namespace mlops
