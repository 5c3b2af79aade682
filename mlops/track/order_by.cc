// ParseOrderBy: `key [ASC|DESC] (, key [ASC|DESC])*`, over the scanner ParseFilter uses.
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "mlops/track/filter.h"
#include "mlops/track/internal/scanner.h"

namespace mlops {
namespace track {
namespace {

using internal::Excerpt;
using internal::Scanner;

// Appends the keys of `order_by` to `keys`. A blank `order_by` adds nothing if
// `blank_ok`, else is an error.
absl::Status AppendOrderBy(absl::string_view order_by, bool blank_ok, std::vector<OrderKey>& keys) {
  Scanner s(order_by, "order_by");
  s.SkipSpace();
  if (s.AtEnd()) {
    return blank_ok ? absl::OkStatus() : s.Error(s.pos(), "empty order_by clause");
  }
  while (true) {
    s.SkipSpace();
    const size_t start = s.pos();
    if (s.AtEnd() || s.Peek() == ',') return s.Error(start, "expected a key after ','");
    absl::StatusOr<Identifier> field = s.ReadIdentifier();
    if (!field.ok()) return field.status();
    const std::string field_text(s.TextFrom(start));
    for (const OrderKey& earlier : keys) {
      if (earlier.field == *field) {
        return s.Error(start, absl::StrCat("'", Excerpt(field_text),
                                           "' is already in order_by: a field may be named "
                                           "only once"));
      }
    }
    OrderKey key;
    key.field = *std::move(field);
    absl::string_view clause_text = s.TextFrom(start);
    s.SkipSpace();
    bool direction = true;
    if (s.ConsumeKeyword("desc")) {
      key.ascending = false;
    } else if (!s.ConsumeKeyword("asc")) {
      direction = false;
    }
    if (direction) clause_text = s.TextFrom(start);
    keys.push_back(std::move(key));
    s.SkipSpace();
    if (s.AtEnd()) return absl::OkStatus();
    if (!s.Consume(',')) {
      return s.Error(s.pos(), absl::StrCat(direction ? "expected ',' or the end after '"
                                                     : "expected ASC, DESC or ',' after '",
                                           Excerpt(clause_text), "'"));
    }
  }
}

}  // namespace

absl::StatusOr<std::vector<OrderKey>> ParseOrderBy(absl::string_view order_by) {
  std::vector<OrderKey> keys;
  if (absl::Status s = AppendOrderBy(order_by, /*blank_ok=*/true, keys); !s.ok()) return s;
  return keys;
}

absl::StatusOr<std::vector<OrderKey>> ParseOrderBy(absl::Span<const std::string> order_by) {
  std::vector<OrderKey> keys;
  for (const std::string& clause : order_by) {
    if (absl::Status s = AppendOrderBy(clause, /*blank_ok=*/false, keys); !s.ok()) return s;
  }
  return keys;
}

}  // namespace track
}  // namespace mlops
