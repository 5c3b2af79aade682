// tools/process.h — finding and running another program (Graphviz's dot).
//
// Thread safety: the functions may be called from one thread at a time (they spawn a child
// and wait for it).
#ifndef TOOLS_PROCESS_H_
#define TOOLS_PROCESS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mlops {
namespace cli {

// The path of the executable `name` in the directories of $PATH, or nullopt.
std::optional<std::string> FindOnPath(absl::string_view name);

// Runs `program` (a path) with `args`, feeding it `input` on standard input, and returns
// what it wrote to standard output. INTERNAL with its standard error (trimmed) if it exits
// with a non-zero status or is killed; errno codes if it cannot be started.
absl::StatusOr<std::string> RunProgram(const std::string& program,
                                       const std::vector<std::string>& args,
                                       absl::string_view input);

}  // namespace cli
}  // namespace mlops

#endif  // TOOLS_PROCESS_H_
