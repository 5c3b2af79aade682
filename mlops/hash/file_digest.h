// mlops/hash/file_digest.h — content digests of files and directories, with a stat cache.
//
// A file input is named by its content, never by its path: two paths holding the same bytes
// have one digest, and a file edited in place gets a new one. The digest of a file is
// exactly `Digest::Of(its bytes)`, which is also what `xxh128sum FILE` prints.
//
// Re-reading a large unchanged file on every run would cost seconds, so `FileDigester` keeps
// a stat cache: (path, device, inode, size, mtime ns, ctime ns) → digest. A file whose stat
// matches is not re-read. A file modified within the last second before it was hashed is not
// cached (its timestamp could still be shared by a later write of the same size), so a quick
// edit is never missed. The cache can be saved to and loaded from a file so it carries over
// between runs.
//
// A directory's digest covers every regular file below it: the files are listed by their
// path relative to the directory ('/'-separated), sorted bytewise, and the list is encoded as
// u64 count, then per file (u64 path length, path bytes, 16 canonical digest bytes), all
// little-endian — the same bytes mlops's codec gives a
// std::vector<std::pair<std::string, Digest>> — and hashed. Empty directories do not
// contribute; symbolic links are followed (a link cycle is an error).
//
// Example:
//   mlops::FileDigester digester;
//   absl::StatusOr<mlops::Digest> d = digester.File("data/train.csv");
//   if (!d.ok()) return d.status();   // NOT_FOUND, PERMISSION_DENIED, ... naming the path
//
// Thread safety: a FileDigester is safe to use from many threads at once.
#ifndef MLOPS_HASH_FILE_DIGEST_H_
#define MLOPS_HASH_FILE_DIGEST_H_

#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "mlops/base/mutex.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "mlops/hash/digest.h"

namespace mlops {

// What the stat cache trusts of a file: while these fields are unchanged, its content is
// taken to be unchanged (see the top of the file).
struct FileStamp {
  uint64_t device = 0;
  uint64_t inode = 0;
  int64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;

  friend bool operator==(const FileStamp& a, const FileStamp& b) {
    return a.device == b.device && a.inode == b.inode && a.size == b.size &&
           a.mtime_ns == b.mtime_ns && a.ctime_ns == b.ctime_ns;
  }
  friend bool operator!=(const FileStamp& a, const FileStamp& b) { return !(a == b); }
};

// The stamp of the file at `path` now (following symbolic links). Errors from stat(2),
// naming the path (NOT_FOUND, PERMISSION_DENIED, ...).
absl::StatusOr<FileStamp> StampFile(const std::string& path);

// The digest of the bytes of the regular file at `path`, with no caching.
// Errors (each message names the path):
//   NOT_FOUND          the path (or a directory on it) does not exist;
//   PERMISSION_DENIED  it cannot be opened or read for lack of permission;
//   INVALID_ARGUMENT   it is not a regular file (a directory, FIFO, socket, device);
//   ABORTED            it kept changing while it was read (three tries);
//   other codes        from errno, for any other failure of open/read/stat.
absl::StatusOr<Digest> DigestFile(const std::string& path);

// A thread-safe digester of files and directories with a stat cache (see the top of file).
class FileDigester {
 public:
  // How much work the cache saved; for tests and reports.
  struct Stats {
    int64_t cache_hits = 0;    // files whose digest came from the stat cache
    int64_t files_read = 0;    // files actually read and hashed
    int64_t bytes_read = 0;    // bytes read to do so
  };

  FileDigester() = default;
  FileDigester(const FileDigester&) = delete;
  FileDigester& operator=(const FileDigester&) = delete;

  // As `DigestFile(path)`, from the cache when the file's stat is unchanged. If `stamp`
  // is not null, sets it to the file's stamp the digest is of (the stat it was read under,
  // or the one the cache matched): a later StampFile(path) that differs means the file may
  // no longer have this digest.
  absl::StatusOr<Digest> File(const std::string& path, FileStamp* stamp = nullptr);

  // The digest of the directory at `path` (see the top of this file). Errors as for File,
  // plus INVALID_ARGUMENT when `path` is not a directory or a symbolic-link cycle is found.
  absl::StatusOr<Digest> Directory(const std::string& path);

  // Writes the cache to `path` atomically (a temporary file renamed into place). Errors name
  // the path, with the code from errno.
  absl::Status Save(const std::string& path) const;

  // Adds the entries saved at `path` to the cache. A missing file is not an error (nothing is
  // loaded). A file that is not a valid cache (wrong magic, truncated, checksum mismatch)
  // returns DATA_LOSS naming the path and loads nothing.
  absl::Status Load(const std::string& path);

  Stats stats() const;
  size_t size() const;  // number of cached entries

 private:
  struct Entry {
    FileStamp stamp;
    Digest digest;
  };

  mutable Mutex mu_;
  absl::flat_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
  Stats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mlops

#endif  // MLOPS_HASH_FILE_DIGEST_H_
