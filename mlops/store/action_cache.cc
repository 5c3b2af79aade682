#include "mlops/store/action_cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "mlops/base/file_io.h"

namespace mlops {
namespace {

// A record's temporary file older than this was left by a crash (writing one takes
// microseconds) and is removed on open.
constexpr int64_t kStaleTempSeconds = 60;


}  // namespace

ActionCache::ActionCache(std::string dir, ContentStore* store, Durability durability)
    : dir_(std::move(dir)), store_(store), durability_(durability) {}

absl::StatusOr<std::unique_ptr<ActionCache>> ActionCache::OpenOnDisk(const std::string& dir,
                                                                     ContentStore* store,
                                                                     Durability durability) {
  if (dir.empty()) return absl::InvalidArgumentError("action cache directory is empty");
  absl::Status s = MakeDirectories(dir);
  if (!s.ok()) return s;
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    return PosixError(errno, "action cache directory is not writable:", dir);
  }
  s = MakeDirectories(absl::StrCat(dir, "/tmp"));
  if (!s.ok()) return s;
  // Remove temporary files left by crashed writers.
  if (DIR* d = ::opendir(absl::StrCat(dir, "/tmp").c_str())) {
    const int64_t now = absl::ToUnixSeconds(absl::Now());
    while (struct dirent* e = ::readdir(d)) {
      const std::string path = absl::StrCat(dir, "/tmp/", e->d_name);
      struct stat st;
      if (e->d_name[0] != '.' && ::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
          now - st.st_mtim.tv_sec > kStaleTempSeconds) {
        ::unlink(path.c_str());
      }
    }
    ::closedir(d);
  }
  return std::unique_ptr<ActionCache>(new ActionCache(dir, store, durability));
}

std::unique_ptr<ActionCache> ActionCache::InMemory(ContentStore* store) {
  return std::unique_ptr<ActionCache>(new ActionCache("", store, Durability::kNone));
}

std::string ActionCache::PathOf(const Digest& key) const {
  const std::string hex = key.ToHex();
  return absl::StrCat(dir_, "/", hex.substr(0, 2), "/", hex);
}

std::string ActionCache::Seal(const Digest& key, const std::string& proto_bytes) {
  unsigned char key_bytes[Digest::kBytes];
  key.ToBytes(key_bytes);
  Hasher h;
  h.Update(key_bytes, sizeof(key_bytes));
  h.Update(proto_bytes);
  unsigned char checksum[Digest::kBytes];
  h.Finish().ToBytes(checksum);
  std::string sealed = proto_bytes;
  sealed.append(reinterpret_cast<const char*>(checksum), sizeof(checksum));
  return sealed;
}

absl::StatusOr<ActionResult> ActionCache::Unseal(const Digest& key, absl::string_view sealed,
                                                 const std::string& where) const {
  const auto corrupt = [&](absl::string_view why) {
    return absl::DataLossError(
        absl::StrCat("action cache record ", where, " is corrupt (", why, "); removed"));
  };
  if (sealed.size() < Digest::kBytes) return corrupt("shorter than its checksum");
  const absl::string_view body = sealed.substr(0, sealed.size() - Digest::kBytes);
  const Digest stored = Digest::FromBytes(
      reinterpret_cast<const unsigned char*>(sealed.data() + body.size()));
  unsigned char key_bytes[Digest::kBytes];
  key.ToBytes(key_bytes);
  Hasher h;
  h.Update(key_bytes, sizeof(key_bytes));
  h.Update(body);
  if (h.Finish() != stored) return corrupt("checksum mismatch");
  ActionResult result;
  if (!result.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    return corrupt("not an ActionResult");
  }
  for (const OutputRef& out : result.outputs()) {
    if (!Digest::FromHex(out.digest()).ok()) return corrupt("bad output digest");
  }
  return result;
}

absl::Status ActionCache::CheckOutputs(const ActionResult& result) const {
  for (const OutputRef& out : result.outputs()) {
    const Digest d = *Digest::FromHex(out.digest());
    absl::StatusOr<bool> present = store_->Contains(d);
    if (!present.ok()) return present.status();
    if (!*present) {
      return absl::NotFoundError(absl::StrCat("output ", out.name(), " (", out.digest(),
                                              ") is no longer in the content store"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<ActionResult> ActionCache::Get(const Digest& key) {
  std::string sealed;
  std::string where;
  struct stat read_stat = {};
  if (dir_.empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = memory_.find(key);
    if (it == memory_.end()) {
      return absl::NotFoundError(absl::StrCat("no action result for ", key.ToHex()));
    }
    sealed = it->second;
    where = absl::StrCat("(memory) ", key.ToHex());
  } else {
    where = PathOf(key);
    ScopedFd fd(::open(where.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
      if (errno == ENOENT) {
        return absl::NotFoundError(absl::StrCat("no action result for ", key.ToHex()));
      }
      return PosixError(errno, "open", where);
    }
    if (::fstat(fd.get(), &read_stat) != 0) return PosixError(errno, "stat", where);
    char buf[4096];
    while (true) {
      const ssize_t n = ::read(fd.get(), buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return PosixError(errno, "read", where);
      if (n == 0) break;
      sealed.append(buf, static_cast<size_t>(n));
    }
  }
  // Removes the record we read, but not a good one another process put there meanwhile.
  const auto remove_what_we_read = [&] {
    if (dir_.empty()) {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = memory_.find(key);
      if (it != memory_.end() && it->second == sealed) memory_.erase(it);
      return;
    }
    struct stat now;
    if (::stat(where.c_str(), &now) == 0 && now.st_dev == read_stat.st_dev &&
        now.st_ino == read_stat.st_ino) {
      ::unlink(where.c_str());
    }
  };
  absl::StatusOr<ActionResult> result = Unseal(key, sealed, where);
  if (!result.ok()) {
    remove_what_we_read();
    return result.status();
  }
  absl::Status outputs = CheckOutputs(*result);
  if (!outputs.ok()) {
    if (absl::IsNotFound(outputs)) remove_what_we_read();
    return outputs;
  }
  return result;
}

absl::Status ActionCache::Put(const Digest& key, const ActionResult& result) {
  for (const OutputRef& out : result.outputs()) {
    if (!Digest::FromHex(out.digest()).ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "action result output ", out.name(), " has a malformed digest \"", out.digest(), "\""));
    }
  }
  std::string proto_bytes;
  if (!result.SerializeToString(&proto_bytes)) {
    return absl::InternalError("cannot serialize ActionResult");
  }
  std::string sealed = Seal(key, proto_bytes);
  if (dir_.empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    memory_[key] = std::move(sealed);
    return absl::OkStatus();
  }
  const std::string path = PathOf(key);
  std::string temp;
  {
    // Random names, retried on EEXIST: equal pids (containers, a restarted process meeting
    // its predecessor's leftovers) must not collide.
    ScopedFd fd;
    for (int attempt = 0; attempt < 8 && !fd.valid(); ++attempt) {
      temp = absl::StrCat(dir_, "/tmp/", UniqueName(), ".", key.ToHex());
      fd = ScopedFd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
      if (!fd.valid() && errno != EEXIST) break;
    }
    if (!fd.valid()) return PosixError(errno, "create", temp);
    absl::Status s = WriteAll(fd.get(), sealed, temp);
    if (s.ok() && durability_ != Durability::kNone && ::fsync(fd.get()) != 0) {
      s = PosixError(errno, "fsync", temp);
    }
    if (!s.ok()) {
      ::unlink(temp.c_str());
      return s;
    }
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    absl::Status s = MakeDirectories(path.substr(0, path.rfind('/')));
    if (s.ok() && ::rename(temp.c_str(), path.c_str()) != 0) {
      s = PosixError(errno, "rename into", path);
    }
    if (!s.ok()) {
      ::unlink(temp.c_str());
      return s;
    }
  }
  if (durability_ == Durability::kSyncFileAndDirectory) {
    const std::string shard = path.substr(0, path.rfind('/'));
    ScopedFd d(::open(shard.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!d.valid() || ::fsync(d.get()) != 0) return PosixError(errno, "fsync", shard);
  }
  return absl::OkStatus();
}

absl::Status ActionCache::Delete(const Digest& key) {
  if (dir_.empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    memory_.erase(key);
    return absl::OkStatus();
  }
  const std::string path = PathOf(key);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return PosixError(errno, "unlink", path);
  return absl::OkStatus();
}

}  // namespace mlops
