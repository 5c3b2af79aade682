// mlops/store/disk_store.h — the embedded ContentStore: one directory, shared by any number
// of threads and processes, crash-safe.
//
// Layout of the directory:
//   FORMAT               "mlops-disk-store 1": refuses to open a store of another format
//   cas/ab/<32 hex>      one file per value, sharded by the first two hex characters
//   tmp/                 values being written (locked by their writer with flock, but for a
//                        small value's, which lives for microseconds)
//   quarantine/          entries that failed verification, kept for inspection
//
// A write goes to a temporary file in tmp/ (same filesystem), optionally fsync'ed, and is
// renamed into cas/; a reader therefore sees a whole value or none, whatever crashes. A
// temporary file left by a crashed writer is removed on a later Open once it is 10 seconds
// old and no process holds its lock. Every read re-hashes the value and compares it with its name.
//
// Last access: a read sets the entry's mtime to now when it is more than a minute old, so
// garbage collection evicts by (approximately, to the minute) least-recent use.
//
// Example:
//   absl::StatusOr<std::unique_ptr<mlops::DiskStore>> store =
//       mlops::DiskStore::Open("/var/cache/myapp/.mlops/store");
//   if (!store.ok()) return store.status();
//   absl::StatusOr<mlops::Digest> d = (*store)->Put(bytes);
//
// Thread safety: safe for concurrent use by many threads and processes.
#ifndef MLOPS_STORE_DISK_STORE_H_
#define MLOPS_STORE_DISK_STORE_H_

#include <memory>
#include <string>

#include "mlops/store/content_store.h"
#include "mlops/store/durability.h"  // IWYU pragma: export

namespace mlops {

struct DiskStoreOptions {
  Durability durability = Durability::kNone;
  // Values at least this large are read as a memory mapping instead of a heap copy.
  size_t map_threshold = 64 * 1024;
  // Open for reading only, e.g. to inspect a store one may not write: Open creates nothing
  // and removes no temporary files; Get neither refreshes mtimes (last access) nor moves a
  // corrupt value to quarantine (it still fails DATA_LOSS); Put, NewWriter and Delete fail
  // FAILED_PRECONDITION.
  bool read_only = false;
};

class DiskStore : public ContentStore {
 public:
  // Opens the store in `dir`, creating it (and missing parents) if needed, and removes the
  // temporary files of crashed writers (with options.read_only, neither). Errors, each
  // naming the path:
  //   NOT_FOUND            with read_only, `dir` or its FORMAT file does not exist;
  //   FAILED_PRECONDITION  `dir` (or a part of the layout) exists but is not a directory, or
  //                        FORMAT names another format;
  //   PERMISSION_DENIED    `dir` cannot be created or written;
  //   other codes          from errno.
  static absl::StatusOr<std::unique_ptr<DiskStore>> Open(const std::string& dir,
                                                         DiskStoreOptions options = {});

  DiskStore(const DiskStore&) = delete;
  DiskStore& operator=(const DiskStore&) = delete;

  absl::StatusOr<Digest> Put(absl::string_view bytes) override;
  absl::StatusOr<std::unique_ptr<BlobWriter>> NewWriter() override;
  absl::StatusOr<Blob> Get(const Digest& digest) override;
  absl::StatusOr<bool> Contains(const Digest& digest) override;
  absl::Status Delete(const Digest& digest) override;
  absl::StatusOr<std::vector<StoreEntry>> List() override;
  absl::StatusOr<StoreStats> Stats() override;

  const std::string& dir() const { return dir_; }
  // Where the value with this digest is (or would be) stored.
  std::string PathOf(const Digest& digest) const;

 private:
  friend class DiskBlobWriter;
  DiskStore(std::string dir, DiskStoreOptions options);
  static absl::StatusOr<std::unique_ptr<DiskStore>> OpenReadOnly(const std::string& root,
                                                                 DiskStoreOptions options);

  // Creates a temporary file in tmp/ (flock'ed if `lock`: for files that live long, such as
  // a BlobWriter's); returns its fd and path.
  absl::Status CreateTemp(int* fd, std::string* path, bool lock);
  // Moves a written temporary file into place under `digest`.
  absl::Status Publish(int fd, const std::string& temp_path, const Digest& digest);
  absl::Status RemoveStaleTemps();
  void Quarantine(const std::string& path, int fd);
  // FAILED_PRECONDITION naming the store if it is read-only.
  absl::Status CheckWritable() const;

  const std::string dir_;
  const DiskStoreOptions options_;
};

}  // namespace mlops

#endif  // MLOPS_STORE_DISK_STORE_H_
