// mlops/cache/cached_result.h — one step result as the result cache holds it.
//
// Thread safety: a plain struct; the cache shares entries as shared_ptr<const CachedResult>,
// which any number of threads may read.
#ifndef MLOPS_CACHE_CACHED_RESULT_H_
#define MLOPS_CACHE_CACHED_RESULT_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "mlops/store/action_result.pb.h"
#include "mlops/store/content_store.h"

namespace mlops {

// The outputs of one action: its record, and (unless it came from a digests-only lookup)
// the encoded values in the record's order.
struct CachedResult {
  ActionResult result;
  std::vector<std::shared_ptr<const Blob>> blobs;  // empty, or one per result.outputs()
  int64_t bytes = 0;                               // the total size of `blobs`
};

}  // namespace mlops

#endif  // MLOPS_CACHE_CACHED_RESULT_H_
