// Workspace::PathOf: the file behind a stored value, to hand to another tool.
#include <stdlib.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "mlops/codec/codec.h"
#include "mlops/core/step.h"
#include "mlops/core/stored.h"
#include "mlops/core/workspace.h"
#include "mlops/testing/files.h"
#include "mlops/testing/workspace.h"

namespace mlops {
namespace {

using ::mlops::test::FreshDir;
using ::mlops::test::InMemoryWorkspace;
using ::mlops::test::OpenWorkspace;
using ::mlops::test::Slurp;

const auto kModel = MakeStep("model", 1, [](int n) { return std::string(n, 'w'); });

TEST(WorkspacePathOfTest, PathOfAStoredValueHoldsItsEncoding) {
  const std::string dir = FreshDir();
  auto ws = OpenWorkspace(dir);  // write-behind: the value may still be queued
  ASSERT_NE(ws, nullptr);
  absl::StatusOr<Stored<std::string>> model = ws->Call(kModel, 1000);
  ASSERT_TRUE(model.ok()) << model.status();
  absl::StatusOr<std::string> path = ws->PathOf(model->digest());
  ASSERT_TRUE(path.ok()) << path.status();
  EXPECT_EQ(path->rfind(dir, 0), 0u) << *path;
  EXPECT_EQ(Slurp(*path), Encode(**model));
  EXPECT_EQ(Digest::Of(Slurp(*path)), model->digest());
}

TEST(WorkspacePathOfTest, PathOfAnAbsentValueIsNotFound) {
  auto ws = OpenWorkspace(FreshDir());
  ASSERT_NE(ws, nullptr);
  absl::StatusOr<std::string> path = ws->PathOf(Digest::Of("never stored"));
  EXPECT_EQ(path.status().code(), absl::StatusCode::kNotFound) << path.status();
  EXPECT_NE(path.status().message().find(Digest::Of("never stored").ToHex()),
            std::string::npos);
}

TEST(WorkspacePathOfTest, PathOfInAnInMemoryWorkspaceIsNotFound) {
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  absl::StatusOr<Stored<std::string>> model = ws->Call(kModel, 10);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(ws->PathOf(model->digest()).status().code(), absl::StatusCode::kNotFound);
}

TEST(WorkspaceModeEnvironmentTest, CacheModeFromTheEnvironmentOverridesTheOption) {
  ASSERT_EQ(::setenv("MLOPS_CACHE_MODE", "verify", 1), 0);
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  EXPECT_EQ(ws->default_mode(), CacheMode::kVerify);
  ASSERT_EQ(::setenv("MLOPS_CACHE_MODE", "read-only", 1), 0);
  ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  EXPECT_EQ(ws->default_mode(), CacheMode::kReadOnly);
  EXPECT_EQ(ws->Call(kModel, 3).status().code(), absl::StatusCode::kNotFound);

  ASSERT_EQ(::setenv("MLOPS_CACHE_MODE", "sometimes", 1), 0);
  absl::StatusOr<std::unique_ptr<Workspace>> bad = Workspace::Open(FreshDir());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument) << bad.status();
  EXPECT_NE(bad.status().message().find("sometimes"), std::string::npos) << bad.status();
  ASSERT_EQ(::unsetenv("MLOPS_CACHE_MODE"), 0);
  ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  EXPECT_EQ(ws->default_mode(), CacheMode::kNormal);
}

}  // namespace
}  // namespace mlops
