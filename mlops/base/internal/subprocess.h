// Internal: running a short-lived helper program with a time bound (e.g. `git rev-parse`
// for the run's source revision, mlops/core/environment.h).
//
// The child gets /dev/null as standard input and standard error, its own process group,
// and this process's environment plus `extra_env`; its standard output is captured. If it
// is not done by the deadline, its whole process group is killed (SIGKILL) and reaped, so
// a hung helper costs at most `timeout`, never a blocked caller or a zombie.
//
// Example:
//   absl::StatusOr<mlops::SubprocessResult> r = mlops::RunSubprocess(
//       "/usr/bin/git", {"-C", dir, "rev-parse", "HEAD"}, {}, absl::Seconds(2));
//   if (r.ok() && r->exit_code == 0) Use(r->output);
//
// Thread safety: safe to call from many threads at once (the pipes are close-on-exec, so
// one call's child never inherits another's).
#ifndef MLOPS_BASE_INTERNAL_SUBPROCESS_H_
#define MLOPS_BASE_INTERNAL_SUBPROCESS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace mlops {

// The executable `name` in the directories of $PATH (the first one found), or nullopt.
std::optional<std::string> FindExecutableOnPath(absl::string_view name);

struct SubprocessResult {
  int exit_code = -1;  // the child's exit status; 128 + the signal if a signal ended it
  std::string output;  // its standard output, at most `max_output` bytes of it
};

// Runs `program` (a path) with `args` and returns how it ended and what it printed (output
// beyond `max_output` bytes is read and dropped). Errors: DEADLINE_EXCEEDED naming the
// program if it ran longer than `timeout` (it is killed); errno codes if it cannot be
// started (e.g. NOT_FOUND for a missing program).
absl::StatusOr<SubprocessResult> RunSubprocess(const std::string& program,
                                               const std::vector<std::string>& args,
                                               const std::vector<std::string>& extra_env,
                                               absl::Duration timeout,
                                               size_t max_output = 1 << 20);

// One program for RunSubprocesses, as RunSubprocess's arguments.
struct SubprocessCommand {
  std::string program;
  std::vector<std::string> args;
  std::vector<std::string> extra_env;
  size_t max_output = 1 << 20;
};

// Runs the commands at once (for programs whose time is mostly starting up, e.g. two git
// commands), all within one `timeout`, and returns their results in order, each as
// RunSubprocess would.
std::vector<absl::StatusOr<SubprocessResult>> RunSubprocesses(
    const std::vector<SubprocessCommand>& commands, absl::Duration timeout);

}  // namespace mlops

#endif  // MLOPS_BASE_INTERNAL_SUBPROCESS_H_
