#include "mlops/store/action_cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "mlops/base/file_io.h"
#include "mlops/store/internal/record_db.h"

namespace mlops {
namespace {

// A record's temporary file (of the one-file-per-record layout) older than this was left by
// a crash (writing one took microseconds) and is removed on open.
constexpr int64_t kStaleTempSeconds = 60;

// Whether `dir` holds records of the one-file-per-record layout (<dir>/<2 hex>/<32 hex>),
// which this build still reads. Also removes that layout's stale temporary files.
absl::StatusOr<bool> ScanFileLayout(const std::string& dir) {
  bool found = false;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return PosixError(errno, "open directory", dir);
  while (struct dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.size() == 2 && absl::ascii_isxdigit(static_cast<unsigned char>(name[0])) &&
        absl::ascii_isxdigit(static_cast<unsigned char>(name[1]))) {
      found = true;
    }
  }
  ::closedir(d);
  if (DIR* t = ::opendir(absl::StrCat(dir, "/tmp").c_str())) {
    const int64_t now = absl::ToUnixSeconds(absl::Now());
    while (struct dirent* e = ::readdir(t)) {
      const std::string path = absl::StrCat(dir, "/tmp/", e->d_name);
      struct stat st;
      if (e->d_name[0] != '.' && ::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
          now - st.st_mtim.tv_sec > kStaleTempSeconds) {
        ::unlink(path.c_str());
      }
    }
    ::closedir(t);
  }
  return found;
}

}  // namespace

ActionCache::ActionCache(std::string dir, ContentStore* store,
                         std::unique_ptr<store_internal::RecordDb> records, bool file_layout)
    : dir_(std::move(dir)),
      store_(store),
      records_(std::move(records)),
      file_layout_(file_layout) {}

ActionCache::~ActionCache() = default;

absl::StatusOr<std::unique_ptr<ActionCache>> ActionCache::OpenOnDisk(const std::string& dir,
                                                                     ContentStore* store,
                                                                     Durability durability) {
  if (dir.empty()) return absl::InvalidArgumentError("action cache directory is empty");
  absl::Status s = MakeDirectories(dir);
  if (!s.ok()) return s;
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    return PosixError(errno, "action cache directory is not writable:", dir);
  }
  absl::StatusOr<bool> file_layout = ScanFileLayout(dir);
  if (!file_layout.ok()) return file_layout.status();
  absl::StatusOr<std::unique_ptr<store_internal::RecordDb>> records =
      store_internal::RecordDb::Open(absl::StrCat(dir, "/records.db"), durability);
  if (!records.ok()) return records.status();
  return std::unique_ptr<ActionCache>(
      new ActionCache(dir, store, *std::move(records), *file_layout));
}

std::unique_ptr<ActionCache> ActionCache::InMemory(ContentStore* store) {
  return std::unique_ptr<ActionCache>(new ActionCache("", store, nullptr, false));
}

std::string ActionCache::FilePathOf(const Digest& key) const {
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

absl::StatusOr<std::string> ActionCache::ReadFileRecord(const Digest& key, const std::string& path,
                                                        struct stat* read_stat) const {
  ScopedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) {
      return absl::NotFoundError(absl::StrCat("no action result for ", key.ToHex()));
    }
    return PosixError(errno, "open", path);
  }
  if (::fstat(fd.get(), read_stat) != 0) return PosixError(errno, "stat", path);
  std::string sealed;
  char buf[4096];
  while (true) {
    const ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return PosixError(errno, "read", path);
    if (n == 0) break;
    sealed.append(buf, static_cast<size_t>(n));
  }
  return sealed;
}

absl::StatusOr<ActionResult> ActionCache::Get(const Digest& key) {
  std::string sealed;
  std::string where;
  enum class From { kMemory, kDatabase, kFile } from;
  struct stat read_stat = {};
  if (dir_.empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = memory_.find(key);
    if (it == memory_.end()) {
      return absl::NotFoundError(absl::StrCat("no action result for ", key.ToHex()));
    }
    sealed = it->second;
    where = absl::StrCat("(memory) ", key.ToHex());
    from = From::kMemory;
  } else {
    absl::StatusOr<std::string> row = records_->Get(key);
    if (row.ok()) {
      sealed = *std::move(row);
      where = absl::StrCat(key.ToHex(), " in ", records_->path());
      from = From::kDatabase;
    } else if (!absl::IsNotFound(row.status()) || !file_layout_) {
      return row.status();
    } else {
      where = FilePathOf(key);
      absl::StatusOr<std::string> file = ReadFileRecord(key, where, &read_stat);
      if (!file.ok()) return file.status();
      sealed = *std::move(file);
      from = From::kFile;
    }
  }
  // Removes the record we read, but not a good one another writer put there meanwhile.
  const auto remove_what_we_read = [&] {
    switch (from) {
      case From::kMemory: {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = memory_.find(key);
        if (it != memory_.end() && it->second == sealed) memory_.erase(it);
        return;
      }
      case From::kDatabase:
        records_->Delete(key, &sealed).IgnoreError();
        return;
      case From::kFile: {
        struct stat now;
        if (::stat(where.c_str(), &now) == 0 && now.st_dev == read_stat.st_dev &&
            now.st_ino == read_stat.st_ino) {
          ::unlink(where.c_str());
        }
        return;
      }
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
  return PutMany({{key, &result}});
}

absl::Status ActionCache::PutMany(
    const std::vector<std::pair<Digest, const ActionResult*>>& records) {
  std::vector<std::pair<Digest, std::string>> sealed;
  sealed.reserve(records.size());
  for (const auto& [key, result] : records) {
    for (const OutputRef& out : result->outputs()) {
      if (!Digest::FromHex(out.digest()).ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("action result output ", out.name(), " has a malformed digest \"",
                         out.digest(), "\""));
      }
    }
    std::string proto_bytes;
    if (!result->SerializeToString(&proto_bytes)) {
      return absl::InternalError("cannot serialize ActionResult");
    }
    sealed.emplace_back(key, Seal(key, proto_bytes));
  }
  if (dir_.empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [key, bytes] : sealed) memory_[key] = std::move(bytes);
    return absl::OkStatus();
  }
  return records_->PutMany(sealed);
}

absl::Status ActionCache::Delete(const Digest& key) {
  if (dir_.empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    memory_.erase(key);
    return absl::OkStatus();
  }
  absl::Status s = records_->Delete(key, nullptr);
  if (!s.ok()) return s;
  if (file_layout_) {
    const std::string path = FilePathOf(key);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return PosixError(errno, "unlink", path);
  }
  return absl::OkStatus();
}

}  // namespace mlops
