#include "mlops/store/memory_store.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace mlops {
namespace {

class MemoryBlobWriter : public BlobWriter {
 public:
  explicit MemoryBlobWriter(MemoryStore* store) : store_(store) {}

  absl::Status Append(absl::string_view bytes) override {
    if (done_) return absl::FailedPreconditionError("BlobWriter used after Commit");
    bytes_.append(bytes.data(), bytes.size());
    return absl::OkStatus();
  }

  absl::StatusOr<Digest> Commit() override {
    if (done_) return absl::FailedPreconditionError("BlobWriter committed twice");
    done_ = true;
    return store_->Put(bytes_);
  }

 private:
  MemoryStore* const store_;
  std::string bytes_;
  bool done_ = false;
};

}  // namespace

absl::StatusOr<Digest> MemoryStore::Put(absl::string_view bytes) {
  const Digest digest = Digest::Of(bytes);
  MutexLock lock(&mu_);
  Entry& e = entries_[digest];
  if (e.bytes == nullptr || e.bytes->size() != bytes.size()) {  // as DiskStore: by size
    e.bytes = std::make_shared<const std::string>(bytes);
  }
  e.last_access = absl::Now();
  return digest;
}

absl::StatusOr<std::unique_ptr<BlobWriter>> MemoryStore::NewWriter() {
  return std::unique_ptr<BlobWriter>(new MemoryBlobWriter(this));
}

absl::StatusOr<Blob> MemoryStore::Get(const Digest& digest) {
  std::shared_ptr<const std::string> bytes;
  {
    MutexLock lock(&mu_);
    auto it = entries_.find(digest);
    if (it == entries_.end()) {
      return absl::NotFoundError(absl::StrCat("no value ", digest.ToHex(), " in memory store"));
    }
    bytes = it->second.bytes;
    it->second.last_access = absl::Now();
  }
  const Digest actual = Digest::Of(*bytes);
  if (actual != digest) {
    MutexLock lock(&mu_);
    auto it = entries_.find(digest);
    if (it != entries_.end() && it->second.bytes == bytes) entries_.erase(it);
    return absl::DataLossError(absl::StrCat("stored value ", digest.ToHex(),
                                            " is corrupt: its bytes hash to ", actual.ToHex(),
                                            "; removed"));
  }
  return Blob(std::move(bytes));
}

absl::StatusOr<bool> MemoryStore::Contains(const Digest& digest) {
  MutexLock lock(&mu_);
  return entries_.contains(digest);
}

absl::Status MemoryStore::Delete(const Digest& digest) {
  MutexLock lock(&mu_);
  entries_.erase(digest);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<StoreEntry>> MemoryStore::List() {
  MutexLock lock(&mu_);
  std::vector<StoreEntry> out;
  out.reserve(entries_.size());
  for (const auto& [digest, e] : entries_) {
    out.push_back(StoreEntry{digest, static_cast<int64_t>(e.bytes->size()), e.last_access});
  }
  return out;
}

absl::StatusOr<StoreStats> MemoryStore::Stats() {
  MutexLock lock(&mu_);
  StoreStats stats;
  for (const auto& [digest, e] : entries_) {
    ++stats.entries;
    stats.bytes += static_cast<int64_t>(e.bytes->size());
  }
  return stats;
}

absl::Status MemoryStore::CorruptForTesting(const Digest& digest, std::string bytes) {
  MutexLock lock(&mu_);
  auto it = entries_.find(digest);
  if (it == entries_.end()) return absl::NotFoundError("no such value");
  it->second.bytes = std::make_shared<const std::string>(std::move(bytes));
  return absl::OkStatus();
}

}  // namespace mlops
