#include "mlops/testing/unprivileged.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "mlops/testing/files.h"

namespace mlops {
namespace test {
namespace {

class RunWithoutDacOverrideTest : public TempDirTest {};

TEST_F(RunWithoutDacOverrideTest, RunsFnOnlyWherePermissionsApply) {
  const std::string secret = Write("secret", "secret bytes");
  ASSERT_EQ(::chmod(secret.c_str(), 0), 0);
  int calls = 0;
  int open_result = 0;
  int open_errno = 0;
  std::thread::id fn_thread;
  const Unprivileged run = RunWithoutDacOverride(dir_, [&] {
    ++calls;
    fn_thread = std::this_thread::get_id();
    open_result = ::open(secret.c_str(), O_RDONLY | O_CLOEXEC);
    open_errno = errno;
    if (open_result >= 0) ::close(open_result);
  });
  // The probe file is gone either way.
  EXPECT_EQ(ListDir(dir_), std::vector<std::string>{"secret"});
  if (!run.denied) {
    EXPECT_EQ(calls, 0) << "fn ran although the denial could not be produced";
    EXPECT_FALSE(run.why.empty());
    GTEST_SKIP() << run.why;
  }
  EXPECT_TRUE(run.why.empty()) << run.why;
  EXPECT_EQ(calls, 1);
  EXPECT_NE(fn_thread, std::this_thread::get_id()) << "fn must run on a thread of its own";
  EXPECT_EQ(open_result, -1);
  EXPECT_EQ(open_errno, EACCES);
}

TEST_F(RunWithoutDacOverrideTest, LeavesTheCallingThreadsCapabilitiesAlone) {
  const std::string secret = Write("secret", "secret bytes");
  ASSERT_EQ(::chmod(secret.c_str(), 0), 0);
  const bool readable_before = ::access(secret.c_str(), R_OK) == 0;
  RunWithoutDacOverride(dir_, [] {});
  EXPECT_EQ(::access(secret.c_str(), R_OK) == 0, readable_before);
}

}  // namespace
}  // namespace test
}  // namespace mlops
