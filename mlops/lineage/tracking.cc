#include "mlops/lineage/tracking.h"

#include "absl/strings/str_cat.h"

namespace mlops {
namespace {

// `s` quoted for a message, shortened to its first 40 bytes.
std::string Quoted(absl::string_view s) {
  if (s.size() <= 40) return absl::StrCat("'", s, "'");
  return absl::StrCat("'", s.substr(0, 40), "...' (", s.size(), " bytes)");
}

}  // namespace

absl::Status CheckTrackingName(absl::string_view what, absl::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError(absl::StrCat(what, " is empty"));
  if (name.size() > kMaxTrackingNameBytes) {
    return absl::InvalidArgumentError(absl::StrCat(what, " ", Quoted(name), " is longer than ",
                                                   kMaxTrackingNameBytes, " bytes"));
  }
  return absl::OkStatus();
}

absl::Status CheckTrackingValue(absl::string_view what, absl::string_view value) {
  if (value.size() > kMaxTrackingValueBytes) {
    return absl::InvalidArgumentError(absl::StrCat("the value of ", what, " has ", value.size(),
                                                   " bytes; at most ", kMaxTrackingValueBytes,
                                                   " are allowed"));
  }
  return absl::OkStatus();
}

}  // namespace mlops
