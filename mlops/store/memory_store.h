// mlops/store/memory_store.h — a ContentStore in process memory, for tests and for caches
// that need not outlive the process.
//
// Same contract as every ContentStore (see content_store.h). Values are shared, not copied,
// by Get. `CorruptForTesting` lets tests exercise the verification path.
//
// Example:
//   mlops::MemoryStore store;
//   absl::StatusOr<mlops::Digest> d = store.Put("bytes");
//
// Thread safety: safe for concurrent use from many threads.
#ifndef MLOPS_STORE_MEMORY_STORE_H_
#define MLOPS_STORE_MEMORY_STORE_H_

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "mlops/base/mutex.h"
#include "absl/time/clock.h"
#include "mlops/store/content_store.h"

namespace mlops {

class MemoryStore : public ContentStore {
 public:
  MemoryStore() = default;
  MemoryStore(const MemoryStore&) = delete;
  MemoryStore& operator=(const MemoryStore&) = delete;

  absl::StatusOr<Digest> Put(absl::string_view bytes) override;
  absl::StatusOr<std::unique_ptr<BlobWriter>> NewWriter() override;
  absl::StatusOr<Blob> Get(const Digest& digest) override;
  absl::StatusOr<bool> Contains(const Digest& digest) override;
  absl::Status Delete(const Digest& digest) override;
  absl::StatusOr<std::vector<StoreEntry>> List() override;
  absl::StatusOr<StoreStats> Stats() override;

  // Replaces the stored bytes of `digest` without changing its name, as a disk error would.
  // Returns NOT_FOUND if absent.
  absl::Status CorruptForTesting(const Digest& digest, std::string bytes);

 private:
  struct Entry {
    std::shared_ptr<const std::string> bytes;
    absl::Time last_access;
  };

  mutable Mutex mu_;
  absl::flat_hash_map<Digest, Entry> entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mlops

#endif  // MLOPS_STORE_MEMORY_STORE_H_
