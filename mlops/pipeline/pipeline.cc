#include "mlops/pipeline/pipeline.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "mlops/pipeline/internal/progress.h"
#include "mlops/pipeline/internal/run.h"

namespace mlops {
namespace {

std::atomic<uint64_t> next_pipeline_id{1};

std::string Quoted(absl::string_view s) {
  return absl::StrCat("\"", absl::StrReplaceAll(s, {{"\\", "\\\\"}, {"\"", "\\\""}, {"\n", "\\n"}}),
                      "\"");
}

}  // namespace

const char* NodeOutcomeName(NodeOutcome outcome) {
  switch (outcome) {
    case NodeOutcome::kHit: return "hit";
    case NodeOutcome::kRan: return "ran";
    case NodeOutcome::kFailed: return "failed";
    case NodeOutcome::kSkipped: return "skipped";
  }
  return "?";
}

// ---- RunResult ------------------------------------------------------------------------

absl::Status RunResult::status() const {
  for (const NodeResult& n : nodes_) {
    if (n.outcome == NodeOutcome::kFailed) return n.status;
  }
  for (const NodeResult& n : nodes_) {
    if (n.outcome == NodeOutcome::kSkipped) return n.status;
  }
  return absl::OkStatus();
}

const NodeResult* RunResult::node(absl::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &nodes_[static_cast<size_t>(it->second)];
}

int64_t RunResult::Count(NodeOutcome outcome) const {
  return std::count_if(nodes_.begin(), nodes_.end(),
                       [outcome](const NodeResult& n) { return n.outcome == outcome; });
}

const NodeResult* RunResult::Find(const NodeRef& ref, absl::Status* error) const {
  if (ref.pipeline_id() != pipeline_id_) {
    *error = absl::InvalidArgumentError("the handle belongs to another pipeline than this run");
    return nullptr;
  }
  const size_t index = static_cast<size_t>(ref.node());
  if (index >= slot_.size() || slot_[index] < 0) {
    *error = absl::NotFoundError(
        absl::StrCat("node ", ref.node(), " was not part of this run (not upstream of a target)"));
    return nullptr;
  }
  const NodeResult& n = nodes_[static_cast<size_t>(slot_[index])];
  if (!n.status.ok()) {
    *error = n.status;
    return nullptr;
  }
  return &n;
}

// ---- Pipeline -------------------------------------------------------------------------

Pipeline::Pipeline(std::string name) : name_(std::move(name)), id_(next_pipeline_id++) {}

void Pipeline::Fail(absl::Status error) {
  if (error_.ok()) error_ = std::move(error);
}

void Pipeline::AddNode(pipeline_internal::NodeSpec node) {
  const int index = static_cast<int>(nodes_.size());
  if (node.name.empty()) {
    Fail(absl::InvalidArgumentError(
        absl::StrCat("node ", index, " (step '", node.step_name, "') has an empty name")));
  } else if (!by_name_.emplace(node.name, index).second) {
    Fail(absl::InvalidArgumentError(absl::StrCat("pipeline '", name_, "' has two nodes named '",
                                                 node.name, "' (node names must be unique)")));
  }
  for (const pipeline_internal::InputSpec& in : node.inputs) {
    if (in.kind == pipeline_internal::InputSpec::Kind::kUpstream) node.upstream.push_back(in.node);
  }
  std::sort(node.upstream.begin(), node.upstream.end());
  node.upstream.erase(std::unique(node.upstream.begin(), node.upstream.end()), node.upstream.end());
  nodes_.push_back(std::move(node));
}

absl::StatusOr<RunResult> Pipeline::RunAll(Workspace& workspace, const RunOptions& options) const {
  if (nodes_.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("pipeline '", name_, "' has no nodes"));
  }
  std::vector<char> consumed(nodes_.size(), 0);
  for (const pipeline_internal::NodeSpec& n : nodes_) {
    for (int u : n.upstream) consumed[static_cast<size_t>(u)] = 1;
  }
  std::vector<NodeRef> targets;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (!consumed[i]) {
      targets.push_back(pipeline_internal::Access::MakeHandle<int>(id_, static_cast<int>(i), 0));
    }
  }
  return Run(workspace, targets, options);
}

absl::StatusOr<RunResult> Pipeline::Run(Workspace& workspace, const std::vector<NodeRef>& targets,
                                        const RunOptions& options) const {
  if (!error_.ok()) return error_;
  if (nodes_.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("pipeline '", name_, "' has no nodes"));
  }
  if (targets.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("pipeline '", name_, "': no targets to run"));
  }
  if (options.parallelism < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "parallelism must be >= 0 (0: one thread per core), got ", options.parallelism));
  }
  // The needed nodes: the targets and everything upstream (handles only point backwards,
  // so one backwards sweep finds them all).
  std::vector<char> needed(nodes_.size(), 0), target(nodes_.size(), 0);
  for (const NodeRef& t : targets) {
    if (t.pipeline_id() != id_ || t.node() < 0 || t.node() >= size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "a target of pipeline '", name_, "' is a handle of another pipeline (or an unset one)"));
    }
    needed[static_cast<size_t>(t.node())] = target[static_cast<size_t>(t.node())] = 1;
  }
  for (size_t i = nodes_.size(); i-- > 0;) {
    if (!needed[i]) continue;
    for (int u : nodes_[i].upstream) needed[static_cast<size_t>(u)] = 1;
  }
  pipeline_internal::RunInput in;
  in.nodes = &nodes_;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (!needed[i]) continue;
    in.needed.push_back(static_cast<int>(i));
    in.target.push_back(target[i]);
  }
  in.mode = options.mode.value_or(workspace.default_mode());
  in.parallelism = options.parallelism > 0
                       ? options.parallelism
                       : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  in.fail_fast = !options.keep_going;
  std::unique_ptr<pipeline_internal::TerminalProgress> display;
  if (options.progress) {
    in.progress = options.progress;
  } else if (options.show_progress && pipeline_internal::TerminalProgress::StderrIsTerminal()) {
    display = std::make_unique<pipeline_internal::TerminalProgress>(name_, true);
    in.progress = [d = display.get()](const RunProgress& p) { d->Update(p); };
  }

  pipeline_internal::RunOutput out = pipeline_internal::RunNodes(workspace, in);
  display.reset();  // ends the progress line before the caller prints anything

  RunResult result;
  result.pipeline_id_ = id_;
  result.run_id_ = workspace.run_id();
  result.slot_.assign(nodes_.size(), -1);
  for (size_t s = 0; s < in.needed.size(); ++s) {
    result.slot_[static_cast<size_t>(in.needed[s])] = static_cast<int>(s);
    result.by_name_.emplace(nodes_[static_cast<size_t>(in.needed[s])].name, static_cast<int>(s));
  }
  result.nodes_ = std::move(out.results);
  result.values_ = std::move(out.values);
  return result;
}

std::string Pipeline::ToDot(const RunResult* last) const {
  std::string dot =
      absl::StrCat("digraph ", Quoted(name_), " {\n  rankdir=LR;\n",
                   "  node [shape=box, style=\"rounded,filled\", fillcolor=white];\n");
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const pipeline_internal::NodeSpec& n = nodes_[i];
    std::string label = n.name;
    if (n.step_name != n.name) absl::StrAppend(&label, "\n", n.step_name);
    absl::StrAppend(&label, " v", n.step_version);
    std::string attrs;
    if (last != nullptr && last->pipeline_id_ == id_ && last->slot_.size() == nodes_.size() &&
        last->slot_[i] >= 0) {
      const NodeOutcome outcome = last->nodes_[static_cast<size_t>(last->slot_[i])].outcome;
      const char* color = outcome == NodeOutcome::kHit      ? "lightblue"
                          : outcome == NodeOutcome::kRan    ? "palegreen"
                          : outcome == NodeOutcome::kFailed ? "salmon"
                                                            : "lightgray";
      absl::StrAppend(&label, "\n(", NodeOutcomeName(outcome), ")");
      attrs = absl::StrCat(", fillcolor=", color);
    }
    absl::StrAppend(&dot, "  n", i, " [label=", Quoted(label), attrs, "];\n");
  }
  for (size_t i = 0; i < nodes_.size(); ++i) {
    for (const pipeline_internal::InputSpec& in : nodes_[i].inputs) {
      if (in.kind != pipeline_internal::InputSpec::Kind::kUpstream) continue;
      const pipeline_internal::NodeSpec& from = nodes_[static_cast<size_t>(in.node)];
      std::string label = in.described.name;
      if (from.output_names.size() > 1) {
        label = absl::StrCat(from.output_names[static_cast<size_t>(in.output)], " → ", label);
      }
      absl::StrAppend(&dot, "  n", in.node, " -> n", i, " [label=", Quoted(label), "];\n");
    }
  }
  absl::StrAppend(&dot, "}\n");
  return dot;
}

}  // namespace mlops
