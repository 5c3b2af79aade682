// RunSubprocess: output and exit codes, the time bound (a hung child is killed, and its
// children with it), output past max_output dropped, and programs that cannot start.
#include "mlops/base/internal/subprocess.h"

#include <signal.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/testing/status_matchers.h"

namespace mlops {
namespace {

using ::mlops::test::StatusIs;
using ::testing::HasSubstr;

constexpr char kSh[] = "/bin/sh";

TEST(SubprocessTest, CapturesStandardOutputAndTheExitCode) {
  absl::StatusOr<SubprocessResult> r =
      RunSubprocess(kSh, {"-c", "echo hello; echo oops >&2; exit 3"}, {}, absl::Seconds(30));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->output, "hello\n");  // standard error is not captured
  EXPECT_EQ(r->exit_code, 3);

  r = RunSubprocess(kSh, {"-c", "printf \"$MLOPS_SUBPROCESS_TEST\""},
                    {"MLOPS_SUBPROCESS_TEST=given"}, absl::Seconds(30));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->output, "given");
  EXPECT_EQ(r->exit_code, 0);

  r = RunSubprocess(kSh, {"-c", "kill -TERM $$"}, {}, absl::Seconds(30));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 128 + SIGTERM);
}

TEST(SubprocessTest, AHungChildIsKilledAtTheDeadline) {
  const absl::Time start = absl::Now();
  // The shell's child (sleep) holds the output open too: the whole group is killed.
  absl::StatusOr<SubprocessResult> r =
      RunSubprocess(kSh, {"-c", "echo started; sleep 30; echo never"}, {},
                    absl::Milliseconds(300));
  const absl::Duration took = absl::Now() - start;
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr(kSh));
  EXPECT_GE(took, absl::Milliseconds(300));
  EXPECT_LT(took, absl::Seconds(10)) << "waited for the child past its deadline";

  // A child that closes its output but does not exit is bounded too.
  r = RunSubprocess(kSh, {"-c", "exec >&-; sleep 30"}, {}, absl::Milliseconds(300));
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kDeadlineExceeded));
}

TEST(SubprocessTest, SeveralRunAtOnceWithinOneTimeout) {
  const absl::Time start = absl::Now();
  std::vector<absl::StatusOr<SubprocessResult>> r = RunSubprocesses(
      {{kSh, {"-c", "sleep 0.2; echo a"}, {}, 100},
       {kSh, {"-c", "sleep 30"}, {}, 100},
       {"/nonexistent/program", {}, {}, 100},
       {kSh, {"-c", "sleep 0.2; echo b; exit 1"}, {}, 100}},
      absl::Seconds(1));
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  ASSERT_EQ(r.size(), 4u);
  ASSERT_TRUE(r[0].ok()) << r[0].status();
  EXPECT_EQ(r[0]->output, "a\n");
  EXPECT_EQ(r[0]->exit_code, 0);
  EXPECT_THAT(r[1], StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_FALSE(r[2].ok());
  ASSERT_TRUE(r[3].ok()) << r[3].status();
  EXPECT_EQ(r[3]->output, "b\n");
  EXPECT_EQ(r[3]->exit_code, 1);
}

TEST(SubprocessTest, OutputPastMaxOutputIsReadAndDropped) {
  // 1 MB of output into a 10-byte result: the child is not blocked on a full pipe.
  absl::StatusOr<SubprocessResult> r = RunSubprocess(
      kSh, {"-c", "head -c 1000000 /dev/zero | tr '\\0' x"}, {}, absl::Seconds(30), 10);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->output, "xxxxxxxxxx");
  EXPECT_EQ(r->exit_code, 0);
}

TEST(SubprocessTest, AProgramThatCannotStartIsAnError) {
  absl::StatusOr<SubprocessResult> r =
      RunSubprocess("/nonexistent/program", {}, {}, absl::Seconds(30));
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("/nonexistent/program"));
}

TEST(SubprocessTest, FindExecutableOnPath) {
  const char* saved = std::getenv("PATH");
  const std::string path = saved != nullptr ? saved : "";
  ASSERT_EQ(::setenv("PATH", "/nonexistent-dir::/bin", 1), 0);
  EXPECT_EQ(FindExecutableOnPath("sh"), std::optional<std::string>("/bin/sh"));
  EXPECT_EQ(FindExecutableOnPath("no-such-program-anywhere"), std::nullopt);
  ASSERT_EQ(::setenv("PATH", "/nonexistent-dir", 1), 0);
  EXPECT_EQ(FindExecutableOnPath("sh"), std::nullopt);
  ASSERT_EQ(::setenv("PATH", path.c_str(), 1), 0);
}

}  // namespace
}  // namespace mlops
