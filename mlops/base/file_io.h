// mlops/base/file_io.h — small POSIX file helpers shared by the library's components.
//
// Errors become absl::Status values whose message names the operation and the path, with the
// code chosen from errno (ENOENT → NOT_FOUND, EACCES → PERMISSION_DENIED, ENOSPC →
// RESOURCE_EXHAUSTED, ...). Nothing here throws.
//
// Thread safety: the functions are safe to call concurrently; a ScopedFd is not shared.
#ifndef MLOPS_BASE_FILE_IO_H_
#define MLOPS_BASE_FILE_IO_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mlops {

// A Status for a failed system call: `op` (e.g. "open") failed on `path` with `error`.
absl::Status PosixError(int error, absl::string_view op, absl::string_view path);

// Owns a file descriptor and closes it on destruction.
class ScopedFd {
 public:
  ScopedFd() = default;
  explicit ScopedFd(int fd) : fd_(fd) {}
  ScopedFd(ScopedFd&& other) noexcept : fd_(other.release()) {}
  ScopedFd& operator=(ScopedFd&& other) noexcept;
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  ~ScopedFd();

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

// Writes all of `data` to `fd`, retrying short writes and EINTR. Errors name `path`.
absl::Status WriteAll(int fd, absl::string_view data, absl::string_view path);

// Reads the whole file at `path`. NOT_FOUND if missing; other codes from errno.
absl::StatusOr<std::string> ReadFile(const std::string& path);

// Writes `data` to `path` so that readers see either the old file or the whole new one: the
// bytes go to a temporary file in the same directory, which is fsync'ed when `sync` is true
// and renamed over `path`. On failure the temporary file is removed.
absl::Status WriteFileAtomically(const std::string& path, absl::string_view data,
                                 bool sync = false);

// 64 random bits from the kernel (getrandom), for unique temporary names.
uint64_t RandomU64();

// "<pid>.<serial>.<random>": a name part that no other live writer uses, for temporary
// files created with O_EXCL (which still retry on EEXIST). The random part is drawn once
// per process (again in a forked child), so a name costs no system call beyond getpid;
// it keeps processes with equal pids apart (containers sharing a directory, or a new
// process meeting its predecessor's leftovers).
std::string UniqueName();

// Removes `path` and, if it is a directory, everything below it (symbolic links are removed,
// not followed). OK if `path` does not exist. Errors name the entry that could not be
// removed.
absl::Status RemoveAll(const std::string& path);

// Creates directory `path` and any missing parents (mode 0755). OK if it exists as a
// directory; FAILED_PRECONDITION naming the component that exists but is not a directory.
absl::Status MakeDirectories(const std::string& path);

}  // namespace mlops

#endif  // MLOPS_BASE_FILE_IO_H_
