// Internal: compact cache hits, the lineage database's `hits` table.
//
// A cache hit that repeats its representative (the execution of its result that carries
// the event rows, see schema.cc) in everything but its id, run, status, cache_hit flag and
// times is stored as one small row naming the representative, instead of a whole executions
// row with its serialized proto; reading it rebuilds it from the representative's proto.
// Whether a hit qualifies is decided by comparing the digests of the two protos with those
// fields cleared (their "templates", TemplateDigest), so nothing recorded is ever lost: a
// hit that differs in anything else (an input's label, a logged metric, ...) is stored in
// full. A representative that changes or goes away first turns its compact hits back into
// full rows (Take), which are then handed on like any full-row hit.
//
// Thread safety: not thread-safe; used under the connection's lock (LineageDb::mu).
#ifndef MLOPS_LINEAGE_INTERNAL_COMPACT_HITS_H_
#define MLOPS_LINEAGE_INTERNAL_COMPACT_HITS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "mlops/hash/digest.h"
#include "mlops/lineage/internal/paging.h"
#include "mlops/lineage/internal/statements.h"
#include "mlops/lineage/lineage.pb.h"

namespace mlops {
namespace lineage_internal {

// The digest of `e` without the fields a compact hit row keeps itself (id, run, status,
// cache_hit, start and end time): equal for a hit and the execution it repeats. Stored with
// each representative (executions.template). `e` is restored before returning.
Digest TemplateDigest(Execution& e);

class CompactHits {
 public:
  // `path` names the database in errors. `stmts` must outlive this.
  CompactHits(std::string path, Statements& stmts) : path_(std::move(path)), stmts_(stmts) {}
  CompactHits(const CompactHits&) = delete;
  CompactHits& operator=(const CompactHits&) = delete;

  // Whether `e` can be a hits row at all (a CACHED cache hit with both times set, each
  // within what 64-bit nanoseconds hold); whether it is one also needs its template to
  // equal its representative's.
  static bool Fits(const Execution& e);

  // The compact hit with this id, rebuilt; NOT_FOUND naming the id if there is none,
  // DATA_LOSS if its representative is missing or does not parse.
  absl::StatusOr<Execution> Load(int64_t id);
  absl::StatusOr<bool> Contains(int64_t id);
  // The compact hits of a run (id order), and of a step (newest first, those older than
  // `after`, at most `limit`; -1: all). DATA_LOSS as Load.
  absl::StatusOr<std::vector<Execution>> OfRun(int64_t run_id);
  absl::StatusOr<std::vector<Execution>> OfStep(const std::string& step_name,
                                                const NewestFirst& after, int64_t limit);
  // How many compact hits the run has.
  absl::StatusOr<int64_t> CountOfRun(int64_t run_id);

  // Writes `e`, a hit of `representative`, as a hits row. REQUIRES: Fits(e), and its
  // template equals the representative's; inside a write transaction.
  absl::Status Insert(const Execution& e, int64_t representative);
  // Deletes the compact hit with this id, or those of a run (none: OK). REQUIRES: inside a
  // write transaction.
  absl::Status Delete(int64_t id);
  absl::Status DeleteOfRun(int64_t run_id);
  // Deletes the compact hits of `representative`, whose proto is `rep_proto`, and returns
  // them rebuilt (id order), for the caller to write as full rows in the same transaction.
  absl::StatusOr<std::vector<Execution>> Take(int64_t representative, const Execution& rep_proto);

 private:
  // The hits the rows of `q` (id, run_id, start_ns, end_ns, rep_id, rep proto, rep found)
  // stand for; resets `q`.
  absl::StatusOr<std::vector<Execution>> Rows(sqlite::Statement& q);

  const std::string path_;
  Statements& stmts_;
};

}  // namespace lineage_internal
}  // namespace mlops

#endif  // MLOPS_LINEAGE_INTERNAL_COMPACT_HITS_H_
