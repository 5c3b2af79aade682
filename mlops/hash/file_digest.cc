#include "mlops/hash/file_digest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <memory>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "mlops/base/file_io.h"

namespace mlops {
namespace {

constexpr size_t kReadChunk = 1 << 20;
constexpr int kReadTries = 3;
// A file changed this recently may still share its timestamp with a later same-size write.
constexpr int64_t kRacyWindowNs = 1'000'000'000;
constexpr char kCacheMagic[8] = {'M', 'L', 'O', 'P', 'S', 'S', 'C', '1'};

// PosixError, except that a symbolic-link loop (ELOOP) is the caller's bad input.
absl::Status StatError(int error, absl::string_view op, const std::string& path) {
  if (error == ELOOP) {
    return absl::InvalidArgumentError(
        absl::StrCat("symbolic-link cycle (too many levels of links) at ", path));
  }
  return PosixError(error, op, path);
}

int64_t Nanos(const struct timespec& ts) {
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

int64_t NowNs() {
  struct timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return Nanos(ts);
}

FileStamp StampOf(const struct stat& st) {
  return FileStamp{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
                   static_cast<int64_t>(st.st_size), Nanos(st.st_mtim), Nanos(st.st_ctim)};
}

bool SameFile(const struct stat& a, const struct stat& b) { return StampOf(a) == StampOf(b); }

std::string Absolute(const std::string& path) {
  if (!path.empty() && path[0] == '/') return path;
  char buf[4096];
  if (::getcwd(buf, sizeof(buf)) == nullptr) return path;
  return absl::StrCat(buf, "/", path);
}

// Reads and hashes an open regular file. `st` is its stat before reading; the result is only
// returned if the stat after reading matches (the file did not change underneath).
struct FileRead {
  Digest digest;
  struct stat st;
  int64_t bytes = 0;
};

absl::StatusOr<FileRead> ReadAndHash(const std::string& path) {
  for (int attempt = 0; attempt < kReadTries; ++attempt) {
    // O_NONBLOCK so that opening a FIFO does not wait for a writer; it has no effect on the
    // reads of a regular file.
    ScopedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    if (!fd.valid()) {
      const int open_errno = errno;
      // A socket (ENXIO) or a similar special file cannot be opened at all: report it as
      // "not a regular file" rather than as the open's errno.
      struct stat st;
      if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
        return absl::InvalidArgumentError(absl::StrCat("not a regular file: ", path));
      }
      return StatError(open_errno, "open", path);
    }
    FileRead out;
    if (::fstat(fd.get(), &out.st) != 0) return PosixError(errno, "stat", path);
    if (!S_ISREG(out.st.st_mode)) {
      return absl::InvalidArgumentError(
          absl::StrCat("not a regular file: ", path,
                       S_ISDIR(out.st.st_mode) ? " (a directory)" : ""));
    }
    ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    const size_t chunk =
        std::min<size_t>(kReadChunk, static_cast<size_t>(out.st.st_size) + 1);
    std::unique_ptr<char[]> buf(new char[chunk]);
    Hasher hasher;
    while (true) {
      const ssize_t n = ::read(fd.get(), buf.get(), chunk);
      if (n < 0) {
        if (errno == EINTR) continue;
        return PosixError(errno, "read", path);
      }
      if (n == 0) break;
      hasher.Update(buf.get(), static_cast<size_t>(n));
      out.bytes += n;
    }
    struct stat after;
    if (::fstat(fd.get(), &after) != 0) return PosixError(errno, "stat", path);
    if (SameFile(out.st, after) && out.bytes == out.st.st_size) {
      out.digest = hasher.Finish();
      return out;
    }
  }
  return absl::AbortedError(
      absl::StrCat("file kept changing while it was hashed (", kReadTries, " tries): ", path));
}

// Encodes a u64 little-endian, as the codec does.
void AppendU64(std::string* out, uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (8 * i));
  out->append(b, 8);
}

bool ReadU64(absl::string_view* in, uint64_t* v) {
  if (in->size() < 8) return false;
  *v = 0;
  for (int i = 0; i < 8; ++i) {
    *v |= static_cast<uint64_t>(static_cast<unsigned char>((*in)[i])) << (8 * i);
  }
  in->remove_prefix(8);
  return true;
}

}  // namespace

absl::StatusOr<Digest> DigestFile(const std::string& path) {
  absl::StatusOr<FileRead> read = ReadAndHash(path);
  if (!read.ok()) return read.status();
  return read->digest;
}

absl::StatusOr<FileStamp> StampFile(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return StatError(errno, "stat", path);
  return StampOf(st);
}

absl::StatusOr<Digest> FileDigester::File(const std::string& path, FileStamp* stamp) {
  const std::string key = Absolute(path);
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return StatError(errno, "stat", path);
  {
    const FileStamp now = StampOf(st);
    MutexLock lock(&mu_);
    auto it = entries_.find(key);
    if (it != entries_.end() && it->second.stamp == now) {
      ++stats_.cache_hits;
      if (stamp != nullptr) *stamp = now;
      return it->second.digest;
    }
  }
  const int64_t start_ns = NowNs();
  absl::StatusOr<FileRead> read = ReadAndHash(path);
  if (!read.ok()) return read.status();
  const int64_t changed_ns = std::max(Nanos(read->st.st_mtim), Nanos(read->st.st_ctim));
  MutexLock lock(&mu_);
  ++stats_.files_read;
  stats_.bytes_read += read->bytes;
  if (stamp != nullptr) *stamp = StampOf(read->st);
  if (changed_ns < start_ns - kRacyWindowNs) {
    entries_[key] = Entry{StampOf(read->st), read->digest};
  } else {
    entries_.erase(key);
  }
  return read->digest;
}

absl::StatusOr<Digest> FileDigester::Directory(const std::string& path) {
  struct stat root;
  if (::stat(path.c_str(), &root) != 0) return StatError(errno, "stat", path);
  if (!S_ISDIR(root.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat("not a directory: ", path));
  }
  // Depth-first walk; `ancestors` holds (device, inode) of the directories on the current
  // path so that a symbolic link back up the tree is reported instead of looping.
  std::vector<std::pair<std::string, Digest>> files;
  std::vector<std::pair<dev_t, ino_t>> ancestors;
  struct Walker {
    FileDigester* self;
    std::vector<std::pair<std::string, Digest>>* files;
    std::vector<std::pair<dev_t, ino_t>>* ancestors;

    absl::Status Walk(const std::string& dir, const std::string& rel, const struct stat& st) {
      for (const auto& a : *ancestors) {
        if (a.first == st.st_dev && a.second == st.st_ino) {
          return absl::InvalidArgumentError(
              absl::StrCat("symbolic-link cycle in directory tree at ", dir));
        }
      }
      ancestors->emplace_back(st.st_dev, st.st_ino);
      std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), &::closedir);
      if (d == nullptr) return PosixError(errno, "opendir", dir);
      std::vector<std::string> names;
      errno = 0;
      while (struct dirent* ent = ::readdir(d.get())) {
        const absl::string_view name = ent->d_name;
        if (name != "." && name != "..") names.emplace_back(name);
      }
      if (errno != 0) return PosixError(errno, "readdir", dir);
      d.reset();
      for (const std::string& name : names) {
        const std::string child = absl::StrCat(dir, "/", name);
        const std::string child_rel = rel.empty() ? name : absl::StrCat(rel, "/", name);
        struct stat cst;
        if (::stat(child.c_str(), &cst) != 0) return StatError(errno, "stat", child);
        if (S_ISDIR(cst.st_mode)) {
          absl::Status s = Walk(child, child_rel, cst);
          if (!s.ok()) return s;
        } else {
          absl::StatusOr<Digest> digest = self->File(child);
          if (!digest.ok()) return digest.status();
          files->emplace_back(child_rel, *digest);
        }
      }
      ancestors->pop_back();
      return absl::OkStatus();
    }
  };
  Walker walker{this, &files, &ancestors};
  absl::Status s = walker.Walk(path, "", root);
  if (!s.ok()) return s;
  std::sort(files.begin(), files.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  Hasher hasher;
  std::string buf;
  AppendU64(&buf, files.size());
  for (const auto& [rel, digest] : files) {
    AppendU64(&buf, rel.size());
    buf.append(rel);
    unsigned char bytes[Digest::kBytes];
    digest.ToBytes(bytes);
    buf.append(reinterpret_cast<const char*>(bytes), sizeof(bytes));
    if (buf.size() > (1 << 16)) {
      hasher.Update(buf);
      buf.clear();
    }
  }
  hasher.Update(buf);
  return hasher.Finish();
}

absl::Status FileDigester::Save(const std::string& path) const {
  std::string out(kCacheMagic, sizeof(kCacheMagic));
  {
    MutexLock lock(&mu_);
    AppendU64(&out, entries_.size());
    for (const auto& [key, e] : entries_) {
      AppendU64(&out, key.size());
      out.append(key);
      AppendU64(&out, e.stamp.device);
      AppendU64(&out, e.stamp.inode);
      AppendU64(&out, static_cast<uint64_t>(e.stamp.size));
      AppendU64(&out, static_cast<uint64_t>(e.stamp.mtime_ns));
      AppendU64(&out, static_cast<uint64_t>(e.stamp.ctime_ns));
      unsigned char bytes[Digest::kBytes];
      e.digest.ToBytes(bytes);
      out.append(reinterpret_cast<const char*>(bytes), sizeof(bytes));
    }
  }
  unsigned char checksum[Digest::kBytes];
  Digest::Of(out).ToBytes(checksum);
  out.append(reinterpret_cast<const char*>(checksum), sizeof(checksum));
  return WriteFileAtomically(path, out);
}

absl::Status FileDigester::Load(const std::string& path) {
  absl::StatusOr<std::string> data = ReadFile(path);
  if (absl::IsNotFound(data.status())) return absl::OkStatus();
  if (!data.ok()) return data.status();
  const auto corrupt = [&path](absl::string_view why) {
    return absl::DataLossError(absl::StrCat("stat cache ", path, " is corrupt: ", why));
  };
  absl::string_view in = *data;
  if (in.size() < sizeof(kCacheMagic) + 8 + Digest::kBytes ||
      in.substr(0, sizeof(kCacheMagic)) != absl::string_view(kCacheMagic, sizeof(kCacheMagic))) {
    return corrupt("not a stat cache file");
  }
  const absl::string_view body = in.substr(0, in.size() - Digest::kBytes);
  const Digest stored = Digest::FromBytes(
      reinterpret_cast<const unsigned char*>(in.data() + body.size()));
  if (Digest::Of(body) != stored) return corrupt("checksum mismatch");
  in = body.substr(sizeof(kCacheMagic));
  uint64_t count = 0;
  if (!ReadU64(&in, &count)) return corrupt("truncated");
  absl::flat_hash_map<std::string, Entry> loaded;
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t len = 0, device = 0, inode = 0, size = 0, mtime = 0, ctime = 0;
    if (!ReadU64(&in, &len) || len > in.size()) return corrupt("truncated entry");
    std::string key(in.substr(0, len));
    in.remove_prefix(len);
    if (!ReadU64(&in, &device) || !ReadU64(&in, &inode) || !ReadU64(&in, &size) ||
        !ReadU64(&in, &mtime) || !ReadU64(&in, &ctime) || in.size() < Digest::kBytes) {
      return corrupt("truncated entry");
    }
    const Digest digest =
        Digest::FromBytes(reinterpret_cast<const unsigned char*>(in.data()));
    in.remove_prefix(Digest::kBytes);
    loaded[std::move(key)] =
        Entry{FileStamp{device, inode, static_cast<int64_t>(size), static_cast<int64_t>(mtime),
                        static_cast<int64_t>(ctime)},
              digest};
  }
  if (!in.empty()) return corrupt("trailing bytes");
  MutexLock lock(&mu_);
  for (auto& [key, e] : loaded) entries_.insert_or_assign(key, e);
  return absl::OkStatus();
}

FileDigester::Stats FileDigester::stats() const {
  MutexLock lock(&mu_);
  return stats_;
}

size_t FileDigester::size() const {
  MutexLock lock(&mu_);
  return entries_.size();
}

}  // namespace mlops
