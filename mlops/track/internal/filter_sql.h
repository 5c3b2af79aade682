// Internal: a parsed filter (filter.h) as the terms of a WHERE clause over a listing
// (listing.h), with the *_by_key indexes in mind:
//   - one metric, param or tag clause of a run search that an index can answer (an
//     equality first, else a range, else a LIKE with a fixed prefix) becomes `r.id IN
//     (SELECT d.run_id FROM ... d WHERE d.key = ? AND d.value ...)`, with the other
//     metric, param and tag clauses probed inside it (EXISTS on the (run, key) primary
//     key, for d.run_id): SQLite reads the matching index range, keeps the ids that pass
//     the probes, sorts them and looks only those runs up, in id order;
//   - without such a clause (and always for executions, whose values have no key index)
//     each metric, param and tag clause is an EXISTS probe of the row's primary key;
//   - attributes are conditions on the row's own columns.
// What each comparison means is search.h's: a missing key matches nothing, NaN (NULL)
// differs from everything and equals nothing, LIKE is case-sensitive (as GLOB), ILIKE is
// SQLite's LIKE, times are milliseconds of microsecond columns.
//
// Thread safety: pure functions (`params` is the caller's).
#ifndef MLOPS_TRACK_INTERNAL_FILTER_SQL_H_
#define MLOPS_TRACK_INTERNAL_FILTER_SQL_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "mlops/track/filter.h"
#include "mlops/track/internal/listing.h"
#include "mlops/track/internal/sql_params.h"

namespace mlops {
namespace track {
namespace internal {

// The terms `filter` puts on the rows of `listing`, to be joined by AND (none for an empty
// filter), every value bound into `params`. The runs listing needs x, the experiment,
// joined if a clause names the experiment attribute.
std::vector<std::string> FilterSql(const ListingSql& listing, const Filter& filter,
                                   SqlParams* params);

// A LIKE pattern (% any run of characters, _ one character, no escape) as the GLOB pattern
// that matches the same strings, case-sensitively (SQLite's LIKE ignores ASCII case).
std::string LikeToGlob(absl::string_view like);

}  // namespace internal
}  // namespace track
}  // namespace mlops

#endif  // MLOPS_TRACK_INTERNAL_FILTER_SQL_H_
