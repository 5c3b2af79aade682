#include "mlops/track/internal/listing.h"

#include "absl/strings/str_cat.h"

namespace mlops {
namespace track {
namespace internal {
namespace {

constexpr ListingSql kRuns = {
    "runs r",               // from
    "r.id",                 // id
    "r.start_us",           // start_us
    "NULLIF(r.end_us, 0)",  // end_us
    "r.status",             // status
    "r.id",                 // run_id
    "r.name",               // run_name
    "run_metrics",          // metrics
    "run_params",           // params
    "run_id",               // owner
    "r.id",                 // owner_expr
    "r.id",                 // tag_owner
    true,                   // indexed_values
};

constexpr ListingSql kExecutions = {
    "executions e LEFT JOIN runs r ON r.id = e.run_id "
    "LEFT JOIN experiments x ON x.id = r.experiment_id",  // from
    "e.id",                                               // id
    "e.start_us",                                         // start_us
    "NULLIF(e.end_us, 0)",                                // end_us
    "e.status",                                           // status
    "NULLIF(e.run_id, 0)",  // run_id (executions without a run have 0)
    "r.name",               // run_name
    "execution_metrics",    // metrics
    "execution_params",     // params
    "execution_id",         // owner
    "e.id",                 // owner_expr
    "e.run_id",             // tag_owner
    false,                  // indexed_values
};

// Run.Status and Execution.Status share their numbers.
constexpr char kStatusNames[] =
    " WHEN 1 THEN 'RUNNING' WHEN 2 THEN 'SUCCEEDED' WHEN 3 THEN 'FAILED' WHEN 4 THEN 'CACHED' "
    "ELSE 'UNKNOWN' END)";

}  // namespace

const ListingSql& SqlOf(Listing listing) { return listing == Listing::kRuns ? kRuns : kExecutions; }

const char* ValueTable(const ListingSql& listing, Field field) {
  if (field == Field::kTag) return "run_tags";
  return field == Field::kMetric ? listing.metrics : listing.params;
}

const char* ValueOwner(const ListingSql& listing, Field field) {
  return field == Field::kTag ? "run_id" : listing.owner;
}

const char* ValueOwnerExpr(const ListingSql& listing, Field field) {
  return field == Field::kTag ? listing.tag_owner : listing.owner_expr;
}

std::string AttributeSql(const ListingSql& listing, Attribute attribute) {
  switch (attribute) {
    case Attribute::kStatus:
      return absl::StrCat("(CASE ", listing.status, kStatusNames);
    case Attribute::kRunName:
      return listing.run_name;
    case Attribute::kRunId:
      return listing.run_id;
    case Attribute::kExperiment:
      return "x.name";
    case Attribute::kStartTime:
      return listing.start_us;
    case Attribute::kEndTime:
      return listing.end_us;
    default:
      return "NULL";  // not reached: the parser knows no other attribute
  }
}

}  // namespace internal
}  // namespace track
}  // namespace mlops
