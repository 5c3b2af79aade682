// mlops/base/mutex.h — the library's mutex, condition variable and scoped lock, annotated so
// that clang's thread-safety analysis (`bazel build --config=thread_safety`) checks every
// ABSL_GUARDED_BY field and every ABSL_EXCLUSIVE_LOCKS_REQUIRED function.
//
// Why not absl::Mutex, which is annotated already: Debian's Abseil is built without
// ThreadSanitizer, so `--config=tsan` cannot see an absl::Mutex synchronize and reports
// races that are not there. std::mutex is inlined into our own code, where TSan sees it;
// but libstdc++ does not annotate it, so fields guarded by a bare std::mutex are never
// checked. These thin wrappers give std::mutex the annotations, and nothing else.
//
// Example:
//   class Counter {
//    public:
//     void Add(int n) {
//       mlops::MutexLock lock(&mu_);
//       total_ += n;
//       if (total_ >= 100) full_.SignalAll();
//     }
//     void WaitUntilFull() {
//       mlops::MutexLock lock(&mu_);
//       while (total_ < 100) full_.Wait(&mu_);   // waits are loops: the analysis sees them
//     }
//    private:
//     mlops::Mutex mu_;
//     mlops::CondVar full_;
//     int total_ ABSL_GUARDED_BY(mu_) = 0;
//   };
//
// Thread safety: these are the synchronization primitives; a Mutex is not reentrant.
#ifndef MLOPS_BASE_MUTEX_H_
#define MLOPS_BASE_MUTEX_H_

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"

namespace mlops {

class ABSL_LOCKABLE Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }
  // Tells the analysis that the calling thread holds the lock (it checks nothing at run
  // time), for code it cannot follow, such as a callback run under the lock.
  void AssertHeld() const ABSL_ASSERT_EXCLUSIVE_LOCK() {}

 private:
  friend class CondVar;
  std::mutex mu_;
};

// Holds `*mu` from construction to destruction. Unlock() and Lock() release and take it
// again within the scope (the destructor releases it only if held).
class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() {
    if (held_) mu_->Unlock();
  }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  void Unlock() ABSL_UNLOCK_FUNCTION() {
    held_ = false;
    mu_->Unlock();
  }
  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() {
    mu_->Lock();
    held_ = true;
  }

 private:
  Mutex* const mu_;
  bool held_ = true;
};

// A condition variable used with a Mutex. Waits may wake spuriously: wait in a loop that
// tests the condition (see the example at the top).
class CondVar {
 public:
  CondVar() = default;
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;

  // Releases `*mu`, waits for a signal, and takes `*mu` again before returning.
  void Wait(Mutex* mu) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    cv_.wait(lock);
    lock.release();  // still held: the caller's scope releases it
  }
  // As Wait, for at most `timeout`. Returns true if it timed out (the caller tests its
  // condition either way).
  bool WaitWithTimeout(Mutex* mu, absl::Duration timeout) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    const bool timed_out =
        cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout)) == std::cv_status::timeout;
    lock.release();
    return timed_out;
  }

  void Signal() { cv_.notify_one(); }
  void SignalAll() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

}  // namespace mlops

#endif  // MLOPS_BASE_MUTEX_H_
