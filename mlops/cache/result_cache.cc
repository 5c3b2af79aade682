#include "mlops/cache/result_cache.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "mlops/cache/internal/memory_tier.h"
#include "mlops/cache/internal/write_behind.h"

namespace mlops {

using cache_internal::MemoryTier;
using cache_internal::WriteBehind;
using cache_internal::WriteValues;

ResultCache::ResultCache(ContentStore* values, ActionCache* records, ResultCacheOptions options)
    : values_(values),
      records_(records),
      memory_(std::make_unique<MemoryTier>(options.memory_bytes)),
      writer_(options.write_behind
                  ? std::make_unique<WriteBehind>(values, records, options.write_behind_bytes,
                                                  ResultCacheOptions::kMaxQueuedResults)
                  : nullptr) {}

ResultCache::~ResultCache() = default;

absl::StatusOr<std::shared_ptr<const CachedResult>> ResultCache::Lookup(const Digest& key,
                                                                        bool load) {
  if (std::shared_ptr<const CachedResult> kept = memory_->Find(key)) return kept;
  if (writer_ != nullptr) {  // computed here, and still being written
    if (std::shared_ptr<const CachedResult> queued = writer_->Pending(key)) return queued;
  }
  absl::StatusOr<ActionResult> record = records_->Get(key);
  if (!record.ok()) {
    // A corrupt record was removed by the action cache: for the caller it is a miss.
    if (absl::IsDataLoss(record.status())) {
      return absl::NotFoundError(absl::StrCat("the cached record for ", key.ToHex(),
                                              " was corrupt: ", record.status().message()));
    }
    return record.status();
  }
  auto entry = std::make_shared<CachedResult>();
  for (const OutputRef& out : record->outputs()) {
    const Digest digest = *Digest::FromHex(out.digest());  // the action cache checked it
    if (!load) {
      absl::StatusOr<bool> present = values_->Contains(digest);
      if (!present.ok()) return present.status();
      if (!*present) return Discard(key, *record, out);
      continue;
    }
    absl::StatusOr<Blob> blob = values_->Get(digest);
    if (absl::IsNotFound(blob.status()) || absl::IsDataLoss(blob.status())) {
      return Discard(key, *record, out);
    }
    if (!blob.ok()) return blob.status();
    entry->bytes += static_cast<int64_t>(blob->size());
    entry->blobs.push_back(std::make_shared<const Blob>(*std::move(blob)));
  }
  entry->result = *std::move(record);
  if (load) memory_->Insert(key, entry);
  return std::shared_ptr<const CachedResult>(std::move(entry));
}

absl::Status ResultCache::Discard(const Digest& key, const ActionResult& record,
                                  const OutputRef& out) {
  records_->DeleteIfUnchanged(key, record).IgnoreError();  // a miss either way
  return absl::NotFoundError(absl::StrCat("output ", out.name(), " (", out.digest(),
                                          ") of the cached result for ", key.ToHex(),
                                          " is gone or corrupt; the record is removed"));
}

std::shared_ptr<CachedResult> ResultCache::MakeEntry(ActionResult record,
                                                     std::vector<std::string> values,
                                                     bool hash) {
  auto entry = std::make_shared<CachedResult>();
  for (size_t i = 0; i < values.size(); ++i) {
    OutputRef& out = *record.mutable_outputs(static_cast<int>(i));
    out.set_size(static_cast<int64_t>(values[i].size()));
    if (hash) out.set_digest(Digest::Of(values[i]).ToHex());
    entry->bytes += out.size();
    entry->blobs.push_back(std::make_shared<const Blob>(std::move(values[i])));
  }
  entry->result = std::move(record);
  return entry;
}

absl::Status ResultCache::PutValues(CachedResult* entry) {
  absl::StatusOr<std::vector<Digest>> digests = WriteValues(*values_, *entry);
  if (!digests.ok()) return digests.status();
  for (size_t i = 0; i < digests->size(); ++i) {
    entry->result.mutable_outputs(static_cast<int>(i))->set_digest((*digests)[i].ToHex());
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const CachedResult>> ResultCache::Store(
    const Digest& key, ActionResult record, std::vector<std::string> values) {
  int64_t bytes = 0;
  for (const std::string& v : values) bytes += static_cast<int64_t>(v.size());
  const bool behind = writer_ != nullptr && writer_->Fits(bytes);
  // Written behind, a result is hashed here and its values stored by the writer; written at
  // once, they are hashed as they are stored.
  std::shared_ptr<CachedResult> entry = MakeEntry(std::move(record), std::move(values), behind);
  if (behind) {
    writer_->Enqueue(key, entry);
  } else {
    absl::Status s = PutValues(entry.get());
    // After any older result for the key still queued, not before it: that one would
    // replace this record when written.
    if (s.ok() && writer_ != nullptr) writer_->WaitForKey(key);
    if (s.ok()) s = records_->Put(key, entry->result);
    if (!s.ok()) return s;
  }
  memory_->Insert(key, entry);
  stored_.fetch_add(1, std::memory_order_release);
  return std::shared_ptr<const CachedResult>(std::move(entry));
}

absl::StatusOr<std::shared_ptr<const CachedResult>> ResultCache::StoreValues(
    ActionResult record, std::vector<std::string> values) {
  std::shared_ptr<CachedResult> entry =
      MakeEntry(std::move(record), std::move(values), /*hash=*/false);
  absl::Status s = PutValues(entry.get());
  if (!s.ok()) return s;
  return std::shared_ptr<const CachedResult>(std::move(entry));
}

absl::Status ResultCache::Flush() {
  return writer_ != nullptr ? writer_->Drain() : absl::OkStatus();
}

}  // namespace mlops
