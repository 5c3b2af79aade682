// Internal: the reads of experiment tracking (tracking_schema.h): a run's values, metric
// series and their names, experiments, and the read-only queries of mlops/track.
//
// Errors name the database (`path`): NOT_FOUND for a missing execution, DATA_LOSS for
// stored points that do not decode (or damage SQLite meets), others from SQLite.
//
// Thread safety: not thread-safe; used under the connection's lock (LineageDb::mu).
#ifndef MLOPS_LINEAGE_INTERNAL_TRACKING_READER_H_
#define MLOPS_LINEAGE_INTERNAL_TRACKING_READER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "mlops/base/internal/sqlite.h"
#include "mlops/lineage/sqlite_lineage_store.h"
#include "mlops/lineage/tracking.h"

namespace mlops {
namespace lineage_internal {

// REQUIRES (for the run's): the run exists.
absl::StatusOr<RunValues> ReadRunValues(sqlite::Db& db, int64_t run_id);
absl::StatusOr<std::vector<MetricPoint>> ReadSeries(sqlite::Db& db, const MetricOwner& owner,
                                                    absl::string_view key);
absl::StatusOr<std::vector<std::string>> ReadMetricKeys(sqlite::Db& db,
                                                        const MetricOwner& owner);
absl::StatusOr<std::vector<Experiment>> ReadExperiments(sqlite::Db& db);
// As SqliteLineageStore::Select.
absl::StatusOr<std::vector<std::vector<SqlValue>>> SelectRows(sqlite::Db& db,
                                                              const SqlQuery& query);

}  // namespace lineage_internal
}  // namespace mlops

#endif  // MLOPS_LINEAGE_INTERNAL_TRACKING_READER_H_
