#include "mlops/track/internal/position.h"

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "absl/base/casts.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace mlops {
namespace track {
namespace internal {
namespace {

std::string Encode(const SqlValue& v) {
  if (const int64_t* i = std::get_if<int64_t>(&v)) return absl::StrCat("i", *i);
  if (const double* d = std::get_if<double>(&v)) {
    return absl::StrCat("d", absl::Hex(absl::bit_cast<uint64_t>(*d)));
  }
  if (const std::string* s = std::get_if<std::string>(&v)) return absl::StrCat("s", *s);
  return "n";
}

bool Decode(absl::string_view part, SqlValue* v) {
  if (part.empty()) return false;
  const char tag = part[0];
  part.remove_prefix(1);
  switch (tag) {
    case 'n':
      *v = std::monostate{};
      return part.empty();
    case 'i': {
      int64_t i = 0;
      if (!absl::SimpleAtoi(part, &i) || absl::StrCat(i) != part) return false;
      *v = i;
      return true;
    }
    case 'd': {
      uint64_t bits = 0;
      if (part.empty() || part.size() > 16 || !absl::SimpleHexAtoi(part, &bits)) return false;
      *v = absl::bit_cast<double>(bits);
      return true;
    }
    case 's':
      *v = std::string(part);
      return true;
    default:
      return false;
  }
}

absl::Status NotAPosition(absl::string_view token) {
  const absl::string_view shown = token.substr(0, 40);
  return absl::InvalidArgumentError(
      absl::StrCat("page token \"", shown, shown.size() < token.size() ? "...\"" : "\"",
                   " is not valid: it does not name a position of this search (pass back the "
                   "next_page_token of the same query, unchanged)"));
}

}  // namespace

std::vector<std::string> EncodePosition(absl::Span<const SqlValue> position) {
  std::vector<std::string> parts;
  parts.reserve(position.size());
  for (const SqlValue& v : position) parts.push_back(Encode(v));
  return parts;
}

absl::StatusOr<std::vector<SqlValue>> DecodePosition(const std::vector<std::string>& parts,
                                                     size_t keys, absl::string_view token) {
  if (parts.size() != 2 * keys + 2) return NotAPosition(token);
  std::vector<SqlValue> position(parts.size());
  for (size_t i = 0; i < parts.size(); ++i) {
    if (!Decode(parts[i], &position[i])) return NotAPosition(token);
  }
  for (size_t k = 0; k < keys; ++k) {
    const int64_t* rank = std::get_if<int64_t>(&position[2 * k]);
    if (rank == nullptr || *rank < 0 || *rank > 2) return NotAPosition(token);
    const bool null = std::holds_alternative<std::monostate>(position[2 * k + 1]);
    if (null != (*rank != 0)) return NotAPosition(token);
  }
  if (!std::holds_alternative<int64_t>(position[2 * keys]) ||
      !std::holds_alternative<int64_t>(position[2 * keys + 1])) {
    return NotAPosition(token);
  }
  return position;
}

}  // namespace internal
}  // namespace track
}  // namespace mlops
