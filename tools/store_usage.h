// tools/store_usage.h — what the content store holds, by step, and garbage collection that
// reports what it evicted.
//
// Example:
//   std::vector<StepUsage> usage = UsageByStep(entries, step_of);
//   absl::StatusOr<GcReport> r = CollectGarbage(store, 500 << 20, pins, /*dry_run=*/true);
//
// Thread safety: as the ContentStore passed in.
#ifndef TOOLS_STORE_USAGE_H_
#define TOOLS_STORE_USAGE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "mlops/hash/digest.h"
#include "mlops/store/content_store.h"

namespace mlops {
namespace cli {

// The name of the bucket for stored values no recorded execution output.
inline constexpr char kUnknownStep[] = "(unknown)";

struct StepUsage {
  std::string step;
  int64_t entries = 0;
  int64_t bytes = 0;
};

// Sums `entries` by the step `step_of` names for each digest (kUnknownStep for digests it
// lacks). Largest first (by bytes, then by name).
std::vector<StepUsage> UsageByStep(const std::vector<StoreEntry>& entries,
                                   const absl::flat_hash_map<Digest, std::string>& step_of);

struct GcReport {
  GcResult result;
  // What was evicted (or, in a dry run, would be), in eviction order.
  std::vector<StoreEntry> evicted;
};

// ContentStore::CollectGarbage on `store` (least recently used first, never a pinned
// digest) down to `max_bytes`, recording each eviction. With `dry_run`, nothing is deleted:
// the same policy runs over the same listing and reports what it would evict. Errors of
// CollectGarbage.
absl::StatusOr<GcReport> CollectGarbage(ContentStore& store, int64_t max_bytes,
                                        const absl::btree_set<Digest>& pinned, bool dry_run);

}  // namespace cli
}  // namespace mlops

#endif  // TOOLS_STORE_USAGE_H_
