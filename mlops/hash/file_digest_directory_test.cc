// FileDigester::Directory: the documented encoding, order and empty directories, renames and
// edits, symbolic links and their cycles, and the errors for what is not a directory tree.
#include "mlops/hash/file_digest.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/hash/digest.h"
#include "mlops/hash/file_digest_testing.h"
#include "mlops/testing/bytes.h"
#include "mlops/testing/files.h"
#include "mlops/testing/unprivileged.h"

namespace mlops {
namespace {

using ::mlops::test::CallWithFifoWatchdog;
using ::mlops::test::CanonicalBytes;
using ::mlops::test::DirectoryListingBytes;
using ::mlops::test::ExpectedDirectoryDigest;
using ::mlops::test::Pattern;
using ::mlops::test::RunWithoutDacOverride;
using ::mlops::test::SortedListing;
using ::mlops::test::Spit;
using ::mlops::test::Unprivileged;
using ::mlops::test::WriteTree;
using ::testing::HasSubstr;

// ---------------------------------------------------------------------------------------
// FileDigester::Directory

class DirectoryTest : public test::TempDirTest {
 protected:
  absl::StatusOr<Digest> DigestOf(const std::string& dir) { return FileDigester().Directory(dir); }
};

TEST(CanonicalBytesTest, HandBuiltBytesMatchDigestToBytes) {
  for (const Digest& d :
       {Digest::Of("hello"), Digest(0x0102030405060708ull, 0x090a0b0c0d0e0f10ull)}) {
    unsigned char bytes[Digest::kBytes];
    d.ToBytes(bytes);
    EXPECT_EQ(CanonicalBytes(d), std::string(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
  }
}

// The test's own sort: bytewise on unsigned bytes, whole relative paths.
TEST(SortedListingTest, SortsPathsAsUnsignedBytes) {
  const std::vector<std::pair<std::string, Digest>> listing =
      SortedListing({{"\xc3\xa9", "1"}, {"a/b", "2"}, {"a.b", "3"}, {"B", "4"}, {"a", "5"}});
  std::vector<std::string> paths;
  for (const auto& [rel, digest] : listing) paths.push_back(rel);
  EXPECT_EQ(paths, (std::vector<std::string>{"B", "a", "a.b", "a/b", "\xc3\xa9"}));
  EXPECT_EQ(listing[0].second, Digest::Of("4"));
}

TEST_F(DirectoryTest, MatchesTheDocumentedEncoding) {
  const std::string tree = Path("tree");
  // Created in no particular order.
  WriteTree(tree, {{"z", "zed"},
                   {"a/y/deep.bin", Pattern(3000, 1)},
                   {"b.txt", "bee\n"},
                   {"\xc3\xa9.txt", "e acute"},
                   {"a0", ""},
                   {"a/x.txt", "ex"},
                   {"A", "capital"},
                   {"a.txt", "a dot txt"}});
  // Bytewise order of the full relative paths: 'A' 0x41 < 'a' 0x61; then after "a":
  // '.' 0x2e < '/' 0x2f < '0' 0x30; 'x' < 'y'; and 0xc3 sorts after every ASCII byte.
  // clang-format off
  const std::vector<std::pair<std::string, Digest>> listing = {
      {"A", Digest::Of("capital")},
      {"a.txt", Digest::Of("a dot txt")},
      {"a/x.txt", Digest::Of("ex")},
      {"a/y/deep.bin", Digest::Of(Pattern(3000, 1))},
      {"a0", Digest::Of("")},
      {"b.txt", Digest::Of("bee\n")},
      {"z", Digest::Of("zed")},
      {"\xc3\xa9.txt", Digest::Of("e acute")},
  };
  // clang-format on
  // Spell out the start of the encoding to pin the layout: count 8, then "A" (length 1).
  const std::string bytes = DirectoryListingBytes(listing);
  EXPECT_EQ(bytes.substr(0, 17), std::string("\x08\0\0\0\0\0\0\0\x01\0\0\0\0\0\0\0A", 17));
  EXPECT_EQ(bytes.size(), size_t{8 + 8 * (8 + 16) + (1 + 5 + 7 + 12 + 2 + 5 + 1 + 6)});

  absl::StatusOr<Digest> got = DigestOf(tree);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, Digest::Of(bytes));
  // A trailing slash names the same directory.
  absl::StatusOr<Digest> slash = DigestOf(tree + "/");
  ASSERT_TRUE(slash.ok()) << slash.status();
  EXPECT_EQ(*slash, Digest::Of(bytes));
}

TEST_F(DirectoryTest, EmptyDirectoryIsTheEmptyList) {
  const std::string tree = Path("tree");
  ASSERT_EQ(::mkdir(tree.c_str(), 0755), 0);
  absl::StatusOr<Digest> got = DigestOf(tree);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, Digest::Of(std::string(8, '\0')));
}

TEST_F(DirectoryTest, CreationOrderDoesNotMatter) {
  std::vector<std::pair<std::string, std::string>> files;
  for (int i = 0; i < 30; ++i) {
    files.emplace_back(absl::StrFormat("d%d/f%02d", i % 4, i), Pattern(100 + i, i));
  }
  WriteTree(Path("forward"), files);
  std::reverse(files.begin(), files.end());
  WriteTree(Path("backward"), files);
  absl::StatusOr<Digest> forward = DigestOf(Path("forward"));
  absl::StatusOr<Digest> backward = DigestOf(Path("backward"));
  ASSERT_TRUE(forward.ok()) << forward.status();
  ASSERT_TRUE(backward.ok()) << backward.status();
  EXPECT_EQ(*forward, *backward);
  EXPECT_EQ(*forward, ExpectedDirectoryDigest(SortedListing(files)));
}

TEST_F(DirectoryTest, EmptySubdirectoriesDoNotContribute) {
  const std::string tree = Path("tree");
  WriteTree(tree, {{"x", "x"}, {"sub/y", "y"}});
  absl::StatusOr<Digest> before = DigestOf(tree);
  ASSERT_TRUE(before.ok()) << before.status();
  std::filesystem::create_directories(tree + "/empty");
  std::filesystem::create_directories(tree + "/sub/empty/nested/deeper");
  absl::StatusOr<Digest> after = DigestOf(tree);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(*before, *after);
  EXPECT_EQ(*after, ExpectedDirectoryDigest({{"sub/y", Digest::Of("y")}, {"x", Digest::Of("x")}}));
}

TEST_F(DirectoryTest, RenamingOrMovingAFileChangesTheDigest) {
  const std::string tree = Path("tree");
  WriteTree(tree, {{"one", "1"}, {"two", "2"}});
  absl::StatusOr<Digest> original = DigestOf(tree);
  ASSERT_TRUE(original.ok()) << original.status();

  ASSERT_EQ(::rename((tree + "/two").c_str(), (tree + "/deux").c_str()), 0);
  absl::StatusOr<Digest> renamed = DigestOf(tree);
  ASSERT_TRUE(renamed.ok()) << renamed.status();
  EXPECT_NE(*renamed, *original);
  EXPECT_EQ(*renamed,
            ExpectedDirectoryDigest({{"deux", Digest::Of("2")}, {"one", Digest::Of("1")}}));

  ASSERT_EQ(::mkdir((tree + "/sub").c_str(), 0755), 0);
  ASSERT_EQ(::rename((tree + "/deux").c_str(), (tree + "/sub/deux").c_str()), 0);
  absl::StatusOr<Digest> moved = DigestOf(tree);
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_NE(*moved, *renamed);
  EXPECT_EQ(*moved,
            ExpectedDirectoryDigest({{"one", Digest::Of("1")}, {"sub/deux", Digest::Of("2")}}));
}

TEST_F(DirectoryTest, EditingAFileChangesTheDigest) {
  const std::string tree = Path("tree");
  WriteTree(tree, {{"f", "before"}});
  absl::StatusOr<Digest> before = DigestOf(tree);
  ASSERT_TRUE(before.ok());
  Spit(tree + "/f", "after!");
  absl::StatusOr<Digest> after = DigestOf(tree);
  ASSERT_TRUE(after.ok());
  EXPECT_NE(*before, *after);
  EXPECT_EQ(*after, ExpectedDirectoryDigest({{"f", Digest::Of("after!")}}));
}

// Enough files that the encoded list (~100 KB) is fed to the hasher in several pieces.
TEST_F(DirectoryTest, ManyFilesInNestedDirectories) {
  std::vector<std::pair<std::string, std::string>> files;
  for (int d = 0; d < 40; ++d) {
    for (int f = 0; f < 40; ++f) {
      files.emplace_back(absl::StrFormat("dir_%02d/nested/file_%03d_with_a_longer_name", d, f),
                         absl::StrCat("content ", d, "/", f));
    }
  }
  const std::string tree = Path("tree");
  WriteTree(tree, files);
  const std::vector<std::pair<std::string, Digest>> listing = SortedListing(files);
  ASSERT_GT(DirectoryListingBytes(listing).size(), size_t{1} << 16);
  absl::StatusOr<Digest> got = DigestOf(tree);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, ExpectedDirectoryDigest(listing));
}

TEST_F(DirectoryTest, SymlinkToFileIsFollowed) {
  Write("outside/target.txt", "target content");
  const std::string tree = Path("tree");
  WriteTree(tree, {{"real.txt", "real"}});
  ASSERT_EQ(::symlink("../outside/target.txt", (tree + "/link.txt").c_str()), 0);
  absl::StatusOr<Digest> got = DigestOf(tree);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, ExpectedDirectoryDigest({{"link.txt", Digest::Of("target content")},
                                           {"real.txt", Digest::Of("real")}}));
}

TEST_F(DirectoryTest, SymlinkToDirectoryIsFollowed) {
  WriteTree(Path("other"), {{"f1", "one"}, {"sub/f2", "two"}});
  const std::string tree = Path("tree");
  WriteTree(tree, {{"own", "own"}});
  ASSERT_EQ(::symlink("../other", (tree + "/linked").c_str()), 0);
  const Digest want = ExpectedDirectoryDigest({{"linked/f1", Digest::Of("one")},
                                               {"linked/sub/f2", Digest::Of("two")},
                                               {"own", Digest::Of("own")}});
  absl::StatusOr<Digest> got = DigestOf(tree);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, want);
  // The root itself may be a symlink to a directory.
  ASSERT_EQ(::symlink("tree", Path("tree_link").c_str()), 0);
  absl::StatusOr<Digest> via_link = DigestOf(Path("tree_link"));
  ASSERT_TRUE(via_link.ok()) << via_link.status();
  EXPECT_EQ(*via_link, want);
}

TEST_F(DirectoryTest, SymlinkToParentIsACycle) {
  const std::string tree = Path("tree");
  WriteTree(tree, {{"f", "f"}});
  ASSERT_EQ(::symlink("..", (tree + "/link").c_str()), 0);  // back above the root
  const absl::Status s = DigestOf(tree).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr(tree));
}

TEST_F(DirectoryTest, SymlinkToAnAncestorInsideTheTreeIsACycle) {
  const std::string tree = Path("tree");
  WriteTree(tree, {{"f", "f"}, {"sub/g", "g"}});
  ASSERT_EQ(::symlink("..", (tree + "/sub/up").c_str()), 0);  // sub/up → tree
  const absl::Status s = DigestOf(tree).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr(tree));
}

// file_digest.h: Directory() gives "INVALID_ARGUMENT when ... a symbolic-link cycle is
// found". A link that resolves to itself (or two links to each other) is a cycle too, but
// stat(2) reports it as ELOOP, which PosixError turns into UNKNOWN.
TEST_F(DirectoryTest, SymlinkLoopIsInvalidArgument) {
  const std::string self_tree = Path("self");
  WriteTree(self_tree, {{"f", "f"}});
  ASSERT_EQ(::symlink("loop", (self_tree + "/loop").c_str()), 0);
  const absl::Status self = DigestOf(self_tree).status();
  EXPECT_EQ(self.code(), absl::StatusCode::kInvalidArgument) << self;
  EXPECT_THAT(std::string(self.message()), HasSubstr(self_tree));

  const std::string pair_tree = Path("pair");
  WriteTree(pair_tree, {{"f", "f"}});
  ASSERT_EQ(::symlink("b", (pair_tree + "/a").c_str()), 0);
  ASSERT_EQ(::symlink("a", (pair_tree + "/b").c_str()), 0);
  const absl::Status pair = DigestOf(pair_tree).status();
  EXPECT_EQ(pair.code(), absl::StatusCode::kInvalidArgument) << pair;
  EXPECT_THAT(std::string(pair.message()), HasSubstr(pair_tree));
}

TEST_F(DirectoryTest, NonDirectoryIsInvalidArgument) {
  const std::string file = Write("plain", "not a directory");
  const absl::Status s = DigestOf(file).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr(file));
}

TEST_F(DirectoryTest, MissingDirectoryIsNotFound) {
  for (const std::string& path : {Path("missing"), Path("missing/deeper")}) {
    const absl::Status s = DigestOf(path).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr(path));
  }
}

TEST_F(DirectoryTest, FifoInsideIsInvalidArgumentAndDoesNotBlock) {
  const std::string tree = Path("tree");
  WriteTree(tree, {{"f", "f"}});
  const std::string fifo = tree + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  const absl::Status s = CallWithFifoWatchdog(fifo, [&] { return DigestOf(tree); }).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr(fifo));
}

TEST_F(DirectoryTest, UnreadableFileInsideIsPermissionDenied) {
  const std::string tree = Path("tree");
  WriteTree(tree, {{"ok", "ok"}, {"sub/secret", "secret"}});
  ASSERT_EQ(::chmod((tree + "/sub/secret").c_str(), 0), 0);
  absl::Status s;
  const Unprivileged run = RunWithoutDacOverride(dir_, [&] { s = DigestOf(tree).status(); });
  if (!run.denied) GTEST_SKIP() << run.why;
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr(tree + "/sub/secret"));
}

}  // namespace
}  // namespace mlops
