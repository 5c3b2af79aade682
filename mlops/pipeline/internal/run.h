// Internal: executes the nodes of a pipeline run through a Workspace. Include
// mlops/pipeline/pipeline.h instead.
#ifndef MLOPS_PIPELINE_INTERNAL_RUN_H_
#define MLOPS_PIPELINE_INTERNAL_RUN_H_

#include <functional>
#include <vector>

#include "mlops/core/workspace.h"
#include "mlops/pipeline/internal/node.h"
#include "mlops/pipeline/pipeline.h"

namespace mlops {
namespace pipeline_internal {

struct RunInput {
  const std::vector<NodeSpec>* nodes = nullptr;
  // The nodes to run, ascending (every node upstream of one is in the list too), and
  // parallel to it, whether each is a target (its values are loaded).
  std::vector<int> needed;
  std::vector<char> target;
  CacheMode mode = CacheMode::kNormal;
  int parallelism = 1;
  bool fail_fast = false;
  std::function<void(const RunProgress&)> progress;  // may be empty
};

struct RunOutput {
  std::vector<NodeResult> results;         // parallel to RunInput::needed
  std::vector<std::vector<Value>> values;  // targets' values, parallel to needed
};

// Runs the needed nodes (see pipeline.h for what a run does).
RunOutput RunNodes(Workspace& ws, const RunInput& input);

}  // namespace pipeline_internal
}  // namespace mlops

#endif  // MLOPS_PIPELINE_INTERNAL_RUN_H_
