// Background: runs a function on a thread of its own and tells whether it has returned, for
// tests that check a call is still blocked.
//
// Example:
//   mlops::test::Background call([&] { result = queue.Enqueue(...); });
//   std::this_thread::sleep_for(mlops::test::kLetItRun);
//   EXPECT_FALSE(call.done()) << "returned although the queue was full";
//
// Thread safety: done() may be called from any thread; Join from one.
#ifndef MLOPS_TESTING_BACKGROUND_H_
#define MLOPS_TESTING_BACKGROUND_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>
#include <utility>

namespace mlops {
namespace test {

// How long a test lets a call that must stay blocked run before it checks that it has not
// returned. A correct call cannot return in this time whatever the machine's speed; a short
// value only makes a broken one harder to catch.
constexpr std::chrono::milliseconds kLetItRun{100};

class Background {
 public:
  explicit Background(std::function<void()> fn)
      : thread_([this, fn = std::move(fn)] {
          fn();
          done_.store(true);
        }) {}
  // Joins the thread.
  ~Background() { Join(); }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;

  bool done() const { return done_.load(); }
  void Join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::atomic<bool> done_{false};
  std::thread thread_;  // last: starts after done_ exists
};

}  // namespace test
}  // namespace mlops

#endif  // MLOPS_TESTING_BACKGROUND_H_
