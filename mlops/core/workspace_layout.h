// mlops/core/workspace_layout.h — the names of a workspace's files, in one place.
//
// A workspace directory holds:
//   store/          the content store: the values (mlops/store/disk_store.h)
//   ac/             the action cache (mlops/store/action_cache.h); its records are rows of
//   ac/records.db     one SQLite database
//   lineage.db      the lineage database: runs and executions (mlops/lineage)
//   stat_cache      file digests by path and stat fields, so unchanged inputs are not read
//                   again (mlops/hash/file_digest.h); only saves work, rebuilt if damaged
//   scratch/        steps' scratch directories while they run (Context::scratch_dir)
//   pins            digests `mlops gc` never evicts, one per line (tools/cli_workspace.h)
// The Workspace, the `mlops` command line and the tests name these paths only through
// WorkspaceLayout.
//
// Example:
//   const mlops::WorkspaceLayout layout(".mlops");
//   auto lineage = mlops::SqliteLineageStore::Open(layout.lineage_db());
//
// Thread safety: immutable after construction.
#ifndef MLOPS_CORE_WORKSPACE_LAYOUT_H_
#define MLOPS_CORE_WORKSPACE_LAYOUT_H_

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "mlops/store/action_cache.h"

namespace mlops {

class WorkspaceLayout {
 public:
  // The layout of the workspace in directory `dir` (which need not exist).
  explicit WorkspaceLayout(std::string dir) : dir_(std::move(dir)) {}

  const std::string& dir() const { return dir_; }
  std::string store() const { return dir_ + "/store"; }
  std::string action_cache() const { return dir_ + "/ac"; }
  std::string records_db() const {
    return absl::StrCat(action_cache(), "/", ActionCache::kDatabaseName);
  }
  std::string lineage_db() const { return dir_ + "/lineage.db"; }
  std::string stat_cache() const { return dir_ + "/stat_cache"; }
  std::string scratch() const { return dir_ + "/scratch"; }
  std::string pins() const { return dir_ + "/pins"; }

 private:
  std::string dir_;
};

}  // namespace mlops

#endif  // MLOPS_CORE_WORKSPACE_LAYOUT_H_
