// mlops/track/search.h — searching the runs of a lineage database, and the executions of
// one step across runs, with MLflow's search syntax (filter.h).
//
// A search names a filter (`metrics.auc > 0.9 AND params.model = 'logreg'`), an order
// (`metrics.auc DESC, params.lr`) and a page (page.h); it returns the matching runs with
// their tags, params and metrics (tracking.h), or the executions with theirs. Use
// SearchRuns to compare the runs of experiments, and SearchExecutions to compare the
// candidates of a sweep: the executions of one step that computed a result, whichever
// runs they were in.
//
// Example:
//   mlops::track::RunSearch search;
//   search.experiments = {"churn"};
//   search.filter = "metrics.auc > 0.9 AND params.model = 'logreg'";
//   search.order_by = "metrics.auc DESC";
//   search.page.max_results = 10;
//   absl::StatusOr<mlops::Page<mlops::track::FoundRun>> best =
//       mlops::track::SearchRuns(*store, search);
//   if (!best.ok()) return best.status();  // a malformed filter: INVALID_ARGUMENT, caret
//   for (const mlops::track::FoundRun& r : best->items) {
//     Print(r.run.name(), r.values.metrics.at("auc").value);
//   }
//
// What the fields of a filter and an order_by compare (the syntax is filter.h's):
//   metrics.X     the value of the metric (for runs, RunValues.metrics: the last point of
//                 the series logged last; for executions, the execution's own), as a
//                 double. NaN equals nothing and differs from everything, as in IEEE
//                 arithmetic: of the comparisons only != holds for it. ±infinity compare
//                 as numbers do.
//   params.X      the param, as a string, as in MLflow: `params.lr = '0.1'` does not
//                 match a run that logged lr as "0.10", and `params.epochs > '9'` is not
//                 allowed (compare params with = != LIKE ILIKE only).
//   tags.X        the tag of the run (of the execution's run, for executions), a string.
//   A run (or execution) that lacks the key X matches no comparison on it, != included:
//   `params.model != 'svm'` matches only runs that logged a model other than svm.
//   LIKE is SQL's pattern (% any run of characters, _ one character, no escape
//   character), case-sensitive; ILIKE the same ignoring the case of ASCII letters.
//   attributes:
//     status      "RUNNING", "SUCCEEDED", "FAILED" (and for executions "CACHED", though
//                 cache hits are never listed); MLflow's "FINISHED" names SUCCEEDED, in =,
//                 !=, IN and NOT IN, and a LIKE pattern matches SUCCEEDED if it matches
//                 either name. Case-sensitive, as every string comparison but ILIKE.
//     run_name    the run's name; run_id the run's id (as a string: '42'; a string that is
//                 not how an id is written, such as '042', equals no id); experiment the
//                 name of the run's experiment. An execution without a run has none of
//                 these: they match nothing.
//     start_time, end_time   milliseconds since the Unix epoch (times are kept to the
//                 microsecond; the time in milliseconds is rounded down). Something that
//                 has not ended (no end time recorded) has no end_time.
//
// Order: by the order_by keys, each ascending unless DESC. Rows that lack a key come after
// those that have it, in either direction; a metric that is NaN comes after every number
// and before the rows without the metric. Strings compare by their bytes; run_id sorts as
// a number. Ties, and the default order (an empty order_by), are newest first: by start
// time, then by id, both descending.
//
// Paging is page.h's, by position (keyset): every match is listed exactly once however the
// pages are cut, and runs added meanwhile are never listed twice. (A run whose order_by
// value changes between two pages moves across the position, as in any keyset listing: it
// may then be listed twice, or not at all.) A token continues only the search it came from
// (the same experiments, filter, order_by and, for executions, step, spelled the same);
// the page size may change from page to page.
//
// Thread safety: as the store's, safe to call from many threads at once.
#ifndef MLOPS_TRACK_SEARCH_H_
#define MLOPS_TRACK_SEARCH_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "mlops/lineage/lineage.pb.h"
#include "mlops/lineage/page.h"
#include "mlops/lineage/sqlite_lineage_store.h"
#include "mlops/lineage/tracking.h"

namespace mlops {
namespace track {

// Which runs to list, in what order, and which page of them.
struct RunSearch {
  // The names of the experiments to search; empty: every experiment. A name that no
  // experiment has matches nothing (it is not an error).
  std::vector<std::string> experiments;
  // A filter in MLflow's syntax (filter.h, and above); empty matches every run.
  std::string filter;
  // order_by keys, e.g. "metrics.auc DESC, params.lr" (filter.h); empty: newest first.
  std::string order_by;
  // max_results 0 (the default) lists every match.
  PageRequest page;
};

// A run that matched, with its values (tracking.h) at the time of the search (read just
// after the runs, so a run deleted in between comes with none).
struct FoundRun {
  Run run;
  RunValues values;
};

// The runs that match `search`, in its order, paged as search.page asks. Each item holds
// the run as GetRun returns it and its values as GetRunValues does.
// Errors: INVALID_ARGUMENT for a malformed filter or order_by (the parser's message, with
// its caret, unchanged: filter.h), a filter of more than 100 clauses or 10,000 values, an
// order_by of more than 16 keys, a negative max_results, or a page token that is malformed
// or from another search; DATA_LOSS if a stored run does not parse; the store's errors
// (Select) otherwise. On an error nothing is returned.
absl::StatusOr<Page<FoundRun>> SearchRuns(SqliteLineageStore& store, const RunSearch& search);

// Which executions of a step to list: the candidates of a sweep, the executions that
// computed their result (cache hits only repeat one of those, and are never listed).
struct ExecutionSearch {
  // The step's name (Execution.step_name); empty is INVALID_ARGUMENT.
  std::string step;
  // A filter on the execution's own metrics and params, its run's tags, and attributes:
  // status, start_time and end_time are the execution's; run_id, run_name and experiment
  // its run's.
  std::string filter;
  // As for runs; ties and the default order by the execution's start time, then id.
  std::string order_by;
  PageRequest page;
};

// An execution that matched, with what it logged.
struct FoundExecution {
  // As GetExecution returns it.
  Execution execution;
  // The name of its run's experiment, and of its run; empty if it has no run.
  std::string experiment;
  std::string run_name;
  // The params and metrics the execution logged (the execution's own, not its run's):
  // each metric the last point of its series (MetricValue.execution_id is the execution).
  std::map<std::string, std::string> params;
  std::map<std::string, MetricValue> metrics;
};

// The computing executions of search.step that match, in its order, paged as search.page
// asks (an execution deleted, with its run, while the page is read is left out of it).
// Errors: INVALID_ARGUMENT for an empty step, and as SearchRuns.
absl::StatusOr<Page<FoundExecution>> SearchExecutions(SqliteLineageStore& store,
                                                      const ExecutionSearch& search);

}  // namespace track
}  // namespace mlops

#endif  // MLOPS_TRACK_SEARCH_H_
