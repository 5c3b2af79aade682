// mlops/pipeline/pipeline.h — typed DAGs of steps, run in parallel through a Workspace.
//
// A Pipeline is a program's steps declared as a graph before anything runs. Adding a step
// with its inputs (handles of earlier nodes, or literal values) returns a typed handle to
// its output; passing a handle where the step expects another type does not compile, and
// since a node can only take handles that already exist, a cycle cannot be built. Running
// one or more targets executes the nodes they need in dependency order on a pool of
// threads, independent branches at the same time, each node through the Workspace's cache
// (Workspace::Execute) exactly as `Workspace::Call` would: a node and the same step called
// with the same inputs share one cache key.
//
// A node's key is formed from its upstream outputs' digests, which the action cache
// returns on a hit, so a fully cached run reads and decodes only the targets' values;
// nothing upstream is loaded or rehashed. After a change to one node (its step version, a
// literal input, an input file's content), only that node and what depends on it run.
// A value a running node needs but that cannot be read (evicted, corrupt) is recomputed.
// (Values missing when the run starts are simply misses, computed in dependency order. A
// value that disappears or goes bad after its node's hit is recomputed on the running
// thread's stack, one frame per node up the chain of such values: a chain of thousands of
// them, e.g. a concurrent `mlops gc` evicting a long chain mid-run, could exhaust it.)
//
// Example:
//   mlops::Pipeline p("train");
//   mlops::Handle<Dataset> data = p.Add("load", load, mlops::File("data.csv"));
//   auto [train_set, test_set] = p.Add("split", split, data, 0.25);   // two outputs
//   mlops::Handle<Model> a = p.Add("train_a", train, train_set, params_a);
//   mlops::Handle<Model> b = p.Add("train_b", train, train_set, params_b);  // parallel to a
//   mlops::Handle<Metrics> ma = p.Add("eval_a", evaluate, a, test_set);
//   absl::StatusOr<mlops::RunResult> r = p.Run(*workspace, {ma});
//   if (r.ok() && r->status().ok()) { mlops::Stored<Metrics> m = *r->Get(ma); }
//
// Errors: misuse (a handle of another pipeline, a duplicate or empty node name, an empty
// pipeline) is reported by Run as a Status before anything executes. A node that fails
// does not fail Run: the RunResult says which nodes failed, ran, hit, or were skipped
// because an upstream node failed, and RunResult::status() is the first failure.
//
// Lineage: every node the run executes is recorded in the Workspace's Run (one Run per
// Workspace per process), computed or cache hit, so `workspace.lineage().ExecutionsOfRun(
// workspace.run_id())` lists them; NodeResult::execution_id maps nodes to those records.
//
// Thread safety: build a Pipeline from one thread. Once built, Run and ToDot are const and
// may be called from several threads at once (on one or several Workspaces). Steps run on
// the pool's threads, so their callables must be safe to call concurrently.
#ifndef MLOPS_PIPELINE_PIPELINE_H_
#define MLOPS_PIPELINE_PIPELINE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "mlops/core/workspace.h"
#include "mlops/hash/digest.h"
#include "mlops/pipeline/internal/node.h"

namespace mlops {

class Pipeline;
namespace pipeline_internal {
struct Access;
}  // namespace pipeline_internal

// One output of one node of one pipeline, untyped: what Run takes as a target.
class NodeRef {
 public:
  // An unset reference, which belongs to no pipeline (Add and Run reject it).
  NodeRef() = default;
  int node() const { return node_; }      // the node's index in its pipeline (add order)
  int output() const { return output_; }  // which of the node's outputs
  uint64_t pipeline_id() const { return pipeline_id_; }

 protected:
  NodeRef(uint64_t pipeline_id, int node, int output)
      : pipeline_id_(pipeline_id), node_(node), output_(output) {}

 private:
  uint64_t pipeline_id_ = 0;
  int node_ = -1;
  int output_ = 0;
};

// A typed handle to one output of a node, returned by Pipeline::Add. It may be passed to
// later nodes of the same pipeline wherever their step takes a T, used as a Run target,
// and given to RunResult::Get. Copyable; it stays valid as long as its Pipeline does.
// A default-constructed Handle is unset: it belongs to no pipeline.
template <typename T>
class Handle : public NodeRef {
 public:
  using Type = T;
  Handle() = default;

 private:
  friend struct pipeline_internal::Access;
  using NodeRef::NodeRef;
};

// How a node fared in one run.
enum class NodeOutcome {
  kHit,      // the action cache had its result; the step did not run
  kRan,      // the step ran and succeeded
  kFailed,   // the step, or obtaining its inputs, failed
  kSkipped,  // not run: an upstream node failed (or fail-fast stopped the run)
};
const char* NodeOutcomeName(NodeOutcome outcome);  // "hit", "ran", "failed", "skipped"

struct NodeResult {
  std::string name;  // the node's name
  int node = 0;      // its index in the pipeline
  NodeOutcome outcome = NodeOutcome::kSkipped;
  // OK for hits and runs. For a failed node, its error (naming the node and step); for a
  // skipped node, the failed upstream node's code with a message naming that node.
  absl::Status status;
  // The node's execution in lineage: the CACHED one for a hit, the SUCCEEDED or FAILED one
  // for a run or a failure. 0 when nothing was recorded: skipped nodes, and nodes that
  // failed before their step could run (e.g. an input file that cannot be read).
  int64_t execution_id = 0;
  // The outputs' digests and encoded sizes (empty unless hit or ran).
  std::vector<Digest> digests;
  std::vector<int64_t> sizes;
  // True if a value of this node that was a hit had to be recomputed in this run because
  // it could not be read back (then outcome is kRan and execution_id the recomputation).
  bool recomputed = false;
};

// Progress of a run, as passed to RunOptions::progress.
struct RunProgress {
  int64_t done = 0;     // nodes finished (hit, ran, failed or skipped)
  int64_t total = 0;    // nodes the run needs
  int64_t running = 0;  // nodes executing now
  int64_t hits = 0;     // finished nodes that were cache hits
};

struct RunOptions {
  // Threads that execute nodes; 0 means the number of cores.
  int parallelism = 0;
  // On a node's failure, keep running every node that does not depend on it (the default),
  // or start no new node (nodes already running finish; the rest are skipped).
  bool keep_going = true;
  // The cache mode of every node; default: the Workspace's default mode.
  std::optional<CacheMode> mode;
  // Called after each node finishes, from the pool's threads, one call at a time, never
  // concurrently. Must not call back into the run.
  std::function<void(const RunProgress&)> progress;
  // Without a progress callback: show a one-line progress display on stderr, when stderr
  // is a terminal and the run has lasted more than a second.
  bool show_progress = true;
};

// What one run did, node by node.
class RunResult {
 public:
  // OK if every node the run needed hit or ran; else the first failed node's status (in
  // pipeline order), or the first skipped node's when fail-fast skipped without failure.
  absl::Status status() const;

  // The nodes the run needed (the targets and everything upstream of them), in pipeline
  // order.
  const std::vector<NodeResult>& nodes() const { return nodes_; }
  // The result of the node named `name`, or nullptr if it was not part of this run.
  const NodeResult* node(absl::string_view name) const;

  int64_t hits() const { return Count(NodeOutcome::kHit); }
  int64_t ran() const { return Count(NodeOutcome::kRan); }
  int64_t failed() const { return Count(NodeOutcome::kFailed); }
  int64_t skipped() const { return Count(NodeOutcome::kSkipped); }
  // The Workspace's Run that holds this run's executions.
  int64_t run_id() const { return run_id_; }

  // The value of a target. INVALID_ARGUMENT if `handle` belongs to another pipeline;
  // NOT_FOUND if its node was not part of the run; FAILED_PRECONDITION if it was needed
  // but not a target (its value was never loaded); the node's status if it failed or was
  // skipped. The Stored<T> says whether it came from the cache and its execution id.
  template <typename T>
  absl::StatusOr<Stored<T>> Get(const Handle<T>& handle) const;

 private:
  friend class Pipeline;
  int64_t Count(NodeOutcome outcome) const;
  const NodeResult* Find(const NodeRef& ref, absl::Status* error) const;

  uint64_t pipeline_id_ = 0;
  int64_t run_id_ = 0;
  std::vector<NodeResult> nodes_;
  std::vector<int> slot_;  // node index -> position in nodes_, or -1
  // Target values, parallel to nodes_ (empty for nodes that are not targets).
  std::vector<std::vector<pipeline_internal::Value>> values_;
  absl::flat_hash_map<std::string, int> by_name_;
};

class Pipeline {
 public:
  // A new, empty pipeline. `name` labels it in DOT output and progress lines.
  explicit Pipeline(std::string name);
  Pipeline(Pipeline&&) = default;
  Pipeline& operator=(Pipeline&&) = default;
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Adds a node named `name` that calls `step` on `inputs`, one per step parameter, each
  // either a Handle<P> of an earlier node of this pipeline, or a value that fits P as in
  // Workspace::Call (a P, a Stored<P>, a lossless conversion to P, an mlops::File for a
  // File parameter). Literal values are hashed now, once; files when the node runs.
  // Returns a Handle<T> for a step returning T (or StatusOr<T>), and for a step returning
  // std::tuple<A, B, ...> a std::tuple<Handle<A>, Handle<B>, ...>.
  // A wrong input type or count fails to compile. A duplicate or empty name, or a handle
  // of another pipeline, is an error that Run reports (INVALID_ARGUMENT); the handles
  // returned meanwhile are valid to pass on but the pipeline cannot run.
  // REQUIRES: `step` may be copied (the pipeline keeps a copy).
  template <typename Fn, typename... Args>
  auto Add(std::string name, const Step<Fn>& step, Args&&... inputs);

  // Runs the nodes `targets` need, and loads the targets' values into the result.
  // Returns INVALID_ARGUMENT for a build error (see Add), no targets, a target of another
  // pipeline, or parallelism < 0. Node failures are in the RunResult, not here.
  // REQUIRES: `workspace` outlives the call.
  absl::StatusOr<RunResult> Run(Workspace& workspace, const std::vector<NodeRef>& targets,
                                const RunOptions& options = {}) const;
  // Runs every node; the targets are the nodes no other node takes as input.
  // INVALID_ARGUMENT for an empty pipeline, and as above.
  absl::StatusOr<RunResult> RunAll(Workspace& workspace, const RunOptions& options = {}) const;

  // The graph in Graphviz DOT: a box per node (name, step, version), an edge per input
  // handle. With `last`, nodes are coloured by their outcome in that run.
  std::string ToDot(const RunResult* last = nullptr) const;

  const std::string& name() const { return name_; }
  int size() const { return static_cast<int>(nodes_.size()); }
  // The first build error (see Add), or OK.
  const absl::Status& status() const { return error_; }

 private:
  friend struct pipeline_internal::Access;
  void AddNode(pipeline_internal::NodeSpec node);
  void Fail(absl::Status error);

  std::string name_;
  uint64_t id_;
  std::vector<pipeline_internal::NodeSpec> nodes_;
  absl::flat_hash_map<std::string, int> by_name_;
  absl::Status error_;
};

}  // namespace mlops

#include "mlops/pipeline/internal/add.h"  // IWYU pragma: export

#endif  // MLOPS_PIPELINE_PIPELINE_H_
