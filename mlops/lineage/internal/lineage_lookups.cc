// LineageReader: the lookups for tools (the `mlops` command line).
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mlops/lineage/internal/columns.h"
#include "mlops/lineage/internal/lineage_reader.h"

namespace mlops {
namespace lineage_internal {

absl::StatusOr<std::vector<Digest>> LineageReader::ArtifactsBetween(
    const Digest& low, const Digest& high, const std::optional<Digest>& after, int64_t limit) {
  absl::StatusOr<std::unique_ptr<sqlite::Statement>> q = db_.Prepare(
      after.has_value()
          ? "SELECT digest FROM artifacts WHERE digest BETWEEN ?1 AND ?2 AND digest > ?4 "
            "ORDER BY digest LIMIT ?3"
          : "SELECT digest FROM artifacts WHERE digest BETWEEN ?1 AND ?2 "
            "ORDER BY digest LIMIT ?3");
  if (!q.ok()) return q.status();
  (*q)->BindBlob(1, DigestBlob(low)).BindBlob(2, DigestBlob(high)).Bind(3, limit);
  if (after.has_value()) (*q)->BindBlob(4, DigestBlob(*after));
  std::vector<Digest> out;
  while (true) {
    absl::StatusOr<bool> row = (*q)->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.push_back(DigestFromBlob((*q)->Blob(0)));
  }
  return out;
}

absl::StatusOr<std::vector<LineageStore::StepOutput>> LineageReader::StepOutputs() {
  // A cache hit has no event rows of its own; its representative, an execution of the
  // same action and hence the same step, carries them.
  absl::StatusOr<std::unique_ptr<sqlite::Statement>> q = db_.Prepare(
      "SELECT DISTINCT a.digest, x.step FROM events e "
      "JOIN artifacts a ON a.id = e.artifact_id JOIN executions x ON x.id = e.execution_id "
      "WHERE e.kind = ?1 ORDER BY a.digest, x.step");
  if (!q.ok()) return q.status();
  (*q)->Bind(1, Event::OUTPUT);
  std::vector<LineageStore::StepOutput> out;
  while (true) {
    absl::StatusOr<bool> row = (*q)->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.push_back(
        LineageStore::StepOutput{DigestFromBlob((*q)->Blob(0)), std::string((*q)->Text(1))});
  }
  return out;
}

absl::StatusOr<RunCounts> LineageReader::CountExecutions(int64_t run_id) {
  RunCounts counts;
  // Full rows (any execution, hits that differ from their representative included)...
  absl::StatusOr<std::unique_ptr<sqlite::Statement>> q = db_.Prepare(
      "SELECT count(*), coalesce(sum(cache_hit != 0), 0), coalesce(sum(status = ?2), 0) "
      "FROM executions WHERE run_id = ?1");
  if (!q.ok()) return q.status();
  (*q)->Bind(1, run_id).Bind(2, Execution::FAILED);
  absl::StatusOr<bool> row = (*q)->Step();
  if (!row.ok()) return row.status();
  if (*row) {
    counts.executions = (*q)->Int(0);
    counts.cache_hits = (*q)->Int(1);
    counts.failed = (*q)->Int(2);
  }
  // ...and compact hits, each a cache hit with status CACHED.
  absl::StatusOr<int64_t> compact = hits_.CountOfRun(run_id);
  if (!compact.ok()) return compact.status();
  counts.executions += *compact;
  counts.cache_hits += *compact;
  return counts;
}

}  // namespace lineage_internal
}  // namespace mlops
