// mlops/lineage/export.h — a lineage subgraph as Graphviz DOT or as JSON.
//
// DOT: executions are boxes ("step #id", filled by status: computed, cache hit, failed),
// artifacts are ellipses (type name, label if any, first 12 hex of the digest); an edge runs
// from each input artifact to its execution and from each execution to its outputs, labelled
// with the input or output name. Render with `dot -Tsvg`.
//
// JSON: the Subgraph message of lineage.proto in protobuf's canonical JSON mapping, with
// the .proto field names (snake_case): {"executions": [...], "artifacts": [...],
// "events": [...]}. Per that mapping, 64-bit integers (ids, sizes) are JSON strings and
// timestamps are RFC 3339 strings; fields at their default value are printed too.
//
// Example:
//   absl::StatusOr<mlops::Subgraph> g = store->Upstream(mlops::LineageNode::Of(digest));
//   std::string dot = mlops::ToDot(*g);
//
// Thread safety: pure functions.
#ifndef MLOPS_LINEAGE_EXPORT_H_
#define MLOPS_LINEAGE_EXPORT_H_

#include <string>

#include "absl/status/statusor.h"
#include "mlops/lineage/lineage.pb.h"

namespace mlops {

// The graph in Graphviz DOT. Deterministic: the same subgraph gives the same text.
std::string ToDot(const Subgraph& graph);

// The graph as JSON (see above). INTERNAL only if protobuf cannot print the message.
absl::StatusOr<std::string> ToJson(const Subgraph& graph);

}  // namespace mlops

#endif  // MLOPS_LINEAGE_EXPORT_H_
