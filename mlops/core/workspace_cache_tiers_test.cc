// The memory tier and the disk: a reopened workspace is a second run answered from the disk;
// hits from memory when the disk entry is gone; no memory tier, or one that evicts; and
// Open's errors.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "mlops/codec/codec.h"
#include "mlops/core/step.h"
#include "mlops/core/stored.h"
#include "mlops/core/workspace.h"
#include "mlops/core/workspace_cache_testing.h"
#include "mlops/lineage/lineage.pb.h"
#include "mlops/testing/files.h"
#include "mlops/testing/workspace.h"

namespace mlops {
namespace {

namespace fs = std::filesystem;

using ::mlops::test::Executions;
using ::mlops::test::FreshDir;
using ::mlops::test::OpenWorkspace;
using ::mlops::test::Ramp;
using ::mlops::test::Spit;
using ::mlops::test::ValuePath;

TEST(WorkspaceCacheTest, ReopenedWorkspaceHitsAsASecondRun) {
  const std::string dir = FreshDir();
  std::atomic<int> calls{0};
  const auto step = MakeStep("pair", 3, [&calls](const std::string& s, int n)
                                            -> absl::StatusOr<std::tuple<std::string, int64_t>> {
    calls.fetch_add(1);
    std::string out;
    for (int i = 0; i < n; ++i) out += s;
    return std::make_tuple(out, static_cast<int64_t>(out.size()));
  });
  int64_t first_run = 0;
  std::vector<std::string> first_digests;
  {
    auto ws = OpenWorkspace(dir);
    ASSERT_NE(ws, nullptr);
    first_run = ws->run_id();
    auto r = ws->Call(step, std::string("ab"), 3);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(*std::get<0>(*r), "ababab");
    EXPECT_EQ(*std::get<1>(*r), 6);
    first_digests = {std::get<0>(*r).digest().ToHex(), std::get<1>(*r).digest().ToHex()};
  }
  EXPECT_EQ(calls.load(), 1);
  {
    auto ws = OpenWorkspace(dir);
    ASSERT_NE(ws, nullptr);
    EXPECT_NE(ws->run_id(), first_run);
    auto r = ws->Call(step, std::string("ab"), 3);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(calls.load(), 1);  // answered from the disk
    EXPECT_EQ(*std::get<0>(*r), "ababab");
    EXPECT_EQ(*std::get<1>(*r), 6);
    EXPECT_EQ(std::get<0>(*r).digest(), Hash(std::string("ababab")));
    EXPECT_EQ(std::get<1>(*r).digest(), Hash(int64_t{6}));
    EXPECT_EQ(std::get<0>(*r).size(), static_cast<int64_t>(Encode(std::string("ababab")).size()));
    EXPECT_EQ(ws->stats().hits, 1);
    EXPECT_EQ(ws->stats().misses, 0);

    const std::vector<Execution> execs = Executions(*ws);
    ASSERT_EQ(execs.size(), 1u);
    EXPECT_EQ(execs[0].run_id(), ws->run_id());
    EXPECT_TRUE(execs[0].cache_hit());
    EXPECT_EQ(execs[0].status(), Execution::CACHED);
    ASSERT_EQ(execs[0].outputs_size(), 2);
    EXPECT_EQ(execs[0].outputs(0).digest(), first_digests[0]);
    EXPECT_EQ(execs[0].outputs(1).digest(), first_digests[1]);

    // The first run's record is in the same database, as a computing execution.
    absl::StatusOr<std::vector<Execution>> old = ws->lineage().ExecutionsOfRun(first_run);
    ASSERT_TRUE(old.ok()) << old.status();
    ASSERT_EQ(old->size(), 1u);
    EXPECT_EQ((*old)[0].status(), Execution::SUCCEEDED);
    EXPECT_FALSE((*old)[0].cache_hit());
    EXPECT_EQ((*old)[0].action_key(), execs[0].action_key());
    ASSERT_EQ((*old)[0].outputs_size(), 2);
    EXPECT_EQ((*old)[0].outputs(0).digest(), first_digests[0]);
  }
  // A workspace in another directory shares nothing.
  {
    auto ws = OpenWorkspace(dir + "_other");
    ASSERT_NE(ws, nullptr);
    ASSERT_TRUE(ws->Call(step, std::string("ab"), 3).ok());
    EXPECT_EQ(calls.load(), 2);
  }
}

TEST(WorkspaceCacheTest, MemoryTierServesHitsWhenTheDiskEntryIsGone) {
  // Within one Workspace a hit may come from process memory; what it returns is still the
  // value that was computed.
  const std::string dir = FreshDir();
  auto ws = OpenWorkspace(dir);
  ASSERT_NE(ws, nullptr);
  int calls = 0;
  const auto step = MakeStep("s", 1, [&calls](int x) {
    ++calls;
    return std::to_string(x);
  });
  absl::StatusOr<Stored<std::string>> r = ws->Call(step, 12345);
  ASSERT_TRUE(r.ok()) << r.status();
  fs::remove(ValuePath(dir, r->digest()));
  absl::StatusOr<Stored<std::string>> again = ws->Call(step, 12345);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(**again, "12345");
  EXPECT_LE(calls, 2);
}

TEST(WorkspaceCacheTest, NoMemoryTierStillHitsFromDisk) {
  const std::string dir = FreshDir();
  WorkspaceOptions options;
  options.memory_cache_bytes = 0;
  auto ws = OpenWorkspace(dir, options);
  ASSERT_NE(ws, nullptr);
  int calls = 0;
  const auto step = MakeStep("s", 1, [&calls](int x) {
    ++calls;
    return Ramp(x, 1.0);
  });
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<Stored<std::vector<double>>> r = ws->Call(step, 50);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(**r, Ramp(50, 1.0));
  }
  EXPECT_EQ(calls, 1);
}

TEST(WorkspaceCacheTest, SmallMemoryTierEvictsButNeverReturnsWrongValues) {
  // A memory tier that holds about two results: hits keep coming (from the disk once
  // evicted) and each is the value of its own key.
  const std::string dir = FreshDir();
  WorkspaceOptions options;
  options.memory_cache_bytes = 2 * static_cast<int64_t>(Encode(Ramp(20, 1.0)).size()) + 4;
  auto ws = OpenWorkspace(dir, options);
  ASSERT_NE(ws, nullptr);
  int calls = 0;
  const auto step = MakeStep("ramp", 1, [&calls](double scale) {
    ++calls;
    return Ramp(20, scale);
  });
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 10; ++i) {
      absl::StatusOr<Stored<std::vector<double>>> r = ws->Call(step, 1.0 + i);
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_EQ(**r, Ramp(20, 1.0 + i));
      EXPECT_EQ(r->digest(), Hash(Ramp(20, 1.0 + i)));
    }
    // Most recent first, too.
    for (int i = 9; i >= 0; --i) {
      absl::StatusOr<Stored<std::vector<double>>> r = ws->Call(step, 1.0 + i);
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_EQ(**r, Ramp(20, 1.0 + i));
    }
  }
  EXPECT_EQ(calls, 10);
  EXPECT_EQ(ws->stats().hits, 50);
}

TEST(WorkspaceCacheTest, OpenErrorsNameThePath) {
  const std::string dir = FreshDir();
  absl::StatusOr<std::unique_ptr<Workspace>> empty = Workspace::Open("");
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string file = dir + "/a_file";
  Spit(file, "not a directory");
  absl::StatusOr<std::unique_ptr<Workspace>> ws = Workspace::Open(file);
  EXPECT_FALSE(ws.ok());
  EXPECT_NE(ws.status().message().find(file), std::string::npos) << ws.status();
}

}  // namespace
}  // namespace mlops
