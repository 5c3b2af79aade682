#include "mlops/core/environment.h"

#include <google/protobuf/stubs/common.h>
#include <pwd.h>
#include <sqlite3.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <xxhash.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/base/config.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "fmt/core.h"

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

// The commit of the git repository containing the current directory, from .git/HEAD (and
// the ref it names, loose or packed). Empty if there is none.
std::string GitRevision() {
  char cwd[4096];
  if (::getcwd(cwd, sizeof(cwd)) == nullptr) return "";
  std::string dir = cwd;
  while (!dir.empty()) {
    const std::string git = dir + "/.git";
    const std::string head =
        std::string(absl::StripAsciiWhitespace(ReadSmallFile(git + "/HEAD")));
    if (!head.empty()) {
      if (!absl::StartsWith(head, "ref: ")) return head;
      const std::string ref = head.substr(5);
      std::string commit =
          std::string(absl::StripAsciiWhitespace(ReadSmallFile(git + "/" + ref)));
      if (!commit.empty()) return commit;
      for (absl::string_view line : absl::StrSplit(ReadSmallFile(git + "/packed-refs"), '\n')) {
        if (absl::EndsWith(line, " " + ref)) return std::string(line.substr(0, line.find(' ')));
      }
      return "";
    }
    const size_t slash = dir.rfind('/');
    if (slash == std::string::npos || slash == 0) break;
    dir.resize(slash);
  }
  return "";
}

}  // namespace

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
    env.set_source_revision(GitRevision());
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
