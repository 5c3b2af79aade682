#include "mlops/base/internal/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "mlops/base/file_io.h"

extern char** environ;

namespace mlops {
namespace {

// This process's environment with `extra` ("NAME=value") replacing or adding entries.
std::vector<std::string> ChildEnvironment(const std::vector<std::string>& extra) {
  std::vector<std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const absl::string_view entry = *e;
    const absl::string_view name = entry.substr(0, entry.find('=') + 1);
    const bool replaced = std::any_of(extra.begin(), extra.end(), [&](const std::string& x) {
      return absl::string_view(x).substr(0, x.find('=') + 1) == name;
    });
    if (!replaced) out.emplace_back(entry);
  }
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

std::vector<char*> Pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(&s[0]);
  out.push_back(nullptr);
  return out;
}

int ExitCode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Kills the child's process group and reaps the child.
void KillAndReap(pid_t pid) {
  ::kill(-pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

// A child started by Spawn: its pid and the read end of its standard output.
struct Child {
  pid_t pid = 0;
  ScopedFd out;
};

absl::StatusOr<Child> Spawn(const SubprocessCommand& c) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return PosixError(errno, "pipe2", c.program);
  Child child;
  child.out = ScopedFd(fds[0]);
  ScopedFd write_end(fds[1]);

  std::vector<std::string> argv_strings = {c.program};
  argv_strings.insert(argv_strings.end(), c.args.begin(), c.args.end());
  std::vector<char*> argv = Pointers(argv_strings);
  std::vector<std::string> env_strings = ChildEnvironment(c.extra_env);
  std::vector<char*> envp = Pointers(env_strings);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, write_end.get(), 1);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Its own process group, to kill whatever it starts too; no signal blocked or ignored
  // because this process blocks or ignores it.
  sigset_t none, pipe;
  sigemptyset(&none);
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &pipe);
  const int rc =
      ::posix_spawn(&child.pid, c.program.c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return PosixError(rc, "posix_spawn", c.program);
  return child;  // closing write_end leaves the pipe the child's: EOF when it is done
}

}  // namespace

std::optional<std::string> FindExecutableOnPath(absl::string_view name) {
  const char* path = std::getenv("PATH");
  if (path == nullptr || name.empty()) return std::nullopt;
  for (absl::string_view dir : absl::StrSplit(path, ':', absl::SkipEmpty())) {
    const std::string candidate = absl::StrCat(dir, "/", name);
    struct stat st;
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return std::nullopt;
}

absl::StatusOr<SubprocessResult> RunSubprocess(const std::string& program,
                                               const std::vector<std::string>& args,
                                               const std::vector<std::string>& extra_env,
                                               absl::Duration timeout, size_t max_output) {
  return std::move(
      RunSubprocesses({SubprocessCommand{program, args, extra_env, max_output}}, timeout)[0]);
}

std::vector<absl::StatusOr<SubprocessResult>> RunSubprocesses(
    const std::vector<SubprocessCommand>& commands, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::vector<absl::StatusOr<SubprocessResult>> results;
  std::vector<Child> children;
  for (const SubprocessCommand& c : commands) {
    absl::StatusOr<Child> child = Spawn(c);
    results.push_back(child.ok() ? absl::StatusOr<SubprocessResult>(SubprocessResult())
                                 : absl::StatusOr<SubprocessResult>(child.status()));
    children.push_back(child.ok() ? *std::move(child) : Child());
  }
  const auto running = [&](size_t i) { return results[i].ok() && children[i].pid > 0; };
  // Read every output until it closes...
  char buf[4096];
  while (true) {
    std::vector<struct pollfd> polled;
    std::vector<size_t> which;
    for (size_t i = 0; i < children.size(); ++i) {
      if (running(i) && children[i].out.valid()) {
        polled.push_back({children[i].out.get(), POLLIN, 0});
        which.push_back(i);
      }
    }
    const absl::Duration left = deadline - absl::Now();
    if (polled.empty() || left <= absl::ZeroDuration()) break;
    const int wait_ms = static_cast<int>(std::max<int64_t>(1, absl::ToInt64Milliseconds(left)));
    const int ready = ::poll(polled.data(), polled.size(), wait_ms);
    if (ready < 0 && errno != EINTR) {
      const int error = errno;
      for (size_t i : which) results[i] = PosixError(error, "poll", commands[i].program);
      continue;
    }
    for (size_t k = 0; ready > 0 && k < polled.size(); ++k) {
      if (polled[k].revents == 0) continue;
      const size_t i = which[k];
      const ssize_t n = ::read(children[i].out.get(), buf, sizeof(buf));
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n < 0) {
        results[i] = PosixError(errno, "read", commands[i].program);
      } else if (n == 0) {
        children[i].out = ScopedFd();  // closed: it is exiting, or about to
      } else {
        std::string& out = results[i]->output;
        const size_t room = commands[i].max_output - std::min(commands[i].max_output, out.size());
        out.append(buf, std::min(room, static_cast<size_t>(n)));
      }
    }
  }
  // ...then reap each, until the deadline.
  for (size_t i = 0; i < children.size(); ++i) {
    if (children[i].pid <= 0) continue;
    while (results[i].ok() && !children[i].out.valid()) {
      int status = 0;
      const pid_t done = ::waitpid(children[i].pid, &status, WNOHANG);
      if (done == children[i].pid) {
        results[i]->exit_code = ExitCode(status);
        children[i].pid = 0;
        break;
      }
      if (done < 0 && errno != EINTR) {
        results[i] = PosixError(errno, "waitpid", commands[i].program);
        break;
      }
      if (absl::Now() >= deadline) break;
      absl::SleepFor(absl::Microseconds(200));
    }
    if (children[i].pid <= 0) continue;
    KillAndReap(children[i].pid);  // past the deadline, or failed: not left running
    if (results[i].ok()) {
      results[i] = absl::DeadlineExceededError(
          absl::StrCat(commands[i].program, " did not finish within ",
                       absl::FormatDuration(timeout), " and was killed"));
    }
  }
  return results;
}

}  // namespace mlops
