// ParseFilter: a recursive-descent parser over internal::Scanner. The type rules (which
// comparators and values fit which fields) are checked as each clause is read, so an error
// points at the first token that does not fit.
#include "mlops/track/filter.h"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "mlops/track/internal/scanner.h"

namespace mlops {
namespace track {
namespace {

using internal::Excerpt;
using internal::Scanner;

constexpr absl::string_view kNumericComparators = "=, !=, <, <=, > or >=";

bool IsOrdering(Comparator op) {
  return op == Comparator::kEqual || op == Comparator::kNotEqual || op == Comparator::kLess ||
         op == Comparator::kLessOrEqual || op == Comparator::kGreater ||
         op == Comparator::kGreaterOrEqual;
}
bool IsList(Comparator op) { return op == Comparator::kIn || op == Comparator::kNotIn; }

// Whether the field compares as a number (metrics, start_time, end_time).
bool IsNumeric(const Identifier& id) {
  return id.field == Field::kMetric || internal::IsNumericAttribute(id);
}

// Reads a comparator at s.pos(); kUnknown (position unchanged) if there is none.
Comparator ReadComparator(Scanner& s) {
  const size_t start = s.pos();
  if (s.Consume('=')) return Comparator::kEqual;
  if (s.Consume('<')) return s.Consume('=') ? Comparator::kLessOrEqual : Comparator::kLess;
  if (s.Consume('>')) return s.Consume('=') ? Comparator::kGreaterOrEqual : Comparator::kGreater;
  if (s.Consume('!') && s.Consume('=')) return Comparator::kNotEqual;
  s.Rewind(start);
  if (s.ConsumeKeyword("like")) return Comparator::kLike;
  if (s.ConsumeKeyword("ilike")) return Comparator::kILike;
  if (s.ConsumeKeyword("in")) return Comparator::kIn;
  return Comparator::kUnknown;
}

// "metrics", "params", "tags" or the attribute written in full, for messages.
std::string FieldName(const Identifier& id) {
  switch (id.field) {
    case Field::kMetric:
      return "metrics";
    case Field::kParam:
      return "params";
    case Field::kTag:
      return "tags";
    default:
      return absl::StrCat("attributes.", id.key);
  }
}

// OK if `op` fits the field `id`, else the error at `at` saying which comparators do.
// `example` is a clause that would fit, for the message about params and tags.
absl::Status CheckComparator(const Scanner& s, const Identifier& id, Comparator op, size_t at,
                             absl::string_view example) {
  const std::string field = FieldName(id);
  const absl::string_view op_text = ComparatorText(op);
  if (IsList(op) && (id.field != Field::kAttribute || IsNumeric(id))) {
    return s.Error(at, absl::StrCat(op_text,
                                    " applies only to the string attributes "
                                    "(status, run_name, run_id, experiment), not to ",
                                    field));
  }
  if (id.field == Field::kMetric && !IsOrdering(op)) {
    return s.Error(at,
                   absl::StrCat("metrics compare with ", kNumericComparators, ", not ", op_text));
  }
  if (IsNumeric(id) && !IsOrdering(op)) {
    return s.Error(at, absl::StrCat(field, " is a number and compares with ", kNumericComparators,
                                    ", not ", op_text));
  }
  const bool string_op = op == Comparator::kEqual || op == Comparator::kNotEqual ||
                         op == Comparator::kLike || op == Comparator::kILike || IsList(op);
  if (!IsNumeric(id) && !string_op) {
    if (id.field == Field::kAttribute) {
      return s.Error(at, absl::StrCat(field,
                                      " is a string and compares with =, !=, LIKE, "
                                      "ILIKE, IN or NOT IN, not ",
                                      op_text));
    }
    return s.Error(at, absl::StrCat(field,
                                    " compare as strings, with =, !=, LIKE or ILIKE and a "
                                    "quoted value (such as ",
                                    example, "), not with ", op_text));
  }
  return absl::OkStatus();
}

// Whether `text` is a number of the grammar in filter.h, and whether it is an integer.
bool IsNumber(absl::string_view text, bool* integer) {
  size_t i = 0;
  auto digits = [&] {
    const size_t from = i;
    while (i < text.size() && absl::ascii_isdigit(static_cast<unsigned char>(text[i]))) ++i;
    return i - from;
  };
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
  size_t mantissa = digits();
  *integer = true;
  if (i < text.size() && text[i] == '.') {
    ++i;
    mantissa += digits();
    *integer = false;
  }
  if (mantissa == 0) return false;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    *integer = false;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
    if (digits() == 0) return false;
  }
  return i == text.size();
}

// Consumes a number, a bare word, or nothing: the run of characters at s.pos() that a
// number could be made of (signs only first and after an exponent's e).
absl::string_view ReadNumberLike(Scanner& s) {
  const size_t at = s.pos();
  while (!s.AtEnd()) {
    const char n = s.Peek();
    const absl::string_view so_far = s.TextFrom(at);
    const bool sign =
        (n == '+' || n == '-') && (so_far.empty() || so_far.back() == 'e' || so_far.back() == 'E');
    if (!sign && n != '.' && !absl::ascii_isalnum(static_cast<unsigned char>(n)) && n != '_') {
      break;
    }
    s.Consume(n);
  }
  return s.TextFrom(at);
}

// Reads one value for `lhs` (written `lhs_text`, compared by `op`) at s.pos().
absl::StatusOr<Value> ReadValue(Scanner& s, const Identifier& lhs, absl::string_view lhs_text,
                                Comparator op) {
  const size_t at = s.pos();
  const std::string field = FieldName(lhs);
  const std::string after =
      absl::StrCat(" after '", Excerpt(lhs_text), " ", ComparatorText(op), "'");
  const char c = s.Peek();
  if (c == '\'' || c == '"') {
    s.Consume(c);
    const size_t begin = s.pos();
    while (!s.AtEnd() && s.Peek() != c) s.Consume(s.Peek());
    if (s.AtEnd()) {
      return s.Error(at, absl::StrCat("unterminated string: no closing ", std::string(1, c)));
    }
    std::string value(s.TextFrom(begin));
    s.Consume(c);
    if (IsNumeric(lhs)) {
      return s.Error(at, lhs.field == Field::kMetric
                             ? "metrics compare with numbers, not strings: write the number "
                               "without quotes"
                             : absl::StrCat(field,
                                            " compares with an integer (milliseconds "
                                            "since the Unix epoch), not a string"));
    }
    if (value.size() > internal::kMaxStringValueBytes) {
      return s.Error(at, absl::StrCat("string value is ", value.size(), " bytes long; at most ",
                                      internal::kMaxStringValueBytes, " are allowed"));
    }
    return Value(std::move(value));
  }
  const absl::string_view token = ReadNumberLike(s);
  // What the message quotes when there is no value: the character that cannot start one.
  const absl::string_view shown = token.empty() ? s.NextChar() : token;
  bool integer = false;
  const bool number = IsNumber(token, &integer);
  const bool looks_numeric =
      !token.empty() && (absl::ascii_isdigit(static_cast<unsigned char>(token[0])) ||
                         token[0] == '.' || token[0] == '+' || token[0] == '-');
  if (!number && !looks_numeric) {
    if (IsNumeric(lhs)) {
      return s.Error(at, shown.empty() ? absl::StrCat("expected a number", after)
                                       : absl::StrCat("expected a number", after, ", not '",
                                                      Excerpt(shown), "'"));
    }
    if (token.empty()) {
      return s.Error(at, shown.empty() ? absl::StrCat("expected a quoted string", after)
                                       : absl::StrCat("expected a quoted string", after, ", not '",
                                                      shown, "'"));
    }
    return s.Error(
        at, absl::StrCat("expected a quoted string", after, ", such as '", Excerpt(token), "'"));
  }
  if (!number) return s.Error(at, absl::StrCat("malformed number '", Excerpt(token), "'"));
  if (!IsNumeric(lhs)) {
    return s.Error(at, absl::StrCat(field,
                                    lhs.field == Field::kAttribute
                                        ? " is a string and needs a quoted value, such as '"
                                        : " compare as strings and need a quoted value, such as '",
                                    Excerpt(token), "'"));
  }
  absl::string_view digits = token;
  absl::ConsumePrefix(&digits, "+");
  if (lhs.field == Field::kMetric) {
    double d = 0;
    if (!absl::SimpleAtod(digits, &d) || !std::isfinite(d)) {
      return s.Error(at, absl::StrCat("number out of range: ", Excerpt(token)));
    }
    return Value(d);
  }
  if (!integer) {
    return s.Error(at, absl::StrCat(field,
                                    " takes an integer (milliseconds since the Unix "
                                    "epoch), not ",
                                    Excerpt(token)));
  }
  int64_t i = 0;
  if (!absl::SimpleAtoi(digits, &i)) {
    return s.Error(at, absl::StrCat("number out of range: ", Excerpt(token)));
  }
  return Value(i);
}

absl::StatusOr<Comparison> ReadClause(Scanner& s) {
  const size_t start = s.pos();
  if (s.ConsumeKeyword("and") && s.Peek() != '.') {
    return s.Error(start, "expected a clause, not AND");
  }
  s.Rewind(start);
  Comparison clause;
  absl::StatusOr<Identifier> lhs = s.ReadIdentifier();
  if (!lhs.ok()) return lhs.status();
  clause.lhs = *std::move(lhs);
  const absl::string_view lhs_text = s.TextFrom(start);
  s.SkipSpace();
  const size_t op_at = s.pos();
  clause.op = ReadComparator(s);
  if (clause.op == Comparator::kUnknown && s.ConsumeKeyword("not")) {
    s.SkipSpace();
    if (!s.ConsumeKeyword("in")) return s.Error(s.pos(), "expected IN after NOT");
    clause.op = Comparator::kNotIn;
  }
  if (clause.op == Comparator::kUnknown) {
    return s.Error(op_at, absl::StrCat("expected a comparator after '", Excerpt(lhs_text), "'"));
  }
  // For the message when params or tags meet <, >, ...: the value written, quoted.
  const size_t value_at = s.pos();
  s.SkipSpace();
  const absl::string_view number = ReadNumberLike(s);
  const std::string example =
      absl::StrCat(Excerpt(lhs_text), " = '", number.empty() ? "x" : Excerpt(number), "'");
  s.Rewind(value_at);
  if (absl::Status st = CheckComparator(s, clause.lhs, clause.op, op_at, example); !st.ok()) {
    return st;
  }
  s.SkipSpace();
  if (!IsList(clause.op)) {
    absl::StatusOr<Value> value = ReadValue(s, clause.lhs, lhs_text, clause.op);
    if (!value.ok()) return value.status();
    clause.values.push_back(*std::move(value));
    return clause;
  }
  if (!s.Consume('(')) {
    return s.Error(s.pos(), absl::StrCat("expected '(' and a list of quoted strings after ",
                                         ComparatorText(clause.op)));
  }
  while (true) {
    s.SkipSpace();
    absl::StatusOr<Value> value = ReadValue(s, clause.lhs, lhs_text, clause.op);
    if (!value.ok()) return value.status();
    clause.values.push_back(*std::move(value));
    s.SkipSpace();
    if (s.Consume(')')) return clause;
    if (!s.Consume(',')) {
      return s.Error(s.pos(), absl::StrCat("expected ',' or ')' in the list after ",
                                           ComparatorText(clause.op)));
    }
  }
}

}  // namespace

absl::string_view ComparatorText(Comparator op) {
  switch (op) {
    case Comparator::kEqual:
      return "=";
    case Comparator::kNotEqual:
      return "!=";
    case Comparator::kLess:
      return "<";
    case Comparator::kLessOrEqual:
      return "<=";
    case Comparator::kGreater:
      return ">";
    case Comparator::kGreaterOrEqual:
      return ">=";
    case Comparator::kLike:
      return "LIKE";
    case Comparator::kILike:
      return "ILIKE";
    case Comparator::kIn:
      return "IN";
    case Comparator::kNotIn:
      return "NOT IN";
    case Comparator::kUnknown:
      break;
  }
  return "?";
}

absl::StatusOr<Filter> ParseFilter(absl::string_view filter) {
  Scanner s(filter, "filter");
  Filter parsed;
  s.SkipSpace();
  if (s.AtEnd()) return parsed;
  while (true) {
    const size_t clause_start = s.pos();
    absl::StatusOr<Comparison> clause = ReadClause(s);
    if (!clause.ok()) return clause.status();
    parsed.clauses.push_back(*std::move(clause));
    const absl::string_view clause_text = s.TextFrom(clause_start);
    s.SkipSpace();
    if (s.AtEnd()) return parsed;
    const size_t at = s.pos();
    if (s.ConsumeKeyword("and")) {
      s.SkipSpace();
      if (s.AtEnd()) return s.Error(s.pos(), "expected a clause after AND");
      continue;
    }
    if (s.ConsumeKeyword("or")) {
      return s.Error(at, "OR is not supported: only AND may join clauses");
    }
    return s.Error(at, absl::StrCat("expected AND or the end of the filter after '",
                                    Excerpt(clause_text), "'"));
  }
}

}  // namespace track
}  // namespace mlops
