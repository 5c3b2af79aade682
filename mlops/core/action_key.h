// mlops/core/action_key.h — the action key: the name a step call's result is cached under.
//
// The action key of a call is the XXH3-128 digest of the canonical encoding (mlops/codec) of
//   ("mlops.action/1", step name, step version,
//    [(input codec signature, input digest), ...], output codec signature)
// so it is a function of exactly these. The same step (name and version) called on inputs of
// the same content, encoded by the same codecs, gives the same key in every process on every
// machine; a change to any of them (a new step version, an edited input file, a codec whose
// encoding changed and so its signature) gives another key, hence a miss. What an input is
// called, its type name, size, label and URI are recorded in lineage but are not in the key;
// nor is the call's mode. Changing this encoding would change every key: the domain string
// carries its version for that day.
//
// Example:
//   mlops::ActionInput in;
//   in.signature = mlops::CodecSignature<int>();
//   in.digest = mlops::Hash(7);
//   mlops::Digest key = mlops::ActionKey("square", 1, {in}, mlops::CodecSignature<int>());
//
// Thread safety: a pure function.
#ifndef MLOPS_CORE_ACTION_KEY_H_
#define MLOPS_CORE_ACTION_KEY_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "mlops/hash/digest.h"

namespace mlops {

// One input of a call, as the workspace sees it. `signature` and `digest` make the key; the
// other fields describe the input in lineage.
struct ActionInput {
  std::string name;       // e.g. "arg0"
  std::string signature;  // codec signature, or "file"
  Digest digest;
  std::string type_name;
  int64_t size = 0;
  std::string label;  // e.g. a file's path
  std::string uri;
};

// The action key of a call of step `step_name` (version `step_version`) on `inputs`, whose
// output has codec signature `output_signature` (see the top of the file).
Digest ActionKey(absl::string_view step_name, int step_version,
                 absl::Span<const ActionInput> inputs, absl::string_view output_signature);

}  // namespace mlops

#endif  // MLOPS_CORE_ACTION_KEY_H_
