#include "tools/lineage_tree.h"

#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "tools/records.h"
#include "tools/units.h"

namespace mlops {
namespace cli {
namespace {

// The subgraph as a tree from its start node: each node's children are the next nodes
// away from the start (producers and inputs upstream, consumers and outputs downstream).
// A node met a second time is printed once more, marked, and not expanded again.
//
// Iterative, not recursive: a lineage may be a chain as deep as the workspace has
// executions (a training loop that feeds each checkpoint to the next step), and a recursion
// that deep overflows the stack. For the same reason the indentation is bounded: past
// kMaxGuides levels a line shows its depth as "[N]" and only the innermost guides, so the
// output stays linear in the number of nodes.
class TreePrinter {
 public:
  static constexpr size_t kMaxGuides = 32;

  TreePrinter(const Subgraph& g, bool upstream) : upstream_(upstream) {
    for (const Execution& e : g.executions()) executions_[e.id()] = &e;
    for (const Artifact& a : g.artifacts()) artifacts_[a.digest()] = &a;
    for (const Event& ev : g.events()) {
      // Toward the start: from an artifact to the executions that made it (upstream) or
      // read it (downstream); from an execution to what it read (up) or made (down).
      const bool artifact_to_execution = upstream_ ? ev.kind() == Event::OUTPUT
                                                   : ev.kind() == Event::INPUT;
      if (artifact_to_execution) {
        executions_of_[ev.digest()].push_back(ev.execution_id());
      } else {
        artifacts_of_[ev.execution_id()].emplace_back(ev.name(), ev.digest());
      }
    }
  }

  std::string FromArtifact(const std::string& digest) {
    return Print(Node{true, "", digest, 0});
  }
  std::string FromExecution(int64_t id) { return Print(Node{false, "", "", id}); }

 private:
  struct Node {
    bool artifact;
    std::string name, digest;  // an artifact
    int64_t execution_id;      // an execution
  };

  // The node's line (after `lead`) and, unless it was met before, its children.
  std::vector<Node> Emit(const Node& node, const std::string& lead) {
    std::vector<Node> children;
    if (node.artifact) {
      const bool again = !seen_artifacts_.insert(node.digest).second;
      const auto it = executions_of_.find(node.digest);
      absl::StrAppend(&out_, lead, ArtifactLabel(node.name, node.digest),
                      again && it != executions_of_.end() ? "  (see above)" : "", "\n");
      if (!again && it != executions_of_.end()) {
        for (int64_t id : it->second) children.push_back(Node{false, "", "", id});
      }
    } else {
      const bool again = !seen_executions_.insert(node.execution_id).second;
      absl::StrAppend(&out_, lead, ExecutionLabel(node.execution_id),
                      again ? "  (see above)" : "", "\n");
      const auto it = artifacts_of_.find(node.execution_id);
      if (!again && it != artifacts_of_.end()) {
        for (const auto& [name, digest] : it->second) children.push_back(Node{true, name, digest, 0});
      }
    }
    return children;
  }

  // The guides of the enclosing levels: "│  " where a level has more siblings to come.
  std::string Guides() const {
    std::string s;
    size_t from = 0;
    if (guides_.size() > kMaxGuides) {
      from = guides_.size() - kMaxGuides;
      absl::StrAppend(&s, "[", guides_.size() + 1, "] ");
    }
    for (size_t i = from; i < guides_.size(); ++i) s += guides_[i] ? "│  " : "   ";
    return s;
  }

  std::string Print(const Node& start) {
    struct Frame {
      std::vector<Node> children;
      size_t next = 0;
    };
    std::vector<Frame> stack;
    stack.push_back(Frame{Emit(start, ""), 0});
    while (!stack.empty()) {
      Frame& top = stack.back();
      if (top.next == top.children.size()) {
        stack.pop_back();
        if (!guides_.empty()) guides_.pop_back();
        continue;
      }
      const Node child = std::move(top.children[top.next++]);
      const bool last = top.next == top.children.size();
      std::vector<Node> grandchildren = Emit(child, Guides() + (last ? "└─ " : "├─ "));
      guides_.push_back(!last);
      stack.push_back(Frame{std::move(grandchildren), 0});  // invalidates `top`
    }
    return out_;
  }

  std::string ArtifactLabel(const std::string& name, const std::string& digest) const {
    std::string s = name.empty() ? "" : absl::StrCat(name, ": ");
    auto it = artifacts_.find(digest);
    absl::StrAppend(&s, digest.substr(0, 12));
    if (it != artifacts_.end()) {
      const Artifact& a = *it->second;
      absl::StrAppend(&s, "  ", a.type_name(), "  ", FormatBytes(a.size()));
      if (!a.label().empty()) absl::StrAppend(&s, "  ", a.label());
    }
    return s;
  }

  std::string ExecutionLabel(int64_t id) const {
    auto it = executions_.find(id);
    if (it == executions_.end()) return absl::StrCat("execution ", id);
    const Execution& e = *it->second;
    return absl::StrCat(e.step_name(), " #", id, "  (run ", e.run_id(), ", ",
                        e.cache_hit() ? "cache hit" : absl::AsciiStrToLower(StatusName(e.status())),
                        ")");
  }

  const bool upstream_;
  absl::flat_hash_map<int64_t, const Execution*> executions_;
  absl::flat_hash_map<std::string, const Artifact*> artifacts_;
  // Ordered by id and by name: the events come sorted by execution, kind and name.
  absl::flat_hash_map<std::string, std::vector<int64_t>> executions_of_;
  absl::flat_hash_map<int64_t, std::vector<std::pair<std::string, std::string>>> artifacts_of_;
  absl::flat_hash_set<std::string> seen_artifacts_;
  absl::flat_hash_set<int64_t> seen_executions_;
  std::vector<bool> guides_;  // per enclosing level below the start: more siblings follow
  std::string out_;
};

}  // namespace

std::string LineageTreeFromArtifact(const Subgraph& graph, bool upstream,
                                    const std::string& digest) {
  return TreePrinter(graph, upstream).FromArtifact(digest);
}

std::string LineageTreeFromExecution(const Subgraph& graph, bool upstream, int64_t id) {
  return TreePrinter(graph, upstream).FromExecution(id);
}

}  // namespace cli
}  // namespace mlops
