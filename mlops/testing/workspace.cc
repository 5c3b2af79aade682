#include "mlops/testing/workspace.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "mlops/core/workspace_layout.h"

namespace mlops {
namespace test {

std::unique_ptr<Workspace> OpenWorkspace(const std::string& dir, WorkspaceOptions options) {
  absl::StatusOr<std::unique_ptr<Workspace>> ws = Workspace::Open(dir, std::move(options));
  EXPECT_TRUE(ws.ok()) << ws.status();
  return ws.ok() ? *std::move(ws) : nullptr;
}

std::unique_ptr<Workspace> InMemoryWorkspace(WorkspaceOptions options) {
  absl::StatusOr<std::unique_ptr<Workspace>> ws = Workspace::InMemory(std::move(options));
  EXPECT_TRUE(ws.ok()) << ws.status();
  return ws.ok() ? *std::move(ws) : nullptr;
}

std::vector<Execution> Executions(Workspace& ws) {
  absl::StatusOr<std::vector<Execution>> execs = ws.lineage().ExecutionsOfRun(ws.run_id());
  EXPECT_TRUE(execs.ok()) << execs.status();
  return execs.ok() ? *execs : std::vector<Execution>{};
}

std::string ValuePath(const std::string& workspace_dir, const Digest& d) {
  const std::string hex = d.ToHex();
  return absl::StrCat(WorkspaceLayout(workspace_dir).store(), "/cas/", hex.substr(0, 2), "/", hex);
}

}  // namespace test
}  // namespace mlops
