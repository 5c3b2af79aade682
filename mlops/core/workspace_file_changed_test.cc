// A file input that changes while its step runs: the result is computed from content other
// than the one the call was keyed by, so it is never cached, the call fails ABORTED naming
// the file, and the execution is recorded FAILED with the reason. Pipelines likewise.
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "mlops/core/step.h"
#include "mlops/core/stored.h"
#include "mlops/core/workspace.h"
#include "mlops/lineage/lineage.pb.h"
#include "mlops/pipeline/pipeline.h"
#include "mlops/testing/files.h"
#include "mlops/testing/workspace.h"

namespace mlops {
namespace {

using ::mlops::test::Executions;
using ::mlops::test::FreshDir;
using ::mlops::test::OpenWorkspace;
using ::mlops::test::Slurp;
using ::mlops::test::Spit;

// Reads the file; while reading, "another process" rewrites it when `rewrite` is set.
struct Reader {
  std::atomic<int>* calls;
  std::string* rewrite;  // new content, or empty for none
  std::string operator()(const File& f) const {
    calls->fetch_add(1);
    if (!rewrite->empty()) Spit(f.path(), *rewrite);  // the step reads the new content
    return Slurp(f.path());
  }
};

TEST(WorkspaceFileChangedTest, FileRewrittenWhileTheStepRunsIsNeverCached) {
  const std::string dir = FreshDir();
  const std::string data = dir + "/data.csv";
  Spit(data, "old content");
  auto ws = OpenWorkspace(dir + "/ws");
  ASSERT_NE(ws, nullptr);
  std::atomic<int> calls{0};
  std::string rewrite = "new content, longer";
  const auto read = MakeStep("read", 1, Reader{&calls, &rewrite});

  absl::StatusOr<Stored<std::string>> r = ws->Call(read, File(data));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kAborted) << r.status();
  EXPECT_NE(r.status().message().find(data), std::string::npos) << r.status();
  EXPECT_NE(r.status().message().find("changed"), std::string::npos) << r.status();
  EXPECT_NE(r.status().message().find("not cached"), std::string::npos) << r.status();
  const std::vector<Execution> execs = Executions(*ws);
  ASSERT_EQ(execs.size(), 1u);
  EXPECT_EQ(execs[0].status(), Execution::FAILED);
  EXPECT_EQ(execs[0].error_message(), r.status().message());
  EXPECT_TRUE(execs[0].outputs().empty());

  // With the old content back, the call computes from it: the result of the new content
  // was not stored under the old content's key.
  rewrite.clear();
  Spit(data, "old content");
  r = ws->Call(read, File(data));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(**r, "old content");
  EXPECT_FALSE(r->cached());
  EXPECT_EQ(calls.load(), 2);

  // Nor in a later process.
  ASSERT_TRUE(ws->Flush().ok());
  ws.reset();
  ws = OpenWorkspace(dir + "/ws");
  ASSERT_NE(ws, nullptr);
  r = ws->Call(read, File(data));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(**r, "old content");
  EXPECT_TRUE(r->cached());
}

TEST(WorkspaceFileChangedTest, FileRewrittenWithTheSameSizeIsNoticed) {
  const std::string dir = FreshDir();
  const std::string data = dir + "/data.csv";
  Spit(data, "aaaa");
  auto ws = OpenWorkspace(dir + "/ws");
  ASSERT_NE(ws, nullptr);
  std::atomic<int> calls{0};
  std::string rewrite = "bbbb";  // same size, and most likely the same second
  const auto read = MakeStep("read", 1, Reader{&calls, &rewrite});
  absl::StatusOr<Stored<std::string>> r = ws->Call(read, File(data));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kAborted) << r.status();
}

TEST(WorkspaceFileChangedTest, FileRemovedWhileTheStepRunsIsNotCached) {
  const std::string dir = FreshDir();
  const std::string data = dir + "/data.csv";
  Spit(data, "content");
  auto ws = OpenWorkspace(dir + "/ws");
  ASSERT_NE(ws, nullptr);
  const auto consume = MakeStep("consume", 1, [](const File& f) {
    const std::string content = Slurp(f.path());
    ::unlink(f.path().c_str());
    return content;
  });
  absl::StatusOr<Stored<std::string>> r = ws->Call(consume, File(data));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kAborted) << r.status();
  EXPECT_NE(r.status().message().find("could no longer be read"), std::string::npos)
      << r.status();
  EXPECT_EQ(ws->stats().failures, 1);
  EXPECT_EQ(ws->stats().misses, 0);
}

TEST(WorkspaceFileChangedTest, UnchangedFileIsCachedAsBefore) {
  const std::string dir = FreshDir();
  const std::string data = dir + "/data.csv";
  Spit(data, "content");
  auto ws = OpenWorkspace(dir + "/ws");
  ASSERT_NE(ws, nullptr);
  std::atomic<int> calls{0};
  std::string rewrite;
  const auto read = MakeStep("read", 1, Reader{&calls, &rewrite});
  ASSERT_TRUE(ws->Call(read, File(data)).ok());
  absl::StatusOr<Stored<std::string>> again = ws->Call(read, File(data));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->cached());
  EXPECT_EQ(calls.load(), 1);
}

TEST(WorkspaceFileChangedTest, PipelineNodeWhoseFileChangesFailsAndIsNotCached) {
  const std::string dir = FreshDir();
  const std::string data = dir + "/data.csv";
  Spit(data, "old");
  auto ws = OpenWorkspace(dir + "/ws");
  ASSERT_NE(ws, nullptr);
  std::atomic<int> calls{0};
  std::string rewrite = "new!";
  const auto read = MakeStep("read", 1, Reader{&calls, &rewrite});
  const auto size = MakeStep("size", 1, [](const std::string& s) { return s.size(); });
  Pipeline p("files");
  auto content = p.Add("read", read, File(data));
  auto n = p.Add("size", size, content);
  absl::StatusOr<RunResult> run = p.Run(*ws, {n});
  ASSERT_TRUE(run.ok()) << run.status();
  const NodeResult* failed = run->node("read");
  EXPECT_EQ(failed->outcome, NodeOutcome::kFailed);
  EXPECT_EQ(failed->status.code(), absl::StatusCode::kAborted) << failed->status;
  EXPECT_NE(failed->status.message().find(data), std::string::npos) << failed->status;
  EXPECT_EQ(run->node("size")->outcome, NodeOutcome::kSkipped);

  rewrite.clear();
  Spit(data, "old");
  run = p.Run(*ws, {n});
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->node("read")->outcome, NodeOutcome::kRan);  // not a hit of "new!"
  absl::StatusOr<Stored<size_t>> got = run->Get(n);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(**got, 3u);
}

}  // namespace
}  // namespace mlops
