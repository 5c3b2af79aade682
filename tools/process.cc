#include "tools/process.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/strings/ascii.h"
#include "mlops/base/file_io.h"

extern char** environ;

namespace mlops {
namespace cli {
namespace {

// An unnamed temporary file (created and unlinked at once) holding `data`, positioned at
// its start.
absl::StatusOr<ScopedFd> TempFile(absl::string_view data) {
  const char* dir = std::getenv("TMPDIR");
  std::string path = absl::StrCat(dir != nullptr && *dir != '\0' ? dir : "/tmp",
                                  "/mlops-cli.XXXXXX");
  ScopedFd fd(::mkstemp(&path[0]));
  if (!fd.valid()) return PosixError(errno, "mkstemp", path);
  ::unlink(path.c_str());
  absl::Status s = WriteAll(fd.get(), data, path);
  if (!s.ok()) return s;
  if (::lseek(fd.get(), 0, SEEK_SET) != 0) return PosixError(errno, "lseek", path);
  return fd;
}

absl::StatusOr<std::string> ReadAllFrom(int fd) {
  if (::lseek(fd, 0, SEEK_SET) != 0) return PosixError(errno, "lseek", "a temporary file");
  std::string out;
  char buf[65536];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return PosixError(errno, "read", "a temporary file");
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

}  // namespace

std::optional<std::string> FindOnPath(absl::string_view name) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return std::nullopt;
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

absl::StatusOr<std::string> RunProgram(const std::string& program,
                                       const std::vector<std::string>& args,
                                       absl::string_view input) {
  absl::StatusOr<ScopedFd> in = TempFile(input);
  if (!in.ok()) return in.status();
  absl::StatusOr<ScopedFd> out = TempFile("");
  if (!out.ok()) return out.status();
  absl::StatusOr<ScopedFd> err = TempFile("");
  if (!err.ok()) return err.status();

  std::vector<std::string> argv_strings = {program};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_strings) argv.push_back(&a[0]);
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in->get(), 0);
  posix_spawn_file_actions_adddup2(&actions, out->get(), 1);
  posix_spawn_file_actions_adddup2(&actions, err->get(), 2);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, program.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return PosixError(rc, "posix_spawn", program);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return PosixError(errno, "waitpid", program);
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    absl::StatusOr<std::string> message = ReadAllFrom(err->get());
    return absl::InternalError(absl::StrCat(
        program, WIFEXITED(status) ? absl::StrCat(" exited with status ", WEXITSTATUS(status))
                                   : std::string(" was killed by a signal"),
        message.ok() && !message->empty()
            ? absl::StrCat(": ", absl::StripAsciiWhitespace(*message))
            : std::string()));
  }
  return ReadAllFrom(out->get());
}

}  // namespace cli
}  // namespace mlops
