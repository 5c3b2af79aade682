#include "mlops/testing/held_store.h"

#include <utility>

#include "absl/time/clock.h"

namespace mlops {
namespace test {

absl::StatusOr<Digest> HeldStore::Put(absl::string_view bytes) {
  std::function<void(absl::string_view)> hook;
  {
    MutexLock lock(&mu_);
    ++puts_started_;
    if (hold_ && (hold_only_.empty() || hold_only_ == bytes)) {
      ++held_;
      changed_.SignalAll();
      while (hold_ && permits_ == 0) changed_.Wait(&mu_);
      if (hold_) --permits_;
    }
    if (!failures_.empty()) {
      const absl::Status s = failures_.front();
      failures_.pop_front();
      return s;
    }
    hook = on_put_;
  }
  if (hook) hook(bytes);
  return inner_.Put(bytes);
}

void HeldStore::RunLookupHook() {
  std::function<void()> hook;
  {
    MutexLock lock(&mu_);
    hook = std::exchange(on_lookup_, nullptr);
  }
  if (hook) hook();
}

absl::StatusOr<Blob> HeldStore::Get(const Digest& digest) {
  RunLookupHook();
  return inner_.Get(digest);
}

absl::StatusOr<bool> HeldStore::Contains(const Digest& digest) {
  RunLookupHook();
  return inner_.Contains(digest);
}

void HeldStore::Hold(std::string only) {
  MutexLock lock(&mu_);
  hold_ = true;
  hold_only_ = std::move(only);
  permits_ = 0;
}

void HeldStore::Allow(int n) {
  MutexLock lock(&mu_);
  permits_ += n;
  changed_.SignalAll();
}

void HeldStore::Release() {
  MutexLock lock(&mu_);
  hold_ = false;
  changed_.SignalAll();
}

bool HeldStore::WaitForHeld(int n) {
  const absl::Time give_up = absl::Now() + absl::FromChrono(kGiveUp);
  MutexLock lock(&mu_);
  while (held_ < n) {
    const absl::Duration left = give_up - absl::Now();
    if (left <= absl::ZeroDuration()) return false;
    changed_.WaitWithTimeout(&mu_, left);
  }
  return true;
}

void HeldStore::FailNextPut(absl::Status status) {
  MutexLock lock(&mu_);
  failures_.push_back(std::move(status));
}

void HeldStore::OnPut(std::function<void(absl::string_view)> hook) {
  MutexLock lock(&mu_);
  on_put_ = std::move(hook);
}

void HeldStore::OnNextLookup(std::function<void()> hook) {
  MutexLock lock(&mu_);
  on_lookup_ = std::move(hook);
}

int64_t HeldStore::puts_started() const {
  MutexLock lock(&mu_);
  return puts_started_;
}

std::string HeldStore::Stored(const Digest& digest) {
  absl::StatusOr<Blob> blob = inner_.Get(digest);
  return blob.ok() ? blob->ToString() : std::string("(absent)");
}

}  // namespace test
}  // namespace mlops
