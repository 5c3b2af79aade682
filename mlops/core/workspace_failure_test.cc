// Failing steps: error statuses and exceptions become a Status naming the step, a FAILED
// execution, nothing cached, and a FAILED run.
#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "mlops/core/context.h"
#include "mlops/core/step.h"
#include "mlops/core/stored.h"
#include "mlops/core/workspace.h"
#include "mlops/core/workspace_layout.h"
#include "mlops/lineage/lineage.pb.h"
#include "mlops/lineage/sqlite_lineage_store.h"
#include "mlops/testing/files.h"
#include "mlops/testing/workspace.h"

namespace mlops {
namespace {

using ::mlops::test::Executions;
using ::mlops::test::FreshDir;
using ::mlops::test::InMemoryWorkspace;
using ::mlops::test::OpenWorkspace;

bool Contains(absl::string_view haystack, absl::string_view needle) {
  return haystack.find(needle) != absl::string_view::npos;
}

// The Run record after the Workspace is gone, from a fresh connection to its database.
absl::StatusOr<mlops::Run> RunAfterClose(const std::string& dir, int64_t id) {
  absl::StatusOr<std::unique_ptr<SqliteLineageStore>> db =
      SqliteLineageStore::Open(WorkspaceLayout(dir).lineage_db());
  if (!db.ok()) return db.status();
  return (*db)->GetRun(id);
}

TEST(WorkspaceFailureTest, ErrorStatusNamesTheStepAndIsNotCached) {
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  int calls = 0;
  const auto step = MakeStep("validate", 4, [&calls](int x) -> absl::StatusOr<int> {
    ++calls;
    if (x < 0) return absl::FailedPreconditionError("x must not be negative");
    return x;
  });
  absl::StatusOr<Stored<int>> r = ws->Call(step, -5);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition) << r.status();
  EXPECT_TRUE(Contains(r.status().message(), "validate")) << r.status();
  EXPECT_TRUE(Contains(r.status().message(), "x must not be negative")) << r.status();
  EXPECT_EQ(calls, 1);

  // Nothing was cached: the next call runs again.
  absl::StatusOr<Stored<int>> again = ws->Call(step, -5);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(calls, 2);
  absl::StatusOr<Stored<int>> ro = ws->Call(CallOptions{CacheMode::kReadOnly}, step, -5);
  EXPECT_EQ(ro.status().code(), absl::StatusCode::kNotFound) << ro.status();
  EXPECT_EQ(calls, 2);

  // Every code comes through as it is.
  for (const absl::Status& s :
       {absl::InvalidArgumentError("a"), absl::NotFoundError("b"), absl::DataLossError("c"),
        absl::ResourceExhaustedError("d"), absl::UnavailableError("e")}) {
    const auto fails = MakeStep("fails", 1, [&s](int) -> absl::StatusOr<int> { return s; });
    absl::StatusOr<Stored<int>> f = ws->Call(fails, static_cast<int>(s.code()));
    EXPECT_EQ(f.status().code(), s.code()) << f.status();
    EXPECT_TRUE(Contains(f.status().message(), "fails")) << f.status();
  }

  const std::vector<Execution> execs = Executions(*ws);
  ASSERT_EQ(execs.size(), 7u);
  for (const Execution& e : execs) {
    EXPECT_EQ(e.status(), Execution::FAILED) << e.DebugString();
    EXPECT_FALSE(e.cache_hit());
    EXPECT_EQ(e.outputs_size(), 0);
    EXPECT_TRUE(e.has_end_time());
  }
  EXPECT_EQ(execs[0].step_name(), "validate");
  EXPECT_EQ(execs[0].step_version(), "4");
  EXPECT_TRUE(Contains(execs[0].error_message(), "x must not be negative"))
      << execs[0].error_message();
  EXPECT_EQ(ws->stats().failures, 7);
  EXPECT_EQ(ws->stats().misses, 0);
}

TEST(WorkspaceFailureTest, TupleStepErrorIsNotCached) {
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  int calls = 0;
  bool fail = true;
  const auto step = MakeStep("pair", 1, [&](int x) -> absl::StatusOr<std::tuple<int, int>> {
    ++calls;
    if (fail) return absl::AbortedError("flaky");
    return std::make_tuple(x, -x);
  });
  EXPECT_EQ(ws->Call(step, 1).status().code(), absl::StatusCode::kAborted);
  fail = false;
  auto r = ws->Call(step, 1);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*std::get<1>(*r), -1);
  EXPECT_EQ(calls, 2);
  ASSERT_TRUE(ws->Call(step, 1).ok());
  EXPECT_EQ(calls, 2);
}

TEST(WorkspaceFailureTest, StdExceptionIsUnknownNamingTheStep) {
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  int calls = 0;
  const auto step = MakeStep("thrower", 1, [&calls](const std::string& what) -> int {
    ++calls;
    throw std::runtime_error(what);
  });
  absl::StatusOr<Stored<int>> r = ws->Call(step, std::string("disk on fire"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnknown) << r.status();
  EXPECT_TRUE(Contains(r.status().message(), "thrower")) << r.status();
  EXPECT_TRUE(Contains(r.status().message(), "disk on fire")) << r.status();
  // Not cached.
  EXPECT_EQ(ws->Call(step, std::string("disk on fire")).status().code(),
            absl::StatusCode::kUnknown);
  EXPECT_EQ(calls, 2);
  // Other std exceptions too.
  const auto oor = MakeStep("at", 1, [](const std::vector<int>& v) { return v.at(10); });
  absl::StatusOr<Stored<int>> o = ws->Call(oor, std::vector<int>{1});
  EXPECT_EQ(o.status().code(), absl::StatusCode::kUnknown) << o.status();
  EXPECT_TRUE(Contains(o.status().message(), "'at'")) << o.status();

  const std::vector<Execution> execs = Executions(*ws);
  ASSERT_EQ(execs.size(), 3u);
  EXPECT_EQ(execs[0].status(), Execution::FAILED);
  EXPECT_TRUE(Contains(execs[0].error_message(), "disk on fire")) << execs[0].error_message();
}

TEST(WorkspaceFailureTest, NonStdExceptionIsUnknownNamingTheStep) {
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  int calls = 0;
  const auto step = MakeStep("int_thrower", 1, [&calls](Context&, int x) -> int {
    ++calls;
    throw x;
  });
  absl::StatusOr<Stored<int>> r = ws->Call(step, 42);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnknown) << r.status();
  EXPECT_TRUE(Contains(r.status().message(), "int_thrower")) << r.status();
  struct NotAnException {};
  const auto step2 = MakeStep("struct_thrower", 1, [](int) -> int { throw NotAnException{}; });
  absl::StatusOr<Stored<int>> r2 = ws->Call(step2, 1);
  EXPECT_EQ(r2.status().code(), absl::StatusCode::kUnknown) << r2.status();
  EXPECT_TRUE(Contains(r2.status().message(), "struct_thrower")) << r2.status();
  EXPECT_EQ(ws->Call(step, 42).status().code(), absl::StatusCode::kUnknown);
  EXPECT_EQ(calls, 2);
  const std::vector<Execution> execs = Executions(*ws);
  ASSERT_EQ(execs.size(), 3u);
  for (const Execution& e : execs) {
    EXPECT_EQ(e.status(), Execution::FAILED);
    EXPECT_FALSE(e.error_message().empty());
  }
}

TEST(WorkspaceFailureTest, RunEndsFailedIfAnyCallFailed) {
  const std::string dir = FreshDir();
  const auto ok = MakeStep("ok", 1, [](int x) { return x; });
  const auto bad = MakeStep("bad", 1, [](int) -> absl::StatusOr<int> {
    return absl::InternalError("bad");
  });
  int64_t run = 0;
  {
    auto ws = OpenWorkspace(dir);
    ASSERT_NE(ws, nullptr);
    run = ws->run_id();
    ASSERT_TRUE(ws->Call(ok, 1).ok());
    EXPECT_FALSE(ws->Call(bad, 1).ok());
    ASSERT_TRUE(ws->Call(ok, 2).ok());  // later successes do not undo the failure
    absl::StatusOr<mlops::Run> running = ws->lineage().GetRun(run);
    ASSERT_TRUE(running.ok()) << running.status();
    EXPECT_EQ(running->status(), mlops::Run::RUNNING);
  }
  absl::StatusOr<mlops::Run> r = RunAfterClose(dir, run);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status(), mlops::Run::FAILED);
  EXPECT_TRUE(r->has_end_time());
  EXPECT_GE(r->end_time().seconds(), r->start_time().seconds());
  // The executions are all there, committed.
  absl::StatusOr<std::unique_ptr<SqliteLineageStore>> db =
      SqliteLineageStore::Open(WorkspaceLayout(dir).lineage_db());
  ASSERT_TRUE(db.ok()) << db.status();
  absl::StatusOr<std::vector<Execution>> execs = (*db)->ExecutionsOfRun(run);
  ASSERT_TRUE(execs.ok()) << execs.status();
  ASSERT_EQ(execs->size(), 3u);
  EXPECT_EQ((*execs)[1].status(), Execution::FAILED);
  EXPECT_EQ((*execs)[1].error_message().find("bad") != std::string::npos, true);
}

TEST(WorkspaceFailureTest, RunEndsSucceededIfNoCallFailed) {
  const std::string dir = FreshDir();
  const auto ok = MakeStep("ok", 1, [](int x) { return x; });
  int64_t first = 0;
  int64_t second = 0;
  {
    auto ws = OpenWorkspace(dir);
    ASSERT_NE(ws, nullptr);
    first = ws->run_id();
    ASSERT_TRUE(ws->Call(ok, 1).ok());
    ASSERT_TRUE(ws->Call(ok, 1).ok());
  }
  {
    auto ws = OpenWorkspace(dir);
    ASSERT_NE(ws, nullptr);
    second = ws->run_id();
    ASSERT_TRUE(ws->Call(ok, 1).ok());  // only hits
  }
  for (int64_t id : {first, second}) {
    absl::StatusOr<mlops::Run> r = RunAfterClose(dir, id);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status(), mlops::Run::SUCCEEDED) << id;
    EXPECT_TRUE(r->has_end_time());
    EXPECT_FALSE(r->program().empty());
    EXPECT_FALSE(r->host().empty());
    EXPECT_FALSE(r->user().empty());
  }
  // An empty run (no calls) also succeeds.
  int64_t empty = 0;
  {
    auto ws = OpenWorkspace(dir);
    ASSERT_NE(ws, nullptr);
    empty = ws->run_id();
  }
  absl::StatusOr<mlops::Run> r = RunAfterClose(dir, empty);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status(), mlops::Run::SUCCEEDED);
}

TEST(WorkspaceFailureTest, ProgramAndArgsFromOptions) {
  const std::string dir = FreshDir();
  int64_t id = 0;
  {
    WorkspaceOptions options;
    options.program = "trainer";
    options.args = {"--epochs=3", "data.csv"};
    absl::StatusOr<std::unique_ptr<Workspace>> ws = Workspace::Open(dir, options);
    ASSERT_TRUE(ws.ok()) << ws.status();
    id = (*ws)->run_id();
  }
  absl::StatusOr<mlops::Run> r = RunAfterClose(dir, id);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->program(), "trainer");
  ASSERT_EQ(r->args_size(), 2);
  EXPECT_EQ(r->args(0), "--epochs=3");
  EXPECT_EQ(r->args(1), "data.csv");
}

}  // namespace
}  // namespace mlops
