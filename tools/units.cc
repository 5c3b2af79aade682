#include "tools/units.h"

#include <cmath>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace mlops {
namespace cli {

absl::StatusOr<int64_t> ParseSize(absl::string_view text) {
  const auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", text, "\" is not a size (", why, "; e.g. 1024, 500M, 10G, 1.5GiB, 2GB)"));
  };
  const auto digit = [&](size_t k) {
    return k < text.size() && absl::ascii_isdigit(static_cast<unsigned char>(text[k]));
  };
  size_t i = 0;
  while (digit(i) || (i < text.size() && text[i] == '.')) ++i;
  // An exponent ("1e9", "2.5E+3"): an e followed by digits, so that "e" alone stays an
  // unknown unit.
  if (i > 0 && i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    size_t k = i + 1;
    if (k < text.size() && (text[k] == '+' || text[k] == '-')) ++k;
    if (digit(k)) {
      while (digit(k)) ++k;
      i = k;
    }
  }
  const absl::string_view number = text.substr(0, i);
  const std::string unit = absl::AsciiStrToLower(text.substr(i));
  double value = 0;
  if (number.empty() || number == "." || !absl::SimpleAtod(number, &value)) {
    return bad("it must start with a non-negative number");
  }
  static const std::pair<const char*, double> kUnits[] = {
      {"", 1},         {"b", 1},
      {"k", 0x1p10},   {"kib", 0x1p10}, {"kb", 1e3},
      {"m", 0x1p20},   {"mib", 0x1p20}, {"mb", 1e6},
      {"g", 0x1p30},   {"gib", 0x1p30}, {"gb", 1e9},
      {"t", 0x1p40},   {"tib", 0x1p40}, {"tb", 1e12},
  };
  for (const auto& [name, scale] : kUnits) {
    if (unit != name) continue;
    const double bytes = std::floor(value * scale);
    if (!(bytes < 0x1p63)) return bad("it is too large");
    return static_cast<int64_t>(bytes);
  }
  return bad(absl::StrCat("unknown unit \"", text.substr(i), "\""));
}

std::string FormatBytes(int64_t bytes) {
  if (bytes < 1024) return absl::StrCat(bytes, " B");
  static const char* const kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = static_cast<double>(bytes) / 1024;
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  return absl::StrFormat("%.1f %s", v, kUnits[u]);
}

std::string HumanDuration(absl::Duration d) {
  if (d < absl::ZeroDuration()) return "-";
  if (d < absl::Milliseconds(1)) return absl::StrCat(absl::ToInt64Microseconds(d), "us");
  if (d < absl::Seconds(1)) return absl::StrFormat("%.1fms", absl::ToDoubleMilliseconds(d));
  if (d < absl::Minutes(1)) return absl::StrFormat("%.2fs", absl::ToDoubleSeconds(d));
  const int64_t s = absl::ToInt64Seconds(d);
  if (d < absl::Hours(1)) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  return absl::StrFormat("%dh%02dm", s / 3600, s / 60 % 60);
}

std::string FormatLocalTime(absl::Time t) {
  if (t == absl::UnixEpoch()) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", t, absl::LocalTimeZone());
}

std::string FormatUtcTime(absl::Time t) {
  if (t == absl::UnixEpoch()) return "";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", t, absl::UTCTimeZone());
}

}  // namespace cli
}  // namespace mlops
