// tools/commands.h — the subcommands of the `mlops` command line.
//
// Each takes its parsed arguments (positional count already checked by mlops_main.cc) and
// the workspace directory, writes its output to stdout, and returns OK, a usage error
// (tools/args.h: exit code 2) or another error (exit code 1), which mlops_main.cc prints.
#ifndef TOOLS_COMMANDS_H_
#define TOOLS_COMMANDS_H_

#include <string>

#include "absl/status/status.h"
#include "tools/args.h"

namespace mlops {
namespace cli {

using CommandFn = absl::Status (*)(const Args& args, const std::string& workspace);

absl::Status Runs(const Args& args, const std::string& workspace);     // runs_commands.cc
absl::Status Show(const Args& args, const std::string& workspace);     // runs_commands.cc
// `runs` with --experiment, --filter, --order-by or --columns, and `search`.
absl::Status SearchRuns(const Args& args, const std::string& workspace);  // search_commands.cc
absl::Status Search(const Args& args, const std::string& workspace);      // search_commands.cc
absl::Status Lineage(const Args& args, const std::string& workspace);  // lineage_command.cc
absl::Status Diff(const Args& args, const std::string& workspace);     // diff_command.cc
absl::Status Du(const Args& args, const std::string& workspace);       // store_commands.cc
absl::Status Gc(const Args& args, const std::string& workspace);       // store_commands.cc
absl::Status Cat(const Args& args, const std::string& workspace);      // store_commands.cc
absl::Status Pin(const Args& args, const std::string& workspace);      // pin_commands.cc
absl::Status Unpin(const Args& args, const std::string& workspace);    // pin_commands.cc
absl::Status Pins(const Args& args, const std::string& workspace);     // pin_commands.cc
absl::Status Experiments(const Args& args, const std::string& workspace);  // track_commands.cc
absl::Status Compare(const Args& args, const std::string& workspace);      // track_commands.cc
absl::Status Metrics(const Args& args, const std::string& workspace);      // metrics_command.cc

// Writes `text` to stdout. UNAVAILABLE if stdout is closed or full (e.g. a closed pipe).
absl::Status Print(const std::string& text);

}  // namespace cli
}  // namespace mlops

#endif  // TOOLS_COMMANDS_H_
