#include "mlops/pipeline/internal/run.h"

#include <atomic>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "mlops/base/mutex.h"
#include "mlops/pipeline/internal/scheduler.h"

namespace mlops {
namespace pipeline_internal {
namespace {

absl::Status Prefixed(const absl::Status& status, absl::string_view prefix) {
  return absl::Status(status.code(), absl::StrCat(prefix, status.message()));
}

// One run of a pipeline's needed nodes. Node values flow like this: a node that runs keeps
// its computed values for its dependents (dropped when the last one has finished, unless
// it is a target); a node that hits has only digests, and a dependent that must run loads
// the values it needs on demand (Input), through the cache without recording anything,
// or, if they cannot be read or decoded, by recomputing that node.
class PipelineRun {
 public:
  PipelineRun(Workspace& ws, const RunInput& in)
      : ws_(ws), in_(in), nodes_(*in.nodes), states_(new State[in.needed.size()]) {
    slot_.assign(nodes_.size(), -1);
    for (size_t s = 0; s < in.needed.size(); ++s) {
      slot_[static_cast<size_t>(in.needed[s])] = static_cast<int>(s);
      State& st = states_[s];
      st.target = in.target[s] != 0;
      st.result.node = in.needed[s];
      st.result.name = nodes_[static_cast<size_t>(in.needed[s])].name;
    }
    for (int node : in.needed) {
      for (int u : nodes_[static_cast<size_t>(node)].upstream) ++states_[Slot(u)].consumers;
    }
  }

  Dag Graph() const {
    Dag dag;
    dag.dep_begin.reserve(in_.needed.size() + 1);
    dag.dep_begin.push_back(0);
    for (int node : in_.needed) {
      for (int u : nodes_[static_cast<size_t>(node)].upstream) {
        dag.deps.push_back(static_cast<int>(Slot(u)));
      }
      dag.dep_begin.push_back(static_cast<int>(dag.deps.size()));
    }
    return dag;
  }

  TaskResult Run(int slot) {
    const int node = in_.needed[static_cast<size_t>(slot)];
    State& st = states_[static_cast<size_t>(slot)];
    NodeResult& result = st.result;
    ActionRequest req;
    absl::Status s = BuildRequest(node, &req);
    if (!s.ok()) return Failed(&result, s, 0);
    req.mode = in_.mode;
    req.load_outputs = st.target;

    Job job{this, node, {}, 0};
    const ActionRunner runner = [&job](Context& ctx) { return job.Compute(ctx); };
    absl::StatusOr<ActionOutcome> outcome = ws_.Execute(req, runner);
    if (!outcome.ok()) return Failed(&result, outcome.status(), job.execution_id);
    result.digests = outcome->digests;
    result.sizes = outcome->sizes;
    result.execution_id = outcome->execution_id;
    result.outcome = job.computed.empty() ? NodeOutcome::kHit : NodeOutcome::kRan;
    if (result.outcome == NodeOutcome::kHit && st.target) {
      std::vector<Value> loaded;
      if (!DecodeAll(node, *outcome, &loaded)) {
        // Cached bytes that do not decode as the node's types: never return them; compute.
        req.mode = CacheMode::kForce;
        outcome = ws_.Execute(req, runner);
        if (!outcome.ok()) return Failed(&result, outcome.status(), job.execution_id);
        result.digests = outcome->digests;
        result.sizes = outcome->sizes;
        result.execution_id = outcome->execution_id;
        result.outcome = NodeOutcome::kRan;
        result.recomputed = true;
      } else {
        MutexLock lock(&st.mu);
        st.values = std::move(loaded);
      }
    }
    if (!job.computed.empty() && (st.target || st.consumers.load() > 0)) {
      MutexLock lock(&st.mu);
      st.values = std::move(job.computed);
    }
    Release(node);
    return result.outcome == NodeOutcome::kHit ? TaskResult::kHit : TaskResult::kOk;
  }

  void Skip(int slot, int root_slot, bool cancelled) {
    NodeResult& result = states_[static_cast<size_t>(slot)].result;
    const NodeResult& root = states_[static_cast<size_t>(root_slot)].result;
    result.outcome = NodeOutcome::kSkipped;
    if (cancelled) {
      result.status = absl::CancelledError(
          absl::StrCat("node '", result.name, "' not run: the run stopped (fail-fast) after node '",
                       root.name, "' failed"));
    } else {
      result.status =
          Prefixed(root.status, absl::StrCat("node '", result.name, "' not run: upstream node '",
                                             root.name, "' failed: "));
    }
  }

  RunOutput Finish() {
    RunOutput out;
    out.results.reserve(in_.needed.size());
    out.values.resize(in_.needed.size());
    for (size_t s = 0; s < in_.needed.size(); ++s) {
      out.results.push_back(std::move(states_[s].result));
      if (!states_[s].target) continue;
      MutexLock lock(&states_[s].mu);  // every task has finished: for the analysis
      out.values[s] = std::move(states_[s].values);
    }
    return out;
  }

 private:
  struct State {
    // Written by the node's task; later (under mu) only by a recomputation in Input.
    NodeResult result;
    Mutex mu;
    std::vector<Value> values ABSL_GUARDED_BY(mu);  // computed or loaded values, or empty
    bool target = false;
    std::atomic<int> consumers{0};  // needed dependents that have not finished
  };

  // What a runner needs; one pointer, so that the std::function does not allocate.
  struct Job {
    PipelineRun* run;
    int node;
    std::vector<Value> computed;
    int64_t execution_id = 0;

    absl::StatusOr<std::vector<std::string>> Compute(Context& ctx) {
      execution_id = ctx.execution_id();
      computed.clear();
      return run->Compute(node, ctx, &computed);
    }
  };

  size_t Slot(int node) const { return static_cast<size_t>(slot_[static_cast<size_t>(node)]); }

  TaskResult Failed(NodeResult* result, const absl::Status& status, int64_t execution_id) {
    result->outcome = NodeOutcome::kFailed;
    result->status = Prefixed(status, absl::StrCat("node '", result->name, "': "));
    result->execution_id = execution_id;
    return TaskResult::kFailed;
  }

  // The engine's request for `node`: the step, and its inputs' digests (literals hashed
  // when added, upstream outputs from their results, files through the stat cache).
  absl::Status BuildRequest(int node, ActionRequest* req) {
    const NodeSpec& spec = nodes_[static_cast<size_t>(node)];
    req->step_name = spec.step_name;
    req->step_version = spec.step_version;
    req->callable = spec.callable;
    req->output_names = spec.output_names;
    req->output_types = spec.output_types;
    req->output_signature = spec.output_signature;
    req->inputs.resize(spec.inputs.size());
    for (size_t j = 0; j < spec.inputs.size(); ++j) {
      const InputSpec& in = spec.inputs[j];
      ActionInput& out = req->inputs[j];
      out = in.described;
      if (in.kind == InputSpec::Kind::kUpstream) {
        const NodeResult& up = states_[Slot(in.node)].result;
        out.digest = up.digests[static_cast<size_t>(in.output)];
        out.size = up.sizes[static_cast<size_t>(in.output)];
      } else if (in.kind == InputSpec::Kind::kFile) {
        const std::string& path = static_cast<const File*>(in.literal.get())->path();
        FileStamp stamp;
        absl::StatusOr<Digest> d = ws_.DigestOfFile(path, &stamp);
        if (!d.ok()) {
          return Prefixed(d.status(), absl::StrCat("input ", out.name, " (file ", path, "): "));
        }
        out.digest = *d;
        out.size = stamp.size;
        req->files.push_back(FileInput{path, stamp, *d});
      }
    }
    return absl::OkStatus();
  }

  // Runs `node`'s step on its inputs' values (the runner of its action).
  absl::StatusOr<std::vector<std::string>> Compute(int node, Context& ctx,
                                                   std::vector<Value>* outputs) {
    const NodeSpec& spec = nodes_[static_cast<size_t>(node)];
    std::vector<Value> held(spec.inputs.size());
    std::vector<const void*> inputs(spec.inputs.size());
    for (size_t j = 0; j < spec.inputs.size(); ++j) {
      const InputSpec& in = spec.inputs[j];
      if (in.kind == InputSpec::Kind::kUpstream) {
        absl::StatusOr<Value> v = Input(in.node, in.output);
        if (!v.ok()) {
          return Prefixed(v.status(),
                          absl::StrCat("cannot get input ", in.described.name, " from node '",
                                       nodes_[static_cast<size_t>(in.node)].name, "': "));
        }
        held[j] = *std::move(v);
      } else {
        held[j] = in.literal;
      }
      inputs[j] = held[j].get();
    }
    return spec.invoke(ctx, inputs.data(), outputs);
  }

  // Output `output` of the finished node `node`: its value from this run, else read
  // through the cache (recording nothing), else recomputed (its own inputs likewise).
  absl::StatusOr<Value> Input(int node, int output) {
    State& st = states_[Slot(node)];
    MutexLock lock(&st.mu);
    const size_t k = static_cast<size_t>(output);
    if (k < st.values.size()) return st.values[k];
    ActionRequest req;
    absl::Status s = BuildRequest(node, &req);
    if (!s.ok()) return s;
    req.load_outputs = true;
    req.mode = CacheMode::kReadOnly;
    const ActionRunner none = [](Context&) -> absl::StatusOr<std::vector<std::string>> {
      return absl::InternalError("a read-only lookup ran its step");
    };
    absl::StatusOr<ActionOutcome> cached = ws_.Execute(req, none);
    std::vector<Value> loaded;
    if (cached.ok() && DecodeAll(node, *cached, &loaded)) {
      st.values = std::move(loaded);
      return st.values[k];
    }
    if (in_.mode == CacheMode::kReadOnly) {
      return cached.ok() ? absl::DataLossError("the cached value does not decode")
                         : cached.status();
    }
    // The value cannot be read: compute it again.
    Job job{this, node, {}, 0};
    const ActionRunner runner = [&job](Context& ctx) { return job.Compute(ctx); };
    req.mode = CacheMode::kForce;
    absl::StatusOr<ActionOutcome> again = ws_.Execute(req, runner);
    if (!again.ok()) return again.status();
    if (again->digests != st.result.digests) {
      return absl::AbortedError(absl::StrCat(
          "its value could not be read, and recomputing it gave a different value (is step '",
          req.step_name, "' nondeterministic?)"));
    }
    st.result.outcome = NodeOutcome::kRan;
    st.result.recomputed = true;
    st.result.execution_id = again->execution_id;
    st.values = std::move(job.computed);
    return st.values[k];
  }

  // Decodes every output of a loaded outcome. False if one is missing or does not decode.
  bool DecodeAll(int node, const ActionOutcome& outcome, std::vector<Value>* values) const {
    const NodeSpec& spec = nodes_[static_cast<size_t>(node)];
    if (outcome.bytes.size() != spec.decoders.size()) return false;
    values->clear();
    for (size_t o = 0; o < spec.decoders.size(); ++o) {
      absl::StatusOr<Value> v = spec.decoders[o](outcome.bytes[o]->view());
      if (!v.ok()) return false;
      values->push_back(*std::move(v));
    }
    return true;
  }

  // `node` has finished: drop upstream values no other needed node will read.
  void Release(int node) {
    for (int u : nodes_[static_cast<size_t>(node)].upstream) {
      State& up = states_[Slot(u)];
      if (up.consumers.fetch_sub(1) == 1 && !up.target) {
        MutexLock lock(&up.mu);
        up.values.clear();
      }
    }
  }

  Workspace& ws_;
  const RunInput& in_;
  const std::vector<NodeSpec>& nodes_;
  std::vector<int> slot_;  // node -> index into in_.needed, or -1
  std::unique_ptr<State[]> states_;
};

}  // namespace

RunOutput RunNodes(Workspace& ws, const RunInput& input) {
  PipelineRun run(ws, input);
  const Dag dag = run.Graph();
  SchedulerCallbacks cb;
  cb.run = [&run](int slot) { return run.Run(slot); };
  cb.skip = [&run](int slot, int root, bool cancelled) { run.Skip(slot, root, cancelled); };
  if (input.progress) {
    cb.progress = [&input](int64_t done, int64_t total, int64_t running, int64_t hits) {
      input.progress(RunProgress{done, total, running, hits});
    };
  }
  RunDag(dag, input.parallelism, input.fail_fast, cb);
  return run.Finish();
}

}  // namespace pipeline_internal
}  // namespace mlops
