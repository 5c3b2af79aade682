// tools/ids.h — how the command line names runs, executions and digests.
//
// Runs and executions are named by their integer ids, digests by a unique prefix of their
// hex form. Where an argument may be any of them (`show`, `lineage`), its form decides:
//   run:12        run 12
//   exec:34       execution 34 (also execution:34)
//   digest:8512   the digest starting with 8512 (needed only for an all-digit prefix)
//   34            all digits: a run or an execution id (the command says which it takes)
//   85d34a        any other hex: a digest prefix
//
// Example:
//   absl::StatusOr<mlops::Digest> d = mlops::cli::ResolveDigestPrefix("85d34a", candidates);
//
// Thread safety: pure functions.
#ifndef TOOLS_IDS_H_
#define TOOLS_IDS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "mlops/hash/digest.h"

namespace mlops {
namespace cli {

// True if `text` is 1 to 32 hex characters (either case).
bool IsDigestPrefix(absl::string_view text);

// The one digest among `candidates` (duplicates allowed) whose hex form starts with
// `prefix` (either case). `candidates_cut` says that more digests match than `candidates`
// holds (a page of a longer listing): the count in the message is then "at least N".
// Errors, each quoting the prefix:
//   usage error (tools/args.h)  `prefix` is not 1 to 32 hex characters;
//   NOT_FOUND                   no candidate matches;
//   FAILED_PRECONDITION         several match ("ambiguous"; the message says how many and
//                               lists up to five).
absl::StatusOr<Digest> ResolveDigestPrefix(absl::string_view prefix,
                                           const std::vector<Digest>& candidates,
                                           bool candidates_cut = false);

// An argument naming a run, an execution or a digest (see the top of the file).
struct Target {
  enum Kind { kRun, kExecution, kRunOrExecution, kDigest };
  Kind kind = kDigest;
  int64_t id = 0;          // kRun, kExecution, kRunOrExecution
  std::string prefix;      // kDigest: 1 to 32 hex characters, lowercase
};

// Parses `text` by its form. A usage error, quoting it, for anything else (e.g. "run:x").
absl::StatusOr<Target> ParseTarget(absl::string_view text);

// An argument of `compare` and `metrics`: a run (`12` or `run:12`) or an execution
// (`exec:34`, `execution:34`); the result's kind is kRun or kExecution. A usage error,
// quoting it, for anything else.
absl::StatusOr<Target> ParseRunOrExecution(absl::string_view text);

// Whether `text` has the form of a run or execution id: all digits, or starting with
// `run:`, `exec:` or `execution:` (whether or not a valid id follows).
bool IsIdForm(absl::string_view text);

}  // namespace cli
}  // namespace mlops

#endif  // TOOLS_IDS_H_
