// mlops/lineage/lineage_store.h — the record of what ran, on what, producing what.
//
// Every step call becomes an `Execution` in a `Run`, linked to the `Artifact`s (values, by
// content digest) it read and wrote (lineage.proto). A LineageStore keeps these records and
// answers the questions lineage is for: who produced this value, what consumed it, what is
// the whole graph upstream or downstream of it, what did a run do. Runs can be deleted,
// together with the artifacts nothing else refers to.
//
// `SqliteLineageStore` (sqlite_lineage_store.h) is the embedded implementation.
//
// Example:
//   absl::StatusOr<int64_t> run = store->BeginRun(run_proto);
//   execution.set_run_id(*run);
//   absl::StatusOr<int64_t> id = store->RecordExecution(execution);
//   absl::StatusOr<mlops::Subgraph> up = store->Upstream(mlops::LineageNode::Of(model_digest));
//
// Listings that can grow without bound (ExecutionsOfStep, FindRuns, FindArtifactsByPrefix)
// are paged (page.h): they take a PageRequest and return a Page whose `next_page_token` says
// whether more follow. By default (max_results 0) they return everything; no query cuts
// its answer without saying so. The other listings (a run's executions, an artifact's
// producers and consumers, closures, StepOutputs) always return everything.
//
// Thread safety: implementations are safe for concurrent use by many threads; the SQLite
// implementation also by many processes sharing one database file.
#ifndef MLOPS_LINEAGE_LINEAGE_STORE_H_
#define MLOPS_LINEAGE_LINEAGE_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "mlops/hash/digest.h"
#include "mlops/lineage/lineage.pb.h"
#include "mlops/lineage/page.h"
#include "mlops/lineage/tracking.h"

namespace mlops {

// Where a closure query starts: an artifact (by digest) or an execution (by id).
struct LineageNode {
  std::optional<Digest> artifact;
  int64_t execution_id = 0;

  static LineageNode Of(const Digest& d) { return LineageNode{d, 0}; }
  static LineageNode OfExecution(int64_t id) { return LineageNode{std::nullopt, id}; }
};

struct ClosureOptions {
  // At most this many executions deep (1 = only the direct producers/consumers); negative
  // means no limit.
  int max_hops = -1;
  // Follow executions that were answered from the cache. By default an artifact's producers
  // are the executions that computed it; cache hits that returned it are followed only
  // when no computing execution is recorded (e.g. its run was deleted).
  bool include_cache_hits = false;
};

// Which runs FindRuns returns. Unset fields do not filter. (How many: its PageRequest.)
struct RunFilter {
  std::optional<std::string> program;
  std::optional<Run::Status> status;
  std::optional<absl::Time> started_after;   // inclusive
  std::optional<absl::Time> started_before;  // exclusive
};

// How many executions a run has (LineageStore::CountExecutions).
struct RunCounts {
  int64_t executions = 0;  // all of them, cache hits included
  int64_t cache_hits = 0;  // those answered from the cache
  int64_t failed = 0;      // those with status FAILED
};

class LineageStore {
 public:
  virtual ~LineageStore() = default;

  // Records a new run and returns its id (run.id() is ignored). INVALID_ARGUMENT if
  // `program` is empty.
  virtual absl::StatusOr<int64_t> BeginRun(const Run& run) = 0;

  // Replaces the stored run with id run.id() (e.g. to set its end time and status).
  // NOT_FOUND if there is no such run.
  virtual absl::Status UpdateRun(const Run& run) = 0;

  // NOT_FOUND if there is no run with this id.
  virtual absl::StatusOr<Run> GetRun(int64_t id) = 0;

  // Runs matching `filter`, newest first (by start time, then by id), paged as `page` asks
  // (page.h; by default all of them). A page token continues only a FindRuns with the
  // same filter. INVALID_ARGUMENT for a negative max_results or a token that is malformed
  // or from another query.
  virtual absl::StatusOr<Page<Run>> FindRuns(const RunFilter& filter,
                                             const PageRequest& page = {}) = 0;

  // Deletes the run, its executions and their events, and every artifact that no remaining
  // execution refers to. NOT_FOUND if there is no such run.
  virtual absl::Status DeleteRun(int64_t id) = 0;

  // Records an execution with its input and output artifacts, atomically: after a crash it is
  // there whole or not at all. Returns its new id (execution.id() is ignored). Records may be
  // committed in batches (see the implementation); every query sees them at once.
  // INVALID_ARGUMENT for an empty step name or a malformed digest; NOT_FOUND if run_id is
  // set and names no run.
  virtual absl::StatusOr<int64_t> RecordExecution(Execution execution) = 0;

  // Replaces the stored execution with id execution.id(), e.g. to finish a RUNNING one.
  // NOT_FOUND if there is none.
  virtual absl::Status UpdateExecution(const Execution& execution) = 0;

  // NOT_FOUND if there is no execution with this id.
  virtual absl::StatusOr<Execution> GetExecution(int64_t id) = 0;

  // NOT_FOUND if no execution has read or written this artifact.
  virtual absl::StatusOr<Artifact> GetArtifact(const Digest& digest) = 0;

  // The executions of a run, all of them, in id order. NOT_FOUND if there is no such run.
  virtual absl::StatusOr<std::vector<Execution>> ExecutionsOfRun(int64_t run_id) = 0;

  // The executions of a step, newest first (by start time, then by id), paged as `page`
  // asks (page.h; by default all of them). Empty if there are none. A page token continues
  // only ExecutionsOfStep of the same step. INVALID_ARGUMENT for a negative max_results or
  // a token that is malformed or from another query.
  virtual absl::StatusOr<Page<Execution>> ExecutionsOfStep(const std::string& step_name,
                                                           const PageRequest& page = {}) = 0;

  // Executions that output the artifact (computing ones first, then cache hits; each group
  // in id order). Empty if none.
  virtual absl::StatusOr<std::vector<Execution>> Producers(const Digest& digest) = 0;

  // Executions that read the artifact, in id order. Empty if none.
  virtual absl::StatusOr<std::vector<Execution>> Consumers(const Digest& digest) = 0;

  // Everything the node depends on (Upstream) or that depends on it (Downstream): the
  // executions reached, every event of those executions, and every artifact those events
  // name. NOT_FOUND if the start node is unknown.
  virtual absl::StatusOr<Subgraph> Upstream(const LineageNode& from,
                                            const ClosureOptions& options = {}) = 0;
  virtual absl::StatusOr<Subgraph> Downstream(const LineageNode& from,
                                              const ClosureOptions& options = {}) = 0;

  // Commits every record made so far.
  virtual absl::Status Flush() = 0;

  // Read-only lookups for tools (the `mlops` command line).

  // The digests of the artifacts whose hex form starts with `hex_prefix` (1 to 32 hex
  // characters, either case), in digest order, paged as `page` asks (page.h; by default
  // all of them). Empty if none. INVALID_ARGUMENT, quoting the prefix, if it is empty,
  // longer than 32 characters or not hex; INVALID_ARGUMENT for a negative max_results or a
  // token that is malformed or from another query (the same prefix in either case is the
  // same query).
  virtual absl::StatusOr<Page<Digest>> FindArtifactsByPrefix(absl::string_view hex_prefix,
                                                             const PageRequest& page = {}) = 0;

  // Every (artifact, step) pair such that an execution of that step output the artifact,
  // cache hits included, each pair once, ordered by digest then step name.
  struct StepOutput {
    Digest digest;
    std::string step_name;
  };
  virtual absl::StatusOr<std::vector<StepOutput>> StepOutputs() = 0;

  // How many executions the run has, counted without loading them: what
  // ExecutionsOfRun(run_id) would return, counted. NOT_FOUND if there is no such run.
  virtual absl::StatusOr<RunCounts> CountExecutions(int64_t run_id) = 0;

  // Experiment tracking (tracking.h). Runs name their experiment and their name in the
  // Run given to BeginRun: an empty experiment is "default"; an empty name becomes
  // "<program's base name>-<id>". BeginRun fails INVALID_ARGUMENT for an experiment or
  // name over kMaxTrackingNameBytes.

  // Sets the run's tag `key` (the last write wins). INVALID_ARGUMENT for a bad key or
  // value (CheckTrackingName, CheckTrackingValue); NOT_FOUND if there is no such run.
  virtual absl::Status SetRunTag(int64_t run_id, absl::string_view key,
                                 absl::string_view value) = 0;
  // Logs a param of the run itself. Write-once: FAILED_PRECONDITION naming both values if
  // the run already logged `key` with another value (the same value again is OK).
  // INVALID_ARGUMENT for a bad key or value; NOT_FOUND if there is no such run.
  virtual absl::Status LogRunParam(int64_t run_id, absl::string_view key,
                                   absl::string_view value) = 0;
  // Appends `points` to the series `key` of `owner` (a run's own, or an execution's, which
  // RecordExecution returned). Queued and written with the executions (batched, see the
  // implementation). INVALID_ARGUMENT for a bad key; NOT_FOUND if the owner's run is
  // unknown.
  virtual absl::Status LogMetricPoints(const MetricOwner& owner, absl::string_view key,
                                       std::vector<MetricPoint> points) = 0;
  // The run's tags, params and metrics (tracking.h). NOT_FOUND if there is no such run.
  virtual absl::StatusOr<RunValues> GetRunValues(int64_t run_id) = 0;
  // The series `key` of `owner`, in the order logged; empty if it logged none. A cache
  // hit's series are those of the execution whose result it reuses (its representative,
  // which computed the result), not copies. NOT_FOUND if the execution (or, for a run's
  // own, the run) does not exist.
  virtual absl::StatusOr<std::vector<MetricPoint>> MetricSeries(const MetricOwner& owner,
                                                                absl::string_view key) = 0;
  // The names of the series of `owner` (as for MetricSeries), sorted.
  virtual absl::StatusOr<std::vector<std::string>> MetricKeys(const MetricOwner& owner) = 0;
  // Every experiment (with at least one run, or "default"), by name.
  virtual absl::StatusOr<std::vector<Experiment>> Experiments() = 0;
};

}  // namespace mlops

#endif  // MLOPS_LINEAGE_LINEAGE_STORE_H_
