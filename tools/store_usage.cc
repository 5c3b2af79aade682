#include "tools/store_usage.h"

#include <algorithm>
#include <map>
#include <memory>
#include <utility>

#include "absl/container/flat_hash_set.h"

namespace mlops {
namespace cli {
namespace {

// A ContentStore in front of another that records the deletions garbage collection makes
// (and, in a dry run, does not pass them on). Everything else is forwarded.
class EvictionRecorder : public ContentStore {
 public:
  EvictionRecorder(ContentStore& base, bool dry_run) : base_(base), dry_run_(dry_run) {}

  absl::StatusOr<Digest> Put(absl::string_view bytes) override { return base_.Put(bytes); }
  absl::StatusOr<std::unique_ptr<BlobWriter>> NewWriter() override { return base_.NewWriter(); }
  absl::StatusOr<Blob> Get(const Digest& digest) override { return base_.Get(digest); }
  absl::StatusOr<bool> Contains(const Digest& digest) override { return base_.Contains(digest); }
  absl::StatusOr<StoreStats> Stats() override { return base_.Stats(); }

  absl::StatusOr<std::vector<StoreEntry>> List() override {
    absl::StatusOr<std::vector<StoreEntry>> entries = base_.List();
    if (entries.ok()) {
      for (const StoreEntry& e : *entries) sizes_[e.digest] = e;
    }
    return entries;
  }

  absl::Status Delete(const Digest& digest) override {
    if (!dry_run_) {
      absl::Status s = base_.Delete(digest);
      if (!s.ok()) return s;
    }
    evicted_.push_back(sizes_[digest]);
    return absl::OkStatus();
  }

  std::vector<StoreEntry>& evicted() { return evicted_; }

 private:
  ContentStore& base_;
  const bool dry_run_;
  absl::flat_hash_map<Digest, StoreEntry> sizes_;
  std::vector<StoreEntry> evicted_;
};

}  // namespace

std::vector<StepUsage> UsageByStep(const std::vector<StoreEntry>& entries,
                                   const absl::flat_hash_map<Digest, std::string>& step_of) {
  std::map<std::string, StepUsage> by_step;
  for (const StoreEntry& e : entries) {
    auto it = step_of.find(e.digest);
    const std::string& step = it == step_of.end() ? std::string(kUnknownStep) : it->second;
    StepUsage& u = by_step[step];
    u.step = step;
    ++u.entries;
    u.bytes += e.size;
  }
  std::vector<StepUsage> out;
  for (auto& [step, u] : by_step) out.push_back(std::move(u));
  std::stable_sort(out.begin(), out.end(),
                   [](const StepUsage& a, const StepUsage& b) { return a.bytes > b.bytes; });
  return out;
}

absl::StatusOr<GcReport> CollectGarbage(ContentStore& store, int64_t max_bytes,
                                        const absl::btree_set<Digest>& pinned, bool dry_run) {
  EvictionRecorder recorder(store, dry_run);
  absl::StatusOr<GcResult> result = recorder.CollectGarbage(
      max_bytes, absl::flat_hash_set<Digest>(pinned.begin(), pinned.end()));
  if (!result.ok()) return result.status();
  return GcReport{*result, std::move(recorder.evicted())};
}

}  // namespace cli
}  // namespace mlops
