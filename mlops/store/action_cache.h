// mlops/store/action_cache.h — action key → the record of what a step produced for it.
//
// An action key is the digest of a step's identity and inputs (mlops/core/action_key.h). The
// action cache maps it to an `ActionResult` (action_result.proto): the digests of the
// outputs, which live in a ContentStore. It keeps records only: whether the outputs a record
// names are still stored is the result cache's question (mlops/cache/result_cache.h), which
// reads a record, checks its values, and removes a record whose values are gone.
//
// On disk, records are rows of one SQLite database, `<dir>/records.db` (kDatabaseName; WAL
// mode): replaced whole or not at all, by any number of threads and processes, and never
// torn by a crash. Each carries a checksum that covers its key, so a corrupt or misplaced
// record is still detected: DATA_LOSS once, then it is gone and lookups miss. A database
// file that is not a database or is corrupt, when opened or when a damaged page is met
// later, is moved aside (`records.db.corrupt.*`; the call that met it fails DATA_LOSS) and
// the cache starts empty; processes coordinate that through `records.db.lock`.
//
// Example:
//   auto cache = mlops::ActionCache::OpenOnDisk(dir + "/ac");
//   absl::StatusOr<mlops::ActionResult> record = (*cache)->Get(key);
//   if (absl::IsNotFound(record.status())) { ...run the step...; (*cache)->Put(key, result); }
//
// Thread safety: safe for concurrent use by many threads and processes (on disk).
#ifndef MLOPS_STORE_ACTION_CACHE_H_
#define MLOPS_STORE_ACTION_CACHE_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "mlops/base/mutex.h"
#include "mlops/hash/digest.h"
#include "mlops/store/action_result.pb.h"
#include "mlops/store/durability.h"

namespace mlops {

namespace store_internal {
class RecordDb;
}  // namespace store_internal

class ActionCache {
 public:
  // The database's file name inside the cache's directory.
  static constexpr char kDatabaseName[] = "records.db";

  // An action cache in directory `dir` (created if missing). `durability` kNone commits
  // without fsync (a machine crash may lose the latest records, never corrupt the others);
  // any other value syncs every commit. Errors name the path: FAILED_PRECONDITION if `dir`
  // is not a directory, INVALID_ARGUMENT if records.db is another application's SQLite
  // database, FAILED_PRECONDITION if a newer mlops wrote it, UNAVAILABLE if other processes
  // keep it locked for over a minute, others from the file system.
  static absl::StatusOr<std::unique_ptr<ActionCache>> OpenOnDisk(
      const std::string& dir, Durability durability = Durability::kNone);
  // An action cache in memory, for tests and ephemeral workspaces.
  static std::unique_ptr<ActionCache> InMemory();

  ~ActionCache();
  ActionCache(const ActionCache&) = delete;
  ActionCache& operator=(const ActionCache&) = delete;

  // The record stored for `key`. NOT_FOUND if there is none. DATA_LOSS if the record is
  // corrupt (it is removed; the next Get is NOT_FOUND), or the database was found damaged
  // (it was moved aside; see the top of the file). Every output digest in a record it
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

  // Removes the record for `key` only if it is still `seen` (as Get returned it), not a
  // record another writer stored meanwhile. OK if there was none, or another one.
  absl::Status DeleteIfUnchanged(const Digest& key, const ActionResult& seen);

 private:
  ActionCache(std::string where, std::unique_ptr<store_internal::RecordDb> records);

  // The serialized record for `key` with its checksum, and back. Serialization is
  // deterministic, so that equal results seal to equal bytes (DeleteIfUnchanged).
  static absl::StatusOr<std::string> Seal(const Digest& key, const ActionResult& result);
  absl::StatusOr<ActionResult> Unseal(const Digest& key, absl::string_view sealed) const;
  // Removes the record of `key` if it is still `sealed`.
  absl::Status DeleteSealed(const Digest& key, const std::string& sealed);

  const std::string where_;  // the database's path, or "(memory)", for errors
  const std::unique_ptr<store_internal::RecordDb> records_;  // null: in memory
  Mutex mu_;  // in memory only
  absl::flat_hash_map<Digest, std::string> memory_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mlops

#endif  // MLOPS_STORE_ACTION_CACHE_H_
