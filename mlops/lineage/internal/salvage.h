// Internal: reading what SQLite can still read of a damaged lineage database, and writing
// it into a new one (recovery.h does the file work around it).
//
// No page is parsed here: every row is read by SQLite's own queries, each table by its
// integer key, stepping over the key ranges on unreadable pages (key_scan.h), so the rows
// on every page SQLite can still reach survive. A row counts as read back only if it reads
// whole: its proto parses and agrees with its key, and an execution names only
// well-formed digests (and, for a compact hit, its representative reads too).
//
// What is written: runs as they were (same ids); executions through the ordinary writer
// (LineageWriter::WriteBatch), keeping their ids, in id order, full rows first and then
// the compact hits (so that hits find their representatives and are compact again); the
// events and artifacts are not copied but rebuilt from the executions (every execution
// lists its events), so they are whole and agree with them; earlier recoveries. Runs that
// salvaged executions (or the recovering process) need but that could not be read are
// recreated. The block of execution ids to reserve next starts above every id the old
// database gave out, where it can still be read (else above the salvaged ids, with room
// to spare for ids other processes may hold), so that no id is given out twice.
//
// Thread safety: not thread-safe; the caller owns both connections.
#ifndef MLOPS_LINEAGE_INTERNAL_SALVAGE_H_
#define MLOPS_LINEAGE_INTERNAL_SALVAGE_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "mlops/base/internal/sqlite.h"
#include "mlops/lineage/internal/connection.h"
#include "mlops/lineage/lineage.pb.h"

namespace mlops {
namespace lineage_internal {

// What the recovering process knows that the damaged file may have lost.
struct RecoveryInputs {
  // The runs it began, as it last wrote them: recreated as they are if unreadable.
  std::vector<Run> own_runs;
  // Runs that must exist afterwards (its queued executions name them): recreated as
  // placeholders if unreadable.
  std::vector<int64_t> known_runs;
  // Every execution id below this is taken (its reserved block ends there).
  int64_t reserved_ids_end = 0;
  // The run to name in the LineageRecovery (0: none yet).
  int64_t run_id = 0;
};

// Counts of what Salvage wrote, as LineageRecovery reports them.
struct SalvageCounts {
  int64_t runs = 0;
  int64_t runs_recreated = 0;
  int64_t executions = 0;
  int64_t events = 0;
  bool complete = true;  // every table read to its end without meeting damage
};

// Reads what SQLite can of the lineage database `from` (a connection to a copy of the
// damaged file; null if not even its schema could be read: then only the runs `inputs`
// name are written) and writes it into `to`, a new, empty lineage database, as described
// above. Damage met in `from` is stepped over (and makes the result not complete); a
// table missing from `from` has nothing to read. Errors: those of writing `to`, and of
// reading `from` other than damage (I/O errors).
absl::StatusOr<SalvageCounts> Salvage(sqlite::Db* from, LineageConnection& to,
                                      const RecoveryInputs& inputs);

}  // namespace lineage_internal
}  // namespace mlops

#endif  // MLOPS_LINEAGE_INTERNAL_SALVAGE_H_
