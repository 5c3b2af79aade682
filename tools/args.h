// tools/args.h — the command line's argument parser: flags and positional arguments.
//
// A tiny hand-written parser rather than absl flags (which are global to the process, while
// each subcommand has its own flags). It accepts `--name`, `--name=value` and `--name value`;
// `--` ends the flags. Anything it cannot make sense of is a usage error, which the command
// line reports with the command's usage and exit code 2.
//
// Example:
//   absl::StatusOr<mlops::cli::Args> args =
//       mlops::cli::ParseArgs({"--depth", "2", "abc"}, {{"depth", true}, {"json", false}});
//   args->value("depth")  // "2";  args->has("json") // false;  args->positional // {"abc"}
//
// Thread safety: pure functions and plain values.
#ifndef TOOLS_ARGS_H_
#define TOOLS_ARGS_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mlops {
namespace cli {

// One flag a command accepts: `--name VALUE` if takes_value, else a switch `--name`.
struct FlagSpec {
  std::string name;
  bool takes_value = false;
};

struct Args {
  std::vector<std::string> positional;
  // Flags given, by name (without "--"); a switch maps to "". A flag given twice keeps the
  // last value.
  absl::flat_hash_map<std::string, std::string> flags;

  bool has(absl::string_view name) const { return flags.contains(name); }
  // The flag's value, or `fallback` if it was not given.
  std::string value(absl::string_view name, absl::string_view fallback = "") const;
};

// Parses `argv` (the arguments after the command name). A usage error (see UsageError)
// names the offending argument for: an unknown flag, a flag that needs a value and has
// none, a value given to a switch.
absl::StatusOr<Args> ParseArgs(const std::vector<std::string>& argv,
                               const std::vector<FlagSpec>& flags);

// A usage error: the command was called wrongly (exit code 2). INVALID_ARGUMENT with a
// marker that IsUsageError recognizes, so library INVALID_ARGUMENTs (e.g. a database that
// is not ours) stay operation failures (exit code 1).
absl::Status UsageError(absl::string_view message);
bool IsUsageError(const absl::Status& status);

// Parses a non-negative decimal integer flag or argument (one past 2^63 - 1 is taken as
// 2^63 - 1: a limit that large means no limit); a usage error naming `what` otherwise.
absl::StatusOr<int64_t> ParseCount(absl::string_view text, absl::string_view what);

// A path the user typed, relative to where the command was typed: under `bazel run` (which
// starts programs in their runfiles) relative paths are taken from
// $BUILD_WORKING_DIRECTORY. Absolute and empty paths are returned as they are.
std::string UserPath(const std::string& path);

}  // namespace cli
}  // namespace mlops

#endif  // TOOLS_ARGS_H_
