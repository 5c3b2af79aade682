// Internal: a search row's position (sql_builder.h: a rank and a value per order key, then
// the start time and the id) as the strings of a page token (mlops/lineage/page.h), and
// back.
//
// Each value is a tag and its text: "n" NULL, "i<decimal>" an integer, "d<hex bits>" a
// double (its exact bits, so a position names the very value it came from), "s<bytes>" a
// string.
//
// Thread safety: pure functions.
#ifndef MLOPS_TRACK_INTERNAL_POSITION_H_
#define MLOPS_TRACK_INTERNAL_POSITION_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "mlops/lineage/sqlite_lineage_store.h"

namespace mlops {
namespace track {
namespace internal {

// The strings of `position`, one per value.
std::vector<std::string> EncodePosition(absl::Span<const SqlValue> position);

// The position in `parts` (from a page token of a search with `keys` order keys, so
// 2 * keys + 2 parts). INVALID_ARGUMENT, quoting `token` (shortened), unless every part
// decodes and the position is one a row can have: each rank an integer from 0 to 2, each
// value NULL exactly when its rank is not 0, the start time and id integers.
absl::StatusOr<std::vector<SqlValue>> DecodePosition(const std::vector<std::string>& parts,
                                                     size_t keys, absl::string_view token);

}  // namespace internal
}  // namespace track
}  // namespace mlops

#endif  // MLOPS_TRACK_INTERNAL_POSITION_H_
