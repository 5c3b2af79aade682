// Internal: the closure queries of the lineage store (Upstream, Downstream), over the reads
// of one connection.
//
// Thread safety: as the LineageReader it is given (used under the connection's lock).
#ifndef MLOPS_LINEAGE_INTERNAL_CLOSURE_H_
#define MLOPS_LINEAGE_INTERNAL_CLOSURE_H_

#include "absl/status/statusor.h"
#include "mlops/lineage/internal/lineage_reader.h"
#include "mlops/lineage/lineage_store.h"

namespace mlops {
namespace lineage_internal {

// What LineageStore::Upstream (`upstream` true) or Downstream returns for `from`, read
// through `reader`. NOT_FOUND if the start node is unknown; others as LineageReader's.
absl::StatusOr<Subgraph> Closure(LineageReader& reader, const LineageNode& from,
                                 const ClosureOptions& options, bool upstream);

}  // namespace lineage_internal
}  // namespace mlops

#endif  // MLOPS_LINEAGE_INTERNAL_CLOSURE_H_
