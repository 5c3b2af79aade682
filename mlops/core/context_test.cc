// What a step sees through its Context: the seed, param and metric logging (recorded in
// lineage, also for later cache hits), its run and execution ids, and the scratch directory.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "mlops/codec/codec.h"
#include "mlops/core/context.h"
#include "mlops/core/step.h"
#include "mlops/core/stored.h"
#include "mlops/core/workspace.h"
#include "mlops/lineage/lineage.pb.h"
#include "mlops/testing/files.h"
#include "mlops/testing/workspace.h"

namespace mlops {
namespace {

namespace fs = std::filesystem;

using ::mlops::test::Executions;
using ::mlops::test::FreshDir;
using ::mlops::test::InMemoryWorkspace;
using ::mlops::test::OpenWorkspace;

// A step whose output is its seed.
const auto kSeedStep = MakeStep("seed", 1, [](Context& ctx, const std::string&, int) {
  return ctx.seed();
});

uint64_t SeedIn(Workspace& ws, const std::string& s, int n) {
  absl::StatusOr<Stored<uint64_t>> r = ws.Call(kSeedStep, s, n);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? **r : 0;
}

TEST(ContextTest, SeedDependsOnlyOnTheActionKey) {
  auto a = InMemoryWorkspace();
  ASSERT_NE(a, nullptr);
  auto b = OpenWorkspace(FreshDir());
  ASSERT_NE(b, nullptr);
  const uint64_t seed = SeedIn(*a, "x", 1);
  // The same inputs in another workspace (another store, another run) give the same seed.
  EXPECT_EQ(SeedIn(*b, "x", 1), seed);
  // Different inputs give different seeds.
  EXPECT_NE(SeedIn(*a, "x", 2), seed);
  EXPECT_NE(SeedIn(*a, "y", 1), seed);
  EXPECT_NE(SeedIn(*a, "x", 2), SeedIn(*a, "y", 1));
  // A different version or name is a different action, with a different seed.
  const auto v2 = MakeStep("seed", 2, [](Context& ctx, const std::string&, int) {
    return ctx.seed();
  });
  const auto renamed = MakeStep("seed2", 1, [](Context& ctx, const std::string&, int) {
    return ctx.seed();
  });
  absl::StatusOr<Stored<uint64_t>> s2 = a->Call(v2, std::string("x"), 1);
  ASSERT_TRUE(s2.ok()) << s2.status();
  EXPECT_NE(**s2, seed);
  absl::StatusOr<Stored<uint64_t>> s3 = a->Call(renamed, std::string("x"), 1);
  ASSERT_TRUE(s3.ok()) << s3.status();
  EXPECT_NE(**s3, seed);
  // Forcing a recomputation gives the same seed again.
  absl::StatusOr<Stored<uint64_t>> forced =
      a->Call(CallOptions{CacheMode::kForce}, kSeedStep, std::string("x"), 1);
  ASSERT_TRUE(forced.ok()) << forced.status();
  EXPECT_EQ(**forced, seed);
}

TEST(ContextTest, SeedAndActionKeyMatchTheLineage) {
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  Digest key;
  uint64_t seed = 0;
  const auto step = MakeStep("keyed", 1, [&](Context& ctx, int) {
    key = ctx.action_key();
    seed = ctx.seed();
    return 0;
  });
  ASSERT_TRUE(ws->Call(step, 5).ok());
  const std::vector<Execution> execs = Executions(*ws);
  ASSERT_EQ(execs.size(), 1u);
  EXPECT_EQ(execs[0].action_key(), key.ToHex());
  EXPECT_EQ(seed, key.low() ^ (key.high() * 0x9E3779B97F4A7C15ULL));
  EXPECT_NE(seed, 0u);
}

TEST(ContextTest, ParamsAndMetricsAreRecordedAlsoForLaterHits) {
  const std::string dir = FreshDir();
  std::atomic<int> calls{0};
  const auto train = MakeStep("train", 1, [&calls](Context& ctx, int epochs) {
    calls.fetch_add(1);
    ctx.LogParam("optimizer", "sgd");
    ctx.LogParam("epochs", epochs);
    ctx.LogParam("big", int64_t{1} << 40);
    ctx.LogParam("lr", 0.1);
    ctx.LogParam("lr", 0.05);  // the last value wins
    ctx.LogMetric("loss", 0.25);
    ctx.LogMetric("accuracy", 0.5);
    ctx.LogMetric("accuracy", 0.875);
    return epochs * 2;
  });
  const std::map<std::string, std::string> want_params = {
      {"optimizer", "sgd"}, {"epochs", "7"}, {"big", "1099511627776"}, {"lr", "0.05"}};
  const std::map<std::string, double> want_metrics = {{"loss", 0.25}, {"accuracy", 0.875}};
  const auto check = [&](const Execution& e) {
    std::map<std::string, std::string> params(e.params().begin(), e.params().end());
    std::map<std::string, double> metrics(e.metrics().begin(), e.metrics().end());
    EXPECT_EQ(params, want_params) << e.DebugString();
    EXPECT_EQ(metrics, want_metrics) << e.DebugString();
  };
  {
    auto ws = OpenWorkspace(dir);
    ASSERT_NE(ws, nullptr);
    ASSERT_TRUE(ws->Call(train, 7).ok());
    ASSERT_TRUE(ws->Call(train, 7).ok());  // a hit from the memory tier
    const std::vector<Execution> execs = Executions(*ws);
    ASSERT_EQ(execs.size(), 2u);
    EXPECT_EQ(execs[0].status(), Execution::SUCCEEDED);
    EXPECT_EQ(execs[1].status(), Execution::CACHED);
    check(execs[0]);
    check(execs[1]);
  }
  {
    auto ws = OpenWorkspace(dir);
    ASSERT_NE(ws, nullptr);
    ASSERT_TRUE(ws->Call(train, 7).ok());  // a hit from the disk
    EXPECT_EQ(calls.load(), 1);
    const std::vector<Execution> execs = Executions(*ws);
    ASSERT_EQ(execs.size(), 1u);
    EXPECT_EQ(execs[0].status(), Execution::CACHED);
    check(execs[0]);
  }
}

TEST(ContextTest, ParamsOfAFailedCallAreRecorded) {
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  const auto step = MakeStep("fails", 1, [](Context& ctx, int x) -> absl::StatusOr<int> {
    ctx.LogParam("x", x);
    ctx.LogMetric("progress", 0.5);
    return absl::InternalError("boom");
  });
  EXPECT_FALSE(ws->Call(step, 3).ok());
  const std::vector<Execution> execs = Executions(*ws);
  ASSERT_EQ(execs.size(), 1u);
  EXPECT_EQ(execs[0].status(), Execution::FAILED);
  EXPECT_EQ(execs[0].params().at("x"), "3");
  EXPECT_EQ(execs[0].metrics().at("progress"), 0.5);
}

TEST(ContextTest, RunAndExecutionIdsMatchTheLineage) {
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  const auto ids = MakeStep("ids", 1, [](Context& ctx, int) {
    return std::make_tuple(ctx.run_id(), ctx.execution_id(), ctx.step_name());
  });
  auto a = ws->Call(ids, 1);
  ASSERT_TRUE(a.ok()) << a.status();
  auto b = ws->Call(ids, 2);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(*std::get<0>(*a), ws->run_id());
  EXPECT_EQ(*std::get<0>(*b), ws->run_id());
  EXPECT_EQ(*std::get<2>(*a), "ids");
  EXPECT_NE(*std::get<1>(*a), *std::get<1>(*b));
  const std::vector<Execution> execs = Executions(*ws);
  ASSERT_EQ(execs.size(), 2u);
  EXPECT_EQ(execs[0].id(), *std::get<1>(*a));
  EXPECT_EQ(execs[1].id(), *std::get<1>(*b));
  EXPECT_EQ(execs[0].run_id(), ws->run_id());
  absl::StatusOr<Execution> e = ws->lineage().GetExecution(*std::get<1>(*b));
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->step_name(), "ids");
  EXPECT_EQ(e->run_id(), ws->run_id());
}

TEST(ContextTest, ScratchDirExistsDuringTheCallAndIsRemovedAfterwards) {
  const std::string dir = FreshDir();
  auto ws = OpenWorkspace(dir);
  ASSERT_NE(ws, nullptr);
  std::vector<std::string> seen;
  const auto step = MakeStep("scratch", 1, [&seen](Context& ctx, int n) -> absl::StatusOr<int> {
    absl::StatusOr<std::string> s = ctx.ScratchDir();
    if (!s.ok()) return s.status();
    seen.push_back(*s);
    EXPECT_TRUE(fs::is_directory(*s)) << *s;
    EXPECT_TRUE(fs::is_empty(*s)) << *s;
    absl::StatusOr<std::string> again = ctx.ScratchDir();
    EXPECT_TRUE(again.ok());
    EXPECT_EQ(*again, *s);  // one directory per call
    fs::create_directories(*s + "/sub/dir");
    std::ofstream(*s + "/sub/dir/file") << "data";
    std::ofstream(*s + "/top") << "data";
    if (n < 0) return absl::InvalidArgumentError("negative");
    if (n == 0) throw std::runtime_error("zero");
    return n;
  });
  ASSERT_TRUE(ws->Call(step, 1).ok());
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_FALSE(fs::exists(seen[0])) << seen[0];
  // Inside the workspace directory.
  EXPECT_EQ(seen[0].rfind(dir, 0), 0u) << seen[0];

  ASSERT_TRUE(ws->Call(step, 2).ok());
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_NE(seen[1], seen[0]);
  EXPECT_FALSE(fs::exists(seen[1]));
  // Removed as well when the step fails or throws.
  EXPECT_FALSE(ws->Call(step, -1).ok());
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_FALSE(fs::exists(seen[2])) << seen[2];
  EXPECT_FALSE(ws->Call(step, 0).ok());
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_FALSE(fs::exists(seen[3])) << seen[3];
}

TEST(ContextTest, ScratchDirOfAnInMemoryWorkspace) {
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  std::string seen;
  const auto step = MakeStep("scratch", 1, [&seen](Context& ctx, int n) -> absl::StatusOr<int> {
    absl::StatusOr<std::string> s = ctx.ScratchDir();
    if (!s.ok()) return s.status();
    seen = *s;
    EXPECT_TRUE(fs::is_directory(*s)) << *s;
    std::ofstream(*s + "/f") << "x";
    return n;
  });
  absl::StatusOr<Stored<int>> r = ws->Call(step, 1);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_FALSE(seen.empty());
  EXPECT_FALSE(fs::exists(seen)) << seen;
}

TEST(ContextTest, ContextUsedDirectly) {
  const std::string root = FreshDir();
  std::string scratch;
  {
    Context ctx("direct", Digest::Of("key"), 3, 4, root + "/scratch");
    EXPECT_EQ(ctx.step_name(), "direct");
    EXPECT_EQ(ctx.action_key(), Digest::Of("key"));
    EXPECT_EQ(ctx.run_id(), 3);
    EXPECT_EQ(ctx.execution_id(), 4);
    ctx.LogParam("s", "v");
    ctx.LogParam("d", 1.5);
    ctx.LogParam("i", 42);
    ctx.LogParam("l", int64_t{-7});
    ctx.LogMetric("m", 2.0);
    EXPECT_EQ(ctx.params().at("s"), "v");
    EXPECT_EQ(ctx.params().at("d"), "1.5");
    EXPECT_EQ(ctx.params().at("i"), "42");
    EXPECT_EQ(ctx.params().at("l"), "-7");
    EXPECT_EQ(ctx.metrics().at("m"), 2.0);
    absl::StatusOr<std::string> s = ctx.ScratchDir();
    ASSERT_TRUE(s.ok()) << s.status();
    scratch = *s;
    EXPECT_TRUE(fs::is_directory(scratch));
  }
  EXPECT_FALSE(fs::exists(scratch));
  // A scratch root that cannot be created: an error naming the path.
  const std::string file = root + "/file";
  std::ofstream(file) << "x";
  Context bad("bad", Digest::Of("k"), 1, 1, file + "/scratch");
  absl::StatusOr<std::string> s = bad.ScratchDir();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find(file), std::string::npos) << s.status();
}

}  // namespace
}  // namespace mlops
