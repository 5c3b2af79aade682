// mlops/store/content_store.h — where step results live: a content-addressed blob store.
//
// A ContentStore maps a Digest to the bytes whose XXH3-128 it is. Values are immutable: Put
// of bytes that are already there does nothing, and the digest is the only name a value has.
// Every read is verified, so a store never hands back bytes that do not match their digest:
// a mismatch (a flipped bit on disk, a truncated file) returns DATA_LOSS once, removes the bad
// entry, and later reads of that digest are misses (NOT_FOUND).
//
// Two implementations: `DiskStore` (mlops/store/disk_store.h), the embedded default, a
// directory shared safely by any number of threads and processes; and `MemoryStore`
// (mlops/store/memory_store.h), for tests and ephemeral use.
//
// Example:
//   std::unique_ptr<mlops::ContentStore> store = ...;
//   absl::StatusOr<mlops::Digest> d = store->Put("some bytes");
//   absl::StatusOr<mlops::Blob> blob = store->Get(*d);
//   if (blob.ok()) Use(blob->view());
//
// Thread safety: every ContentStore is safe for concurrent use from many threads.
#ifndef MLOPS_STORE_CONTENT_STORE_H_
#define MLOPS_STORE_CONTENT_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "mlops/hash/digest.h"

namespace mlops {

// The bytes of one stored value: owned, shared, or an mmap-backed view of the stored file
// (large values are read without a copy). Movable, not copyable. The view stays valid for the
// Blob's lifetime, even if the entry is deleted or evicted meanwhile.
class Blob {
 public:
  Blob() = default;
  explicit Blob(std::string bytes);
  Blob(std::shared_ptr<const std::string> bytes);
  // Takes ownership of a read-only mapping of `size` bytes at `data`.
  static Blob FromMapping(const void* data, size_t size);
  Blob(Blob&& other) noexcept;
  Blob& operator=(Blob&& other) noexcept;
  Blob(const Blob&) = delete;
  Blob& operator=(const Blob&) = delete;
  ~Blob();

  absl::string_view view() const { return view_; }
  size_t size() const { return view_.size(); }
  // A copy of the bytes.
  std::string ToString() const { return std::string(view_); }
  // True if the bytes are a memory mapping rather than a heap copy.
  bool is_mapped() const { return mapped_; }

 private:
  void Release();

  absl::string_view view_;
  std::shared_ptr<const std::string> owned_;
  bool mapped_ = false;
};

// Incremental Put of a large value whose bytes arrive in pieces. Append the bytes, then
// Commit. A writer destroyed without Commit leaves nothing behind.
class BlobWriter {
 public:
  virtual ~BlobWriter() = default;
  // Appends bytes. Errors (e.g. RESOURCE_EXHAUSTED for a full disk) are sticky: every later
  // call returns the same error, and Commit fails.
  virtual absl::Status Append(absl::string_view bytes) = 0;
  // Makes the value visible under its digest, which is returned. After Commit (successful or
  // not) the writer accepts no more calls.
  virtual absl::StatusOr<Digest> Commit() = 0;
};

// One entry, as listed for garbage collection and reports.
struct StoreEntry {
  Digest digest;
  int64_t size = 0;
  absl::Time last_access;  // approximate (see the implementation's notes)
};

struct StoreStats {
  int64_t entries = 0;
  int64_t bytes = 0;
};

// What a garbage collection did.
struct GcResult {
  int64_t entries_before = 0;
  int64_t bytes_before = 0;
  int64_t entries_evicted = 0;
  int64_t bytes_freed = 0;
  int64_t pinned_kept = 0;  // pinned entries that were kept although they were old
};

class ContentStore {
 public:
  virtual ~ContentStore() = default;

  // Stores `bytes` and returns their digest (Digest::Of(bytes)). OK if the value was already
  // there. Errors: RESOURCE_EXHAUSTED (full disk), PERMISSION_DENIED, or another errno code,
  // each naming the path; on error nothing is visible.
  virtual absl::StatusOr<Digest> Put(absl::string_view bytes) = 0;

  // A writer for a value that arrives in pieces (see BlobWriter).
  virtual absl::StatusOr<std::unique_ptr<BlobWriter>> NewWriter() = 0;

  // The verified bytes stored under `digest`. NOT_FOUND if absent; DATA_LOSS if the stored
  // bytes do not match the digest (the bad entry is removed, so the next Get is NOT_FOUND).
  virtual absl::StatusOr<Blob> Get(const Digest& digest) = 0;

  // Whether `digest` is stored (without reading or verifying the bytes).
  virtual absl::StatusOr<bool> Contains(const Digest& digest) = 0;

  // Removes the entry. OK if it was not there.
  virtual absl::Status Delete(const Digest& digest) = 0;

  // Every entry with its size and approximate last access.
  virtual absl::StatusOr<std::vector<StoreEntry>> List() = 0;

  // Number of entries and their total size in bytes.
  virtual absl::StatusOr<StoreStats> Stats() = 0;

  // Evicts least-recently-used entries until the store holds at most `max_bytes`, never
  // evicting a digest in `pinned`. Returns what was freed. Safe while other threads and
  // processes read and write: a value being read stays readable to its reader.
  virtual absl::StatusOr<GcResult> CollectGarbage(int64_t max_bytes,
                                                  const absl::flat_hash_set<Digest>& pinned);
};

}  // namespace mlops

#endif  // MLOPS_STORE_CONTENT_STORE_H_
