// WorkspaceOptions::write_behind on an on-disk workspace: a miss returns before its result
// is on disk, yet the same workspace answers the next call for it; Flush() puts everything
// on disk for other workspaces (and processes); without write-behind (turned off, or a
// durable workspace, or a result larger than the budget) the value is on disk when the call
// returns; a failed background write is reported by Flush() (or the destructor) and is a
// recomputation next time, never a wrong value.
#include <filesystem>
#include <memory>
#include <ostream>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "mlops/codec/codec.h"
#include "mlops/core/step.h"
#include "mlops/core/stored.h"
#include "mlops/core/workspace.h"
#include "mlops/store/disk_store.h"
#include "mlops/testing/files.h"
#include "mlops/testing/workspace.h"

namespace mlops {
namespace {

namespace fs = std::filesystem;

using ::mlops::test::Exists;
using ::mlops::test::FreshDir;
using ::mlops::test::OpenWorkspace;
using ::mlops::test::Slurp;
using ::mlops::test::Spit;
using ::mlops::test::ValuePath;

// The value of the test step for `n`: `size` bytes that differ for every n.
std::string Text(int n, int64_t size) {
  std::string s = absl::StrCat("text ", n, ":");
  while (static_cast<int64_t>(s.size()) < size) absl::StrAppend(&s, " ", n * 31 + s.size());
  s.resize(static_cast<size_t>(size));
  return s;
}

// The bytes stored for the value `v` in `dir`, or "(absent)".
std::string StoredBytes(const std::string& dir, const std::string& v) {
  const std::string path = ValuePath(dir, Hash(v));
  if (!Exists(path)) return "(absent)";
  return Slurp(path);
}

// Runs of the test step (reset by each test).
int g_runs = 0;

// The test step: returns Text(n, size).
const auto kText = MakeStep("write_behind.text", 1, [](int n, int64_t size) {
  ++g_runs;
  return Text(n, size);
});

class WorkspaceWriteBehindTest : public ::testing::Test {
 protected:
  void SetUp() override { g_runs = 0; }
  const decltype(kText)& step_ = kText;
  const int& runs_ = g_runs;
};

// With no memory tier, a repeated call is answered from the queue (or from the disk once the
// writer got there) — never computed again. Flush puts every value on disk, where a second
// workspace finds them.
TEST_F(WorkspaceWriteBehindTest, RepeatedCallIsAHitBeforeAndAfterTheWrite) {
  const std::string dir = FreshDir();
  WorkspaceOptions options;
  options.memory_cache_bytes = 0;
  auto ws = OpenWorkspace(dir, options);
  ASSERT_NE(ws, nullptr);
  // Many results, so that some are surely still queued when they are asked for again.
  constexpr int kCalls = 100;
  for (int i = 0; i < kCalls; ++i) {
    absl::StatusOr<Stored<std::string>> r = ws->Call(step_, i, 200);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_FALSE(r->cached());
    EXPECT_EQ(**r, Text(i, 200));
  }
  for (int i = 0; i < kCalls; ++i) {
    absl::StatusOr<Stored<std::string>> r = ws->Call(step_, i, 200);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_TRUE(r->cached()) << i;
    EXPECT_EQ(**r, Text(i, 200));
    EXPECT_EQ(r->digest(), Hash(Text(i, 200)));
  }
  EXPECT_EQ(runs_, kCalls);
  EXPECT_EQ(ws->stats().hits, kCalls);

  ASSERT_TRUE(ws->Flush().ok());
  for (int i = 0; i < kCalls; ++i) {
    EXPECT_EQ(StoredBytes(dir, Text(i, 200)), Encode(Text(i, 200))) << i;
  }
  // Another workspace on the directory (the first still open): hits, the same bytes.
  auto other = OpenWorkspace(dir, options);
  ASSERT_NE(other, nullptr);
  for (int i = 0; i < kCalls; ++i) {
    absl::StatusOr<Stored<std::string>> r = other->Call(step_, i, 200);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_TRUE(r->cached()) << i;
    EXPECT_EQ(**r, Text(i, 200));
  }
  EXPECT_EQ(runs_, kCalls);
}

// Destroying the workspace (without Flush) writes everything too.
TEST_F(WorkspaceWriteBehindTest, DestructorWritesEveryResult) {
  const std::string dir = FreshDir();
  constexpr int kCalls = 100;
  {
    auto ws = OpenWorkspace(dir);
    ASSERT_NE(ws, nullptr);
    for (int i = 0; i < kCalls; ++i) ASSERT_TRUE(ws->Call(step_, i, 300).ok());
  }
  for (int i = 0; i < kCalls; ++i) {
    EXPECT_EQ(StoredBytes(dir, Text(i, 300)), Encode(Text(i, 300))) << i;
  }
  auto ws = OpenWorkspace(dir);
  ASSERT_NE(ws, nullptr);
  for (int i = 0; i < kCalls; ++i) {
    absl::StatusOr<Stored<std::string>> r = ws->Call(step_, i, 300);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_TRUE(r->cached()) << i;
  }
  EXPECT_EQ(runs_, kCalls);
}

struct NoWriteBehindCase {
  const char* name;
  WorkspaceOptions options;
};
void PrintTo(const NoWriteBehindCase& c, std::ostream* os) { *os << c.name; }

class WorkspaceWithoutWriteBehindTest
    : public WorkspaceWriteBehindTest,
      public ::testing::WithParamInterface<NoWriteBehindCase> {};

// Turned off, or with a durable workspace: the value and its record are on disk when the
// call returns (a second workspace, opened without any Flush, gets a hit).
TEST_P(WorkspaceWithoutWriteBehindTest, ResultIsOnDiskWhenTheCallReturns) {
  const std::string dir = FreshDir();
  auto ws = OpenWorkspace(dir, GetParam().options);
  ASSERT_NE(ws, nullptr);
  absl::StatusOr<Stored<std::string>> r = ws->Call(step_, 7, 100);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(StoredBytes(dir, Text(7, 100)), Encode(Text(7, 100)));
  auto other = OpenWorkspace(dir, GetParam().options);
  ASSERT_NE(other, nullptr);
  absl::StatusOr<Stored<std::string>> again = other->Call(step_, 7, 100);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->cached());
  EXPECT_EQ(**again, Text(7, 100));
  EXPECT_EQ(runs_, 1);
}

WorkspaceOptions WriteBehindOff() {
  WorkspaceOptions o;
  o.write_behind = false;
  return o;
}
WorkspaceOptions Durable() {
  WorkspaceOptions o;
  o.durability = Durability::kSyncFile;
  return o;
}

INSTANTIATE_TEST_SUITE_P(Cases, WorkspaceWithoutWriteBehindTest,
                         ::testing::Values(NoWriteBehindCase{"off", WriteBehindOff()},
                                           NoWriteBehindCase{"durable", Durable()}),
                         [](const ::testing::TestParamInfo<NoWriteBehindCase>& info) {
                           return std::string(info.param.name);
                         });

// A result larger than the whole write-behind budget is written before the call returns;
// smaller ones still go behind.
TEST_F(WorkspaceWriteBehindTest, ResultLargerThanTheBudgetIsOnDiskWhenTheCallReturns) {
  const std::string dir = FreshDir();
  WorkspaceOptions options;
  options.write_behind_bytes = 4096;
  auto ws = OpenWorkspace(dir, options);
  ASSERT_NE(ws, nullptr);
  absl::StatusOr<Stored<std::string>> big = ws->Call(step_, 1, 20000);
  ASSERT_TRUE(big.ok()) << big.status();
  EXPECT_EQ(StoredBytes(dir, Text(1, 20000)), Encode(Text(1, 20000)));
  auto other = OpenWorkspace(dir, options);
  ASSERT_NE(other, nullptr);
  absl::StatusOr<Stored<std::string>> again = other->Call(step_, 1, 20000);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->cached());
  EXPECT_EQ(**again, Text(1, 20000));
  // Small ones, many more than fit in 4 KiB at once: all right, all on disk after Flush.
  for (int i = 0; i < 50; ++i) {
    absl::StatusOr<Stored<std::string>> r = ws->Call(step_, 100 + i, 1000);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(**r, Text(100 + i, 1000));
  }
  ASSERT_TRUE(ws->Flush().ok());
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(StoredBytes(dir, Text(100 + i, 1000)), Encode(Text(100 + i, 1000))) << i;
  }
  EXPECT_EQ(runs_, 51);
}

// The size of what kSized returns (not part of its key: tests change it to make a step
// return something new for the same inputs).
int64_t g_size = 0;
const auto kSized = MakeStep("write_behind.sized", 1, [](int n) { return Text(n, g_size); });

// Regression: a forced recompute whose result is larger than the budget was written at once,
// before an older result for the same key that was still queued; the writer then wrote the
// older one over it, and the workspace (and, after Flush, every later one) returned the old
// value.
TEST_F(WorkspaceWriteBehindTest, ForcedResultLargerThanTheBudgetIsNotReplacedByAnOlderOne) {
  const std::string dir = FreshDir();
  WorkspaceOptions options;
  options.memory_cache_bytes = 0;  // every hit from the queue or the disk
  options.write_behind_bytes = 4096;
  auto ws = OpenWorkspace(dir, options);
  ASSERT_NE(ws, nullptr);
  g_size = 10;
  ASSERT_TRUE(ws->Call(kSized, 1).ok());  // queued
  g_size = 10000;
  CallOptions force;
  force.mode = CacheMode::kForce;
  absl::StatusOr<Stored<std::string>> forced = ws->Call(force, kSized, 1);
  ASSERT_TRUE(forced.ok()) << forced.status();
  EXPECT_EQ((*forced)->size(), 10000u);
  absl::StatusOr<Stored<std::string>> again = ws->Call(kSized, 1);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->cached());
  EXPECT_EQ((*again)->size(), 10000u) << "the older, queued result replaced the forced one";
  ASSERT_TRUE(ws->Flush().ok());
  auto other = OpenWorkspace(dir, options);
  ASSERT_NE(other, nullptr);
  absl::StatusOr<Stored<std::string>> later = other->Call(kSized, 1);
  ASSERT_TRUE(later.ok()) << later.status();
  EXPECT_TRUE(later->cached());
  EXPECT_EQ((*later)->size(), 10000u) << "on disk, the older result replaced the forced one";
}

// Makes creating temporary files in the content store fail (ENOTDIR: works as root too),
// and undoes it.
void BreakStoreTmp(const std::string& dir) {
  fs::remove_all(dir + "/store/tmp");
  Spit(dir + "/store/tmp", "not a directory");
}
void RepairStoreTmp(const std::string& dir) {
  fs::remove(dir + "/store/tmp");
  fs::create_directory(dir + "/store/tmp");
}

// Opens a workspace on `dir`, stores Text(1, 100) in it, breaks the store's temporary files
// and calls for Text(2, 100): the call returns the value (computed), and its write behind
// is bound to fail.
void CallWhoseWriteFails(const std::string& dir, std::unique_ptr<Workspace>* ws) {
  *ws = OpenWorkspace(dir);
  ASSERT_NE(*ws, nullptr);
  ASSERT_TRUE((*ws)->Call(kText, 1, 100).ok());
  ASSERT_TRUE((*ws)->Flush().ok());
  BreakStoreTmp(dir);
  absl::StatusOr<Stored<std::string>> r = (*ws)->Call(kText, 2, 100);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->cached());
  EXPECT_EQ(**r, Text(2, 100));
}

// Calls for Text(n, size), whose write failed earlier, in `ws`: computed again, not a hit.
void ExpectComputedAgain(Workspace& ws, int n, int64_t size) {
  absl::StatusOr<Stored<std::string>> r = ws.Call(kText, n, size);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->cached()) << "a hit for a result whose write failed";
  EXPECT_EQ(**r, Text(n, size));
}

// A background write fails: the call already returned the right value; Flush() reports the
// error (naming the path) once; nothing is recorded, so the next workspace recomputes.
TEST_F(WorkspaceWriteBehindTest, FailedWriteIsReportedByFlushAndRecomputedNextTime) {
  const std::string dir = FreshDir();
  {
    std::unique_ptr<Workspace> ws;
    ASSERT_NO_FATAL_FAILURE(CallWhoseWriteFails(dir, &ws));
    const absl::Status flushed = ws->Flush();
    EXPECT_FALSE(flushed.ok());
    EXPECT_NE(flushed.message().find(dir + "/store/tmp"), absl::string_view::npos) << flushed;
    EXPECT_TRUE(ws->Flush().ok()) << "the same failure was reported twice";
    RepairStoreTmp(dir);
    EXPECT_EQ(StoredBytes(dir, Text(2, 100)), "(absent)");
  }
  EXPECT_EQ(runs_, 2);
  auto ws = OpenWorkspace(dir);
  ASSERT_NE(ws, nullptr);
  ASSERT_NO_FATAL_FAILURE(ExpectComputedAgain(*ws, 2, 100));
  EXPECT_EQ(runs_, 3);
  absl::StatusOr<Stored<std::string>> one = ws->Call(step_, 1, 100);
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_TRUE(one->cached());
  EXPECT_EQ(**one, Text(1, 100));
  EXPECT_EQ(runs_, 3);
  ASSERT_TRUE(ws->Flush().ok());
  EXPECT_EQ(StoredBytes(dir, Text(2, 100)), Encode(Text(2, 100)));
}

// Nobody calls Flush: the destructor says on stderr that a result could not be stored.
TEST_F(WorkspaceWriteBehindTest, FailedWriteUnflushedIsReportedOnStderrAtDestruction) {
  const std::string dir = FreshDir();
  std::unique_ptr<Workspace> ws;
  ASSERT_NO_FATAL_FAILURE(CallWhoseWriteFails(dir, &ws));
  ::testing::internal::CaptureStderr();
  ws.reset();
  const std::string err = ::testing::internal::GetCapturedStderr();
  RepairStoreTmp(dir);
  EXPECT_NE(err.find("could not be stored in " + dir), std::string::npos) << err;
  EXPECT_NE(err.find(dir + "/store/tmp"), std::string::npos) << err;
  // And it is computed again next time.
  ws = OpenWorkspace(dir);
  ASSERT_NE(ws, nullptr);
  ASSERT_NO_FATAL_FAILURE(ExpectComputedAgain(*ws, 2, 100));
}

// A result too large to go behind is stored by the call itself: its failure is the call's.
TEST_F(WorkspaceWriteBehindTest, FailedWriteOfAResultLargerThanTheBudgetFailsTheCall) {
  const std::string dir = FreshDir();
  WorkspaceOptions options;
  options.write_behind_bytes = 4096;
  auto ws = OpenWorkspace(dir, options);
  ASSERT_NE(ws, nullptr);
  BreakStoreTmp(dir);
  absl::StatusOr<Stored<std::string>> r = ws->Call(step_, 3, 20000);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(dir + "/store/tmp"), absl::string_view::npos) << r.status();
  EXPECT_TRUE(ws->Flush().ok());
  RepairStoreTmp(dir);
  ASSERT_NO_FATAL_FAILURE(ExpectComputedAgain(*ws, 3, 20000));
}

}  // namespace
}  // namespace mlops
