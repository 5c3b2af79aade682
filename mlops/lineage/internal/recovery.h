// Internal: replacing a damaged lineage database by a new one that holds what SQLite can
// still read of it (salvage.h), keeping the damaged file beside it, and the record of
// such replacements (the `recoveries` table, LineageRecovery in lineage.proto).
//
// The damaged file is never written: it is copied, with its -wal, to a scratch file that
// is read instead. A copy SQLite does not take for a database (its first 100 bytes, the
// header, damaged) gets a header rewritten from what every lineage database has (page
// size, encoding, application id); the copy is read with PRAGMA writable_schema, so that a
// file shorter than its header says (truncated) is read as far as it goes. Nothing else is
// made up: the rows are read by SQLite.
//
// Processes coordinate as damaged_file.h describes: the whole replacement runs under the
// exclusive `<path>.lock`, and only if the path still names the damaged file, so two
// processes that meet the same damage at once replace it once, and the second follows the
// first's new database.
//
// Thread safety: the functions may be called concurrently (from many processes too).
#ifndef MLOPS_LINEAGE_INTERNAL_RECOVERY_H_
#define MLOPS_LINEAGE_INTERNAL_RECOVERY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "mlops/base/internal/damaged_file.h"
#include "mlops/base/internal/sqlite.h"
#include "mlops/lineage/internal/salvage.h"
#include "mlops/lineage/lineage.pb.h"
#include "mlops/lineage/sqlite_lineage_store.h"

namespace mlops {
namespace lineage_internal {

// Under an exclusive RecoveryLock on `path`, if `path` still names `damaged`:
//   1. copies it (and its -wal) to `<path>.salvage-<unique>` and opens the copy;
//   2. creates `<path>.new-<unique>`, salvages the copy into it, and records there a
//      LineageRecovery (`why` its reason, `inputs.run_id` its run);
//   3. moves the damaged file (with its -wal and -shm) aside to
//      `<path>.damaged-<UTC time, e.g. 20261204T201500Z>` and renames the new one to `path`.
// Returns the LineageRecovery recorded; nullopt, changing nothing, if `path` names
// another file (another process replaced it) or none. Errors: those of the file system
// and of writing the new database, naming the path; the damaged file is then where it
// was, and the scratch files are removed.
absl::StatusOr<std::optional<LineageRecovery>> RecoverLineageFile(
    const std::string& path, const SqliteLineageOptions& options, const absl::Status& why,
    const sqlite::FileId& damaged, const RecoveryInputs& inputs);

// Sets the run of the recovery `recovery_id` recorded in `db` (one made when the store
// opened, before its process began a run).
absl::Status SetRecoveryRun(sqlite::Db& db, int64_t recovery_id, int64_t run_id);

// The recoveries recorded in `db`, oldest first; none if it has no `recoveries` table
// (schema.cc). DATA_LOSS (naming `path`) for a record that does not parse.
absl::StatusOr<std::vector<LineageRecovery>> ReadRecoveries(sqlite::Db& db,
                                                            const std::string& path);

// One sentence for people: what was damaged, where it is now, what was salvaged.
std::string DescribeRecovery(const std::string& path, const LineageRecovery& r);

}  // namespace lineage_internal
}  // namespace mlops

#endif  // MLOPS_LINEAGE_INTERNAL_RECOVERY_H_
