// SqliteLineageStore: the methods of experiment tracking (tracking.h), over
// internal/tracking_writer.h and tracking_reader.h.
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "mlops/base/mutex.h"
#include "mlops/lineage/internal/lineage_db.h"
#include "mlops/lineage/internal/record_queue.h"
#include "mlops/lineage/internal/tracking_reader.h"
#include "mlops/lineage/sqlite_lineage_store.h"

namespace mlops {
namespace {

using lineage_internal::LineageReader;
using lineage_internal::LineageWriter;

absl::Status CheckKeyAndValue(absl::string_view what, absl::string_view key,
                              absl::string_view value) {
  absl::Status s = CheckTrackingName(absl::StrCat(what, " name"), key);
  if (s.ok()) s = CheckTrackingValue(absl::StrCat(what, " '", key, "'"), value);
  return s;
}

// What `fn` returns, under the connection's lock, once the queue is written and (unless
// `run_id` is 0) the run is found in the database (another process may have deleted it);
// NOT_FOUND if it is not.
template <typename Fn>
auto InRun(lineage_internal::LineageDb& db, lineage_internal::RecordQueue& queue,
           int64_t run_id, Fn fn) -> decltype(fn()) {
  MutexLock lock(db.mu());
  absl::Status s = db.Flush(queue);
  if (!s.ok()) return s;
  if (run_id != 0) {
    queue.ForgetRun(run_id);
    s = db.CheckRunExists(run_id, queue);
    if (!s.ok()) return s;
  }
  return fn();
}

}  // namespace

absl::Status SqliteLineageStore::SetRunTag(int64_t run_id, absl::string_view key,
                                           absl::string_view value) {
  absl::Status s = CheckWritable();
  if (s.ok()) s = CheckKeyAndValue("tag", key, value);
  if (!s.ok()) return s;
  return InRun(*db_, *queue_, run_id, [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return db_->Write([&](LineageWriter& w) { return w.SetRunTag(run_id, key, value); });
  });
}

absl::Status SqliteLineageStore::LogRunParam(int64_t run_id, absl::string_view key,
                                             absl::string_view value) {
  absl::Status s = CheckWritable();
  if (s.ok()) s = CheckKeyAndValue("param", key, value);
  if (!s.ok()) return s;
  return InRun(*db_, *queue_, run_id, [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return db_->Write([&](LineageWriter& w) { return w.LogRunParam(run_id, key, value); });
  });
}

absl::Status SqliteLineageStore::LogMetricPoints(const MetricOwner& owner,
                                                 absl::string_view key,
                                                 std::vector<MetricPoint> points) {
  absl::Status s = CheckWritable();
  if (s.ok()) s = CheckTrackingName("metric name", key);
  if (!s.ok()) return s;
  if (owner.run_id == 0 && owner.execution_id == 0) {
    return absl::InvalidArgumentError("metric points need a run or an execution to belong to");
  }
  if (points.empty()) return absl::OkStatus();
  if (owner.run_id != 0 && !queue_->KnowsRun(owner.run_id)) {
    MutexLock lock(db_->mu());
    s = db_->CheckRunExists(owner.run_id, *queue_);
    if (!s.ok()) return s;
  }
  const bool full = queue_->PushPoints(
      lineage_internal::PointsAppend{owner, std::string(key), std::move(points)});
  if (full || queue_->flush_every_record()) {
    MutexLock lock(db_->mu());
    return db_->Flush(*queue_);
  }
  return absl::OkStatus();
}

absl::StatusOr<RunValues> SqliteLineageStore::GetRunValues(int64_t run_id) {
  if (run_id == 0) return absl::NotFoundError("no run with id 0");
  return InRun(*db_, *queue_, run_id, [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return db_->Read(
        [&](LineageReader& r) { return lineage_internal::ReadRunValues(r.db(), run_id); });
  });
}

absl::StatusOr<std::vector<MetricPoint>> SqliteLineageStore::MetricSeries(
    const MetricOwner& owner, absl::string_view key) {
  // An execution's series: the execution must exist (ReadSeries); a run's own: the run.
  return InRun(*db_, *queue_, owner.execution_id == 0 ? owner.run_id : 0,
               [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
                 return db_->Read([&](LineageReader& r) {
                   return lineage_internal::ReadSeries(r.db(), owner, key);
                 });
               });
}

absl::StatusOr<std::vector<std::string>> SqliteLineageStore::MetricKeys(
    const MetricOwner& owner) {
  return InRun(*db_, *queue_, owner.execution_id == 0 ? owner.run_id : 0,
               [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
                 return db_->Read([&](LineageReader& r) {
                   return lineage_internal::ReadMetricKeys(r.db(), owner);
                 });
               });
}

absl::StatusOr<std::vector<Experiment>> SqliteLineageStore::Experiments() {
  return InRun(*db_, *queue_, 0, [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return db_->Read([&](LineageReader& r) { return lineage_internal::ReadExperiments(r.db()); });
  });
}

absl::StatusOr<std::vector<std::vector<SqlValue>>> SqliteLineageStore::Select(
    const SqlQuery& query) {
  return InRun(*db_, *queue_, 0, [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return db_->Read([&](LineageReader& r) { return lineage_internal::SelectRows(r.db(), query); });
  });
}

}  // namespace mlops
