#include "mlops/track/internal/filter_sql.h"

#include <cstdint>
#include <limits>
#include <string>
#include <variant>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace mlops {
namespace track {
namespace internal {
namespace {

// x * 1000, saturated.
int64_t MillisToMicros(int64_t ms) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  if (ms > kMax / 1000) return kMax;
  if (ms < kMin / 1000) return kMin;
  return ms * 1000;
}

// The run id `s` names, if it is written as the id is (no sign but '-', no leading zeros).
bool CanonicalId(const std::string& s, int64_t* id) {
  return absl::SimpleAtoi(s, id) && absl::StrCat(*id) == s;
}

// How well an index answers `c` as the driving clause of a runs query: 0 not at all.
int DriverScore(const ListingSql& listing, const Comparison& c) {
  if (!listing.indexed_values || c.lhs.field == Field::kAttribute) return 0;
  switch (c.op) {
    case Comparator::kEqual:
      return 3;
    case Comparator::kLess:
    case Comparator::kLessOrEqual:
    case Comparator::kGreater:
    case Comparator::kGreaterOrEqual:
      return 2;
    case Comparator::kLike: {  // an index range if the pattern has a fixed prefix
      const std::string& p = std::get<std::string>(c.values.front());
      return !p.empty() && p[0] != '%' && p[0] != '_' ? 1 : 0;
    }
    default:
      return 0;
  }
}

class FilterWriter {
 public:
  FilterWriter(const ListingSql& listing, SqlParams& params) : l_(listing), p_(params) {}

  std::vector<std::string> Terms(const Filter& filter);

 private:
  // The condition `c` puts on a metric, param or tag value in `column`.
  std::string ValueCondition(const Comparison& c, const std::string& column);
  // `expr` <op> the string values of `c` (any string comparator, IN and NOT IN included).
  std::string StringCondition(const Comparison& c, const std::string& expr,
                              bool status_names = false);
  std::string RunIdCondition(const Comparison& c);
  std::string TimeCondition(const Comparison& c, const std::string& us);
  std::string AttributeCondition(const Comparison& c);
  // An EXISTS probe of metric, param or tag clause `c` for the row whose id (in the owner
  // column of c's table) is `owner_expr`.
  std::string Probe(const Comparison& c, const std::string& owner_expr);
  // Runs only: `c` as the run ids an index gives, probed for `others` (metric, param and
  // tag clauses too) there, so that only the runs that match them all are looked up.
  std::string Driver(const Comparison& c, const std::vector<const Comparison*>& others);

  const ListingSql& l_;
  SqlParams& p_;
};

std::string FilterWriter::ValueCondition(const Comparison& c, const std::string& column) {
  if (c.lhs.field != Field::kMetric) return StringCondition(c, column);
  const std::string v = p_.Bind(c.values.front());
  // A NaN (NULL) equals nothing and differs from everything.
  if (c.op == Comparator::kNotEqual) {
    return absl::StrCat("(", column, " IS NULL OR ", column, " != ", v, ")");
  }
  return absl::StrCat(column, " ", ComparatorText(c.op), " ", v);
}

std::string FilterWriter::StringCondition(const Comparison& c, const std::string& expr,
                                          bool status_names) {
  auto text = [&](const Value& v) {
    std::string s = std::get<std::string>(v);
    if (status_names && s == kFinished) s = kSucceeded;
    return s;
  };
  switch (c.op) {
    case Comparator::kEqual:
    case Comparator::kNotEqual:
      return absl::StrCat(expr, " ", ComparatorText(c.op), " ", p_.Text(text(c.values.front())));
    case Comparator::kLike:
    case Comparator::kILike: {
      const std::string& pattern = std::get<std::string>(c.values.front());
      const bool sensitive = c.op == Comparator::kLike;
      const std::string p = p_.Text(sensitive ? LikeToGlob(pattern) : pattern);
      const char* match = sensitive ? " GLOB " : " LIKE ";
      if (!status_names) return absl::StrCat(expr, match, p);
      return absl::StrCat("(", expr, match, p, " OR (", l_.status, " = 2 AND '", kFinished, "'",
                          match, p, "))");
    }
    case Comparator::kIn:
    case Comparator::kNotIn: {
      std::vector<std::string> list;
      for (const Value& v : c.values) list.push_back(p_.Text(text(v)));
      return absl::StrCat(expr, c.op == Comparator::kIn ? " IN (" : " NOT IN (",
                          absl::StrJoin(list, ", "), ")");
    }
    default:
      return "0";  // not reached: the parser allows no other comparator on strings
  }
}

// Compared as a number where it can be (so an id is found by its primary key): a string
// that is not how an id is written equals no id.
std::string FilterWriter::RunIdCondition(const Comparison& c) {
  const bool in = c.op == Comparator::kEqual || c.op == Comparator::kIn;
  if (!in && c.op != Comparator::kNotEqual && c.op != Comparator::kNotIn) {
    return StringCondition(c, absl::StrCat("CAST(", l_.run_id, " AS TEXT)"));
  }
  std::vector<std::string> ids;
  for (const Value& v : c.values) {
    int64_t id = 0;
    if (CanonicalId(std::get<std::string>(v), &id)) ids.push_back(p_.Int(id));
  }
  if (ids.empty()) return in ? "0" : absl::StrCat(l_.run_id, " IS NOT NULL");
  return absl::StrCat(l_.run_id, in ? " IN (" : " NOT IN (", absl::StrJoin(ids, ", "), ")");
}

// `c` on a time in milliseconds, of a column in microseconds: the time in milliseconds is
// floor(us / 1000), so ms = x holds for us in [x * 1000, (x + 1) * 1000).
std::string FilterWriter::TimeCondition(const Comparison& c, const std::string& us) {
  const int64_t ms = std::get<int64_t>(c.values.front());
  const int64_t lo = MillisToMicros(ms);
  const int64_t hi = ms == std::numeric_limits<int64_t>::max() ? lo : MillisToMicros(ms + 1);
  switch (c.op) {
    case Comparator::kEqual:
      return absl::StrCat("(", us, " >= ", p_.Int(lo), " AND ", us, " < ", p_.Int(hi), ")");
    case Comparator::kNotEqual:
      return absl::StrCat("(", us, " < ", p_.Int(lo), " OR ", us, " >= ", p_.Int(hi), ")");
    case Comparator::kLess:
      return absl::StrCat(us, " < ", p_.Int(lo));
    case Comparator::kLessOrEqual:
      return absl::StrCat(us, " < ", p_.Int(hi));
    case Comparator::kGreater:
      return absl::StrCat(us, " >= ", p_.Int(hi));
    case Comparator::kGreaterOrEqual:
      return absl::StrCat(us, " >= ", p_.Int(lo));
    default:
      return "0";  // not reached
  }
}

std::string FilterWriter::AttributeCondition(const Comparison& c) {
  switch (c.lhs.attribute) {
    case Attribute::kStatus:
      return StringCondition(c, AttributeSql(l_, c.lhs.attribute), /*status_names=*/true);
    case Attribute::kRunId:
      return RunIdCondition(c);
    case Attribute::kStartTime:
    case Attribute::kEndTime:
      return TimeCondition(c, AttributeSql(l_, c.lhs.attribute));
    default:
      return StringCondition(c, AttributeSql(l_, c.lhs.attribute));
  }
}

std::string FilterWriter::Probe(const Comparison& c, const std::string& owner_expr) {
  const std::string key = p_.Text(c.lhs.key);
  const std::string condition = ValueCondition(c, "t.value");
  return absl::StrCat("EXISTS (SELECT 1 FROM ", ValueTable(l_, c.lhs.field), " t WHERE t.",
                      ValueOwner(l_, c.lhs.field), " = ", owner_expr, " AND t.key = ", key, " AND ",
                      condition, ")");
}

std::string FilterWriter::Driver(const Comparison& c,
                                 const std::vector<const Comparison*>& others) {
  const std::string key = p_.Text(c.lhs.key);
  std::string sql = absl::StrCat("r.id IN (SELECT d.run_id FROM ", ValueTable(l_, c.lhs.field),
                                 " d WHERE d.key = ", key, " AND ", ValueCondition(c, "d.value"));
  for (const Comparison* other : others) absl::StrAppend(&sql, " AND ", Probe(*other, "d.run_id"));
  return sql + ")";
}

std::vector<std::string> FilterWriter::Terms(const Filter& filter) {
  // The driving clause: the first of those an index answers best.
  size_t driver = filter.clauses.size();
  int best = 0;
  for (size_t i = 0; i < filter.clauses.size(); ++i) {
    const int score = DriverScore(l_, filter.clauses[i]);
    if (score > best) {
      best = score;
      driver = i;
    }
  }
  std::vector<std::string> terms;
  std::vector<const Comparison*> probes;
  for (size_t i = 0; i < filter.clauses.size(); ++i) {
    const Comparison& c = filter.clauses[i];
    if (c.lhs.field == Field::kAttribute) {
      terms.push_back(AttributeCondition(c));
    } else if (i != driver) {
      probes.push_back(&c);
    }
  }
  if (driver < filter.clauses.size()) {
    terms.push_back(Driver(filter.clauses[driver], probes));
  } else {
    for (const Comparison* c : probes) terms.push_back(Probe(*c, ValueOwnerExpr(l_, c->lhs.field)));
  }
  return terms;
}

}  // namespace

std::vector<std::string> FilterSql(const ListingSql& listing, const Filter& filter,
                                   SqlParams* params) {
  return FilterWriter(listing, *params).Terms(filter);
}

std::string LikeToGlob(absl::string_view like) {
  std::string glob;
  glob.reserve(like.size());
  for (char c : like) {
    switch (c) {
      case '%':
        glob += '*';
        break;
      case '_':
        glob += '?';
        break;
      case '*':
        glob += "[*]";
        break;
      case '?':
        glob += "[?]";
        break;
      case '[':
        glob += "[[]";
        break;
      default:
        glob += c;
        break;
    }
  }
  return glob;
}

}  // namespace internal
}  // namespace track
}  // namespace mlops
