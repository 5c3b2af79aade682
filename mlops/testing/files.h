// File-system helpers shared by tests. They use plain POSIX, stdio and std::filesystem calls,
// independently of the code under test, and abort the test binary when a call fails (see
// check_sys.h): such a failure is an environment problem, not a finding about the code under
// test.
//
// Example:
//   class LoaderTest : public mlops::test::TempDirTest {};
//   TEST_F(LoaderTest, ReadsWhatWasWritten) {
//     const std::string path = Write("data/train.csv", "x,y\n1,2\n");
//     ...
//     EXPECT_EQ(ListDir(dir_), std::vector<std::string>{"data"});
//   }
//
// Thread safety: the functions are safe to call from several threads on different paths.
#ifndef MLOPS_TESTING_FILES_H_
#define MLOPS_TESTING_FILES_H_

#include <time.h>

#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace mlops {
namespace test {

// Creates a fresh, empty directory $TEST_TMPDIR/<stem>.XXXXXX (/tmp when $TEST_TMPDIR is
// unset or empty) and returns its path.
std::string MakeTempDir(const std::string& stem);

// A fresh, empty directory under $TEST_TMPDIR, named after the running test (characters
// other than alphanumerics, '.', '_' and '-' become '_'; "test" outside a test). Every call
// makes a new directory, also within one test.
std::string FreshDir();

// Writes `data` to the file at `path`, creating or truncating it.
void Spit(const std::string& path, const std::string& data);

// Returns the bytes of the file at `path`.
std::string Slurp(const std::string& path);

// Sets the atime and mtime of `path` to `seconds_ago` seconds before now.
void SetAge(const std::string& path, time_t seconds_ago);

// The names in directory `dir`, without "." and "..", sorted.
std::vector<std::string> ListDir(const std::string& dir);

// Whether anything (a file, directory, symbolic link, ...) exists at `path`; a symbolic link
// counts even when its target does not exist.
bool Exists(const std::string& path);

// Whether `path` is a directory (not a symbolic link to one).
bool IsDir(const std::string& path);

// Writes each (relative path, content) of `files` below `dir`, creating missing parent
// directories (and `dir` itself). When `paths` is not null, appends the full path of each
// file to it, in the order of `files`.
void WriteTree(const std::string& dir,
               const std::vector<std::pair<std::string, std::string>>& files,
               std::vector<std::string>* paths = nullptr);

// A fixture that gives each test a fresh, empty directory `dir_` (FreshDir()), removed with
// everything below it after the test.
class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // `dir_ + "/" + rel`.
  std::string Path(const std::string& rel) const;
  // Writes `content` to `rel` below dir_ (creating parent directories) and returns the full
  // path.
  std::string Write(const std::string& rel, const std::string& content) const;

  std::string dir_;
};

}  // namespace test
}  // namespace mlops

#endif  // MLOPS_TESTING_FILES_H_
