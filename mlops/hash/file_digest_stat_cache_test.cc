// FileDigester's stat cache on files older than the racy window: hits, edits in place and
// by rename, restored mtimes, Save/Load round trips, corrupt cache files, and many threads.
#include "mlops/hash/file_digest.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "mlops/hash/digest.h"
#include "mlops/hash/file_digest_testing.h"
#include "mlops/testing/bytes.h"
#include "mlops/testing/check_sys.h"
#include "mlops/testing/files.h"

namespace mlops {
namespace {

using ::mlops::test::ExpectConcurrentCallsAgree;
using ::mlops::test::ExpectedDirectoryDigest;
using ::mlops::test::ListDir;
using ::mlops::test::MakeTempDir;
using ::mlops::test::Pattern;
using ::mlops::test::Slurp;
using ::mlops::test::SortedListing;
using ::mlops::test::Spit;
using ::mlops::test::WriteTree;

constexpr size_t kMiB = size_t{1} << 20;

// Overwrites bytes of an existing file without changing its size or inode.
void OverwriteInPlace(const std::string& path, off_t offset, const std::string& bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  CHECK_SYS(fd >= 0);
  CHECK_SYS(::pwrite(fd, bytes.data(), bytes.size(), offset) == static_cast<ssize_t>(bytes.size()));
  CHECK_SYS(::close(fd) == 0);
}

int64_t Nanos(const struct timespec& ts) {
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

int64_t NowNs() {
  struct timespec ts;
  CHECK_SYS(::clock_gettime(CLOCK_REALTIME, &ts) == 0);
  return Nanos(ts);
}

// Sleeps until every file in `paths` was last changed (mtime and ctime) more than a second
// ago, so that FileDigester will cache it. ctime cannot be set into the past, so waiting is
// the only honest way; the tests that need it share a single wait (see AgedFilesTest).
void WaitUntilOutsideRacyWindow(const std::vector<std::string>& paths) {
  int64_t newest = 0;
  for (const std::string& p : paths) {
    struct stat st;
    CHECK_SYS(::stat(p.c_str(), &st) == 0);
    newest = std::max({newest, Nanos(st.st_mtim), Nanos(st.st_ctim)});
  }
  const int64_t target = newest + 1'000'000'000 + 50'000'000;  // 1 s window + 50 ms margin
  for (int64_t now = NowNs(); now < target; now = NowNs()) {
    std::this_thread::sleep_for(std::chrono::nanoseconds(target - now));
  }
}

// ---------------------------------------------------------------------------------------
// FileDigester's stat cache on files older than the racy window.
//
// A file is only cached once both its mtime and its ctime are more than 1 s old, and ctime
// cannot be set into the past. So that the suite waits once rather than once per test,
// SetUpTestSuite writes a separate, fresh directory for every test of this suite (named after
// the test, under $TEST_TMPDIR) and then waits ~1.05 s. No two tests share a directory.

class AgedFilesTest : public ::testing::Test {
 protected:
  static std::vector<std::pair<std::string, std::string>> Files() {
    return {{"a.bin", Pattern(4096, 11)},
            {"b.bin", Pattern(1000, 12)},
            {"sub/c.txt", "ccc\n"},
            {"sub/deeper/d.bin", Pattern(kMiB + 1, 13)}};
  }
  static std::string Content(const std::string& rel) {
    for (const auto& [r, content] : Files()) {
      if (r == rel) return content;
    }
    std::abort();
  }

  static void SetUpTestSuite() {
    root_ = MakeTempDir("AgedFilesTest");
    const ::testing::TestSuite* suite = ::testing::UnitTest::GetInstance()->current_test_suite();
    CHECK_SYS(suite != nullptr);
    std::vector<std::string> paths;
    for (int i = 0; i < suite->total_test_count(); ++i) {
      WriteTree(root_ + "/" + suite->GetTestInfo(i)->name(), Files(), &paths);
    }
    WaitUntilOutsideRacyWindow(paths);
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
  void SetUp() override {
    dir_ = root_ + "/" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    struct stat st;
    ASSERT_EQ(::stat(dir_.c_str(), &st), 0) << dir_;
  }
  std::string Path(const std::string& rel) const { return dir_ + "/" + rel; }

  static inline std::string root_;
  std::string dir_;
};

TEST_F(AgedFilesTest, UnchangedFileIsACacheHit) {
  const std::string path = Path("a.bin");
  FileDigester digester;
  absl::StatusOr<Digest> first = digester.File(path);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, Digest::Of(Content("a.bin")));
  EXPECT_EQ(digester.stats().files_read, 1);
  EXPECT_EQ(digester.stats().cache_hits, 0);
  EXPECT_EQ(digester.stats().bytes_read, 4096);
  EXPECT_EQ(digester.size(), 1u);

  for (int i = 1; i <= 2; ++i) {
    absl::StatusOr<Digest> again = digester.File(path);
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(*again, *first);
    EXPECT_EQ(digester.stats().cache_hits, i);
    EXPECT_EQ(digester.stats().files_read, 1);
    EXPECT_EQ(digester.stats().bytes_read, 4096);
  }
}

TEST_F(AgedFilesTest, SameSizeEditInPlaceGivesNewDigestAndIsReadWhileRacy) {
  const std::string path = Path("a.bin");
  FileDigester digester;
  ASSERT_TRUE(digester.File(path).ok());
  ASSERT_TRUE(digester.File(path).ok());
  ASSERT_EQ(digester.stats().cache_hits, 1);

  std::string edited = Content("a.bin");
  edited.replace(2000, 5, "EDIT!");
  ASSERT_NE(edited, Content("a.bin"));
  OverwriteInPlace(path, 2000, "EDIT!");
  ASSERT_EQ(Slurp(path), edited);

  // Now within the racy window: every call reads the file again.
  for (int i = 1; i <= 3; ++i) {
    absl::StatusOr<Digest> got = digester.File(path);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, Digest::Of(edited));
    EXPECT_EQ(digester.stats().files_read, 1 + i);
    EXPECT_EQ(digester.stats().cache_hits, 1);
  }
  EXPECT_EQ(digester.size(), 0u) << "a racy file must not stay in the cache";
}

// Tools such as `cp -p` or `rsync -t` restore the old mtime after writing new bytes of the
// same size; only ctime then shows the change.
TEST_F(AgedFilesTest, EditWithRestoredMtimeIsStillDetected) {
  const std::string path = Path("b.bin");
  FileDigester digester;
  ASSERT_TRUE(digester.File(path).ok());
  ASSERT_EQ(digester.size(), 1u);
  struct stat before;
  ASSERT_EQ(::stat(path.c_str(), &before), 0);

  std::string edited = Content("b.bin");
  edited[0] = static_cast<char>(edited[0] ^ 0x5a);
  OverwriteInPlace(path, 0, edited.substr(0, 1));
  const struct timespec times[2] = {before.st_atim, before.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
  struct stat after;
  ASSERT_EQ(::stat(path.c_str(), &after), 0);
  ASSERT_EQ(Nanos(after.st_mtim), Nanos(before.st_mtim));
  ASSERT_EQ(after.st_size, before.st_size);
  ASSERT_EQ(after.st_ino, before.st_ino);

  absl::StatusOr<Digest> got = digester.File(path);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, Digest::Of(edited));
  EXPECT_EQ(digester.stats().cache_hits, 0);
  EXPECT_EQ(digester.stats().files_read, 2);
}

TEST_F(AgedFilesTest, ReplacingByRenameGivesNewDigest) {
  const std::string path = Path("a.bin");
  FileDigester digester;
  ASSERT_TRUE(digester.File(path).ok());
  ASSERT_TRUE(digester.File(path).ok());
  ASSERT_EQ(digester.stats().cache_hits, 1);

  const std::string replacement = Pattern(4096, 99);  // same size, different bytes
  const std::string staged = Path("a.bin.new");
  Spit(staged, replacement);
  ASSERT_EQ(::rename(staged.c_str(), path.c_str()), 0);

  absl::StatusOr<Digest> got = digester.File(path);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, Digest::Of(replacement));
  EXPECT_NE(*got, Digest::Of(Content("a.bin")));
  EXPECT_EQ(digester.stats().files_read, 2);
  EXPECT_EQ(digester.stats().cache_hits, 1);
}

TEST_F(AgedFilesTest, SaveLoadRoundTripGivesCacheHitsWithoutReading) {
  const std::vector<std::string> rels = {"a.bin", "b.bin", "sub/c.txt"};
  const std::string cache = Path("stat.cache");
  {
    FileDigester first;
    for (const std::string& rel : rels) ASSERT_TRUE(first.File(Path(rel)).ok());
    ASSERT_EQ(first.size(), 3u);
    const absl::Status saved = first.Save(cache);
    ASSERT_TRUE(saved.ok()) << saved;
  }
  std::vector<std::string> leftovers = ListDir(dir_);
  EXPECT_EQ(leftovers, (std::vector<std::string>{"a.bin", "b.bin", "stat.cache", "sub"}))
      << "Save left a temporary file behind";

  FileDigester second;
  const absl::Status loaded = second.Load(cache);
  ASSERT_TRUE(loaded.ok()) << loaded;
  EXPECT_EQ(second.size(), 3u);
  for (const std::string& rel : rels) {
    absl::StatusOr<Digest> got = second.File(Path(rel));
    ASSERT_TRUE(got.ok()) << rel << ": " << got.status();
    EXPECT_EQ(*got, Digest::Of(Content(rel))) << rel;
  }
  EXPECT_EQ(second.stats().cache_hits, 3);
  EXPECT_EQ(second.stats().files_read, 0);
  EXPECT_EQ(second.stats().bytes_read, 0);

  // Loading again adds nothing new.
  ASSERT_TRUE(second.Load(cache).ok());
  EXPECT_EQ(second.size(), 3u);

  // A loaded entry is not trusted once the file changed.
  std::string edited = Content("b.bin");
  edited[10] = static_cast<char>(edited[10] ^ 1);
  OverwriteInPlace(Path("b.bin"), 10, edited.substr(10, 1));
  absl::StatusOr<Digest> got = second.File(Path("b.bin"));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, Digest::Of(edited));
  EXPECT_EQ(second.stats().files_read, 1);

  // A file not in the saved cache is read.
  ASSERT_TRUE(second.File(Path("sub/deeper/d.bin")).ok());
  EXPECT_EQ(second.stats().files_read, 2);
}

TEST_F(AgedFilesTest, LoadOfCorruptCacheIsDataLossAndLoadsNothing) {
  const std::string cache = Path("stat.cache");
  {
    FileDigester first;
    ASSERT_TRUE(first.File(Path("a.bin")).ok());
    ASSERT_TRUE(first.File(Path("b.bin")).ok());
    ASSERT_EQ(first.size(), 2u);
    ASSERT_TRUE(first.Save(cache).ok());
  }
  const std::string valid = Slurp(cache);
  {
    FileDigester check;  // the file as saved is accepted
    ASSERT_TRUE(check.Load(cache).ok());
    ASSERT_EQ(check.size(), 2u);
  }

  std::vector<std::pair<std::string, std::string>> variants;  // (description, bytes)
  for (size_t i = 0; i < valid.size(); ++i) {
    std::string bytes = valid;
    bytes[i] = static_cast<char>(bytes[i] ^ 0x01);
    variants.emplace_back(absl::StrCat("byte ", i, " flipped"), bytes);
  }
  for (size_t n = 0; n < valid.size(); ++n) {
    variants.emplace_back(absl::StrCat("truncated to ", n, " bytes"), valid.substr(0, n));
  }
  variants.emplace_back("one trailing byte", valid + '\0');
  variants.emplace_back("garbage", Pattern(valid.size(), 7));
  variants.emplace_back("garbage, 4 KiB", Pattern(4096, 8));
  variants.emplace_back("wrong magic", "NOTCACHE" + valid.substr(8));
  variants.emplace_back("text", "this is not a stat cache\n");

  const std::string corrupt = Path("corrupt.cache");
  std::vector<std::string> failures;
  for (const auto& [what, bytes] : variants) {
    Spit(corrupt, bytes);
    FileDigester digester;
    const absl::Status s = digester.Load(corrupt);
    if (s.code() != absl::StatusCode::kDataLoss ||
        std::string(s.message()).find(corrupt) == std::string::npos || digester.size() != 0) {
      failures.push_back(
          absl::StrCat(what, ": ", s.ToString(), ", ", digester.size(), " entries loaded"));
    }
  }
  EXPECT_TRUE(failures.empty()) << failures.size() << " of " << variants.size()
                                << " corrupt files were not rejected; first: "
                                << (failures.empty() ? std::string() : failures[0]);

  // A failed Load leaves earlier entries alone and adds none.
  FileDigester digester;
  ASSERT_TRUE(digester.Load(cache).ok());
  Spit(corrupt, valid.substr(0, valid.size() - 1));
  EXPECT_EQ(digester.Load(corrupt).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(digester.size(), 2u);
  ASSERT_TRUE(digester.File(Path("a.bin")).ok());
  EXPECT_EQ(digester.stats().cache_hits, 1);
  EXPECT_EQ(digester.stats().files_read, 0);
}

TEST_F(AgedFilesTest, DirectoryUsesTheCacheOnTheSecondCall) {
  const Digest want = ExpectedDirectoryDigest(SortedListing(Files()));
  FileDigester digester;
  absl::StatusOr<Digest> first = digester.Directory(dir_);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, want);
  EXPECT_EQ(digester.stats().files_read, 4);
  EXPECT_EQ(digester.stats().cache_hits, 0);
  absl::StatusOr<Digest> second = digester.Directory(dir_);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(*second, want);
  EXPECT_EQ(digester.stats().files_read, 4);
  EXPECT_EQ(digester.stats().cache_hits, 4);
}

TEST_F(AgedFilesTest, ConcurrentFileAndDirectoryCallsAgree) {
  FileDigester digester;
  ExpectConcurrentCallsAgree(digester, dir_, Files());
  // Every file is old enough to be cached, so after the first reads the rest are hits.
  EXPECT_GE(digester.stats().files_read, 4);
  EXPECT_GT(digester.stats().cache_hits, 0);
  EXPECT_EQ(digester.size(), 4u);
}

}  // namespace
}  // namespace mlops
