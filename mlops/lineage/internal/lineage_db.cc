#include "mlops/lineage/internal/lineage_db.h"

#include <utility>
#include <vector>

#include "mlops/lineage/internal/schema.h"

namespace mlops {
namespace lineage_internal {

absl::StatusOr<std::unique_ptr<LineageDb>> LineageDb::Open(const std::string& path,
                                                           const SqliteLineageOptions& options) {
  absl::StatusOr<std::unique_ptr<sqlite::Db>> db = OpenLineageDb(path, options);
  if (!db.ok()) return db.status();
  absl::StatusOr<std::unique_ptr<Statements>> stmts =
      PrepareStatements(**db, options.read_only);
  if (!stmts.ok()) return stmts.status();
  return std::unique_ptr<LineageDb>(new LineageDb(path, *std::move(db), *std::move(stmts)));
}

LineageDb::LineageDb(const std::string& path, std::unique_ptr<sqlite::Db> db,
                     std::unique_ptr<Statements> stmts)
    : db_(std::move(db)), stmts_(std::move(stmts)) {
  hits_ = std::make_unique<CompactHits>(path, *stmts_);
  reader_ = std::make_unique<LineageReader>(path, *db_, *stmts_, *hits_);
  writer_ = std::make_unique<LineageWriter>(path, *db_, *stmts_, *reader_, *hits_);
}

absl::Status LineageDb::Flush(RecordQueue& queue) {
  std::vector<Execution> batch = queue.TakeBatch();
  if (batch.empty()) return absl::OkStatus();
  absl::Status s = writer_->WriteBatch(batch);
  if (!s.ok()) {
    queue.Requeue(std::move(batch));  // in front of anything queued meanwhile, to retry
    return s;
  }
  queue.Written(std::move(batch));
  return absl::OkStatus();
}

absl::Status LineageDb::CheckRunExists(int64_t run_id, RecordQueue& queue) {
  if (queue.KnowsRun(run_id)) return absl::OkStatus();
  absl::Status s = reader_->CheckRunExists(run_id);
  if (!s.ok()) return s;
  queue.AddKnownRun(run_id);
  return absl::OkStatus();
}

}  // namespace lineage_internal
}  // namespace mlops
