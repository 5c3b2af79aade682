// Running test code without the capabilities that let root ignore file permissions, so that
// a test of a PERMISSION_DENIED path means the same when the tests run as root (in a
// container, in CI) as when they run as a normal user.
//
// Example:
//   ASSERT_EQ(::chmod(path.c_str(), 0), 0);
//   absl::StatusOr<std::string> read;
//   const Unprivileged run = RunWithoutDacOverride(dir_, [&] { read = ReadFile(path); });
//   if (!run.denied) GTEST_SKIP() << run.why;
//   EXPECT_EQ(read.status().code(), absl::StatusCode::kPermissionDenied);
//
// Thread safety: RunWithoutDacOverride may be called from several threads; each call uses a
// thread of its own and changes the capabilities of that thread only.
#ifndef MLOPS_TESTING_UNPRIVILEGED_H_
#define MLOPS_TESTING_UNPRIVILEGED_H_

#include <functional>
#include <string>

namespace mlops {
namespace test {

// What RunWithoutDacOverride did.
struct Unprivileged {
  bool denied = false;  // a mode-000 probe file really could not be opened, and `fn` ran
  std::string why;      // when !denied: the reason (`fn` did not run)
};

// Runs `fn` on a fresh thread whose effective capability set lacks CAP_DAC_OVERRIDE and
// CAP_DAC_READ_SEARCH (the raw capset system call changes only the calling thread, so the
// rest of the process keeps them). This makes mode 000 deny reading even when the tests run
// as root. Before calling `fn` it checks that a mode-000 file in `probe_dir` really cannot be
// opened; if it can (e.g. the capabilities cannot be dropped), `fn` is not run and `denied`
// is false. For a non-root user the drop is a no-op and the check simply confirms that
// permissions apply. Returns after `fn` has returned (or was not run).
//
// The probe file "<probe_dir>/permission_probe" is created and removed again. Aborts the test
// binary if it cannot be created (see check_sys.h).
// REQUIRES: `probe_dir` is a writable directory.
Unprivileged RunWithoutDacOverride(const std::string& probe_dir, const std::function<void()>& fn);

}  // namespace test
}  // namespace mlops

#endif  // MLOPS_TESTING_UNPRIVILEGED_H_
