// File-system helpers shared by tests. They use plain POSIX and stdio calls, independently of
// the code under test, and abort the test binary when a call fails: such a failure is an
// environment problem, not a finding about the code under test.
#ifndef MLOPS_TESTING_FILES_H_
#define MLOPS_TESTING_FILES_H_

#include <time.h>

#include <string>
#include <vector>

namespace mlops {
namespace test {

// Creates a fresh, empty directory $TEST_TMPDIR/<stem>.XXXXXX (/tmp when $TEST_TMPDIR is
// unset or empty) and returns its path.
std::string MakeTempDir(const std::string& stem);

// A fresh, empty directory under $TEST_TMPDIR, named after the running test (characters
// other than alphanumerics, '.', '_' and '-' become '_'; "test" outside a test).
std::string FreshDir();

// Writes `data` to the file at `path`, creating or truncating it.
void Spit(const std::string& path, const std::string& data);

// Returns the bytes of the file at `path`.
std::string Slurp(const std::string& path);

// Sets the atime and mtime of `path` to `seconds_ago` seconds before now.
void SetAge(const std::string& path, time_t seconds_ago);

// The names in directory `dir`, without "." and "..", sorted.
std::vector<std::string> ListDir(const std::string& dir);

}  // namespace test
}  // namespace mlops

#endif  // MLOPS_TESTING_FILES_H_
