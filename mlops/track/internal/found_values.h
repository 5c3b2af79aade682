// Internal: the tags, params and metrics of a page of search results, read in one query
// per few hundred rows rather than one per row.
//
// Thread safety: as the store's.
#ifndef MLOPS_TRACK_INTERNAL_FOUND_VALUES_H_
#define MLOPS_TRACK_INTERNAL_FOUND_VALUES_H_

#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "mlops/lineage/sqlite_lineage_store.h"
#include "mlops/lineage/tracking.h"
#include "mlops/track/internal/listing.h"

namespace mlops {
namespace track {
namespace internal {

// The values of each of `ids`: for kRuns, the runs' (as GetRunValues gives them); for
// kExecutions, the executions' own params and metrics (no tags). An id without values, or
// no longer stored, has none (absent from the map). The store's errors (Select).
absl::StatusOr<absl::flat_hash_map<int64_t, RunValues>> ReadFoundValues(
    SqliteLineageStore& store, Listing listing, const std::vector<int64_t>& ids);

}  // namespace internal
}  // namespace track
}  // namespace mlops

#endif  // MLOPS_TRACK_INTERNAL_FOUND_VALUES_H_
