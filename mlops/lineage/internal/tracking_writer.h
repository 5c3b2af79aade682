// Internal: the writes of experiment tracking (tracking_schema.h): an execution's params
// and metrics as search sees them, metric points, a run's tags and own params, and their
// deletion with a run.
//
// Every method writes inside the caller's transaction (LineageWriter's), with statements
// prepared on first use.
//
// Thread safety: not thread-safe; used under the connection's lock (LineageDb::mu).
#ifndef MLOPS_LINEAGE_INTERNAL_TRACKING_WRITER_H_
#define MLOPS_LINEAGE_INTERNAL_TRACKING_WRITER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "mlops/base/internal/sqlite.h"
#include "mlops/lineage/lineage.pb.h"
#include "mlops/lineage/tracking.h"

namespace mlops {
namespace lineage_internal {

// Points queued for one series (RecordQueue), to be appended by a batch.
struct PointsAppend {
  MetricOwner owner;
  std::string key;
  std::vector<MetricPoint> points;
};

class TrackingWriter {
 public:
  // `db` must outlive this; `path` names the database in errors.
  TrackingWriter(std::string path, sqlite::Db& db) : path_(std::move(path)), db_(db) {}
  TrackingWriter(const TrackingWriter&) = delete;
  TrackingWriter& operator=(const TrackingWriter&) = delete;

  // Writes what `e` (with its id set, as written) logged: for an execution that computed
  // its result, its own params and metrics rows (each metric as the point at step 0 at its
  // end, unless a later point of its series is there); for every execution, its run's.
  absl::Status WriteExecutionValues(const Execution& e);
  // Appends the points as new chunks of the series, and updates the owner's values.
  absl::Status Append(const PointsAppend& append);
  // As LineageStore::SetRunTag and LogRunParam, without their input checks.
  absl::Status SetRunTag(int64_t run_id, absl::string_view key, absl::string_view value);
  absl::Status LogRunParam(int64_t run_id, absl::string_view key, absl::string_view value);
  // Deletes the run's tracked values and those of `executions` (its executions).
  absl::Status DeleteRunValues(int64_t run_id, const std::vector<int64_t>& executions);

 private:
  // The statement `sql` in `*slot`, prepared on first use.
  absl::StatusOr<sqlite::Statement*> Prepared(std::unique_ptr<sqlite::Statement>* slot,
                                              const char* sql);
  // Upserts one metric value of an execution (execution_id != 0) or of a run's own series.
  absl::Status PutMetric(const MetricOwner& owner, absl::string_view key,
                         const MetricPoint& point, bool computed);
  absl::Status PutParam(int64_t run_id, int64_t execution_id, absl::string_view key,
                        absl::string_view value, bool computed);

  const std::string path_;
  sqlite::Db& db_;
  std::unique_ptr<sqlite::Statement> exec_param_, run_param_, exec_metric_, run_metric_,
      own_metric_, last_chunk_, insert_chunk_, tag_, get_own_param_, own_param_;
};

// The encoding of points in metric_points.points, and back (DATA_LOSS naming `path` for
// a blob whose size is not a multiple of 24).
std::string EncodePoints(const MetricPoint* points, size_t n);
absl::Status DecodePoints(absl::string_view blob, const std::string& path,
                          std::vector<MetricPoint>* out);

}  // namespace lineage_internal
}  // namespace mlops

#endif  // MLOPS_LINEAGE_INTERNAL_TRACKING_WRITER_H_
