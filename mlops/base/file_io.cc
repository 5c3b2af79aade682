#include "mlops/base/file_io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <ctime>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace mlops {

absl::Status PosixError(int error, absl::string_view op, absl::string_view path) {
  return absl::ErrnoToStatus(error, absl::StrCat(op, " ", path));
}

ScopedFd& ScopedFd::operator=(ScopedFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

ScopedFd::~ScopedFd() {
  if (fd_ >= 0) ::close(fd_);
}

absl::Status WriteAll(int fd, absl::string_view data, absl::string_view path) {
  const char* p = data.data();
  size_t left = data.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return PosixError(errno, "write", path);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  ScopedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return PosixError(errno, "open", path);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return PosixError(errno, "stat", path);
  std::string out;
  if (S_ISREG(st.st_mode) && st.st_size > 0) out.reserve(static_cast<size_t>(st.st_size));
  char buf[64 * 1024];
  while (true) {
    const ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return PosixError(errno, "read", path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

absl::Status WriteFileAtomically(const std::string& path, absl::string_view data, bool sync) {
  const std::string tmp =
      absl::StrCat(path, ".tmp.", ::getpid(), ".", absl::Hex(RandomU64(), absl::kZeroPad16));
  ScopedFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd.valid()) return PosixError(errno, "create", tmp);
  absl::Status status = WriteAll(fd.get(), data, tmp);
  if (status.ok() && sync && ::fsync(fd.get()) != 0) status = PosixError(errno, "fsync", tmp);
  if (status.ok() && ::close(fd.release()) != 0) status = PosixError(errno, "close", tmp);
  if (status.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    status = PosixError(errno, "rename to", path);
  }
  if (!status.ok()) ::unlink(tmp.c_str());
  return status;
}

uint64_t RandomU64() {
  uint64_t v = 0;
  if (::getrandom(&v, sizeof(v), 0) != static_cast<ssize_t>(sizeof(v))) {
    // Practically never; fall back to something that still differs between processes.
    static std::atomic<uint64_t> fallback{0};
    v = (static_cast<uint64_t>(::getpid()) << 32) ^ static_cast<uint64_t>(::time(nullptr)) ^
        (fallback.fetch_add(0x9E3779B97F4A7C15ULL) + 1);
  }
  return v;
}

std::string UniqueName() {
  // Lock-free, so that a child forked while another thread is here cannot deadlock. Two
  // threads of a new process may both draw a tag; either serves (pid and serial still
  // tell their names apart).
  static std::atomic<uint64_t> serial{0};
  static std::atomic<pid_t> tag_pid{-1};
  static std::atomic<uint64_t> tag{0};
  const pid_t pid = ::getpid();
  if (tag_pid.load() != pid) {
    tag.store(RandomU64());
    tag_pid.store(pid);
  }
  return absl::StrCat(pid, ".", serial.fetch_add(1, std::memory_order_relaxed), ".",
                      absl::Hex(tag.load(), absl::kZeroPad16));
}

absl::Status RemoveAll(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    return errno == ENOENT ? absl::OkStatus() : PosixError(errno, "stat", path);
  }
  if (S_ISDIR(st.st_mode)) {
    DIR* d = ::opendir(path.c_str());
    if (d == nullptr) return PosixError(errno, "open directory", path);
    std::vector<std::string> names;
    while (struct dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name != "." && name != "..") names.push_back(name);
    }
    ::closedir(d);
    for (const std::string& name : names) {
      absl::Status s = RemoveAll(path + "/" + name);
      if (!s.ok()) return s;
    }
    if (::rmdir(path.c_str()) != 0 && errno != ENOENT) return PosixError(errno, "rmdir", path);
    return absl::OkStatus();
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return PosixError(errno, "unlink", path);
  return absl::OkStatus();
}

absl::Status MakeDirectories(const std::string& path) {
  if (path.empty()) return absl::InvalidArgumentError("empty directory path");
  for (size_t pos = 1; pos <= path.size(); ++pos) {
    if (pos < path.size() && path[pos] != '/') continue;
    const std::string part = path.substr(0, pos);
    if (::mkdir(part.c_str(), 0755) != 0 && errno != EEXIST) {
      return PosixError(errno, "create directory", part);
    }
    struct stat st;
    if (::stat(part.c_str(), &st) != 0) return PosixError(errno, "stat", part);
    if (!S_ISDIR(st.st_mode)) {
      return absl::FailedPreconditionError(absl::StrCat("not a directory: ", part));
    }
  }
  return absl::OkStatus();
}

}  // namespace mlops
