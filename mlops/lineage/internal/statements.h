// Internal: the statements a lineage database connection prepares once: those of reads
// (LineageReader, CompactHits), then those of writes (LineageWriter, CompactHits).
//
// Thread safety: not thread-safe; used under the connection's lock (LineageDb::mu).
#ifndef MLOPS_LINEAGE_INTERNAL_STATEMENTS_H_
#define MLOPS_LINEAGE_INTERNAL_STATEMENTS_H_

#include <memory>

#include "absl/status/statusor.h"
#include "mlops/base/internal/sqlite.h"

namespace mlops {
namespace lineage_internal {

struct Statements {
  // Reads (every connection).
  std::unique_ptr<sqlite::Statement> run_exists, get_execution, get_artifact;
  std::unique_ptr<sqlite::Statement> edge_executions, hits_of_representative;
  std::unique_ptr<sqlite::Statement> get_hit, compact_hits_of_run, compact_hits_of_step;
  std::unique_ptr<sqlite::Statement> count_hits_of_run;
  // Writes (null for a read-only connection).
  std::unique_ptr<sqlite::Statement> begin, commit, rollback;
  std::unique_ptr<sqlite::Statement> insert_execution, delete_execution;
  std::unique_ptr<sqlite::Statement> representative_of_result, rep_of_execution, move_hits;
  std::unique_ptr<sqlite::Statement> find_artifact, insert_artifact, fill_artifact;
  std::unique_ptr<sqlite::Statement> insert_event, delete_event, delete_unreferenced_artifact;
  std::unique_ptr<sqlite::Statement> reserve_ids, data_version;
  std::unique_ptr<sqlite::Statement> insert_hit, delete_hit, delete_hits_of_run;
  std::unique_ptr<sqlite::Statement> compact_hits_of_representative;
  std::unique_ptr<sqlite::Statement> delete_compact_hits_of_representative;
};

// Prepares the statements on `db` (the writes' only unless `read_only`). The statements
// must not outlive `db`. Errors: those of sqlite::Db::Prepare.
absl::StatusOr<std::unique_ptr<Statements>> PrepareStatements(sqlite::Db& db, bool read_only);

}  // namespace lineage_internal
}  // namespace mlops

#endif  // MLOPS_LINEAGE_INTERNAL_STATEMENTS_H_
