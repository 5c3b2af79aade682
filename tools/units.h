// tools/units.h — sizes, durations and times as the command line reads and prints them.
//
// Sizes: a non-negative decimal number (fraction allowed) and an optional unit, case
// insensitive, no space needed:
//   (none) or B        bytes
//   K, KiB, M, MiB, G, GiB, T, TiB   powers of 1024 (so "10G" = 10 * 2^30, as du and dvc mean it)
//   KB, MB, GB, TB     powers of 1000 (SI)
// Fractions are rounded down to whole bytes: "1.5KiB" = 1536, "0.5B" = 0.
//
// Thread safety: pure functions.
#ifndef TOOLS_UNITS_H_
#define TOOLS_UNITS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace mlops {
namespace cli {

// The number of bytes `text` names (see above; the number may have an exponent: 1e9,
// 2.5e3K). INVALID_ARGUMENT, quoting the text, for an empty or negative number, an unknown
// unit, or a size past 2^63 - 1 bytes (1e400 too).
absl::StatusOr<int64_t> ParseSize(absl::string_view text);

// "0 B", "999 B", "1.5 KiB", "12.3 MiB", "2.0 GiB": bytes below 1024, else one decimal in
// the largest binary unit that keeps the number at least 1.
std::string FormatBytes(int64_t bytes);

// "850us", "12.3ms", "4.21s", "3m07s", "2h05m"; "-" for a negative duration (unknown end).
std::string HumanDuration(absl::Duration d);

// Local ISO time to the second, "2024-05-01 14:03:07"; "-" for the epoch (unset).
std::string FormatLocalTime(absl::Time t);

// RFC 3339 in UTC with the fraction of a second, "2024-05-01T12:03:07.123456Z"; "" for the
// epoch (unset). The form JSON output uses.
std::string FormatUtcTime(absl::Time t);

}  // namespace cli
}  // namespace mlops

#endif  // TOOLS_UNITS_H_
