// Internal: how the lineage store writes values into its tables' columns (digests as 16
// bytes, times as microseconds, the result key), shared by its source files.
//
// Thread safety: these are pure functions.
#ifndef MLOPS_LINEAGE_INTERNAL_COLUMNS_H_
#define MLOPS_LINEAGE_INTERNAL_COLUMNS_H_

#include <google/protobuf/timestamp.pb.h>

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "mlops/base/internal/sqlite.h"
#include "mlops/hash/digest.h"
#include "mlops/lineage/lineage.pb.h"

namespace mlops {
namespace lineage_internal {

// A digest as stored in the database: its 16 canonical bytes.
inline std::string DigestBlob(const Digest& d) {
  unsigned char bytes[Digest::kBytes];
  d.ToBytes(bytes);
  return std::string(reinterpret_cast<const char*>(bytes), sizeof(bytes));
}

// The digest in a 16-byte blob; zero if the blob has another size.
inline Digest DigestFromBlob(absl::string_view blob) {
  if (blob.size() != Digest::kBytes) return Digest();
  return Digest::FromBytes(reinterpret_cast<const unsigned char*>(blob.data()));
}

// Microseconds since the epoch, as stored in the *_us columns.
inline int64_t Micros(const google::protobuf::Timestamp& t) {
  return t.seconds() * 1000000 + t.nanos() / 1000;
}

// What makes two executions interchangeable in the lineage graph (the same action, hence
// inputs, and the same outputs), as stored in executions.result_key; empty, matching
// nothing, if `e` lacks either. REQUIRES: `e`'s digests are well-formed.
std::string ResultKey(const Execution& e);

// OK if `e` can be stored: it has a step name, and its action key (if set) and every
// digest it names are well-formed; else INVALID_ARGUMENT saying which is not.
absl::Status ValidateExecution(const Execution& e);

// DATA_LOSS: the lineage database at `path` is corrupt, as `what` says (a damaged file,
// sqlite::IsDamage, like a damaged page).
inline absl::Status Corrupt(const std::string& path, absl::string_view what) {
  return sqlite::WithFault(
      absl::DataLossError(absl::StrCat("corrupt lineage database ", path, ": ", what)),
      sqlite::Fault::kCorrupt);
}

}  // namespace lineage_internal
}  // namespace mlops

#endif  // MLOPS_LINEAGE_INTERNAL_COLUMNS_H_
