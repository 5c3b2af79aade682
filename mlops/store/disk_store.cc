#include "mlops/store/disk_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <ctime>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "mlops/base/file_io.h"

namespace mlops {
namespace {

constexpr absl::string_view kFormat = "mlops-disk-store 1\n";
constexpr int64_t kTouchAfterSeconds = 60;
// A temporary file is only removed when no writer holds its lock AND it is this old, which
// closes the gap between a writer's create and its flock (and covers Put's temporary files,
// which live for microseconds and are not locked).
constexpr int64_t kStaleTempSeconds = 10;
// Put locks the temporary file of a value at least this large (writing it could be slow).
constexpr size_t kLockPutBytes = size_t{1} << 20;

absl::Status SyncDir(const std::string& path) {
  ScopedFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return PosixError(errno, "open directory", path);
  if (::fsync(fd.get()) != 0) return PosixError(errno, "fsync directory", path);
  return absl::OkStatus();
}

absl::Time MtimeOf(const struct stat& st) { return absl::TimeFromTimespec(st.st_mtim); }

// Numbers temporary and quarantined files uniquely within the process (several DiskStore
// instances may share one directory); the pid makes them unique across processes.
uint64_t NextSerial() {
  static std::atomic<uint64_t> counter{0};
  return counter.fetch_add(1, std::memory_order_relaxed);
}

// Lists the names in `dir` (without "." and ".."). A missing directory lists as empty.
absl::StatusOr<std::vector<std::string>> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), &::closedir);
  if (d == nullptr) {
    if (errno == ENOENT || errno == ENOTDIR) return names;  // gone, or a stray file
    return PosixError(errno, "open directory", dir);
  }
  errno = 0;
  while (struct dirent* e = ::readdir(d.get())) {
    const absl::string_view name = e->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  if (errno != 0) return PosixError(errno, "read directory", dir);
  return names;
}


}  // namespace

// Streams a value into a locked temporary file, hashing as it goes.
class DiskBlobWriter : public BlobWriter {
 public:
  DiskBlobWriter(DiskStore* store, int fd, std::string path)
      : store_(store), fd_(fd), path_(std::move(path)) {}
  ~DiskBlobWriter() override {
    if (fd_.valid()) ::unlink(path_.c_str());
  }

  absl::Status Append(absl::string_view bytes) override {
    if (!status_.ok()) return status_;
    if (!fd_.valid()) return absl::FailedPreconditionError("BlobWriter used after Commit");
    status_ = WriteAll(fd_.get(), bytes, path_);
    if (status_.ok()) hasher_.Update(bytes);
    return status_;
  }

  absl::StatusOr<Digest> Commit() override {
    if (!status_.ok()) return status_;
    if (!fd_.valid()) return absl::FailedPreconditionError("BlobWriter committed twice");
    const Digest digest = hasher_.Finish();
    absl::Status s = store_->Publish(fd_.get(), path_, digest);
    ::close(fd_.release());
    if (!s.ok()) {
      ::unlink(path_.c_str());
      status_ = s;
      return s;
    }
    return digest;
  }

 private:
  DiskStore* const store_;
  ScopedFd fd_;
  const std::string path_;
  Hasher hasher_;
  absl::Status status_;
};

DiskStore::DiskStore(std::string dir, DiskStoreOptions options)
    : dir_(std::move(dir)), options_(options) {}

absl::StatusOr<std::unique_ptr<DiskStore>> DiskStore::Open(const std::string& dir,
                                                           DiskStoreOptions options) {
  if (dir.empty()) return absl::InvalidArgumentError("store directory is empty");
  std::string root = dir;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  if (options.read_only) return OpenReadOnly(root, options);
  absl::Status s = MakeDirectories(root);
  if (!s.ok()) return s;
  if (::access(root.c_str(), W_OK | X_OK) != 0) {
    return PosixError(errno, "store directory is not writable:", root);
  }
  for (const char* sub : {"cas", "tmp", "quarantine"}) {
    s = MakeDirectories(absl::StrCat(root, "/", sub));
    if (!s.ok()) return s;
  }
  const std::string format_path = absl::StrCat(root, "/FORMAT");
  absl::StatusOr<std::string> format = ReadFile(format_path);
  if (absl::IsNotFound(format.status())) {
    for (int i = 0; i < 256; ++i) {
      static constexpr char kHex[] = "0123456789abcdef";
      const char shard[3] = {kHex[i >> 4], kHex[i & 15], '\0'};
      s = MakeDirectories(absl::StrCat(root, "/cas/", shard));
      if (!s.ok()) return s;
    }
    s = WriteFileAtomically(format_path, kFormat, /*sync=*/true);
    if (!s.ok()) return s;
  } else if (!format.ok()) {
    return format.status();
  } else if (*format != kFormat) {
    return absl::FailedPreconditionError(
        absl::StrCat("not an mlops disk store of a format this build reads: ", format_path,
                     " says \"", absl::string_view(*format).substr(0, 64), "\""));
  }
  std::unique_ptr<DiskStore> store(new DiskStore(root, options));
  s = store->RemoveStaleTemps();
  if (!s.ok()) return s;
  return store;
}

absl::StatusOr<std::unique_ptr<DiskStore>> DiskStore::OpenReadOnly(const std::string& root,
                                                                   DiskStoreOptions options) {
  struct stat st;
  if (::stat(root.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat("no store at ", root));
    return PosixError(errno, "stat", root);
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(root, " is not a directory"));
  }
  const std::string format_path = absl::StrCat(root, "/FORMAT");
  absl::StatusOr<std::string> format = ReadFile(format_path);
  if (absl::IsNotFound(format.status())) {
    return absl::NotFoundError(
        absl::StrCat("no store at ", root, ": it has no FORMAT file"));
  }
  if (!format.ok()) return format.status();
  if (*format != kFormat) {
    return absl::FailedPreconditionError(
        absl::StrCat("not an mlops disk store of a format this build reads: ", format_path,
                     " says \"", absl::string_view(*format).substr(0, 64), "\""));
  }
  return std::unique_ptr<DiskStore>(new DiskStore(root, options));
}

absl::Status DiskStore::CheckWritable() const {
  if (!options_.read_only) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat("store ", dir_, " is open read-only"));
}

std::string DiskStore::PathOf(const Digest& digest) const {
  const std::string hex = digest.ToHex();
  return absl::StrCat(dir_, "/cas/", hex.substr(0, 2), "/", hex);
}

absl::Status DiskStore::CreateTemp(int* fd, std::string* path, bool lock) {
  int f = -1;
  for (int attempt = 0; attempt < 8 && f < 0; ++attempt) {
    *path = absl::StrCat(dir_, "/tmp/", UniqueName());
    f = ::open(path->c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (f < 0 && errno != EEXIST) break;
  }
  if (f < 0) return PosixError(errno, "create temporary file", *path);
  // The lock tells a later Open that this file is in use; it dies with the process.
  if (lock) ::flock(f, LOCK_EX);
  *fd = f;
  return absl::OkStatus();
}

absl::Status DiskStore::Publish(int fd, const std::string& temp_path, const Digest& digest) {
  if (options_.durability != Durability::kNone && ::fsync(fd) != 0) {
    return PosixError(errno, "fsync", temp_path);
  }
  const std::string path = PathOf(digest);
  if (::rename(temp_path.c_str(), path.c_str()) != 0) {
    if (errno != ENOENT) return PosixError(errno, "rename into", path);
    // The shard directory was removed by hand; recreate it once.
    absl::Status s = MakeDirectories(path.substr(0, path.rfind('/')));
    if (!s.ok()) return s;
    if (::rename(temp_path.c_str(), path.c_str()) != 0) {
      return PosixError(errno, "rename into", path);
    }
  }
  if (options_.durability == Durability::kSyncFileAndDirectory) {
    return SyncDir(path.substr(0, path.rfind('/')));
  }
  return absl::OkStatus();
}

absl::StatusOr<Digest> DiskStore::Put(absl::string_view bytes) {
  if (absl::Status w = CheckWritable(); !w.ok()) return w;
  const Digest digest = Digest::Of(bytes);
  struct stat st;
  if (::stat(PathOf(digest).c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
      static_cast<size_t>(st.st_size) == bytes.size()) {
    return digest;  // already stored (verified when read)
  }
  int raw_fd = -1;
  std::string temp;
  // A small value's file lives for microseconds, which the age rule covers; a large one,
  // or one that is fsync'ed, may take longer than kStaleTempSeconds: lock it.
  const bool lock = bytes.size() >= kLockPutBytes || options_.durability != Durability::kNone;
  absl::Status s = CreateTemp(&raw_fd, &temp, lock);
  if (!s.ok()) return s;
  ScopedFd fd(raw_fd);
  s = WriteAll(fd.get(), bytes, temp);
  if (s.ok()) s = Publish(fd.get(), temp, digest);
  if (!s.ok()) {
    ::unlink(temp.c_str());
    return s;
  }
  return digest;
}

absl::StatusOr<std::unique_ptr<BlobWriter>> DiskStore::NewWriter() {
  if (absl::Status w = CheckWritable(); !w.ok()) return w;
  int fd = -1;
  std::string temp;
  absl::Status s = CreateTemp(&fd, &temp, /*lock=*/true);
  if (!s.ok()) return s;
  return std::unique_ptr<BlobWriter>(new DiskBlobWriter(this, fd, std::move(temp)));
}

void DiskStore::Quarantine(const std::string& path, int fd) {
  // Move the bad file aside, but only if `path` still names the file we read: another
  // process may have replaced it with a good copy meanwhile.
  struct stat ours, now;
  if (::fstat(fd, &ours) != 0 || ::stat(path.c_str(), &now) != 0) return;
  if (ours.st_dev != now.st_dev || ours.st_ino != now.st_ino) return;
  const std::string target =
      absl::StrCat(dir_, "/quarantine/", path.substr(path.rfind('/') + 1), ".", ::getpid(),
                   ".", NextSerial(), ".", absl::Hex(RandomU64(), absl::kZeroPad16));
  if (::rename(path.c_str(), target.c_str()) != 0) ::unlink(path.c_str());
}

absl::StatusOr<Blob> DiskStore::Get(const Digest& digest) {
  const std::string path = PathOf(digest);
  ScopedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) {
      return absl::NotFoundError(absl::StrCat("no value ", digest.ToHex(), " in ", dir_));
    }
    return PosixError(errno, "open", path);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return PosixError(errno, "stat", path);
  const size_t size = static_cast<size_t>(st.st_size);
  Blob blob;
  if (size >= options_.map_threshold && size > 0) {
    void* data = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd.get(), 0);
    if (data == MAP_FAILED) return PosixError(errno, "mmap", path);
    blob = Blob::FromMapping(data, size);
  } else {
    std::string bytes(size, '\0');
    size_t done = 0;
    while (done < size) {
      const ssize_t n = ::pread(fd.get(), &bytes[done], size - done, done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return PosixError(errno, "read", path);
      if (n == 0) break;  // shorter than its stat said: fails verification below
      done += static_cast<size_t>(n);
    }
    bytes.resize(done);
    blob = Blob(std::move(bytes));
  }
  const Digest actual = Digest::Of(blob.view());
  if (actual != digest) {
    if (!options_.read_only) Quarantine(path, fd.get());
    return absl::DataLossError(absl::StrCat("stored value ", path, " is corrupt: its ",
                                            blob.size(), " bytes hash to ", actual.ToHex(),
                                            options_.read_only ? "" : "; moved to quarantine"));
  }
  if (!options_.read_only &&
      absl::ToUnixSeconds(absl::Now()) - st.st_mtim.tv_sec > kTouchAfterSeconds) {
    ::futimens(fd.get(), nullptr);  // last access, for LRU eviction; best effort
  }
  return blob;
}

absl::StatusOr<bool> DiskStore::Contains(const Digest& digest) {
  struct stat st;
  if (::stat(PathOf(digest).c_str(), &st) == 0) return true;
  if (errno == ENOENT) return false;
  return PosixError(errno, "stat", PathOf(digest));
}

absl::Status DiskStore::Delete(const Digest& digest) {
  if (absl::Status w = CheckWritable(); !w.ok()) return w;
  const std::string path = PathOf(digest);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return PosixError(errno, "unlink", path);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<StoreEntry>> DiskStore::List() {
  std::vector<StoreEntry> entries;
  const std::string cas = absl::StrCat(dir_, "/cas");
  absl::StatusOr<std::vector<std::string>> shards = ListDir(cas);
  if (!shards.ok()) return shards.status();
  for (const std::string& shard : *shards) {
    const std::string shard_dir = absl::StrCat(cas, "/", shard);
    absl::StatusOr<std::vector<std::string>> names = ListDir(shard_dir);
    if (!names.ok()) return names.status();
    for (const std::string& name : *names) {
      absl::StatusOr<Digest> digest = Digest::FromHex(name);
      if (!digest.ok()) continue;  // not an entry (e.g. a stray file)
      struct stat st;
      if (::stat(absl::StrCat(shard_dir, "/", name).c_str(), &st) != 0) continue;  // evicted
      entries.push_back(StoreEntry{*digest, static_cast<int64_t>(st.st_size), MtimeOf(st)});
    }
  }
  return entries;
}

absl::StatusOr<StoreStats> DiskStore::Stats() {
  absl::StatusOr<std::vector<StoreEntry>> entries = List();
  if (!entries.ok()) return entries.status();
  StoreStats stats;
  for (const StoreEntry& e : *entries) {
    ++stats.entries;
    stats.bytes += e.size;
  }
  return stats;
}

absl::Status DiskStore::RemoveStaleTemps() {
  const std::string tmp = absl::StrCat(dir_, "/tmp");
  absl::StatusOr<std::vector<std::string>> names = ListDir(tmp);
  if (!names.ok()) return names.status();
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  for (const std::string& name : *names) {
    const std::string path = absl::StrCat(tmp, "/", name);
    ScopedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd.valid()) continue;
    struct stat st;
    if (::fstat(fd.get(), &st) != 0 || now - st.st_mtim.tv_sec < kStaleTempSeconds) continue;
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) continue;  // a live writer holds it
    ::unlink(path.c_str());
  }
  return absl::OkStatus();
}

}  // namespace mlops
