// Internal: one connection to a lineage database, with what runs on it: its reads
// (LineageReader), its writes (LineageWriter) and its compact hits, taken in turn under one
// lock, and the writing of what a RecordQueue holds.
//
// Thread safety: safe for concurrent use: reader(), writer() and the other methods
// REQUIRE mu() held (see record_queue.h for the lock order).
#ifndef MLOPS_LINEAGE_INTERNAL_LINEAGE_DB_H_
#define MLOPS_LINEAGE_INTERNAL_LINEAGE_DB_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "mlops/base/internal/sqlite.h"
#include "mlops/base/mutex.h"
#include "mlops/lineage/internal/compact_hits.h"
#include "mlops/lineage/internal/lineage_reader.h"
#include "mlops/lineage/internal/lineage_writer.h"
#include "mlops/lineage/internal/record_queue.h"
#include "mlops/lineage/internal/statements.h"
#include "mlops/lineage/sqlite_lineage_store.h"

namespace mlops {
namespace lineage_internal {

class LineageDb {
 public:
  // Opens the database (schema.h) and prepares its statements. Errors: as
  // SqliteLineageStore::Open.
  static absl::StatusOr<std::unique_ptr<LineageDb>> Open(const std::string& path,
                                                         const SqliteLineageOptions& options);
  ~LineageDb() = default;
  LineageDb(const LineageDb&) = delete;
  LineageDb& operator=(const LineageDb&) = delete;

  Mutex* mu() ABSL_LOCK_RETURNED(mu_) { return &mu_; }
  LineageReader& reader() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return *reader_; }
  // REQUIRES: not opened read-only.
  LineageWriter& writer() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return *writer_; }

  // Writes what `queue` holds in one transaction (LineageWriter::WriteBatch); on an error
  // leaves it queued, to be tried again, and returns the error. OK at once if nothing is
  // queued (as always for a read-only database).
  absl::Status Flush(RecordQueue& queue) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // OK if a run with this id exists: known to `queue`, or found in the database (and then
  // added to the queue's known runs). NOT_FOUND naming it if there is none.
  absl::Status CheckRunExists(int64_t run_id, RecordQueue& queue)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

 private:
  LineageDb(const std::string& path, std::unique_ptr<sqlite::Db> db,
            std::unique_ptr<Statements> stmts);

  Mutex mu_;
  // Each uses those declared before it, and is destroyed before them: the connection last.
  std::unique_ptr<sqlite::Db> db_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<Statements> stmts_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<CompactHits> hits_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<LineageReader> reader_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<LineageWriter> writer_ ABSL_GUARDED_BY(mu_);
};

}  // namespace lineage_internal
}  // namespace mlops

#endif  // MLOPS_LINEAGE_INTERNAL_LINEAGE_DB_H_
