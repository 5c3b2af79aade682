// FileDigester on files changed within the last second (the racy window): read every time,
// never cached; and Save/Load of an empty or missing stat cache.
#include "mlops/hash/file_digest.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/hash/digest.h"
#include "mlops/hash/file_digest_testing.h"
#include "mlops/testing/bytes.h"
#include "mlops/testing/files.h"

namespace mlops {
namespace {

using ::mlops::test::ExpectConcurrentCallsAgree;
using ::mlops::test::ListDir;
using ::mlops::test::Pattern;
using ::mlops::test::WriteTree;
using ::testing::HasSubstr;

constexpr size_t kMiB = size_t{1} << 20;

// ---------------------------------------------------------------------------------------
// FileDigester on freshly written files (inside the racy window): never cached.

class FileDigesterTest : public test::TempDirTest {};

TEST_F(FileDigesterTest, FreshlyWrittenFileIsReadEveryTime) {
  const std::string content = Pattern(5000, 1);
  const std::string path = Write("fresh", content);
  FileDigester digester;
  for (int i = 1; i <= 3; ++i) {
    absl::StatusOr<Digest> got = digester.File(path);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, Digest::Of(content));
    EXPECT_EQ(digester.stats().files_read, i);
    EXPECT_EQ(digester.stats().cache_hits, 0);
    EXPECT_EQ(digester.stats().bytes_read, 5000 * i);
  }
  EXPECT_EQ(digester.size(), 0u);
}

// An mtime in the past is not enough: the change time (which cannot be set back) is fresh.
TEST_F(FileDigesterTest, OldMtimeWithFreshCtimeIsNotCached) {
  const std::string path = Write("backdated", "backdated content");
  struct timespec times[2];
  times[0].tv_sec = ::time(nullptr) - 3600;
  times[0].tv_nsec = 0;
  times[1] = times[0];
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
  FileDigester digester;
  ASSERT_TRUE(digester.File(path).ok());
  ASSERT_TRUE(digester.File(path).ok());
  EXPECT_EQ(digester.stats().files_read, 2);
  EXPECT_EQ(digester.stats().cache_hits, 0);
  EXPECT_EQ(digester.size(), 0u);
}

TEST_F(FileDigesterTest, ConcurrentCallsOnFreshFilesAgree) {
  const std::vector<std::pair<std::string, std::string>> files = {
      {"a.bin", Pattern(70000, 1)}, {"b.bin", Pattern(10, 2)}, {"sub/c.bin", Pattern(kMiB + 3, 3)}};
  const std::string tree = Path("tree");
  WriteTree(tree, files);
  FileDigester digester;
  ExpectConcurrentCallsAgree(digester, tree, files);
}

TEST_F(FileDigesterTest, LoadOfMissingFileIsOkAndLoadsNothing) {
  FileDigester digester;
  for (const std::string& path : {Path("no_cache"), Path("no_dir/no_cache")}) {
    const absl::Status s = digester.Load(path);
    EXPECT_TRUE(s.ok()) << s;
    EXPECT_EQ(digester.size(), 0u);
  }
}

TEST_F(FileDigesterTest, EmptyCacheSavesAndLoads) {
  FileDigester digester;
  const std::string cache = Path("cache");
  const absl::Status saved = digester.Save(cache);
  ASSERT_TRUE(saved.ok()) << saved;
  EXPECT_EQ(ListDir(dir_), std::vector<std::string>{"cache"});
  FileDigester fresh;
  const absl::Status loaded = fresh.Load(cache);
  EXPECT_TRUE(loaded.ok()) << loaded;
  EXPECT_EQ(fresh.size(), 0u);
}

TEST_F(FileDigesterTest, SaveIntoMissingDirectoryFailsNamingThePath) {
  FileDigester digester;
  const std::string cache = Path("missing_dir/cache");
  const absl::Status s = digester.Save(cache);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr(cache));
  EXPECT_TRUE(ListDir(dir_).empty());
}

}  // namespace
}  // namespace mlops
