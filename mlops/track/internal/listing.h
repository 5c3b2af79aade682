// Internal: what a search lists, and the SQL that names each of its fields (tables, columns
// and expressions of the lineage database, tracking_schema.h), shared by filter_sql.h and
// sql_builder.h. Every query of a listing reads its rows from `from` with these aliases:
// r the run, e the execution, x the run's experiment.
//
// Thread safety: constants and pure functions.
#ifndef MLOPS_TRACK_INTERNAL_LISTING_H_
#define MLOPS_TRACK_INTERNAL_LISTING_H_

#include <string>

#include "mlops/track/filter.h"

namespace mlops {
namespace track {
namespace internal {

enum class Listing {
  kRuns,        // runs: metrics, params and tags are the run's (tracking.h)
  kExecutions,  // computing executions of a step: their own metrics and params, their
                // run's tags
};

// The tables and columns behind a listing's fields.
struct ListingSql {
  const char* from;        // the listing's table(s); for runs, without the experiment (x)
  const char* id;          // the row's id
  const char* start_us;    // its start time
  const char* end_us;      // its end time, NULL if it has not ended (stored as 0)
  const char* status;      // its status (the proto enum's number)
  const char* run_id;      // its run's id, NULL if none
  const char* run_name;    // its run's name
  const char* metrics;     // the table of its metrics...
  const char* params;      // ...and of its params...
  const char* owner;       // ...whose column `owner` names...
  const char* owner_expr;  // ...this row.
  const char* tag_owner;   // its run's id, for run_tags (whose owner column is run_id)
  // Whether metric, param and tag values have *_by_key indexes to start a query from.
  bool indexed_values;
};

const ListingSql& SqlOf(Listing listing);

// The table of metric, param or tag `field` in `listing`, and its owner column.
const char* ValueTable(const ListingSql& listing, Field field);
const char* ValueOwner(const ListingSql& listing, Field field);
// The expression that names this row in that owner column.
const char* ValueOwnerExpr(const ListingSql& listing, Field field);

// The expression of `attribute` (status as its name: "RUNNING", "SUCCEEDED", "FAILED",
// "CACHED", "UNKNOWN"; experiment as x.name).
std::string AttributeSql(const ListingSql& listing, Attribute attribute);

// MLflow's name of SUCCEEDED (Run and Execution share the number, 2), accepted for it.
inline constexpr char kSucceeded[] = "SUCCEEDED";
inline constexpr char kFinished[] = "FINISHED";

}  // namespace internal
}  // namespace track
}  // namespace mlops

#endif  // MLOPS_TRACK_INTERNAL_LISTING_H_
