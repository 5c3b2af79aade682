// Internal: the reads of a lineage database connection, for SqliteLineageStore's queries.
//
// Full rows and compact hits (compact_hits.h) read the same: every method returns
// executions exactly as recorded, whichever way they are stored. Errors name the database:
// NOT_FOUND for a missing run, execution or artifact, DATA_LOSS for a stored record that
// does not parse (or damage SQLite meets), others from SQLite.
//
// Thread safety: not thread-safe; used under the connection's lock (LineageDb::mu).
#ifndef MLOPS_LINEAGE_INTERNAL_LINEAGE_READER_H_
#define MLOPS_LINEAGE_INTERNAL_LINEAGE_READER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "mlops/base/internal/sqlite.h"
#include "mlops/hash/digest.h"
#include "mlops/lineage/internal/compact_hits.h"
#include "mlops/lineage/internal/paging.h"
#include "mlops/lineage/internal/statements.h"
#include "mlops/lineage/lineage_store.h"

namespace mlops {
namespace lineage_internal {

class LineageReader {
 public:
  // `db`, `stmts` and `hits` must outlive this; `path` names the database in errors.
  LineageReader(std::string path, sqlite::Db& db, Statements& stmts, CompactHits& hits)
      : path_(std::move(path)), db_(db), stmts_(stmts), hits_(hits) {}
  LineageReader(const LineageReader&) = delete;
  LineageReader& operator=(const LineageReader&) = delete;

  const std::string& path() const { return path_; }
  // The connection, for the reads of tracking_reader.h.
  sqlite::Db& db() { return db_; }

  // OK if a run with this id exists, NOT_FOUND naming it if not.
  absl::Status CheckRunExists(int64_t run_id);
  absl::StatusOr<Run> GetRun(int64_t id);
  // The runs matching `filter` older than `after` (newest first, paging.h), at most
  // `limit` of them (-1: all).
  absl::StatusOr<std::vector<Run>> FindRuns(const RunFilter& filter, const NewestFirst& after,
                                            int64_t limit);

  absl::StatusOr<Execution> LoadExecution(int64_t id);
  absl::StatusOr<std::vector<Execution>> LoadExecutions(const std::vector<int64_t>& ids);
  absl::StatusOr<Artifact> LoadArtifact(const Digest& digest);
  // As LineageStore::ExecutionsOfRun. REQUIRES: the run exists (an unknown run has no
  // executions).
  absl::StatusOr<std::vector<Execution>> ExecutionsOfRun(int64_t run_id);
  // The executions of the step older than `after` (newest first, paging.h), full rows and
  // compact hits merged, at most `limit` of them (-1: all).
  absl::StatusOr<std::vector<Execution>> ExecutionsOfStep(const std::string& step_name,
                                                          const NewestFirst& after,
                                                          int64_t limit);
  // The ids of the executions with an event of `kind` on `digest`: those that computed
  // (or read) it, in id order, then its cache hits, in id order; the hits only if
  // `include_cache_hits` or no computing one is recorded.
  absl::StatusOr<std::vector<int64_t>> EdgeExecutions(const Digest& digest, Event::Kind kind,
                                                      bool include_cache_hits);
  // As LineageStore::Producers and Consumers.
  absl::StatusOr<std::vector<Execution>> Producers(const Digest& digest);
  absl::StatusOr<std::vector<Execution>> Consumers(const Digest& digest);

  // Lookups for tools (lineage_lookups.cc), as LineageStore documents them: the artifacts
  // whose digests lie in [low, high] and after `after` if set, in digest order (at most
  // `limit`; -1: all); every (output, step) pair; a run's counts (REQUIRES: the run
  // exists).
  absl::StatusOr<std::vector<Digest>> ArtifactsBetween(const Digest& low, const Digest& high,
                                                       const std::optional<Digest>& after,
                                                       int64_t limit);
  absl::StatusOr<std::vector<LineageStore::StepOutput>> StepOutputs();
  absl::StatusOr<RunCounts> CountExecutions(int64_t run_id);

 private:
  const std::string path_;
  sqlite::Db& db_;
  Statements& stmts_;
  CompactHits& hits_;
};

}  // namespace lineage_internal
}  // namespace mlops

#endif  // MLOPS_LINEAGE_INTERNAL_LINEAGE_READER_H_
