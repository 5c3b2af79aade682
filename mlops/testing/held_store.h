// A ContentStore for tests of code that writes values from threads of its own (the result
// cache's write-behind): a MemoryStore whose Puts a test can hold until it lets them through,
// fail on demand, and watch; and whose lookups run a hook once, so that a test can act
// between a reader's steps.
//
// Example:
//   mlops::test::HeldStore store;
//   store.Hold();                        // Puts from now on wait...
//   StartSomethingThatPuts(&store);
//   ASSERT_TRUE(store.WaitForHeld(1));   // ...here is one
//   store.Release();                     // let it and all later ones through
//
// Thread safety: every method may be called from any thread.
#ifndef MLOPS_TESTING_HELD_STORE_H_
#define MLOPS_TESTING_HELD_STORE_H_

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "mlops/base/mutex.h"
#include "mlops/store/content_store.h"
#include "mlops/store/memory_store.h"

namespace mlops {
namespace test {

// How long a test waits for something that must happen soon (a writer reaching a Put)
// before it gives up and fails instead of hanging. Never reached when the code works; not a
// performance threshold.
constexpr std::chrono::seconds kGiveUp{120};

class HeldStore : public ContentStore {
 public:
  absl::StatusOr<Digest> Put(absl::string_view bytes) override;
  absl::StatusOr<std::unique_ptr<BlobWriter>> NewWriter() override { return inner_.NewWriter(); }
  absl::StatusOr<Blob> Get(const Digest& digest) override;
  absl::StatusOr<bool> Contains(const Digest& digest) override;
  absl::Status Delete(const Digest& digest) override { return inner_.Delete(digest); }
  absl::StatusOr<std::vector<StoreEntry>> List() override { return inner_.List(); }
  absl::StatusOr<StoreStats> Stats() override { return inner_.Stats(); }

  // Holds every later Put (or only Puts of exactly `only`, if given) until allowed.
  void Hold(std::string only = "");
  // Lets `n` held Puts through.
  void Allow(int n);
  // Lets every Put through, now and later.
  void Release();
  // Waits until `n` Puts in all (since the store was made) have been held; false if that
  // did not happen within kGiveUp (a test failure).
  bool WaitForHeld(int n);
  // The next Put (after any hold) fails with `status`, storing nothing.
  void FailNextPut(absl::Status status);
  // Called on every Put that is about to store, before it stores, on the Put's thread.
  void OnPut(std::function<void(absl::string_view)> hook);
  // Called once, at the start of the next Get or Contains, on its thread.
  void OnNextLookup(std::function<void()> hook);
  int64_t puts_started() const;
  // The stored bytes for `digest`, or "(absent)".
  std::string Stored(const Digest& digest);
  // The store underneath, to put or corrupt values around the hooks.
  MemoryStore& inner() { return inner_; }

 private:
  void RunLookupHook();

  MemoryStore inner_;
  mutable Mutex mu_;
  CondVar changed_;
  bool hold_ ABSL_GUARDED_BY(mu_) = false;
  std::string hold_only_ ABSL_GUARDED_BY(mu_);
  int permits_ ABSL_GUARDED_BY(mu_) = 0;
  int held_ ABSL_GUARDED_BY(mu_) = 0;  // Puts ever held
  int64_t puts_started_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<absl::Status> failures_ ABSL_GUARDED_BY(mu_);
  std::function<void(absl::string_view)> on_put_ ABSL_GUARDED_BY(mu_);
  std::function<void()> on_lookup_ ABSL_GUARDED_BY(mu_);
};

// Releases every held Put when it goes out of scope: declared after the object that writes
// to a HeldStore, it lets that object's destructor finish when an ASSERT ends a test early.
class ReleaseAtExit {
 public:
  explicit ReleaseAtExit(HeldStore& store) : store_(store) {}
  ~ReleaseAtExit() { store_.Release(); }
  ReleaseAtExit(const ReleaseAtExit&) = delete;
  ReleaseAtExit& operator=(const ReleaseAtExit&) = delete;

 private:
  HeldStore& store_;
};

}  // namespace test
}  // namespace mlops

#endif  // MLOPS_TESTING_HELD_STORE_H_
