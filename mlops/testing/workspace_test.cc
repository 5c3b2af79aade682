#include "mlops/testing/workspace.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gtest/gtest-spi.h"
#include "gtest/gtest.h"
#include "mlops/core/step.h"
#include "mlops/core/stored.h"
#include "mlops/hash/digest.h"
#include "mlops/testing/files.h"

namespace mlops {
namespace test {
namespace {

const auto kTwice = MakeStep("twice", 1, [](int x) { return 2 * x; });

// The failures `fn` records, without failing this test.
template <typename Fn>
std::vector<std::string> FailuresOf(Fn fn) {
  ::testing::TestPartResultArray results;
  {
    ::testing::ScopedFakeTestPartResultReporter reporter(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &results);
    fn();
  }
  std::vector<std::string> out;
  for (int i = 0; i < results.size(); ++i) {
    EXPECT_TRUE(results.GetTestPartResult(i).nonfatally_failed());
    out.push_back(results.GetTestPartResult(i).message());
  }
  return out;
}

TEST(WorkspaceHelpersTest, OpenWorkspaceOpensADirectoryAndSeesItsRun) {
  const std::string dir = FreshDir();
  auto ws = OpenWorkspace(dir);
  ASSERT_NE(ws, nullptr);
  EXPECT_EQ(ws->dir(), dir);
  EXPECT_TRUE(Executions(*ws).empty());
  absl::StatusOr<Stored<int>> r = ws->Call(kTwice, 21);
  ASSERT_TRUE(r.ok()) << r.status();
  const std::vector<Execution> execs = Executions(*ws);
  ASSERT_EQ(execs.size(), 1u);
  EXPECT_EQ(execs[0].step_name(), "twice");
  // The value is where ValuePath says, once written.
  ASSERT_TRUE(ws->Flush().ok());
  EXPECT_TRUE(Exists(ValuePath(dir, Hash(42))));
}

TEST(WorkspaceHelpersTest, OpenWorkspaceFailsTheTestAndReturnsNull) {
  const std::string file = FreshDir() + "/a-file";
  Spit(file, "not a directory");
  std::unique_ptr<Workspace> ws;
  const std::vector<std::string> failures = FailuresOf([&] { ws = OpenWorkspace(file); });
  EXPECT_EQ(ws, nullptr);
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_NE(failures[0].find(file), std::string::npos) << failures[0];  // shows the status
}

TEST(WorkspaceHelpersTest, InMemoryWorkspaceRecordsExecutions) {
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  EXPECT_TRUE(ws->dir().empty());
  ASSERT_TRUE(ws->Call(kTwice, 1).ok());
  ASSERT_TRUE(ws->Call(kTwice, 2).ok());
  ASSERT_TRUE(ws->Call(kTwice, 1).ok());  // a hit is recorded too
  EXPECT_EQ(Executions(*ws).size(), 3u);
}

TEST(WorkspaceHelpersTest, ValuePathIsTheShardedStoreLayout) {
  const Digest d = Digest::Of("hello");
  EXPECT_EQ(ValuePath("/w", d), "/w/store/cas/b5/b5e9c1ad071b3e7fc779cfaa5e523818");
}

}  // namespace
}  // namespace test
}  // namespace mlops
