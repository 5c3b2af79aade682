// SqliteLineageStore: read-only lookups for tools (digest prefixes, outputs by step).
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "mlops/base/internal/sqlite.h"
#include "mlops/lineage/internal/store_internal.h"
#include "mlops/lineage/sqlite_lineage_store.h"

namespace mlops {

using lineage_internal::DigestBlob;
using lineage_internal::DigestFromBlob;

absl::StatusOr<std::vector<Digest>> SqliteLineageStore::FindArtifactsByPrefix(
    absl::string_view hex_prefix, int limit) {
  const std::string prefix = absl::AsciiStrToLower(hex_prefix);
  bool hex = !prefix.empty() && prefix.size() <= Digest::kHexChars;
  for (char c : prefix) hex = hex && absl::ascii_isxdigit(static_cast<unsigned char>(c));
  if (!hex) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", hex_prefix, "\" is not a digest prefix (1 to 32 hex characters)"));
  }
  // Digests are stored as their 16 canonical bytes, which order as the hex forms do: the
  // digests with this prefix are those between the prefix padded with 0s and with fs.
  const size_t pad = Digest::kHexChars - prefix.size();
  const Digest low = *Digest::FromHex(prefix + std::string(pad, '0'));
  const Digest high = *Digest::FromHex(prefix + std::string(pad, 'f'));

  std::lock_guard<std::mutex> lock(mu_);
  absl::Status s = FlushLocked();
  if (!s.ok()) return s;
  absl::StatusOr<std::unique_ptr<sqlite::Statement>> q = db_->Prepare(
      "SELECT digest FROM artifacts WHERE digest BETWEEN ?1 AND ?2 ORDER BY digest LIMIT ?3");
  if (!q.ok()) return q.status();
  (*q)->BindBlob(1, DigestBlob(low)).BindBlob(2, DigestBlob(high)).Bind(3, limit);
  std::vector<Digest> out;
  while (true) {
    absl::StatusOr<bool> row = (*q)->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.push_back(DigestFromBlob((*q)->Blob(0)));
  }
  return out;
}

absl::StatusOr<std::vector<LineageStore::StepOutput>> SqliteLineageStore::StepOutputs() {
  std::lock_guard<std::mutex> lock(mu_);
  absl::Status s = FlushLocked();
  if (!s.ok()) return s;
  // A cache hit has no event rows of its own; its representative, an execution of the
  // same action and hence the same step, carries them.
  absl::StatusOr<std::unique_ptr<sqlite::Statement>> q = db_->Prepare(
      "SELECT DISTINCT a.digest, x.step FROM events e "
      "JOIN artifacts a ON a.id = e.artifact_id JOIN executions x ON x.id = e.execution_id "
      "WHERE e.kind = ?1 ORDER BY a.digest, x.step");
  if (!q.ok()) return q.status();
  (*q)->Bind(1, Event::OUTPUT);
  std::vector<StepOutput> out;
  while (true) {
    absl::StatusOr<bool> row = (*q)->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.push_back(StepOutput{DigestFromBlob((*q)->Blob(0)), std::string((*q)->Text(1))});
  }
  return out;
}

absl::StatusOr<RunCounts> SqliteLineageStore::CountExecutions(int64_t run_id) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::Status s = FlushLocked();
  if (!s.ok()) return s;
  {
    // Ask the database, not the cache of known runs: another process may have deleted it.
    std::lock_guard<std::mutex> queue(queue_mu_);
    known_runs_.erase(run_id);
  }
  s = CheckRunExists(run_id);
  if (!s.ok()) return s;
  RunCounts counts;
  // Full rows (any execution, hits that differ from their representative included)...
  absl::StatusOr<std::unique_ptr<sqlite::Statement>> q = db_->Prepare(
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
  // ...and compact hits, each a cache hit with status CACHED (sqlite_lineage_hits.cc).
  q = db_->Prepare("SELECT count(*) FROM hits WHERE run_id = ?1");
  if (!q.ok()) return q.status();
  (*q)->Bind(1, run_id);
  row = (*q)->Step();
  if (!row.ok()) return row.status();
  const int64_t compact = *row ? (*q)->Int(0) : 0;
  counts.executions += compact;
  counts.cache_hits += compact;
  return counts;
}

}  // namespace mlops
