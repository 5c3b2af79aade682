// The environment recorded in every Run: compiler, library versions, OS, CPU and source
// revision.
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "mlops/core/environment.h"
#include "mlops/core/workspace.h"
#include "mlops/core/workspace_layout.h"
#include "mlops/lineage/lineage.pb.h"
#include "mlops/lineage/sqlite_lineage_store.h"
#include "mlops/testing/files.h"

namespace mlops {
namespace {

using ::mlops::test::FreshDir;

void ExpectComplete(const Environment& env) {
  EXPECT_FALSE(env.compiler().empty()) << env.DebugString();
  EXPECT_FALSE(env.compiler_flags().empty()) << env.DebugString();
  EXPECT_FALSE(env.os().empty()) << env.DebugString();
  EXPECT_FALSE(env.cpu().empty()) << env.DebugString();
  for (const char* lib : {"protobuf", "sqlite", "xxhash", "fmt", "abseil"}) {
    auto it = env.library_versions().find(lib);
    ASSERT_NE(it, env.library_versions().end()) << lib << "\n" << env.DebugString();
    EXPECT_FALSE(it->second.empty()) << lib;
    EXPECT_NE(it->second.find_first_of("0123456789"), std::string::npos) << lib << ": "
                                                                         << it->second;
  }
}

TEST(EnvironmentTest, CaptureEnvironmentIsComplete) {
  ::unsetenv("MLOPS_SOURCE_REVISION");
  const Environment env = CaptureEnvironment();
  ExpectComplete(env);
  EXPECT_NE(env.os().find("Linux"), std::string::npos) << env.os();
  EXPECT_NE(env.cpu().find("cores"), std::string::npos) << env.cpu();
  // Under Bazel the test runs outside any git checkout (or inside one): either way the
  // revision, when set, looks like a commit.
  if (!env.source_revision().empty()) {
    EXPECT_GE(env.source_revision().size(), 7u) << env.source_revision();
  }
}

TEST(EnvironmentTest, ProcessFacts) {
  const std::vector<std::string> cmd = CommandLine();
  ASSERT_FALSE(cmd.empty());
  EXPECT_NE(cmd[0].find("environment_test"), std::string::npos) << cmd[0];
  EXPECT_FALSE(HostName().empty());
  EXPECT_FALSE(UserName().empty());
}

TEST(EnvironmentTest, RunRecordsTheEnvironmentAndSourceRevision) {
  const std::string dir = FreshDir();
  ASSERT_EQ(::setenv("MLOPS_SOURCE_REVISION", "0123abcd-test-revision", 1), 0);
  int64_t id = 0;
  {
    absl::StatusOr<std::unique_ptr<Workspace>> ws = Workspace::Open(dir);
    ASSERT_TRUE(ws.ok()) << ws.status();
    id = (*ws)->run_id();
    absl::StatusOr<mlops::Run> run = (*ws)->lineage().GetRun(id);
    ASSERT_TRUE(run.ok()) << run.status();
    ExpectComplete(run->environment());
    EXPECT_EQ(run->environment().source_revision(), "0123abcd-test-revision");
  }
  ::unsetenv("MLOPS_SOURCE_REVISION");
  // Still there after the run ended, read back from the database.
  absl::StatusOr<std::unique_ptr<SqliteLineageStore>> db =
      SqliteLineageStore::Open(WorkspaceLayout(dir).lineage_db());
  ASSERT_TRUE(db.ok()) << db.status();
  absl::StatusOr<mlops::Run> run = (*db)->GetRun(id);
  ASSERT_TRUE(run.ok()) << run.status();
  ExpectComplete(run->environment());
  EXPECT_EQ(run->environment().source_revision(), "0123abcd-test-revision");
  EXPECT_EQ(run->environment().compiler(), CaptureEnvironment().compiler());
  EXPECT_EQ(run->environment().library_versions().at("sqlite"),
            CaptureEnvironment().library_versions().at("sqlite"));

  // An in-memory workspace records it too; an empty variable counts as unset.
  ASSERT_EQ(::setenv("MLOPS_SOURCE_REVISION", "", 1), 0);
  absl::StatusOr<std::unique_ptr<Workspace>> mem = Workspace::InMemory();
  ASSERT_TRUE(mem.ok()) << mem.status();
  absl::StatusOr<mlops::Run> mem_run = (*mem)->lineage().GetRun((*mem)->run_id());
  ASSERT_TRUE(mem_run.ok()) << mem_run.status();
  ExpectComplete(mem_run->environment());
  EXPECT_NE(mem_run->environment().source_revision(), "0123abcd-test-revision");
  ::unsetenv("MLOPS_SOURCE_REVISION");
}

}  // namespace
}  // namespace mlops
