#include "mlops/store/action_cache.h"

#include <errno.h>
#include <unistd.h>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "mlops/base/file_io.h"
#include "mlops/store/internal/record_db.h"

namespace mlops {

ActionCache::ActionCache(std::string where, std::unique_ptr<store_internal::RecordDb> records)
    : where_(std::move(where)), records_(std::move(records)) {}

ActionCache::~ActionCache() = default;

absl::StatusOr<std::unique_ptr<ActionCache>> ActionCache::OpenOnDisk(const std::string& dir,
                                                                     Durability durability) {
  if (dir.empty()) return absl::InvalidArgumentError("action cache directory is empty");
  absl::Status s = MakeDirectories(dir);
  if (!s.ok()) return s;
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    return PosixError(errno, "action cache directory is not writable:", dir);
  }
  const std::string path = absl::StrCat(dir, "/", kDatabaseName);
  absl::StatusOr<std::unique_ptr<store_internal::RecordDb>> records =
      store_internal::RecordDb::Open(path, durability);
  if (!records.ok()) return records.status();
  return std::unique_ptr<ActionCache>(new ActionCache(path, *std::move(records)));
}

std::unique_ptr<ActionCache> ActionCache::InMemory() {
  return std::unique_ptr<ActionCache>(new ActionCache("(memory)", nullptr));
}

absl::StatusOr<std::string> ActionCache::Seal(const Digest& key, const ActionResult& result) {
  for (const OutputRef& out : result.outputs()) {
    if (!Digest::FromHex(out.digest()).ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("action result output ", out.name(), " has a malformed digest \"",
                       out.digest(), "\""));
    }
  }
  std::string sealed;
  {
    google::protobuf::io::StringOutputStream out(&sealed);
    google::protobuf::io::CodedOutputStream coded(&out);
    coded.SetSerializationDeterministic(true);  // map entries in key order
    if (!result.SerializeToCodedStream(&coded)) {
      return absl::InternalError("cannot serialize ActionResult");
    }
  }
  unsigned char key_bytes[Digest::kBytes];
  key.ToBytes(key_bytes);
  Hasher h;
  h.Update(key_bytes, sizeof(key_bytes));
  h.Update(sealed);
  unsigned char checksum[Digest::kBytes];
  h.Finish().ToBytes(checksum);
  sealed.append(reinterpret_cast<const char*>(checksum), sizeof(checksum));
  return sealed;
}

absl::StatusOr<ActionResult> ActionCache::Unseal(const Digest& key,
                                                 absl::string_view sealed) const {
  const auto corrupt = [&](absl::string_view why) {
    return absl::DataLossError(absl::StrCat("action cache record ", key.ToHex(), " in ",
                                            where_, " is corrupt (", why, "); removed"));
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

absl::StatusOr<ActionResult> ActionCache::Get(const Digest& key) {
  std::string sealed;
  if (records_ == nullptr) {
    MutexLock lock(&mu_);
    auto it = memory_.find(key);
    if (it == memory_.end()) {
      return absl::NotFoundError(absl::StrCat("no action result for ", key.ToHex()));
    }
    sealed = it->second;
  } else {
    absl::StatusOr<std::string> row = records_->Get(key);
    if (!row.ok()) return row.status();
    sealed = *std::move(row);
  }
  absl::StatusOr<ActionResult> result = Unseal(key, sealed);
  // Removes the record we read, but not a good one another writer put there meanwhile.
  if (!result.ok()) DeleteSealed(key, sealed).IgnoreError();
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
    absl::StatusOr<std::string> bytes = Seal(key, *result);
    if (!bytes.ok()) return bytes.status();
    sealed.emplace_back(key, *std::move(bytes));
  }
  if (records_ != nullptr) return records_->PutMany(sealed);
  MutexLock lock(&mu_);
  for (auto& [key, bytes] : sealed) memory_[key] = std::move(bytes);
  return absl::OkStatus();
}

absl::Status ActionCache::Delete(const Digest& key) {
  if (records_ != nullptr) return records_->Delete(key, nullptr);
  MutexLock lock(&mu_);
  memory_.erase(key);
  return absl::OkStatus();
}

absl::Status ActionCache::DeleteIfUnchanged(const Digest& key, const ActionResult& seen) {
  absl::StatusOr<std::string> sealed = Seal(key, seen);
  if (!sealed.ok()) return sealed.status();
  return DeleteSealed(key, *sealed);
}

absl::Status ActionCache::DeleteSealed(const Digest& key, const std::string& sealed) {
  if (records_ != nullptr) return records_->Delete(key, &sealed);
  MutexLock lock(&mu_);
  auto it = memory_.find(key);
  if (it != memory_.end() && it->second == sealed) memory_.erase(it);
  return absl::OkStatus();
}

}  // namespace mlops
