// mlops/store/action_cache.h — action key → the result a step produced for it.
//
// An action key is the digest of a step's identity and inputs (see mlops/core). The action
// cache maps it to an `ActionResult` (action_result.proto): the digests of the outputs, which
// live in a ContentStore. A lookup is a hit only if the record is intact and every output it
// names is still in the content store; anything else is a miss, so an evicted output can
// never make a step return a partial result.
//
// On disk, records are rows of one SQLite database, `<dir>/records.db` (WAL mode): replaced
// whole or not at all, by any number of threads and processes, and never torn by a crash.
// Each carries a checksum that covers its key, so a corrupt or misplaced record is still
// detected: DATA_LOSS once, then it is gone and lookups miss. A database file that is not
// a database or is corrupt, when opened or when a damaged page is met later, is moved aside
// (`records.db.corrupt.*`; the call that met it fails DATA_LOSS) and the cache starts
// empty; processes coordinate that through `records.db.lock`. Records of the earlier
// layout, one file per record (`<dir>/<2 hex>/<32 hex>`), are still read (and removed when
// bad or deleted); new records go to the database.
//
// Example:
//   auto cache = mlops::ActionCache::OpenOnDisk(dir + "/ac", store.get());
//   absl::StatusOr<mlops::ActionResult> hit = (*cache)->Get(key);
//   if (absl::IsNotFound(hit.status())) { ...run the step...; (*cache)->Put(key, result); }
//
// Thread safety: safe for concurrent use by many threads and processes (on disk).
#ifndef MLOPS_STORE_ACTION_CACHE_H_
#define MLOPS_STORE_ACTION_CACHE_H_

#include <sys/stat.h>

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "mlops/hash/digest.h"
#include "mlops/store/action_result.pb.h"
#include "mlops/store/content_store.h"
#include "mlops/store/durability.h"

namespace mlops {

namespace store_internal {
class RecordDb;
}  // namespace store_internal

class ActionCache {
 public:
  // An action cache in directory `dir` (created if missing), whose outputs live in `store`.
  // `durability` kNone commits without fsync (a machine crash may lose the latest records,
  // never corrupt the others); any other value syncs every commit.
  // REQUIRES: `store` outlives the cache. Errors name the path: FAILED_PRECONDITION if
  // `dir` is not a directory, INVALID_ARGUMENT if records.db is another application's
  // SQLite database, FAILED_PRECONDITION if a newer mlops wrote it, UNAVAILABLE if other
  // processes keep it locked for over a minute, others from the file system.
  static absl::StatusOr<std::unique_ptr<ActionCache>> OpenOnDisk(
      const std::string& dir, ContentStore* store, Durability durability = Durability::kNone);
  // An action cache in memory. REQUIRES: `store` outlives the cache.
  static std::unique_ptr<ActionCache> InMemory(ContentStore* store);

  ~ActionCache();
  ActionCache(const ActionCache&) = delete;
  ActionCache& operator=(const ActionCache&) = delete;

  // The result stored for `key`. NOT_FOUND if there is none, or if an output it names is
  // missing from the content store (the record is then removed). DATA_LOSS if the record is
  // corrupt (it is removed; the next Get is NOT_FOUND). Every output digest in a result it
  // returns is a valid 32-hex digest.
  absl::StatusOr<ActionResult> Get(const Digest& key);

  // Stores `result` for `key`, replacing any earlier one. INVALID_ARGUMENT if an output's
  // digest is not 32 hex characters. Errors from the database name its path.
  absl::Status Put(const Digest& key, const ActionResult& result);

  // Stores each (key, result) as Put does, in one transaction (on disk, one commit for all:
  // far cheaper than a Put each). All are stored, or none: INVALID_ARGUMENT (nothing
  // stored) if any output digest is malformed. REQUIRES: the pointers are valid.
  absl::Status PutMany(const std::vector<std::pair<Digest, const ActionResult*>>& records);

  // Removes the record for `key`. OK if there was none.
  absl::Status Delete(const Digest& key);

 private:
  ActionCache(std::string dir, ContentStore* store,
              std::unique_ptr<store_internal::RecordDb> records, bool file_layout);

  // The serialized record for `key` with its checksum, and back.
  static std::string Seal(const Digest& key, const std::string& proto_bytes);
  absl::StatusOr<ActionResult> Unseal(const Digest& key, absl::string_view sealed,
                                      const std::string& where) const;
  // Where the one-file-per-record layout kept `key`'s record, and reading it.
  std::string FilePathOf(const Digest& key) const;
  absl::StatusOr<std::string> ReadFileRecord(const Digest& key, const std::string& path,
                                             struct stat* read_stat) const;
  absl::Status CheckOutputs(const ActionResult& result) const;

  const std::string dir_;  // empty: in memory
  ContentStore* const store_;
  const std::unique_ptr<store_internal::RecordDb> records_;  // null: in memory
  const bool file_layout_;  // `dir_` has records of the one-file-per-record layout
  // std::mutex, not absl::Mutex: Debian's Abseil is not built with ThreadSanitizer, which
  // then cannot see absl::Mutex synchronize; std::mutex is inlined into our own code.
  mutable std::mutex mu_;
  absl::flat_hash_map<Digest, std::string> memory_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mlops

#endif  // MLOPS_STORE_ACTION_CACHE_H_
