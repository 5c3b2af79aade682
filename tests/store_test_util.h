// tests/store_test_util.h — helpers shared by the multi-process content-store tests:
// deterministic test values, directory listing, and a guard that kills and reaps forked
// children whatever way a test ends.
#ifndef TESTS_STORE_TEST_UTIL_H_
#define TESTS_STORE_TEST_UTIL_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace mlops {
namespace testing {

// Names one deterministic test value. Its bytes begin with an 8-byte header (round and index,
// little-endian) so that a value read back from a store says which value it claims to be;
// the rest is a pseudo-random pattern derived from (round, index).
struct ValueId {
  uint32_t round = 0;
  uint32_t index = 0;

  friend bool operator<(const ValueId& a, const ValueId& b) {
    return std::tie(a.round, a.index) < std::tie(b.round, b.index);
  }
  friend bool operator==(const ValueId& a, const ValueId& b) {
    return a.round == b.round && a.index == b.index;
  }
  friend bool operator!=(const ValueId& a, const ValueId& b) { return !(a == b); }
  template <typename H>
  friend H AbslHashValue(H h, const ValueId& id) {
    return H::combine(std::move(h), id.round, id.index);
  }
  std::string ToString() const;
};

constexpr size_t kValueHeaderBytes = 8;

// splitmix64's finalizer: a fast, well-mixed 64-bit hash.
uint64_t Mix64(uint64_t x);

// Writes bytes [offset, offset + n) of value `id` to `out`.
void FillValue(const ValueId& id, size_t offset, char* out, size_t n);
// The whole value `id` of `size` bytes. REQUIRES: size >= kValueHeaderBytes.
std::string MakeValue(const ValueId& id, size_t size);
// Reads the header of `bytes`; false if it is too short to have one.
bool ParseValueHeader(absl::string_view bytes, ValueId* id);
// True if `bytes` are exactly value `id` of `size` bytes.
bool ValueMatches(const ValueId& id, size_t size, absl::string_view bytes);

// The names in `dir` (without "." and ".."); empty if `dir` does not exist.
std::vector<std::string> ListNames(const std::string& dir);
// Sets the access and modification times of every file in `dir` to `seconds_ago` in the past.
// Returns the number of files changed.
int AgeFiles(const std::string& dir, int seconds_ago);
// Removes `path` recursively (if present). Returns false on error.
bool RemoveTree(const std::string& path);
// A fresh, empty directory under $TEST_TMPDIR named `name`.
std::string FreshTestDir(const std::string& name);

// A human-readable description of a waitpid status ("exited 3", "killed by signal 9").
std::string DescribeWaitStatus(int status);

// Forked children of a test. The destructor SIGKILLs and reaps every child still running, so
// a failing test (an ASSERT that returns early) leaves no process behind.
class ChildProcesses {
 public:
  ChildProcesses() = default;
  ChildProcesses(const ChildProcesses&) = delete;
  ChildProcesses& operator=(const ChildProcesses&) = delete;
  ~ChildProcesses() { KillAll(); }

  // Forks. In the child, runs `body` and _exits with its return value (never returns). In the
  // parent, records and returns the child's pid, or -1 if fork failed.
  template <typename Body>
  pid_t Spawn(Body body) {
    const pid_t pid = ForkChild();
    if (pid == 0) ExitChild(body());
    if (pid > 0) pids_.push_back(pid);
    return pid;
  }

  // Waits for `pid` (a child of this set) to end, for at most `timeout_seconds`. Returns true
  // and sets `*status` if it ended; on timeout the child is killed, reaped, and false is
  // returned.
  bool Wait(pid_t pid, int* status, double timeout_seconds);

  // Sends SIGKILL to `pid` and reaps it; sets `*status` to its wait status.
  void KillAndWait(pid_t pid, int* status);

  // SIGKILLs and reaps every child still running.
  void KillAll();

 private:
  static pid_t ForkChild();
  [[noreturn]] static void ExitChild(int code);
  void Forget(pid_t pid);

  std::vector<pid_t> pids_;
};

}  // namespace testing
}  // namespace mlops

#endif  // TESTS_STORE_TEST_UTIL_H_
