// The `mlops lineage` text format: a subgraph as an indented tree from its start node.
#ifndef MLOPS_TOOLS_LINEAGE_TREE_H_
#define MLOPS_TOOLS_LINEAGE_TREE_H_

#include <cstdint>
#include <string>

#include "mlops/lineage/lineage.pb.h"

namespace mlops {
namespace cli {

// The tree of `graph` (an Upstream or Downstream closure, as `upstream` says) from the
// artifact with this hex digest, or from an execution. Each artifact is shown with its
// 12-hex digest, type, size and label; each execution as `step #id  (run N, status)`; a
// node met again is marked `(see above)` and not expanded. Linear in the graph's size
// whatever its depth: past 32 levels a line starts with its level as "[N]" and shows only
// the 32 innermost guides.
std::string LineageTreeFromArtifact(const Subgraph& graph, bool upstream,
                                    const std::string& digest);
std::string LineageTreeFromExecution(const Subgraph& graph, bool upstream, int64_t id);

}  // namespace cli
}  // namespace mlops

#endif  // MLOPS_TOOLS_LINEAGE_TREE_H_
