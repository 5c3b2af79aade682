// ActionRequest::load_outputs = false: a hit returns digests and sizes without reading any
// value from the content store, and a missing value is still a miss (never a wrong hit).
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "mlops/codec/codec.h"
#include "mlops/core/workspace.h"
#include "mlops/lineage/lineage.pb.h"
#include "mlops/testing/files.h"
#include "mlops/testing/workspace.h"

namespace mlops {
namespace {

using ::mlops::test::FreshDir;
using ::mlops::test::OpenWorkspace;
using ::mlops::test::Spit;
using ::mlops::test::ValuePath;

ActionRequest Request(bool load_outputs) {
  ActionRequest req;
  req.step_name = "double";
  req.step_version = 1;
  ActionInput in;
  in.name = "arg0";
  in.signature = CodecSignature<int>();
  in.type_name = CodecName<int>();
  in.digest = Hash(21);
  req.inputs.push_back(in);
  req.output_names = {"output"};
  req.output_types = {CodecName<int>()};
  req.output_signature = CodecSignature<std::tuple<int>>();
  req.load_outputs = load_outputs;
  return req;
}

// A runner that counts its calls and produces Encode(42).
ActionRunner Runner(int* calls) {
  return [calls](Context&) -> absl::StatusOr<std::vector<std::string>> {
    ++*calls;
    return std::vector<std::string>{Encode(42)};
  };
}

// Runs the action (loading its outputs) in a workspace on `dir` that is closed again, as an
// earlier process would, and sets `*value` to its output's digest.
void ComputeInAnEarlierRun(const std::string& dir, int* calls, Digest* value) {
  auto ws = OpenWorkspace(dir);
  ASSERT_NE(ws, nullptr);
  absl::StatusOr<ActionOutcome> first = ws->Execute(Request(true), Runner(calls));
  ASSERT_TRUE(first.ok()) << first.status();
  *value = first->digests[0];
}

TEST(WorkspaceDigestOnlyTest, HitFromDiskReturnsDigestsWithoutBytes) {
  const std::string dir = FreshDir();
  int calls = 0;
  Digest value;
  {
    auto ws = OpenWorkspace(dir);
    ASSERT_NE(ws, nullptr);
    absl::StatusOr<ActionOutcome> first = ws->Execute(Request(false), Runner(&calls));
    ASSERT_TRUE(first.ok()) << first.status();
    EXPECT_FALSE(first->cache_hit);
    ASSERT_EQ(first->bytes.size(), 1u);  // a computed result always has its bytes
    value = first->digests[0];
    EXPECT_EQ(value, Hash(42));
  }
  auto ws = OpenWorkspace(dir);  // a new process: nothing in the memory tier
  ASSERT_NE(ws, nullptr);
  absl::StatusOr<ActionOutcome> hit = ws->Execute(Request(false), Runner(&calls));
  ASSERT_TRUE(hit.ok()) << hit.status();
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(hit->cache_hit);
  ASSERT_EQ(hit->digests.size(), 1u);
  EXPECT_EQ(hit->digests[0], value);
  ASSERT_EQ(hit->sizes.size(), 1u);
  EXPECT_EQ(hit->sizes[0], static_cast<int64_t>(Encode(42).size()));
  EXPECT_TRUE(hit->bytes.empty());
  // The hit is recorded like any other.
  absl::StatusOr<Execution> exec = ws->lineage().GetExecution(hit->execution_id);
  ASSERT_TRUE(exec.ok()) << exec.status();
  EXPECT_EQ(exec->status(), Execution::CACHED);
  ASSERT_EQ(exec->outputs_size(), 1);
  EXPECT_EQ(exec->outputs(0).digest(), value.ToHex());
}

TEST(WorkspaceDigestOnlyTest, HitFromMemoryTierLeavesBytesEmpty) {
  auto ws = OpenWorkspace(FreshDir());
  ASSERT_NE(ws, nullptr);
  int calls = 0;
  ASSERT_TRUE(ws->Execute(Request(true), Runner(&calls)).ok());
  absl::StatusOr<ActionOutcome> digests_only = ws->Execute(Request(false), Runner(&calls));
  ASSERT_TRUE(digests_only.ok()) << digests_only.status();
  EXPECT_TRUE(digests_only->cache_hit);
  EXPECT_TRUE(digests_only->bytes.empty());
  absl::StatusOr<ActionOutcome> loaded = ws->Execute(Request(true), Runner(&calls));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_EQ(loaded->bytes.size(), 1u);
  EXPECT_EQ(loaded->bytes[0]->view(), Encode(42));
  EXPECT_EQ(calls, 1);
}

// The value is not read: a corrupt value still gives a digest-only hit (its digest is what
// the action cache recorded), and the next loading call finds the corruption and recomputes.
TEST(WorkspaceDigestOnlyTest, DoesNotReadTheValue) {
  const std::string dir = FreshDir();
  int calls = 0;
  Digest value;
  ASSERT_NO_FATAL_FAILURE(ComputeInAnEarlierRun(dir, &calls, &value));
  const std::string blob = ValuePath(dir, value);
  ASSERT_TRUE(std::filesystem::exists(blob)) << blob;
  std::filesystem::permissions(blob, std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::add);
  Spit(blob, "not the value");
  auto ws = OpenWorkspace(dir);
  ASSERT_NE(ws, nullptr);
  absl::StatusOr<ActionOutcome> hit = ws->Execute(Request(false), Runner(&calls));
  ASSERT_TRUE(hit.ok()) << hit.status();
  EXPECT_TRUE(hit->cache_hit);
  EXPECT_EQ(calls, 1);
  absl::StatusOr<ActionOutcome> loaded = ws->Execute(Request(true), Runner(&calls));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_FALSE(loaded->cache_hit);
  EXPECT_EQ(calls, 2);
  ASSERT_EQ(loaded->bytes.size(), 1u);
  EXPECT_EQ(loaded->bytes[0]->view(), Encode(42));
}

// A missing value is a miss even when its bytes are not wanted.
TEST(WorkspaceDigestOnlyTest, MissingValueIsAMiss) {
  const std::string dir = FreshDir();
  int calls = 0;
  Digest value;
  ASSERT_NO_FATAL_FAILURE(ComputeInAnEarlierRun(dir, &calls, &value));
  ASSERT_TRUE(std::filesystem::remove(ValuePath(dir, value)));
  auto ws = OpenWorkspace(dir);
  ASSERT_NE(ws, nullptr);
  absl::StatusOr<ActionOutcome> again = ws->Execute(Request(false), Runner(&calls));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->cache_hit);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(again->digests[0], value);
  ASSERT_TRUE(ws->Flush().ok());  // the value is written behind
  EXPECT_TRUE(std::filesystem::exists(ValuePath(dir, value)));
}

}  // namespace
}  // namespace mlops
