#include "tools/args.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace mlops {
namespace cli {
namespace {

constexpr char kUsagePayload[] = "mlops.cli/usage";

const FlagSpec* Find(const std::vector<FlagSpec>& flags, absl::string_view name) {
  for (const FlagSpec& f : flags) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

}  // namespace

std::string Args::value(absl::string_view name, absl::string_view fallback) const {
  auto it = flags.find(name);
  return it == flags.end() ? std::string(fallback) : it->second;
}

absl::Status UsageError(absl::string_view message) {
  absl::Status s = absl::InvalidArgumentError(message);
  s.SetPayload(kUsagePayload, absl::Cord("1"));
  return s;
}

bool IsUsageError(const absl::Status& status) {
  return status.GetPayload(kUsagePayload).has_value();
}

absl::StatusOr<Args> ParseArgs(const std::vector<std::string>& argv,
                               const std::vector<FlagSpec>& flags) {
  Args args;
  bool flags_done = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (flags_done || !absl::StartsWith(a, "--")) {
      args.positional.push_back(a);
      continue;
    }
    if (a == "--") {
      flags_done = true;
      continue;
    }
    const size_t eq = a.find('=');
    const std::string name = a.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    const FlagSpec* spec = Find(flags, name);
    if (spec == nullptr) return UsageError(absl::StrCat("unknown flag --", name));
    if (!spec->takes_value) {
      if (eq != std::string::npos) {
        return UsageError(absl::StrCat("--", name, " takes no value (got \"", a, "\")"));
      }
      args.flags[name] = "";
    } else if (eq != std::string::npos) {
      args.flags[name] = a.substr(eq + 1);
    } else {
      if (i + 1 >= argv.size()) return UsageError(absl::StrCat("--", name, " needs a value"));
      args.flags[name] = argv[++i];
    }
  }
  return args;
}

absl::StatusOr<int64_t> ParseCount(absl::string_view text, absl::string_view what) {
  int64_t n = 0;
  const bool digits = !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return absl::ascii_isdigit(static_cast<unsigned char>(c));
  });
  if (!digits) {
    return UsageError(
        absl::StrCat(what, " must be a non-negative integer, not \"", text, "\""));
  }
  // More than int64 holds is still a count: as good as unlimited.
  if (!absl::SimpleAtoi(text, &n)) return std::numeric_limits<int64_t>::max();
  return n;
}

std::string UserPath(const std::string& path) {
  const char* cwd = std::getenv("BUILD_WORKING_DIRECTORY");
  if (cwd == nullptr || *cwd == '\0' || path.empty() || path[0] == '/') return path;
  return absl::StrCat(cwd, "/", path);
}

}  // namespace cli
}  // namespace mlops
