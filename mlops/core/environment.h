// mlops/core/environment.h — what machine, build and source a run happens in.
//
// Captured once per Workspace and stored in its Run record, so a result can be traced to
// the compiler, library versions, OS, CPU and source revision that produced it.
//
// The source revision comes from git, run as a subprocess: the commit checked out and
// whether tracked files have uncommitted changes. That costs two short git commands per
// Workspace::Open (a few milliseconds; `git status` grows with the size of the checkout),
// bounded by kGitTimeout. $MLOPS_SOURCE_REVISION, when set, is recorded instead and git is
// not run (e.g. `MLOPS_SOURCE_REVISION=$(git rev-parse HEAD)` in CI, or any value to skip
// git in tests).
//
// Example:
//   mlops::Environment env = mlops::CaptureEnvironment();
//   mlops::SourceRevision rev = mlops::GitSourceRevision("/path/to/checkout");
//   if (rev.state == mlops::Environment::SOURCE_MODIFIED) { /* uncommitted changes */ }
//
// Thread safety: the functions are safe to call from any thread.
#ifndef MLOPS_CORE_ENVIRONMENT_H_
#define MLOPS_CORE_ENVIRONMENT_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "mlops/lineage/lineage.pb.h"

namespace mlops {

// The compiler and flags mlops was built with, the versions of its libraries (protobuf,
// SQLite, xxHash, fmt, Abseil), the OS (uname), the CPU model and core count, and the
// source revision and state: $MLOPS_SOURCE_REVISION if set and not empty (state unknown),
// else GitSourceRevision of $BUILD_WORKSPACE_DIRECTORY if set (the source tree, under
// `bazel run`), else of the current directory. Never fails: what cannot be found is left
// empty.
Environment CaptureEnvironment();

// The longest GitSourceRevision waits for git by default.
inline constexpr absl::Duration kGitTimeout = absl::Seconds(2);

// A checkout's revision as git reports it.
struct SourceRevision {
  std::string commit;  // the full hash of HEAD; empty when unknown
  Environment::SourceState state = Environment::SOURCE_STATE_UNKNOWN;
};

// The commit checked out in the git repository containing `dir` (`git rev-parse HEAD`) and
// whether tracked files differ from it (`git status --porcelain --untracked-files=no`, run
// with GIT_OPTIONAL_LOCKS=0 so that it never writes the repository's index), using the
// first `git` on $PATH. Never fails and never waits longer than `timeout` in all: without
// git, outside a repository, in one without commits, or when git exits non-zero or does not
// answer in time (it is then killed), the commit is empty; when only the status cannot be
// had, the state is SOURCE_STATE_UNKNOWN.
SourceRevision GitSourceRevision(const std::string& dir, absl::Duration timeout = kGitTimeout);

// This process's command line (argv[0] and arguments), from /proc/self/cmdline.
std::vector<std::string> CommandLine();

std::string HostName();
std::string UserName();

}  // namespace mlops

#endif  // MLOPS_CORE_ENVIRONMENT_H_
