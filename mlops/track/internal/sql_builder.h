// Internal: a parsed search (filter.h) as one SQL query on the lineage database's tables
// (mlops/lineage/internal/tracking_schema.h), for SqliteLineageStore::Select. Every value
// the user gave (keys, literals, experiment and step names, page positions) is a bound
// parameter; the SQL text is made only of this file's own words.
//
// The query returns the rows of the listing (runs, or the computing executions of one
// step) that match, in the search's order, after a position (keyset paging), at most
// `limit` of them. Each row holds the listing's own columns (see kRunColumns,
// kExecutionColumns), then its position: for each order key a rank and a value, then the
// start time and the id. The rank sorts rows that lack the key after those that have it,
// in either direction: 0 a value, 1 a metric that is NaN (SQLite holds it as NULL), 2 no
// value; the value column is NULL unless the rank is 0.
//
// The filter's terms are filter_sql.h's; the rows are listing.h's.
//
// Thread safety: pure functions.
#ifndef MLOPS_TRACK_INTERNAL_SQL_BUILDER_H_
#define MLOPS_TRACK_INTERNAL_SQL_BUILDER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "mlops/lineage/sqlite_lineage_store.h"
#include "mlops/track/filter.h"
#include "mlops/track/internal/listing.h"

namespace mlops {
namespace track {
namespace internal {

// A run row: id, proto, name; then the position.
inline constexpr size_t kRunColumns = 3;
// An execution row: id, run name (NULL without a run), experiment name (likewise); then
// the position.
inline constexpr size_t kExecutionColumns = 3;

struct SearchSpec {
  Listing listing = Listing::kRuns;
  Filter filter;
  std::vector<OrderKey> order;
  // kRuns: only runs of experiments with these names (empty: every experiment).
  std::vector<std::string> experiments;
  // kExecutions: the step whose executions are listed.
  std::string step;
  // Empty for the first page, else the position (PositionSize(order) values, as checked by
  // DecodePosition) of the last row of the page before.
  std::vector<SqlValue> after;
  // At most this many rows; -1 for all.
  int64_t limit = -1;
};

// How many position columns a row has for `order`: 2 per key, then start time and id.
inline size_t PositionSize(const std::vector<OrderKey>& order) { return 2 * order.size() + 2; }

// The query for `spec`. REQUIRES: spec.after is empty or of PositionSize(spec.order)
// values, each rank an integer and each value NULL exactly when its rank is not 0.
SqlQuery BuildSearchSql(const SearchSpec& spec);

}  // namespace internal
}  // namespace track
}  // namespace mlops

#endif  // MLOPS_TRACK_INTERNAL_SQL_BUILDER_H_
