#include "mlops/store/content_store.h"

#include <sys/mman.h>

#include <algorithm>
#include <utility>

namespace mlops {

Blob::Blob(std::string bytes)
    : owned_(std::make_shared<const std::string>(std::move(bytes))) {
  view_ = *owned_;
}

Blob::Blob(std::shared_ptr<const std::string> bytes) : owned_(std::move(bytes)) {
  if (owned_ != nullptr) view_ = *owned_;
}

Blob Blob::FromMapping(const void* data, size_t size) {
  Blob blob;
  blob.view_ = absl::string_view(static_cast<const char*>(data), size);
  blob.mapped_ = true;
  return blob;
}

Blob::Blob(Blob&& other) noexcept
    : view_(other.view_), owned_(std::move(other.owned_)), mapped_(other.mapped_) {
  other.view_ = {};
  other.mapped_ = false;
}

Blob& Blob::operator=(Blob&& other) noexcept {
  if (this != &other) {
    Release();
    view_ = other.view_;
    owned_ = std::move(other.owned_);
    mapped_ = other.mapped_;
    other.view_ = {};
    other.mapped_ = false;
  }
  return *this;
}

Blob::~Blob() { Release(); }

void Blob::Release() {
  if (mapped_ && !view_.empty()) {
    ::munmap(const_cast<char*>(view_.data()), view_.size());
  }
  owned_.reset();
  view_ = {};
  mapped_ = false;
}

absl::StatusOr<GcResult> ContentStore::CollectGarbage(
    int64_t max_bytes, const absl::flat_hash_set<Digest>& pinned) {
  if (max_bytes < 0) {
    return absl::InvalidArgumentError("CollectGarbage: max_bytes must not be negative");
  }
  absl::StatusOr<std::vector<StoreEntry>> entries = List();
  if (!entries.ok()) return entries.status();
  GcResult result;
  for (const StoreEntry& e : *entries) {
    ++result.entries_before;
    result.bytes_before += e.size;
  }
  // Oldest access first; ties broken by digest so the order is deterministic.
  std::sort(entries->begin(), entries->end(), [](const StoreEntry& a, const StoreEntry& b) {
    return a.last_access != b.last_access ? a.last_access < b.last_access : a.digest < b.digest;
  });
  int64_t bytes = result.bytes_before;
  for (const StoreEntry& e : *entries) {
    if (bytes <= max_bytes) break;
    if (pinned.contains(e.digest)) {
      ++result.pinned_kept;
      continue;
    }
    absl::Status s = Delete(e.digest);
    if (!s.ok()) return s;
    bytes -= e.size;
    ++result.entries_evicted;
    result.bytes_freed += e.size;
  }
  return result;
}

}  // namespace mlops
