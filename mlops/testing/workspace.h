// Workspaces for tests: opening one, listing what the current Run executed, and where a
// workspace on disk keeps a value.
//
// OpenWorkspace and InMemoryWorkspace fail the running test (a non-fatal gtest failure that
// shows the status) and return null when the workspace cannot be opened, so a test writes
//   auto ws = OpenWorkspace(dir);
//   ASSERT_NE(ws, nullptr);
// and a helper that is not a test body can give up by returning early. Executions likewise
// fails the test and returns an empty list when lineage cannot be read.
//
// Example:
//   auto ws = InMemoryWorkspace();
//   ASSERT_NE(ws, nullptr);
//   ASSERT_TRUE(ws->Call(kStep, 3).ok());
//   EXPECT_EQ(Executions(*ws).size(), 1u);
//
// Thread safety: as for the Workspace they are given (Workspace is safe to share).
#ifndef MLOPS_TESTING_WORKSPACE_H_
#define MLOPS_TESTING_WORKSPACE_H_

#include <memory>
#include <string>
#include <vector>

#include "mlops/core/workspace.h"
#include "mlops/hash/digest.h"
#include "mlops/lineage/lineage.pb.h"

namespace mlops {
namespace test {

// Workspace::Open(dir, options). On error: records a non-fatal test failure showing the
// status and returns null.
std::unique_ptr<Workspace> OpenWorkspace(const std::string& dir, WorkspaceOptions options = {});

// Workspace::InMemory(options). On error: records a non-fatal test failure showing the status
// and returns null.
std::unique_ptr<Workspace> InMemoryWorkspace(WorkspaceOptions options = {});

// The executions of `ws`'s current Run (LineageStore::ExecutionsOfRun(ws.run_id())), in the
// order that returns. On error: records a non-fatal test failure showing the status and
// returns an empty list.
std::vector<Execution> Executions(Workspace& ws);

// Where a workspace opened on `workspace_dir` keeps the value with digest `d`:
// <workspace_dir>/store/cas/<first 2 hex digits>/<32 hex digits>. The file need not exist.
std::string ValuePath(const std::string& workspace_dir, const Digest& d);

}  // namespace test
}  // namespace mlops

#endif  // MLOPS_TESTING_WORKSPACE_H_
