// mlops/store/action_cache.h — action key → the result a step produced for it.
//
// An action key is the digest of a step's identity and inputs (see mlops/core). The action
// cache maps it to an `ActionResult` (action_result.proto): the digests of the outputs, which
// live in a ContentStore. A lookup is a hit only if the record is intact and every output it
// names is still in the content store; anything else is a miss, so an evicted output can
// never make a step return a partial result.
//
// Records are written as the content store writes values (a temporary file renamed into
// place), each with a checksum that covers its key, so a torn, corrupt or misplaced record
// is detected: DATA_LOSS once, then it is gone and lookups miss.
//
// Example:
//   auto cache = mlops::ActionCache::OpenOnDisk(dir + "/ac", store.get());
//   absl::StatusOr<mlops::ActionResult> hit = (*cache)->Get(key);
//   if (absl::IsNotFound(hit.status())) { ...run the step...; (*cache)->Put(key, result); }
//
// Thread safety: safe for concurrent use by many threads and processes (on disk).
#ifndef MLOPS_STORE_ACTION_CACHE_H_
#define MLOPS_STORE_ACTION_CACHE_H_

#include <memory>
#include <mutex>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "mlops/hash/digest.h"
#include "mlops/store/action_result.pb.h"
#include "mlops/store/content_store.h"
#include "mlops/store/disk_store.h"

namespace mlops {

class ActionCache {
 public:
  // An action cache in directory `dir` (created if missing; sharded like the content
  // store), whose outputs live in `store`. REQUIRES: `store` outlives the cache.
  // Errors as DiskStore::Open, naming the path.
  static absl::StatusOr<std::unique_ptr<ActionCache>> OpenOnDisk(
      const std::string& dir, ContentStore* store, Durability durability = Durability::kNone);
  // An action cache in memory. REQUIRES: `store` outlives the cache.
  static std::unique_ptr<ActionCache> InMemory(ContentStore* store);

  ActionCache(const ActionCache&) = delete;
  ActionCache& operator=(const ActionCache&) = delete;

  // The result stored for `key`. NOT_FOUND if there is none, or if an output it names is
  // missing from the content store (the record is then removed). DATA_LOSS if the record is
  // corrupt (it is removed; the next Get is NOT_FOUND). Every output digest in a result it
  // returns is a valid 32-hex digest.
  absl::StatusOr<ActionResult> Get(const Digest& key);

  // Stores `result` for `key`, replacing any earlier one. INVALID_ARGUMENT if an output's
  // digest is not 32 hex characters. Errors from the filesystem name the path.
  absl::Status Put(const Digest& key, const ActionResult& result);

  // Removes the record for `key`. OK if there was none.
  absl::Status Delete(const Digest& key);

 private:
  ActionCache(std::string dir, ContentStore* store, Durability durability);

  // The serialized record for `key` with its checksum, and back.
  static std::string Seal(const Digest& key, const std::string& proto_bytes);
  absl::StatusOr<ActionResult> Unseal(const Digest& key, absl::string_view sealed,
                                      const std::string& where) const;
  std::string PathOf(const Digest& key) const;
  absl::Status CheckOutputs(const ActionResult& result) const;

  const std::string dir_;  // empty: in memory
  ContentStore* const store_;
  const Durability durability_;
  // std::mutex, not absl::Mutex: Debian's Abseil is not built with ThreadSanitizer, which
  // then cannot see absl::Mutex synchronize; std::mutex is inlined into our own code.
  mutable std::mutex mu_;
  absl::flat_hash_map<Digest, std::string> memory_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mlops

#endif  // MLOPS_STORE_ACTION_CACHE_H_
