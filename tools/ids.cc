#include "tools/ids.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "tools/args.h"

namespace mlops {
namespace cli {

bool IsDigestPrefix(absl::string_view text) {
  if (text.empty() || text.size() > Digest::kHexChars) return false;
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return absl::ascii_isxdigit(static_cast<unsigned char>(c)); });
}

absl::StatusOr<Digest> ResolveDigestPrefix(absl::string_view prefix,
                                           const std::vector<Digest>& candidates,
                                           bool candidates_cut) {
  if (!IsDigestPrefix(prefix)) {
    return UsageError(absl::StrCat("\"", prefix,
                                   "\" is not a digest or digest prefix (1 to 32 hex characters)"));
  }
  const std::string lower = absl::AsciiStrToLower(prefix);
  std::vector<Digest> matches;
  for (const Digest& d : candidates) {
    if (absl::StartsWith(d.ToHex(), lower)) matches.push_back(d);
  }
  std::sort(matches.begin(), matches.end());
  matches.erase(std::unique(matches.begin(), matches.end()), matches.end());
  if (matches.empty()) {
    return absl::NotFoundError(absl::StrCat("no digest starts with \"", prefix, "\""));
  }
  if (matches.size() > 1 || (candidates_cut && !matches.empty())) {
    std::string list;
    for (size_t i = 0; i < matches.size() && i < 5; ++i) {
      absl::StrAppend(&list, i == 0 ? "" : ", ", matches[i].ToHex());
    }
    if (matches.size() > 5 || candidates_cut) absl::StrAppend(&list, ", ...");
    return absl::FailedPreconditionError(
        absl::StrCat("digest prefix \"", prefix, "\" is ambiguous: ",
                     candidates_cut ? "at least " : "", matches.size(), " digests match (",
                     list, ")"));
  }
  return matches.front();
}

absl::StatusOr<Target> ParseTarget(absl::string_view text) {
  const auto id_of = [&](absl::string_view digits, Target::Kind kind) -> absl::StatusOr<Target> {
    Target t;
    t.kind = kind;
    if (digits.empty() ||
        !std::all_of(digits.begin(), digits.end(),
                     [](char c) { return absl::ascii_isdigit(static_cast<unsigned char>(c)); }) ||
        !absl::SimpleAtoi(digits, &t.id) || t.id <= 0) {
      return UsageError(absl::StrCat("\"", text, "\" is not a valid id (a positive integer)"));
    }
    return t;
  };
  absl::string_view rest = text;
  if (absl::ConsumePrefix(&rest, "run:")) return id_of(rest, Target::kRun);
  if (absl::ConsumePrefix(&rest, "exec:") || absl::ConsumePrefix(&rest, "execution:")) {
    return id_of(rest, Target::kExecution);
  }
  const bool explicit_digest = absl::ConsumePrefix(&rest, "digest:");
  if (!explicit_digest && !rest.empty() &&
      std::all_of(rest.begin(), rest.end(),
                  [](char c) { return absl::ascii_isdigit(static_cast<unsigned char>(c)); })) {
    return id_of(rest, Target::kRunOrExecution);
  }
  if (!IsDigestPrefix(rest)) {
    return UsageError(absl::StrCat("\"", text,
                                   "\" names no run, execution or digest (use run:ID, exec:ID, "
                                   "or 1 to 32 hex characters of a digest)"));
  }
  Target t;
  t.kind = Target::kDigest;
  t.prefix = absl::AsciiStrToLower(rest);
  return t;
}

absl::StatusOr<Target> ParseRunOrExecution(absl::string_view text) {
  if (!IsIdForm(text)) {
    return UsageError(absl::StrCat("\"", text,
                                   "\" names no run or execution (use ID or run:ID for a run, "
                                   "exec:ID for an execution)"));
  }
  absl::StatusOr<Target> t = ParseTarget(text);
  if (t.ok() && t->kind == Target::kRunOrExecution) t->kind = Target::kRun;
  return t;
}

bool IsIdForm(absl::string_view text) {
  if (absl::StartsWith(text, "run:") || absl::StartsWith(text, "exec:") ||
      absl::StartsWith(text, "execution:")) {
    return true;
  }
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return absl::ascii_isdigit(static_cast<unsigned char>(c));
  });
}

}  // namespace cli
}  // namespace mlops
