// Cache modes: kNormal, kForce, kReadOnly and kVerify, per call and as a workspace's
// default.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "mlops/codec/codec.h"
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

namespace fs = std::filesystem;

using ::mlops::test::Executions;
using ::mlops::test::FreshDir;
using ::mlops::test::OpenWorkspace;

int64_t StoreEntries(Workspace& ws) {
  absl::StatusOr<StoreStats> stats = ws.store().Stats();
  EXPECT_TRUE(stats.ok()) << stats.status();
  return stats.ok() ? stats->entries : -1;
}

// Every file under `dir`, with its size (to see that nothing was written).
std::vector<std::pair<std::string, uintmax_t>> FilesUnder(const std::string& dir) {
  std::vector<std::pair<std::string, uintmax_t>> files;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) files.emplace_back(e.path().string(), e.file_size());
  }
  std::sort(files.begin(), files.end());
  return files;
}

const CallOptions kForce{CacheMode::kForce};
const CallOptions kReadOnly{CacheMode::kReadOnly};
const CallOptions kVerify{CacheMode::kVerify};
const CallOptions kNormal{CacheMode::kNormal};

// ---------------------------------------------------------------------------------------

TEST(WorkspaceModeTest, ForceRecomputesAndStores) {
  const std::string dir = FreshDir();
  auto ws = OpenWorkspace(dir);
  ASSERT_NE(ws, nullptr);
  std::atomic<int> calls{0};
  // Returns how many times it ran, so every computation gives a new value.
  const auto counter = MakeStep("counter", 1, [&calls](int) { return calls.fetch_add(1) + 1; });
  absl::StatusOr<Stored<int>> a = ws->Call(counter, 0);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(**a, 1);
  absl::StatusOr<Stored<int>> forced = ws->Call(kForce, counter, 0);
  ASSERT_TRUE(forced.ok()) << forced.status();
  EXPECT_EQ(**forced, 2);
  EXPECT_EQ(forced->digest(), Hash(2));
  EXPECT_EQ(calls.load(), 2);
  // The forced result replaced the cached one, in memory...
  absl::StatusOr<Stored<int>> after = ws->Call(counter, 0);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(**after, 2);
  EXPECT_EQ(calls.load(), 2);
  const std::vector<Execution> execs = Executions(*ws);
  ASSERT_EQ(execs.size(), 3u);
  EXPECT_EQ(execs[1].status(), Execution::SUCCEEDED);
  EXPECT_FALSE(execs[1].cache_hit());
  ASSERT_EQ(execs[1].outputs_size(), 1);
  EXPECT_EQ(execs[1].outputs(0).digest(), Hash(2).ToHex());
  EXPECT_EQ(execs[2].status(), Execution::CACHED);
  EXPECT_EQ(execs[2].outputs(0).digest(), Hash(2).ToHex());
  ws.reset();
  // ...and on disk.
  ws = OpenWorkspace(dir);
  ASSERT_NE(ws, nullptr);
  absl::StatusOr<Stored<int>> reopened = ws->Call(counter, 0);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ(**reopened, 2);
  EXPECT_EQ(calls.load(), 2);
  // Force on a key that was never computed works like a miss.
  absl::StatusOr<Stored<int>> fresh = ws->Call(kForce, counter, 1);
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_EQ(**fresh, 3);
}

TEST(WorkspaceModeTest, ReadOnlyHitReturnsTheValueAndWritesNothing) {
  const std::string dir = FreshDir();
  std::atomic<int> calls{0};
  const auto square = MakeStep("square", 1, [&calls](int x) {
    calls.fetch_add(1);
    return int64_t{x} * x;
  });
  {
    auto ws = OpenWorkspace(dir);
    ASSERT_NE(ws, nullptr);
    ASSERT_TRUE(ws->Call(square, 9).ok());
  }
  auto ws = OpenWorkspace(dir);
  ASSERT_NE(ws, nullptr);
  const int64_t entries = StoreEntries(*ws);
  absl::StatusOr<Stored<int64_t>> hit = ws->Call(kReadOnly, square, 9);
  ASSERT_TRUE(hit.ok()) << hit.status();
  EXPECT_EQ(**hit, 81);
  EXPECT_EQ(hit->digest(), Hash(int64_t{81}));
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(StoreEntries(*ws), entries);
  // "write nothing (not even lineage)".
  EXPECT_TRUE(Executions(*ws).empty());
}

TEST(WorkspaceModeTest, ReadOnlyMissIsNotFoundAndWritesNothing) {
  const std::string dir = FreshDir();
  auto ws = OpenWorkspace(dir);
  ASSERT_NE(ws, nullptr);
  std::atomic<int> calls{0};
  const auto square = MakeStep("square", 1, [&calls](int x) {
    calls.fetch_add(1);
    return int64_t{x} * x;
  });
  ASSERT_TRUE(ws->Call(square, 2).ok());
  ASSERT_TRUE(ws->Flush().ok());
  const int64_t entries = StoreEntries(*ws);
  const size_t executions = Executions(*ws).size();
  const auto files = FilesUnder(WorkspaceLayout(dir).store());
  const auto records = FilesUnder(WorkspaceLayout(dir).action_cache());

  absl::StatusOr<Stored<int64_t>> miss = ws->Call(kReadOnly, square, 3);
  EXPECT_EQ(miss.status().code(), absl::StatusCode::kNotFound) << miss.status();
  EXPECT_NE(miss.status().message().find("square"), std::string::npos) << miss.status();
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(StoreEntries(*ws), entries);
  EXPECT_EQ(Executions(*ws).size(), executions);
  EXPECT_EQ(FilesUnder(WorkspaceLayout(dir).store()), files);
  EXPECT_EQ(FilesUnder(WorkspaceLayout(dir).action_cache()), records);
  EXPECT_EQ(ws->stats().failures, 0);

  // Still a miss afterwards: the read-only call cached nothing.
  absl::StatusOr<Stored<int64_t>> again = ws->Call(kReadOnly, square, 3);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kNotFound);
  // A normal call computes it.
  absl::StatusOr<Stored<int64_t>> normal = ws->Call(square, 3);
  ASSERT_TRUE(normal.ok()) << normal.status();
  EXPECT_EQ(**normal, 9);
  EXPECT_EQ(calls.load(), 2);
  absl::StatusOr<Stored<int64_t>> now = ws->Call(kReadOnly, square, 3);
  ASSERT_TRUE(now.ok()) << now.status();
  EXPECT_EQ(**now, 9);
}

TEST(WorkspaceModeTest, VerifyDeterministicStepSucceedsAndIsRecorded) {
  const std::string dir = FreshDir();
  auto ws = OpenWorkspace(dir);
  ASSERT_NE(ws, nullptr);
  std::atomic<int> calls{0};
  const auto step = MakeStep("det", 1, [&calls](const std::string& s) {
    calls.fetch_add(1);
    return std::make_tuple(s + s, static_cast<int>(s.size()));
  });
  auto first = ws->Call(step, std::string("ab"));
  ASSERT_TRUE(first.ok()) << first.status();
  auto verified = ws->Call(kVerify, step, std::string("ab"));
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(calls.load(), 2);  // verify computes even though it is cached
  EXPECT_EQ(*std::get<0>(*verified), "abab");
  EXPECT_EQ(*std::get<1>(*verified), 2);
  EXPECT_EQ(std::get<0>(*verified).digest(), std::get<0>(*first).digest());
  EXPECT_EQ(std::get<1>(*verified).digest(), std::get<1>(*first).digest());
  const std::vector<Execution> execs = Executions(*ws);
  ASSERT_EQ(execs.size(), 2u);
  EXPECT_EQ(execs[1].status(), Execution::SUCCEEDED);
  EXPECT_FALSE(execs[1].cache_hit());
  EXPECT_FALSE(execs[1].nondeterministic());
  EXPECT_EQ(execs[1].expected_outputs_size(), 0);
  ASSERT_EQ(execs[1].outputs_size(), 2);
  EXPECT_EQ(execs[1].outputs(0).digest(), execs[0].outputs(0).digest());
  EXPECT_EQ(execs[1].outputs(1).digest(), execs[0].outputs(1).digest());
  EXPECT_EQ(ws->stats().failures, 0);

  // Verify also works against a result cached by an earlier run (from the disk).
  ws.reset();
  ws = OpenWorkspace(dir);
  ASSERT_NE(ws, nullptr);
  auto from_disk = ws->Call(kVerify, step, std::string("ab"));
  ASSERT_TRUE(from_disk.ok()) << from_disk.status();
  EXPECT_EQ(calls.load(), 3);
}

TEST(WorkspaceModeTest, VerifyOfAnUncachedCallComputesAndStores) {
  auto ws = Workspace::InMemory();
  ASSERT_TRUE(ws.ok()) << ws.status();
  int calls = 0;
  const auto step = MakeStep("det", 1, [&calls](int x) {
    ++calls;
    return x + 1;
  });
  absl::StatusOr<Stored<int>> v = (*ws)->Call(kVerify, step, 1);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(**v, 2);
  absl::StatusOr<Stored<int>> hit = (*ws)->Call(kReadOnly, step, 1);
  ASSERT_TRUE(hit.ok()) << hit.status();
  EXPECT_EQ(calls, 1);
}

TEST(WorkspaceModeTest, VerifyNondeterministicStepIsAbortedAndRecorded) {
  const std::string dir = FreshDir();
  std::atomic<int> calls{0};
  const auto counter = MakeStep("counter", 1, [&calls](const std::string&) {
    return std::make_tuple(std::string("fixed"), calls.fetch_add(1) + 1);
  });
  int64_t run = 0;
  int64_t failed_execution = 0;
  {
    auto ws = OpenWorkspace(dir);
    ASSERT_NE(ws, nullptr);
    run = ws->run_id();
    auto first = ws->Call(counter, std::string("in"));
    ASSERT_TRUE(first.ok()) << first.status();
    EXPECT_EQ(*std::get<1>(*first), 1);

    auto verified = ws->Call(kVerify, counter, std::string("in"));
    EXPECT_EQ(verified.status().code(), absl::StatusCode::kAborted) << verified.status();
    EXPECT_NE(verified.status().message().find("counter"), std::string::npos)
        << verified.status();
    EXPECT_EQ(calls.load(), 2);

    const std::vector<Execution> execs = Executions(*ws);
    ASSERT_EQ(execs.size(), 2u);
    const Execution& e = execs[1];
    failed_execution = e.id();
    EXPECT_EQ(e.status(), Execution::FAILED);
    EXPECT_TRUE(e.nondeterministic());
    EXPECT_FALSE(e.error_message().empty());
    // expected_outputs: what the cache holds; outputs: what the rerun produced.
    ASSERT_EQ(e.expected_outputs_size(), 2);
    EXPECT_EQ(e.expected_outputs(0).digest(), Hash(std::string("fixed")).ToHex());
    EXPECT_EQ(e.expected_outputs(1).digest(), Hash(1).ToHex());
    EXPECT_EQ(e.expected_outputs(0).digest(), execs[0].outputs(0).digest());
    EXPECT_EQ(e.expected_outputs(1).digest(), execs[0].outputs(1).digest());
    ASSERT_EQ(e.outputs_size(), 2);
    EXPECT_EQ(e.outputs(1).digest(), Hash(2).ToHex());

    // The cached value is unchanged.
    auto after = ws->Call(counter, std::string("in"));
    ASSERT_TRUE(after.ok()) << after.status();
    EXPECT_EQ(*std::get<1>(*after), 1);
    EXPECT_EQ(calls.load(), 2);
    EXPECT_EQ(ws->stats().failures, 1);
  }
  {
    auto ws = OpenWorkspace(dir);
    ASSERT_NE(ws, nullptr);
    auto after = ws->Call(counter, std::string("in"));
    ASSERT_TRUE(after.ok()) << after.status();
    EXPECT_EQ(*std::get<1>(*after), 1);
    EXPECT_EQ(calls.load(), 2);
  }
  // The record survives, and the run that found the nondeterminism ended FAILED.
  absl::StatusOr<std::unique_ptr<SqliteLineageStore>> db =
      SqliteLineageStore::Open(WorkspaceLayout(dir).lineage_db());
  ASSERT_TRUE(db.ok()) << db.status();
  absl::StatusOr<Execution> e = (*db)->GetExecution(failed_execution);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_TRUE(e->nondeterministic());
  EXPECT_EQ(e->expected_outputs_size(), 2);
  absl::StatusOr<mlops::Run> r = (*db)->GetRun(run);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status(), mlops::Run::FAILED);
}

TEST(WorkspaceModeTest, DefaultModeApplies) {
  const std::string dir = FreshDir();
  std::atomic<int> calls{0};
  const auto counter = MakeStep("counter", 1, [&calls](int) { return calls.fetch_add(1) + 1; });
  {
    WorkspaceOptions options;
    options.default_mode = CacheMode::kReadOnly;
    auto ws = OpenWorkspace(dir, options);
    ASSERT_NE(ws, nullptr);
    EXPECT_EQ(ws->default_mode(), CacheMode::kReadOnly);
    absl::StatusOr<Stored<int>> miss = ws->Call(counter, 0);
    EXPECT_EQ(miss.status().code(), absl::StatusCode::kNotFound) << miss.status();
    EXPECT_EQ(calls.load(), 0);
    // Explicit options override the default.
    absl::StatusOr<Stored<int>> normal = ws->Call(kNormal, counter, 0);
    ASSERT_TRUE(normal.ok()) << normal.status();
    EXPECT_EQ(**normal, 1);
    absl::StatusOr<Stored<int>> hit = ws->Call(counter, 0);
    ASSERT_TRUE(hit.ok()) << hit.status();
    EXPECT_EQ(**hit, 1);
  }
  {
    WorkspaceOptions options;
    options.default_mode = CacheMode::kForce;
    auto ws = OpenWorkspace(dir, options);
    ASSERT_NE(ws, nullptr);
    absl::StatusOr<Stored<int>> a = ws->Call(counter, 0);
    ASSERT_TRUE(a.ok()) << a.status();
    EXPECT_EQ(**a, 2);
    absl::StatusOr<Stored<int>> b = ws->Call(counter, 0);
    ASSERT_TRUE(b.ok()) << b.status();
    EXPECT_EQ(**b, 3);
    absl::StatusOr<Stored<int>> c = ws->Call(kNormal, counter, 0);
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(**c, 3);
    EXPECT_EQ(calls.load(), 3);
  }
  {
    WorkspaceOptions options;
    options.default_mode = CacheMode::kVerify;
    auto ws = OpenWorkspace(dir, options);
    ASSERT_NE(ws, nullptr);
    absl::StatusOr<Stored<int>> v = ws->Call(counter, 0);
    EXPECT_EQ(v.status().code(), absl::StatusCode::kAborted) << v.status();
    EXPECT_EQ(calls.load(), 4);
  }
  {
    auto ws = OpenWorkspace(dir);
    ASSERT_NE(ws, nullptr);
    EXPECT_EQ(ws->default_mode(), CacheMode::kNormal);
    absl::StatusOr<Stored<int>> v = ws->Call(counter, 0);
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_EQ(**v, 3);
  }
}

}  // namespace
}  // namespace mlops
