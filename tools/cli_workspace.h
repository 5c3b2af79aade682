// tools/cli_workspace.h — a workspace as the command line opens it: read-mostly, never
// created, never recorded as a run.
//
// Workspace::Open would create a missing workspace and begin a Run (recording the command
// line itself); the command line instead opens the parts directly: the lineage database
// `<dir>/lineage.db`, the content store `<dir>/store` (on first use) and the pin list
// `<dir>/pins`. The lineage is never written. A command that only reads opens the
// workspace with Access::kRead: the lineage and the store are then opened read-only, and
// nothing in the workspace is created or changed (not even a value's last access), so
// that a workspace one may not write can be inspected.
//
// The pin list: digests that `gc` never evicts. One digest (32 lowercase hex characters)
// per line, sorted, no duplicates; lines that are empty or start with '#' are ignored when
// read. Written whole through a temporary file renamed into place (WriteFileAtomically),
// so readers see the old list or the new one; two `pin` commands at the same moment may
// lose one of the two changes (the last rename wins).
//
// Example:
//   absl::StatusOr<std::unique_ptr<CliWorkspace>> ws =
//       CliWorkspace::Open(".mlops", CliWorkspace::Access::kRead);
//   absl::StatusOr<Digest> d = (*ws)->ResolveDigest("85d34a");
//
// Thread safety: used by one thread (the command).
#ifndef TOOLS_CLI_WORKSPACE_H_
#define TOOLS_CLI_WORKSPACE_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "mlops/hash/digest.h"
#include "mlops/lineage/sqlite_lineage_store.h"
#include "mlops/store/disk_store.h"
#include "mlops/core/workspace_layout.h"

namespace mlops {
namespace cli {

// The pin list's text (see above) and back. ParsePins: DATA_LOSS naming `path` and the
// line for a line that is not a digest.
absl::StatusOr<absl::btree_set<Digest>> ParsePins(absl::string_view text,
                                                  absl::string_view path);
std::string FormatPins(const absl::btree_set<Digest>& pins);

class CliWorkspace {
 public:
  // What the command does to the workspace: only reads it, or also writes the store or
  // the pin list (gc, pin, unpin).
  enum class Access { kRead, kWrite };

  // Opens the workspace in `dir`, its lineage read-only whatever `access` (no command writes
  // lineage). NOT_FOUND naming the path if `dir` does not exist or has no lineage.db
  // (nothing is created); errors of SqliteLineageStore::Open otherwise.
  static absl::StatusOr<std::unique_ptr<CliWorkspace>> Open(const std::string& dir,
                                                            Access access);

  const std::string& dir() const { return dir_; }
  SqliteLineageStore& lineage() { return *lineage_; }
  // The content store, opened on first use (with Access::kWrite, created if missing).
  // Errors of DiskStore::Open: with Access::kRead, NOT_FOUND if there is no store.
  absl::StatusOr<DiskStore*> store();
  // The store's entries, listed once per command (a listing stats every stored value: a
  // quarter of a second at 100,000 values). Empty if there is no store.
  absl::StatusOr<const std::vector<StoreEntry>*> StoreEntries();

  // The pinned digests: empty if there is no pin list. Errors of ParsePins and ReadFile.
  absl::StatusOr<absl::btree_set<Digest>> LoadPins();
  absl::Status SavePins(const absl::btree_set<Digest>& pins);
  std::string pins_path() const { return WorkspaceLayout(dir_).pins(); }

  // The one digest starting with `prefix` among lineage artifacts and stored values.
  // Errors as ResolveDigestPrefix (tools/ids.h), with the workspace named.
  absl::StatusOr<Digest> ResolveDigest(absl::string_view prefix);

 private:
  CliWorkspace(std::string dir, Access access, std::unique_ptr<SqliteLineageStore> lineage)
      : dir_(std::move(dir)), access_(access), lineage_(std::move(lineage)) {}

  const std::string dir_;
  const Access access_;
  std::unique_ptr<SqliteLineageStore> lineage_;
  std::unique_ptr<DiskStore> store_;
  std::optional<std::vector<StoreEntry>> entries_;
};

}  // namespace cli
}  // namespace mlops

#endif  // TOOLS_CLI_WORKSPACE_H_
