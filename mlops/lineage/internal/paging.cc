#include "mlops/lineage/internal/paging.h"

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "mlops/lineage/internal/columns.h"

namespace mlops {
namespace lineage_internal {
namespace {

// An optional argument, unambiguously: "-" when unset, else its length and value.
template <typename T>
std::string Arg(const std::optional<T>& v) {
  if (!v.has_value()) return "-";
  const std::string s = absl::StrCat(*v);
  return absl::StrCat(s.size(), ":", s);
}

absl::Status BadPosition(absl::string_view token) {
  return absl::InvalidArgumentError(absl::StrCat(
      "page token \"", token.substr(0, 40), token.size() > 40 ? "..." : "",
      "\" is not valid: its position is malformed (pass back the next_page_token of the "
      "same query, unchanged)"));
}

}  // namespace

std::string StepQuery(absl::string_view step_name) {
  return absl::StrCat("ExecutionsOfStep\n", step_name);
}

std::string RunsQuery(const RunFilter& filter) {
  std::optional<int64_t> after, before, status;
  if (filter.started_after) after = absl::ToUnixMicros(*filter.started_after);
  if (filter.started_before) before = absl::ToUnixMicros(*filter.started_before);
  if (filter.status) status = static_cast<int64_t>(*filter.status);
  return absl::StrCat("FindRuns\n", Arg(filter.program), "\n", Arg(status), "\n", Arg(after),
                      "\n", Arg(before));
}

std::string PrefixQuery(absl::string_view lowercase_prefix) {
  return absl::StrCat("FindArtifactsByPrefix\n", lowercase_prefix);
}

absl::StatusOr<NewestFirst> ResumeNewestFirst(const PageRequest& request,
                                              absl::string_view query) {
  absl::Status s = CheckPageRequest(request);
  if (!s.ok()) return s;
  NewestFirst at;
  if (request.page_token.empty()) return at;
  absl::StatusOr<std::vector<std::string>> keys =
      ParsePageToken(request.page_token, query, /*position_size=*/2);
  if (!keys.ok()) return keys.status();
  if (!absl::SimpleAtoi((*keys)[0], &at.start_us) || !absl::SimpleAtoi((*keys)[1], &at.id)) {
    return BadPosition(request.page_token);
  }
  return at;
}

std::vector<std::string> PositionOf(const Execution& e) {
  return {absl::StrCat(Micros(e.start_time())), absl::StrCat(e.id())};
}

std::vector<std::string> PositionOf(const Run& r) {
  return {absl::StrCat(Micros(r.start_time())), absl::StrCat(r.id())};
}

absl::StatusOr<std::optional<Digest>> ResumeAfterDigest(const PageRequest& request,
                                                        absl::string_view query) {
  absl::Status s = CheckPageRequest(request);
  if (!s.ok()) return s;
  if (request.page_token.empty()) return std::optional<Digest>();
  absl::StatusOr<std::vector<std::string>> keys =
      ParsePageToken(request.page_token, query, /*position_size=*/1);
  if (!keys.ok()) return keys.status();
  absl::StatusOr<Digest> d = Digest::FromHex((*keys)[0]);
  if (!d.ok()) return BadPosition(request.page_token);
  return std::optional<Digest>(*d);
}

}  // namespace lineage_internal
}  // namespace mlops
