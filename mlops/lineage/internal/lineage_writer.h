// Internal: the writes of a lineage database connection: batches of executions with their
// artifacts and events (or as compact hits), runs, and the updates and deletions that keep
// the representatives of cache hits (see schema.cc) consistent.
//
// Every method writes in a transaction of its own (ReserveIds in a statement of its own):
// after a crash it is there whole or not at all. Errors name the database: NOT_FOUND for a
// missing run or execution, DATA_LOSS for a stored record that does not parse (or damage
// SQLite meets), UNAVAILABLE when other processes hold the database locked past the busy
// timeout, others from SQLite.
//
// Thread safety: not thread-safe; used under the connection's lock (LineageDb::mu).
#ifndef MLOPS_LINEAGE_INTERNAL_LINEAGE_WRITER_H_
#define MLOPS_LINEAGE_INTERNAL_LINEAGE_WRITER_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "mlops/base/internal/sqlite.h"
#include "mlops/hash/digest.h"
#include "mlops/lineage/internal/compact_hits.h"
#include "mlops/lineage/internal/lineage_reader.h"
#include "mlops/lineage/internal/statements.h"
#include "mlops/lineage/internal/tracking_writer.h"
#include "mlops/lineage/lineage.pb.h"

namespace mlops {
namespace lineage_internal {

class LineageWriter {
 public:
  // `db`, `stmts`, `reader` and `hits` must outlive this; `path` names the database in
  // errors. REQUIRES: the write statements are prepared (not read-only).
  LineageWriter(std::string path, sqlite::Db& db, Statements& stmts, LineageReader& reader,
                CompactHits& hits)
      : path_(std::move(path)),
        db_(db),
        stmts_(stmts),
        reader_(reader),
        hits_(hits),
        tracking_(path_, db) {}
  LineageWriter(const LineageWriter&) = delete;
  LineageWriter& operator=(const LineageWriter&) = delete;

  // Writes the executions of `batch` (each with its id set), then appends `points`, in
  // one transaction: all of them or, on an error, none. Both are left as they were.
  absl::Status WriteBatch(std::vector<Execution>& batch,
                          const std::vector<PointsAppend>& points = {});
  // Reserves a block of `size` execution ids in the database: [first, end).
  absl::StatusOr<std::pair<int64_t, int64_t>> ReserveIds(int64_t size);

  // As LineageStore::BeginRun and UpdateRun (whose input checks are the caller's).
  absl::StatusOr<int64_t> BeginRun(const Run& run);
  absl::Status UpdateRun(const Run& run);
  // Replaces the written execution with execution.id(); NOT_FOUND if there is none.
  // REQUIRES: nothing of it is queued unwritten.
  absl::Status UpdateExecution(const Execution& execution);
  // Deletes the run, its executions and events, and the artifacts no event names any more;
  // the events of each action it carried pass to a remaining execution of that action.
  // REQUIRES: the run exists, and nothing of it is queued unwritten.
  absl::Status DeleteRun(int64_t id);
  // As LineageStore::SetRunTag and LogRunParam (whose input checks are the caller's).
  // REQUIRES: the run exists.
  absl::Status SetRunTag(int64_t run_id, absl::string_view key, absl::string_view value);
  absl::Status LogRunParam(int64_t run_id, absl::string_view key, absl::string_view value);

 private:
  // The id of the experiment `name`, added if new. REQUIRES: inside a write transaction.
  absl::StatusOr<int64_t> ExperimentId(absl::string_view name);

  // A representative known to this connection: its id and, once computed, the digest of its
  // proto without the fields a compact hit keeps (TemplateDigest).
  struct Representative {
    explicit Representative(int64_t id) : id(id) {}
    int64_t id;
    bool has_template = false;
    Digest template_digest;
  };

  // Writes `e` (replacing a row with its id) with its events, unless it is a cache hit
  // whose action's events another execution already carries (see the schema's notes); such
  // a hit that repeats that execution becomes a compact hit. `e` is left as it was.
  absl::Status WriteExecution(Execution& e, bool force_events = false);
  // WriteExecution without the tracked values (TrackingWriter::WriteExecutionValues).
  absl::Status WriteExecutionRecord(Execution& e, bool force_events);
  // Writes `e`, a hit of `representative`, as a compact hit if it repeats it in everything
  // a compact hit does not keep; sets `*written` if it did.
  absl::Status WriteCompactHit(Execution& e, const std::string& result_key,
                               int64_t representative, bool* written);
  // Writes the executions row of `e` (serialized as `proto`), without events.
  absl::Status InsertExecutionRow(const Execution& e, int64_t representative,
                                  const std::string& result_key, const std::string& proto,
                                  const std::string& template_blob);
  // The row id of the artifact `ref` names, inserting it (or filling in its empty type,
  // label and URI) as needed.
  absl::StatusOr<int64_t> ArtifactId(const ArtifactRef& ref);
  // Deletes the events of `e` (as its proto lists them), adding their digests to `*digests`
  // when it is not null.
  absl::Status DeleteEvents(const Execution& e, absl::flat_hash_set<Digest>* digests);
  // Deletes those of `digests` that no event names any more.
  absl::Status DeleteUnreferencedArtifacts(const absl::flat_hash_set<Digest>& digests);
  // Turns the compact hits of `representative` (whose proto is `rep_proto`) into full
  // executions rows that name it.
  absl::Status MaterializeHits(int64_t representative, const Execution& rep_proto);
  // Points the hits that name `old_rep` (a representative that is going away or changing
  // its result) at another representative of `result`, or makes the oldest of them the
  // representative.
  absl::Status ReassignHits(int64_t old_rep, const std::string& result);
  // Forgets the cached representatives and artifact ids if another connection has written
  // since the last check. REQUIRES: inside a write transaction.
  absl::Status CheckRepresentatives();
  // Forgets what this connection has cached about representatives and artifacts.
  void ForgetCaches();
  // Rolls back the write transaction and forgets what it may have cached.
  void Rollback();

  const std::string path_;
  sqlite::Db& db_;
  Statements& stmts_;
  LineageReader& reader_;
  CompactHits& hits_;
  TrackingWriter tracking_;
  // Representatives by result key, and artifact row ids by digest, known from this
  // connection's own writes and lookups; valid while no other connection writes
  // (data_version_ unchanged).
  absl::flat_hash_map<std::string, Representative> representatives_;
  absl::flat_hash_map<Digest, int64_t> artifact_ids_;
  int64_t data_version_ = -1;
};

}  // namespace lineage_internal
}  // namespace mlops

#endif  // MLOPS_LINEAGE_INTERNAL_LINEAGE_WRITER_H_
