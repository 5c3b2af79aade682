// Page tokens: URL-safe base64 (no padding) of length-prefixed parts,
//   "<n>:<bytes>" for each of: the format tag, the query's check, the position's keys,
// where the check is 16 hex characters of the XXH3-128 digest of the query description.
// The format tag changes whenever the layout does, so an old token is refused, not misread.
#include "mlops/lineage/page.h"

#include <cstddef>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "mlops/hash/digest.h"

namespace mlops {
namespace {

constexpr absl::string_view kFormat = "mlops-page-1";
// Far longer than any token made here; a longer one is refused before decoding.
constexpr size_t kMaxTokenChars = 4096;

std::string QueryCheck(absl::string_view query) { return Digest::Of(query).ShortHex(16); }

void AppendPart(std::string* out, absl::string_view part) {
  absl::StrAppend(out, part.size(), ":", part);
}

// The token as quoted in errors: whole if short, else its start.
std::string Quoted(absl::string_view token) {
  if (token.size() <= 40) return absl::StrCat("\"", token, "\"");
  return absl::StrCat("\"", token.substr(0, 40), "...\"");
}

absl::Status Malformed(absl::string_view token, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("page token ", Quoted(token), " is not valid: ", why,
                   " (pass back the next_page_token of the same query, unchanged)"));
}

// Splits `payload` into its length-prefixed parts; false if it is not exactly that.
bool SplitParts(absl::string_view payload, std::vector<absl::string_view>* parts) {
  while (!payload.empty()) {
    const size_t colon = payload.find(':');
    if (colon == absl::string_view::npos || colon == 0 || colon > 6) return false;
    const absl::string_view digits = payload.substr(0, colon);
    for (char c : digits) {
      if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
    }
    size_t n = 0;
    if (!absl::SimpleAtoi(digits, &n) || n > payload.size() - colon - 1) return false;
    parts->push_back(payload.substr(colon + 1, n));
    payload.remove_prefix(colon + 1 + n);
  }
  return true;
}

}  // namespace

std::string MakePageToken(absl::string_view query, const std::vector<std::string>& position) {
  std::string payload;
  AppendPart(&payload, kFormat);
  AppendPart(&payload, QueryCheck(query));
  for (const std::string& key : position) AppendPart(&payload, key);
  return absl::WebSafeBase64Escape(payload);
}

absl::StatusOr<std::vector<std::string>> ParsePageToken(absl::string_view token,
                                                        absl::string_view query,
                                                        size_t position_size) {
  if (token.empty()) return Malformed(token, "it is empty");
  if (token.size() > kMaxTokenChars) return Malformed(token, "it is too long");
  for (char c : token) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') {
      return Malformed(token, "it is not URL-safe base64");
    }
  }
  std::string payload;
  // (Re-encoding refuses the spellings of a payload other than the one made here, e.g. with
  // stray bits in the last character: a position has one token.)
  if (!absl::WebSafeBase64Unescape(token, &payload) ||
      absl::WebSafeBase64Escape(payload) != token) {
    return Malformed(token, "it is not URL-safe base64");
  }
  std::vector<absl::string_view> parts;
  if (!SplitParts(payload, &parts) || parts.size() < 2 || parts[0] != kFormat) {
    return Malformed(token, "it is not a page token");
  }
  if (parts[1] != QueryCheck(query) || parts.size() != 2 + position_size) {
    return Malformed(token, "it belongs to another query");
  }
  return std::vector<std::string>(parts.begin() + 2, parts.end());
}

absl::Status CheckPageRequest(const PageRequest& request) {
  if (request.max_results >= 0) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "max_results must be 0 (no limit) or positive, not ", request.max_results));
}

int64_t RowsToFetch(const PageRequest& request) {
  if (request.max_results <= 0) return -1;
  // One more than asked for tells whether more follow (without overflowing).
  return request.max_results < INT64_MAX ? request.max_results + 1 : request.max_results;
}

}  // namespace mlops
