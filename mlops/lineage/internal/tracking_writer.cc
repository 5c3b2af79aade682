#include "mlops/lineage/internal/tracking_writer.h"

#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "mlops/lineage/internal/columns.h"
#include "mlops/lineage/internal/tracking_schema.h"

namespace mlops {
namespace lineage_internal {
namespace {

constexpr size_t kPointBytes = 24;

// The points' fields as stored: little-endian, which is this machine's order.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "points are stored little-endian");
void Store64(char* p, uint64_t v) { std::memcpy(p, &v, sizeof(v)); }
uint64_t Load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

// Whether the row's (step, time) is replaced by a point at (excluded.step,
// excluded.time_us) of the same series: a higher step, or the same step and not earlier.
#define MLOPS_LATER_POINT(table)                                                    \
  "(excluded.step > " table ".step OR (excluded.step = " table ".step AND "        \
  "excluded.time_us >= " table ".time_us))"

// A run's metric: its own series wins over its executions' (tracking.h); among those of
// executions, the same execution's later point, or another execution's later value.
constexpr char kRunMetricFromExecution[] =
    "INSERT INTO run_metrics VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(run_id, key) DO "
    "UPDATE SET value = excluded.value, step = excluded.step, time_us = excluded.time_us, "
    "execution_id = excluded.execution_id WHERE run_metrics.execution_id != 0 AND "
    "((excluded.execution_id = run_metrics.execution_id AND " MLOPS_LATER_POINT("run_metrics")
    ") OR (excluded.execution_id != run_metrics.execution_id AND "
    "excluded.time_us >= run_metrics.time_us))";
constexpr char kRunMetricOwn[] =
    "INSERT INTO run_metrics VALUES(?1, ?2, ?3, ?4, ?5, 0) ON CONFLICT(run_id, key) DO "
    "UPDATE SET value = excluded.value, step = excluded.step, time_us = excluded.time_us, "
    "execution_id = 0 WHERE run_metrics.execution_id != 0 OR " MLOPS_LATER_POINT("run_metrics");
constexpr char kExecutionMetric[] =
    "INSERT INTO execution_metrics VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(execution_id, key) "
    "DO UPDATE SET value = excluded.value, step = excluded.step, time_us = excluded.time_us "
    "WHERE " MLOPS_LATER_POINT("execution_metrics");
#undef MLOPS_LATER_POINT

// A run's param: its own wins; among its executions', the latest written.
constexpr char kRunParamFromExecution[] =
    "INSERT INTO run_params VALUES(?1, ?2, ?3, ?4) ON CONFLICT(run_id, key) DO UPDATE SET "
    "value = excluded.value, execution_id = excluded.execution_id "
    "WHERE run_params.execution_id != 0";

int64_t OwnerKey(const MetricOwner& owner) {
  return owner.execution_id != 0 ? owner.execution_id : -owner.run_id;
}

}  // namespace

std::string EncodePoints(const MetricPoint* points, size_t n) {
  std::string out(n * kPointBytes, '\0');
  char* p = out.data();
  for (size_t i = 0; i < n; ++i, p += kPointBytes) {
    uint64_t bits;
    std::memcpy(&bits, &points[i].value, sizeof(bits));
    Store64(p, static_cast<uint64_t>(points[i].step));
    Store64(p + 8, bits);
    Store64(p + 16, static_cast<uint64_t>(absl::ToUnixMicros(points[i].time)));
  }
  return out;
}

absl::Status DecodePoints(absl::string_view blob, const std::string& path,
                          std::vector<MetricPoint>* out) {
  if (blob.size() % kPointBytes != 0) {
    return Corrupt(path, absl::StrCat("a chunk of metric points has ", blob.size(),
                                      " bytes, not a multiple of ", kPointBytes));
  }
  const char* p = blob.data();
  for (size_t i = 0; i < blob.size() / kPointBytes; ++i, p += kPointBytes) {
    MetricPoint point;
    point.step = static_cast<int64_t>(Load64(p));
    const uint64_t bits = Load64(p + 8);
    std::memcpy(&point.value, &bits, sizeof(bits));
    point.time = absl::FromUnixMicros(static_cast<int64_t>(Load64(p + 16)));
    out->push_back(point);
  }
  return absl::OkStatus();
}

absl::StatusOr<sqlite::Statement*> TrackingWriter::Prepared(
    std::unique_ptr<sqlite::Statement>* slot, const char* sql) {
  if (*slot == nullptr) {
    absl::StatusOr<std::unique_ptr<sqlite::Statement>> s = db_.Prepare(sql);
    if (!s.ok()) return s.status();
    *slot = *std::move(s);
  }
  return slot->get();
}

absl::Status TrackingWriter::PutParam(int64_t run_id, int64_t execution_id,
                                      absl::string_view key, absl::string_view value,
                                      bool computed) {
  if (computed) {
    absl::StatusOr<sqlite::Statement*> q = Prepared(
        &exec_param_, "INSERT OR REPLACE INTO execution_params VALUES(?1, ?2, ?3)");
    if (!q.ok()) return q.status();
    (*q)->Bind(1, execution_id).BindText(2, key).BindText(3, value);
    absl::Status s = (*q)->Run();
    if (!s.ok()) return s;
  }
  if (run_id == 0) return absl::OkStatus();
  absl::StatusOr<sqlite::Statement*> q = Prepared(&run_param_, kRunParamFromExecution);
  if (!q.ok()) return q.status();
  (*q)->Bind(1, run_id).BindText(2, key).BindText(3, value).Bind(4, execution_id);
  return (*q)->Run();
}

absl::Status TrackingWriter::PutMetric(const MetricOwner& owner, absl::string_view key,
                                       const MetricPoint& point, bool computed) {
  const int64_t time_us = absl::ToUnixMicros(point.time);
  if (owner.execution_id != 0 && computed) {
    absl::StatusOr<sqlite::Statement*> q = Prepared(&exec_metric_, kExecutionMetric);
    if (!q.ok()) return q.status();
    (*q)->Bind(1, owner.execution_id)
        .BindText(2, key)
        .BindDouble(3, point.value)
        .Bind(4, point.step)
        .Bind(5, time_us);
    absl::Status s = (*q)->Run();
    if (!s.ok()) return s;
  }
  if (owner.run_id == 0) return absl::OkStatus();
  absl::StatusOr<sqlite::Statement*> q =
      owner.execution_id != 0 ? Prepared(&run_metric_, kRunMetricFromExecution)
                              : Prepared(&own_metric_, kRunMetricOwn);
  if (!q.ok()) return q.status();
  (*q)->Bind(1, owner.run_id)
      .BindText(2, key)
      .BindDouble(3, point.value)
      .Bind(4, point.step)
      .Bind(5, time_us);
  if (owner.execution_id != 0) (*q)->Bind(6, owner.execution_id);
  return (*q)->Run();
}

absl::Status TrackingWriter::WriteExecutionValues(const Execution& e) {
  if (e.params().empty() && e.metrics().empty()) return absl::OkStatus();
  const bool computed = !e.cache_hit();
  for (const auto& [key, value] : e.params()) {
    absl::Status s = PutParam(e.run_id(), e.id(), key, value, computed);
    if (!s.ok()) return s;
  }
  MetricPoint at_end;
  at_end.time = absl::FromUnixMicros(Micros(e.end_time()));
  const MetricOwner owner = MetricOwner::OfExecution(e.run_id(), e.id());
  for (const auto& [key, value] : e.metrics()) {
    at_end.value = value;
    absl::Status s = PutMetric(owner, key, at_end, computed);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status TrackingWriter::Append(const PointsAppend& append) {
  if (append.points.empty()) return absl::OkStatus();
  const int64_t owner = OwnerKey(append.owner);
  absl::StatusOr<sqlite::Statement*> last = Prepared(
      &last_chunk_, "SELECT max(chunk) FROM metric_points WHERE owner = ?1 AND key = ?2");
  if (!last.ok()) return last.status();
  int64_t chunk = 0;
  {
    sqlite::ResetOnExit reset(**last);
    (*last)->Bind(1, owner).BindText(2, append.key);
    absl::StatusOr<bool> row = (*last)->Step();
    if (!row.ok()) return row.status();
    if (*row && (*last)->Type(0) != SQLITE_NULL) chunk = (*last)->Int(0) + 1;
  }
  absl::StatusOr<sqlite::Statement*> insert =
      Prepared(&insert_chunk_, "INSERT INTO metric_points VALUES(?1, ?2, ?3, ?4)");
  if (!insert.ok()) return insert.status();
  const MetricPoint* best = &append.points[0];
  for (size_t first = 0; first < append.points.size(); first += kPointsPerChunk, ++chunk) {
    const size_t n = std::min<size_t>(kPointsPerChunk, append.points.size() - first);
    for (size_t i = first; i < first + n; ++i) {
      if (!IsLaterPoint(*best, append.points[i])) best = &append.points[i];  // ties: the later
    }
    (*insert)->Bind(1, owner).BindText(2, append.key).Bind(3, chunk).BindBlob(
        4, EncodePoints(&append.points[first], n));
    absl::Status s = (*insert)->Run();
    if (!s.ok()) return s;
  }
  return PutMetric(append.owner, append.key, *best, /*computed=*/true);
}

absl::Status TrackingWriter::SetRunTag(int64_t run_id, absl::string_view key,
                                       absl::string_view value) {
  absl::StatusOr<sqlite::Statement*> q =
      Prepared(&tag_, "INSERT OR REPLACE INTO run_tags VALUES(?1, ?2, ?3)");
  if (!q.ok()) return q.status();
  (*q)->Bind(1, run_id).BindText(2, key).BindText(3, value);
  return (*q)->Run();
}

absl::Status TrackingWriter::LogRunParam(int64_t run_id, absl::string_view key,
                                         absl::string_view value) {
  absl::StatusOr<sqlite::Statement*> get = Prepared(
      &get_own_param_,
      "SELECT value FROM run_params WHERE run_id = ?1 AND key = ?2 AND execution_id = 0");
  if (!get.ok()) return get.status();
  {
    sqlite::ResetOnExit reset(**get);
    (*get)->Bind(1, run_id).BindText(2, key);
    absl::StatusOr<bool> row = (*get)->Step();
    if (!row.ok()) return row.status();
    if (*row) {
      if ((*get)->Text(0) == value) return absl::OkStatus();
      return absl::FailedPreconditionError(absl::StrCat(
          "param '", key, "' of run ", run_id, " is already '", (*get)->Text(0),
          "'; it cannot be changed to '", value,
          "' (a run's params are written once; log a new run to try another value)"));
    }
  }
  absl::StatusOr<sqlite::Statement*> put =
      Prepared(&own_param_, "INSERT OR REPLACE INTO run_params VALUES(?1, ?2, ?3, 0)");
  if (!put.ok()) return put.status();
  (*put)->Bind(1, run_id).BindText(2, key).BindText(3, value);
  return (*put)->Run();
}

absl::Status TrackingWriter::DeleteRunValues(int64_t run_id,
                                             const std::vector<int64_t>& executions) {
  static constexpr const char* kByRun[] = {
      "DELETE FROM run_tags WHERE run_id = ?1",
      "DELETE FROM run_params WHERE run_id = ?1",
      "DELETE FROM run_metrics WHERE run_id = ?1",
      "DELETE FROM metric_points WHERE owner = -?1",
  };
  static constexpr const char* kByExecution[] = {
      "DELETE FROM execution_params WHERE execution_id = ?1",
      "DELETE FROM execution_metrics WHERE execution_id = ?1",
      "DELETE FROM metric_points WHERE owner = ?1",
  };
  for (const char* sql : kByRun) {
    absl::StatusOr<std::unique_ptr<sqlite::Statement>> q = db_.Prepare(sql);
    if (!q.ok()) return q.status();
    (*q)->Bind(1, run_id);
    absl::Status s = (*q)->Run();
    if (!s.ok()) return s;
  }
  for (const char* sql : kByExecution) {
    absl::StatusOr<std::unique_ptr<sqlite::Statement>> q = db_.Prepare(sql);
    if (!q.ok()) return q.status();
    for (int64_t id : executions) {
      (*q)->Bind(1, id);
      absl::Status s = (*q)->Run();
      if (!s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace lineage_internal
}  // namespace mlops
