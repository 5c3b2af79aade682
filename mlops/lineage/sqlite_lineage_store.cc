// SqliteLineageStore: checks the calls, and brings the connection (internal/lineage_db.h)
// and the queue of recorded executions (internal/record_queue.h) together: queries write
// what is queued first, and recording needs the database only for an unknown run, a new
// block of ids or a full queue.
#include "mlops/lineage/sqlite_lineage_store.h"

#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "mlops/base/mutex.h"
#include "mlops/lineage/internal/closure.h"
#include "mlops/lineage/internal/columns.h"
#include "mlops/lineage/internal/lineage_db.h"
#include "mlops/lineage/internal/paging.h"
#include "mlops/lineage/internal/record_queue.h"

namespace mlops {
namespace {

using lineage_internal::LineageReader;
using lineage_internal::ValidateExecution;

// What `read` returns from the connection's reader, under its lock, once what `queue` holds
// is written (so that every query sees every record made before it).
template <typename Read>
auto AfterFlush(lineage_internal::LineageDb& db, lineage_internal::RecordQueue& queue,
                Read read) -> decltype(read(std::declval<LineageReader&>())) {
  MutexLock lock(db.mu());
  absl::Status s = db.Flush(queue);
  if (!s.ok()) return s;
  return db.Read(read);
}

// As AfterFlush, once the run is found to exist (else NOT_FOUND), in the database rather
// than among the queue's known runs: another process may have deleted it.
template <typename Read>
auto AfterFlushInRun(lineage_internal::LineageDb& db, lineage_internal::RecordQueue& queue,
                     int64_t run_id, Read read)
    -> decltype(read(std::declval<LineageReader&>())) {
  MutexLock lock(db.mu());
  absl::Status s = db.Flush(queue);
  if (!s.ok()) return s;
  queue.ForgetRun(run_id);
  s = db.CheckRunExists(run_id, queue);
  if (!s.ok()) return s;
  return db.Read(read);
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteLineageStore>> SqliteLineageStore::Open(
    const std::string& path, SqliteLineageOptions options) {
  if (path.empty()) return absl::InvalidArgumentError("lineage database path is empty");
  auto queue = std::make_unique<lineage_internal::RecordQueue>(options.max_batch_size,
                                                               options.max_batch_delay);
  absl::StatusOr<std::unique_ptr<lineage_internal::LineageDb>> db =
      lineage_internal::LineageDb::Open(path, options, queue.get());
  if (!db.ok()) return db.status();
  std::unique_ptr<SqliteLineageStore> store(
      new SqliteLineageStore(path, options, *std::move(db), std::move(queue)));
  if (options.max_batch_delay > absl::ZeroDuration() && !options.read_only) {
    lineage_internal::LineageDb* const connection = store->db_.get();
    lineage_internal::RecordQueue* const queue = store->queue_.get();
    queue->StartFlusher([connection, queue] {
      MutexLock lock(connection->mu());
      return connection->Flush(*queue);  // a failure leaves the batch queued
    });
  }
  return store;
}

SqliteLineageStore::SqliteLineageStore(std::string path, SqliteLineageOptions options,
                                       std::unique_ptr<lineage_internal::LineageDb> db,
                                       std::unique_ptr<lineage_internal::RecordQueue> queue)
    : path_(std::move(path)), options_(options), db_(std::move(db)), queue_(std::move(queue)) {}

SqliteLineageStore::~SqliteLineageStore() {
  queue_->StopFlusher();
  MutexLock lock(db_->mu());
  db_->Flush(*queue_).IgnoreError();
}

absl::Status SqliteLineageStore::CheckWritable() const {
  if (!options_.read_only) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("lineage database ", path_, " is open read-only"));
}

absl::Status SqliteLineageStore::Flush() {
  MutexLock lock(db_->mu());
  return db_->Flush(*queue_);
}

absl::StatusOr<int64_t> SqliteLineageStore::RecordExecution(Execution execution) {
  absl::Status s = CheckWritable();
  if (!s.ok()) return s;
  s = ValidateExecution(execution);
  if (!s.ok()) return s;
  while (true) {
    lineage_internal::RecordQueue::Needs needs;
    const std::optional<int64_t> id = queue_->Push(execution, &needs);
    if (id.has_value()) {
      if (queue_->flush_every_record()) s = Flush();
      if (!s.ok()) return s;
      return *id;
    }
    // The rare slow paths (an unknown run, an exhausted id block, a full queue) need the
    // database.
    MutexLock lock(db_->mu());
    if (needs.run) {
      s = db_->CheckRunExists(execution.run_id(), *queue_);
      if (!s.ok()) return s;
    }
    if (needs.ids) {
      const int64_t size = queue_->NextIdBlockSize();
      absl::StatusOr<std::pair<int64_t, int64_t>> block =
          db_->Write([&](lineage_internal::LineageWriter& w) { return w.ReserveIds(size); });
      if (!block.ok()) return block.status();
      queue_->AddIdBlock(block->first, block->second);
    }
    if (needs.room) {
      s = db_->Flush(*queue_);  // the flusher is behind: write in this thread
      if (!s.ok()) return s;
    }
  }
}

absl::Status SqliteLineageStore::UpdateExecution(const Execution& execution) {
  absl::Status s = CheckWritable();
  if (!s.ok()) return s;
  s = ValidateExecution(execution);
  if (!s.ok()) return s;
  // Most often the execution is still queued (a step that ran shorter than a batch): update
  // it there without the database lock, which a batch being written holds for long. One
  // not found here is in the database, or in the batch being written, which the lock below
  // waits for.
  if (queue_->Update(execution)) return absl::OkStatus();
  MutexLock lock(db_->mu());
  if (queue_->Update(execution)) return absl::OkStatus();
  s = db_->Flush(*queue_);
  if (!s.ok()) return s;
  return db_->Write(
      [&](lineage_internal::LineageWriter& w) { return w.UpdateExecution(execution); });
}

absl::StatusOr<int64_t> SqliteLineageStore::BeginRun(const Run& run) {
  if (absl::Status w = CheckWritable(); !w.ok()) return w;
  if (run.program().empty()) return absl::InvalidArgumentError("run has no program name");
  Run named = run;
  if (named.experiment().empty()) named.set_experiment("default");
  absl::Status s = CheckTrackingName("experiment name", named.experiment());
  if (s.ok() && !named.name().empty()) s = CheckTrackingName("run name", named.name());
  if (!s.ok()) return s;
  MutexLock lock(db_->mu());
  absl::StatusOr<int64_t> id = db_->BeginRun(named);
  if (id.ok()) queue_->AddKnownRun(*id);
  return id;
}

absl::Status SqliteLineageStore::UpdateRun(const Run& run) {
  if (absl::Status w = CheckWritable(); !w.ok()) return w;
  MutexLock lock(db_->mu());
  // A run's experiment and name stay as BeginRun made them.
  absl::StatusOr<Run> stored = db_->Read([&](LineageReader& r) { return r.GetRun(run.id()); });
  if (!stored.ok()) return stored.status();
  Run named = run;
  named.set_experiment(stored->experiment());
  named.set_name(stored->name());
  return db_->UpdateRun(named);
}

absl::Status SqliteLineageStore::DeleteRun(int64_t id) {
  if (absl::Status w = CheckWritable(); !w.ok()) return w;
  MutexLock lock(db_->mu());
  absl::Status s = db_->Flush(*queue_);
  if (!s.ok()) return s;
  queue_->ForgetRun(id);  // look it up afresh: another process may have deleted it
  s = db_->CheckRunExists(id, *queue_);
  if (!s.ok()) return s;
  queue_->ForgetRun(id);
  return db_->Write([&](lineage_internal::LineageWriter& w) { return w.DeleteRun(id); });
}

absl::StatusOr<Run> SqliteLineageStore::GetRun(int64_t id) {
  MutexLock lock(db_->mu());
  return db_->Read([&](LineageReader& r) { return r.GetRun(id); });
}

absl::StatusOr<Page<Run>> SqliteLineageStore::FindRuns(const RunFilter& filter,
                                                       const PageRequest& page) {
  const std::string query = lineage_internal::RunsQuery(filter);
  absl::StatusOr<lineage_internal::NewestFirst> after =
      lineage_internal::ResumeNewestFirst(page, query);
  if (!after.ok()) return after.status();
  absl::StatusOr<std::vector<Run>> runs;
  {
    MutexLock lock(db_->mu());
    runs = db_->Read(
        [&](LineageReader& r) { return r.FindRuns(filter, *after, RowsToFetch(page)); });
  }
  if (!runs.ok()) return runs.status();
  return CutPage(*std::move(runs), page, query,
                 [](const Run& r) { return lineage_internal::PositionOf(r); });
}

absl::StatusOr<Execution> SqliteLineageStore::GetExecution(int64_t id) {
  return AfterFlush(*db_, *queue_,
                    [&](LineageReader& r) { return r.LoadExecution(id); });
}

absl::StatusOr<Artifact> SqliteLineageStore::GetArtifact(const Digest& digest) {
  return AfterFlush(*db_, *queue_,
                    [&](LineageReader& r) { return r.LoadArtifact(digest); });
}

absl::StatusOr<std::vector<Execution>> SqliteLineageStore::ExecutionsOfRun(int64_t run_id) {
  return AfterFlushInRun(*db_, *queue_, run_id,
                         [&](LineageReader& r) { return r.ExecutionsOfRun(run_id); });
}

absl::StatusOr<Page<Execution>> SqliteLineageStore::ExecutionsOfStep(
    const std::string& step_name, const PageRequest& page) {
  const std::string query = lineage_internal::StepQuery(step_name);
  absl::StatusOr<lineage_internal::NewestFirst> after =
      lineage_internal::ResumeNewestFirst(page, query);
  if (!after.ok()) return after.status();
  absl::StatusOr<std::vector<Execution>> rows =
      AfterFlush(*db_, *queue_, [&](LineageReader& r) {
        return r.ExecutionsOfStep(step_name, *after, RowsToFetch(page));
      });
  if (!rows.ok()) return rows.status();
  return CutPage(*std::move(rows), page, query,
                 [](const Execution& e) { return lineage_internal::PositionOf(e); });
}

absl::StatusOr<std::vector<Execution>> SqliteLineageStore::Producers(const Digest& digest) {
  return AfterFlush(*db_, *queue_,
                    [&](LineageReader& r) { return r.Producers(digest); });
}

absl::StatusOr<std::vector<Execution>> SqliteLineageStore::Consumers(const Digest& digest) {
  return AfterFlush(*db_, *queue_,
                    [&](LineageReader& r) { return r.Consumers(digest); });
}

absl::StatusOr<Subgraph> SqliteLineageStore::Upstream(const LineageNode& from,
                                                      const ClosureOptions& options) {
  return AfterFlush(*db_, *queue_, [&](LineageReader& r) {
    return lineage_internal::Closure(r, from, options, /*upstream=*/true);
  });
}

absl::StatusOr<Subgraph> SqliteLineageStore::Downstream(const LineageNode& from,
                                                        const ClosureOptions& options) {
  return AfterFlush(*db_, *queue_, [&](LineageReader& r) {
    return lineage_internal::Closure(r, from, options, /*upstream=*/false);
  });
}

absl::StatusOr<Page<Digest>> SqliteLineageStore::FindArtifactsByPrefix(
    absl::string_view hex_prefix, const PageRequest& page) {
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
  const std::string query = lineage_internal::PrefixQuery(prefix);
  absl::StatusOr<std::optional<Digest>> after = lineage_internal::ResumeAfterDigest(page, query);
  if (!after.ok()) return after.status();
  absl::StatusOr<std::vector<Digest>> rows = AfterFlush(*db_, *queue_, [&](LineageReader& r) {
    return r.ArtifactsBetween(low, high, *after, RowsToFetch(page));
  });
  if (!rows.ok()) return rows.status();
  return CutPage(*std::move(rows), page, query, [](const Digest& d) {
    return std::vector<std::string>{d.ToHex()};
  });
}

absl::StatusOr<std::vector<LineageStore::StepOutput>> SqliteLineageStore::StepOutputs() {
  return AfterFlush(*db_, *queue_,
                    [&](LineageReader& r) { return r.StepOutputs(); });
}

absl::StatusOr<RunCounts> SqliteLineageStore::CountExecutions(int64_t run_id) {
  return AfterFlushInRun(*db_, *queue_, run_id,
                         [&](LineageReader& r) { return r.CountExecutions(run_id); });
}

absl::StatusOr<std::vector<LineageRecovery>> SqliteLineageStore::Recoveries() {
  MutexLock lock(db_->mu());
  return db_->Recoveries();
}

}  // namespace mlops
