#include "mlops/track/internal/found_values.h"

#include <algorithm>
#include <cstddef>
#include <limits>
#include <string>
#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace mlops {
namespace track {
namespace internal {
namespace {

// Ids per query. (They are bound as one JSON array: a statement with hundreds of
// parameters costs more to prepare than to run.)
constexpr size_t kIdsPerQuery = 1000;

// Each row: kind (0 tag, 1 param, 2 metric), owner id, key, value, then for metrics step,
// time_us and execution_id.
constexpr char kRunValues[] =
    "SELECT 0, run_id, key, value, 0, 0, 0 FROM run_tags "
    "WHERE run_id IN (SELECT value FROM json_each(?1)) "
    "UNION ALL SELECT 1, run_id, key, value, 0, 0, 0 FROM run_params "
    "WHERE run_id IN (SELECT value FROM json_each(?1)) "
    "UNION ALL SELECT 2, run_id, key, value, step, time_us, execution_id FROM run_metrics "
    "WHERE run_id IN (SELECT value FROM json_each(?1))";
constexpr char kExecutionValues[] =
    "SELECT 1, execution_id, key, value, 0, 0, 0 FROM execution_params "
    "WHERE execution_id IN (SELECT value FROM json_each(?1)) "
    "UNION ALL SELECT 2, execution_id, key, value, step, time_us, execution_id "
    "FROM execution_metrics WHERE execution_id IN (SELECT value FROM json_each(?1))";

int64_t Int(const SqlValue& v) {
  if (const int64_t* i = std::get_if<int64_t>(&v)) return *i;
  if (const double* d = std::get_if<double>(&v)) return static_cast<int64_t>(*d);
  return 0;
}

// A REAL column: NULL is a NaN (tracking_schema.h).
double Real(const SqlValue& v) {
  if (const double* d = std::get_if<double>(&v)) return *d;
  if (const int64_t* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  return std::numeric_limits<double>::quiet_NaN();
}

std::string Text(const SqlValue& v) {
  if (const std::string* s = std::get_if<std::string>(&v)) return *s;
  return "";
}

}  // namespace

absl::StatusOr<absl::flat_hash_map<int64_t, RunValues>> ReadFoundValues(
    SqliteLineageStore& store, Listing listing, const std::vector<int64_t>& ids) {
  absl::flat_hash_map<int64_t, RunValues> values;
  for (size_t first = 0; first < ids.size(); first += kIdsPerQuery) {
    const size_t n = std::min(kIdsPerQuery, ids.size() - first);
    SqlQuery query;
    query.sql = listing == Listing::kRuns ? kRunValues : kExecutionValues;
    std::string array = "[";
    for (size_t i = 0; i < n; ++i) absl::StrAppend(&array, i == 0 ? "" : ",", ids[first + i]);
    array += "]";
    query.params.emplace_back(std::move(array));
    absl::StatusOr<std::vector<std::vector<SqlValue>>> rows = store.Select(query);
    if (!rows.ok()) return rows.status();
    for (const std::vector<SqlValue>& row : *rows) {
      RunValues& v = values[Int(row[1])];
      std::string key = Text(row[2]);
      switch (Int(row[0])) {
        case 0:
          v.tags.emplace(std::move(key), Text(row[3]));
          break;
        case 1:
          v.params.emplace(std::move(key), Text(row[3]));
          break;
        default:
          v.metrics.emplace(std::move(key),
                            MetricValue{Real(row[3]), Int(row[4]),
                                        absl::FromUnixMicros(Int(row[5])), Int(row[6])});
          break;
      }
    }
  }
  return values;
}

}  // namespace internal
}  // namespace track
}  // namespace mlops
