// Compiled by //mlops/base:mutex_annotations_test with clang's -Wthread-safety -Werror,
// never by the build. Without BAD everything below compiles (the control: correct locking
// is accepted). With BAD, each line marked "want:" must be an error of the analysis: the
// annotations of mlops::Mutex are what --config=thread_safety relies on.
#include "mlops/base/mutex.h"

class Account {
 public:
  void Deposit(int n) {
    mlops::MutexLock lock(&mu_);
    balance_ += n;
    changed_.SignalAll();
  }
  void WaitFor(int n) {
    mlops::MutexLock lock(&mu_);
    while (balance_ < n) changed_.Wait(&mu_);
  }
  int Relock() {
    mlops::MutexLock lock(&mu_);
    const int before = balance_;
    lock.Unlock();
    Slow();
    lock.Lock();
    return balance_ - before;
  }
  void AddLocked(int n) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { balance_ += n; }
  void Slow() ABSL_LOCKS_EXCLUDED(mu_) {}

#ifdef BAD
  int Unguarded() { return balance_; }  // want: guarded
  void CallsLocked() { AddLocked(1); }  // want: requires
  int AfterUnlock() {
    mlops::MutexLock lock(&mu_);
    lock.Unlock();
    return balance_;  // want: guarded
  }
  void WaitUnlocked() { changed_.Wait(&mu_); }  // want: requires
#endif

 private:
  mlops::Mutex mu_;
  mlops::CondVar changed_;
  int balance_ ABSL_GUARDED_BY(mu_) = 0;
};

int main() {
  Account a;
  a.Deposit(1);
  a.WaitFor(1);
  return a.Relock();
}
