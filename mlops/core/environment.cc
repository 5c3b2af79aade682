#include "mlops/core/environment.h"

#include <google/protobuf/stubs/common.h>
#include <pwd.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "absl/base/config.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "fmt/core.h"
#include "mlops/base/internal/subprocess.h"

namespace mlops {
namespace {

std::string ReadSmallFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, "model name")) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) {
        return std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
      }
    }
  }
  return "unknown CPU";
}

// A 40- or 64-hex-digit object name (SHA-1 or SHA-256 repositories).
bool IsCommitHash(absl::string_view s) {
  if (s.size() != 40 && s.size() != 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return absl::ascii_isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f');
  });
}

// False only if git would surely find no repository from `dir`: it does not exist, or
// $GIT_DIR is unset and no `.git` (a directory, or the file of a worktree or submodule) is
// in `dir` or a directory above it, up to the first of $GIT_CEILING_DIRECTORIES met. Saves
// starting git (a few milliseconds) in the common case of a program run outside any
// checkout.
bool MayBeInRepository(const std::string& dir) {
  if (const char* git_dir = std::getenv("GIT_DIR"); git_dir != nullptr && *git_dir) return true;
  std::vector<std::string> ceilings;
  if (const char* c = std::getenv("GIT_CEILING_DIRECTORIES"); c != nullptr) {
    for (absl::string_view part : absl::StrSplit(c, ':', absl::SkipEmpty())) {
      ceilings.emplace_back(absl::StripSuffix(part, "/"));
    }
  }
  // Git walks up from the directory it finds itself in: symbolic links resolved.
  char* real = ::realpath(dir.c_str(), nullptr);
  if (real == nullptr) return false;  // no such directory: git -C would fail
  std::string d = real;
  std::free(real);
  while (true) {
    while (d.size() > 1 && d.back() == '/') d.pop_back();
    struct stat st;
    if (::stat((d + "/.git").c_str(), &st) == 0) return true;
    if (std::find(ceilings.begin(), ceilings.end(), d) != ceilings.end()) return false;
    const size_t slash = d.rfind('/');
    if (slash == std::string::npos || d == "/") return false;
    d.resize(slash == 0 ? 1 : slash);
  }
}

}  // namespace

SourceRevision GitSourceRevision(const std::string& dir, absl::Duration timeout) {
  SourceRevision rev;
  if (dir.empty() || !MayBeInRepository(dir)) return rev;
  const std::optional<std::string> git = FindExecutableOnPath("git");
  if (!git.has_value()) return rev;
  // No prompts, no pager, and no lock or index refresh written by a mere status.
  const std::vector<std::string> env = {"GIT_OPTIONAL_LOCKS=0", "GIT_TERMINAL_PROMPT=0",
                                        "GIT_PAGER=cat"};
  // The two commands at once: each is mostly git starting up.
  std::vector<absl::StatusOr<SubprocessResult>> results = RunSubprocesses(
      {{*git, {"-C", dir, "rev-parse", "--verify", "--quiet", "HEAD^{commit}"}, env, 256},
       {*git, {"-C", dir, "status", "--porcelain", "--untracked-files=no"}, env, 1}},
      timeout);
  const absl::StatusOr<SubprocessResult>& head = results[0];
  const absl::StatusOr<SubprocessResult>& status = results[1];
  if (!head.ok() || head->exit_code != 0) return rev;
  const absl::string_view commit = absl::StripAsciiWhitespace(head->output);
  if (!IsCommitHash(commit)) return rev;
  rev.commit = std::string(commit);
  if (status.ok() && status->exit_code == 0) {
    rev.state = status->output.empty() ? Environment::SOURCE_CLEAN : Environment::SOURCE_MODIFIED;
  }
  return rev;
}

Environment CaptureEnvironment() {
  Environment env;
#if defined(__clang__)
  env.set_compiler(absl::StrCat("clang ", __clang_version__));
#elif defined(__GNUC__)
  env.set_compiler(absl::StrCat("g++ ", __VERSION__));
#endif
  std::string flags = absl::StrCat("C++", __cplusplus / 100 % 100);
#ifdef __OPTIMIZE__
  absl::StrAppend(&flags, " optimized");
#endif
#ifdef NDEBUG
  absl::StrAppend(&flags, " NDEBUG");
#endif
#ifdef MLOPS_SANITIZED
  absl::StrAppend(&flags, " sanitized");
#endif
  env.set_compiler_flags(flags);
  auto& libs = *env.mutable_library_versions();
  libs["protobuf"] = google::protobuf::internal::VersionString(GOOGLE_PROTOBUF_VERSION);
  libs["sqlite"] = sqlite3_libversion();
  libs["xxhash"] = absl::StrCat(XXH_versionNumber() / 10000, ".", XXH_versionNumber() / 100 % 100,
                                ".", XXH_versionNumber() % 100);
  libs["fmt"] = absl::StrCat(FMT_VERSION / 10000, ".", FMT_VERSION / 100 % 100, ".",
                             FMT_VERSION % 100);
  libs["abseil"] = absl::StrCat(ABSL_LTS_RELEASE_VERSION);
  struct utsname u;
  if (::uname(&u) == 0) env.set_os(absl::StrCat(u.sysname, " ", u.release, " ", u.machine));
  env.set_cpu(absl::StrCat(CpuModel(), " (", std::thread::hardware_concurrency(), " cores)"));
  if (const char* rev = std::getenv("MLOPS_SOURCE_REVISION"); rev != nullptr && *rev != '\0') {
    env.set_source_revision(rev);
  } else {
    std::string dir;
    if (const char* src = std::getenv("BUILD_WORKSPACE_DIRECTORY"); src != nullptr && *src) {
      dir = src;
    } else if (char cwd[4096]; ::getcwd(cwd, sizeof(cwd)) != nullptr) {
      dir = cwd;
    }
    const SourceRevision git = GitSourceRevision(dir);
    env.set_source_revision(git.commit);
    env.set_source_state(git.state);
  }
  return env;
}

std::vector<std::string> CommandLine() {
  std::vector<std::string> out;
  const std::string raw = ReadSmallFile("/proc/self/cmdline");
  for (absl::string_view part : absl::StrSplit(raw, '\0', absl::SkipEmpty())) {
    out.emplace_back(part);
  }
  return out;
}

std::string HostName() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof(buf) - 1) != 0) return "unknown";
  return buf;
}

std::string UserName() {
  if (const struct passwd* pw = ::getpwuid(::geteuid()); pw != nullptr) return pw->pw_name;
  if (const char* user = std::getenv("USER"); user != nullptr) return user;
  return absl::StrCat("uid ", ::geteuid());
}

}  // namespace mlops
