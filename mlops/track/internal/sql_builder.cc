#include "mlops/track/internal/sql_builder.h"

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace mlops {
namespace track {
namespace internal {
namespace {

// The tables and columns behind a listing's fields.
struct Shape {
  const char* from;        // the listing's table(s), before the experiment and order joins
  const char* id;          // the row's id
  const char* start_us;    // its start time
  const char* end_us;      // its end time, NULL if it has not ended (stored as 0)
  const char* status;      // its status (the proto enum's number)
  const char* run_id;      // its run's id, NULL if none
  const char* run_name;    // its run's name
  const char* metrics;     // the table of its metrics...
  const char* params;      // ...and of its params...
  const char* owner;       // ...whose column `owner` names...
  const char* owner_expr;  // ...this row.
  const char* tag_owner;   // its run's id, for run_tags
  // Whether a metric, param or tag clause may drive the query through a *_by_key index.
  bool indexed_values;
};

constexpr Shape kRuns = {
    "runs r",               // from
    "r.id",                 // id
    "r.start_us",           // start_us
    "NULLIF(r.end_us, 0)",  // end_us
    "r.status",             // status
    "r.id",                 // run_id
    "r.name",               // run_name
    "run_metrics",          // metrics
    "run_params",           // params
    "run_id",               // owner
    "r.id",                 // owner_expr
    "r.id",                 // tag_owner
    true,                   // indexed_values
};
constexpr Shape kExecutions = {
    "executions e LEFT JOIN runs r ON r.id = e.run_id "
    "LEFT JOIN experiments x ON x.id = r.experiment_id",  // from
    "e.id",                                               // id
    "e.start_us",                                         // start_us
    "NULLIF(e.end_us, 0)",                                // end_us
    "e.status",                                           // status
    "NULLIF(e.run_id, 0)",  // run_id (executions without a run have 0)
    "r.name",               // run_name
    "execution_metrics",    // metrics
    "execution_params",     // params
    "execution_id",         // owner
    "e.id",                 // owner_expr
    "e.run_id",             // tag_owner
    false,                  // indexed_values
};

// The status names (Run.Status and Execution.Status share their numbers), and MLflow's
// name of SUCCEEDED, accepted for it.
constexpr char kStatusNames[] =
    " WHEN 1 THEN 'RUNNING' WHEN 2 THEN 'SUCCEEDED' WHEN 3 THEN 'FAILED' WHEN 4 THEN 'CACHED' "
    "ELSE 'UNKNOWN' END)";
constexpr char kSucceeded[] = "SUCCEEDED";
constexpr char kFinished[] = "FINISHED";

const char* Operator(Comparator op) {
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
    default:
      return "=";  // not reached: the other comparators are written apart
  }
}

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

class Builder {
 public:
  explicit Builder(const SearchSpec& spec)
      : spec_(spec), shape_(spec.listing == Listing::kRuns ? kRuns : kExecutions) {}

  SqlQuery Build();

 private:
  // "?N" for a new parameter with value `v`. (Each kind is emplaced: moving a variant
  // holding a number draws a false -Wmaybe-uninitialized from GCC 12.)
  std::string Placeholder() const { return absl::StrCat("?", query_.params.size()); }
  std::string BindInt(int64_t v) {
    query_.params.emplace_back(v);
    return Placeholder();
  }
  std::string BindDouble(double v) {
    query_.params.emplace_back(v);
    return Placeholder();
  }
  std::string BindText(std::string v) {
    query_.params.emplace_back(std::move(v));
    return Placeholder();
  }
  std::string Bind(const SqlValue& v) {
    if (const int64_t* i = std::get_if<int64_t>(&v)) return BindInt(*i);
    if (const double* d = std::get_if<double>(&v)) return BindDouble(*d);
    if (const std::string* s = std::get_if<std::string>(&v)) return BindText(*s);
    query_.params.emplace_back(std::monostate{});
    return Placeholder();
  }
  std::string Bind(const Value& v) {
    if (const double* d = std::get_if<double>(&v)) return BindDouble(*d);
    if (const int64_t* i = std::get_if<int64_t>(&v)) return BindInt(*i);
    return BindText(std::get<std::string>(v));
  }

  bool UsesExperiment() const;
  std::string StatusName() const { return absl::StrCat("(CASE ", shape_.status, kStatusNames); }
  // The SQL of a string attribute, or of a value column when `attribute` is kUnknown.
  std::string AttributeExpr(Attribute attribute) const;

  // The condition `c` puts on a metric, param or tag value in `column`.
  std::string ValueCondition(const Comparison& c, const std::string& column);
  // `expr` <op> the string values of `c` (any string comparator, IN and NOT IN included).
  std::string StringCondition(const Comparison& c, const std::string& expr,
                              bool status_names = false);
  std::string RunIdCondition(const Comparison& c);
  std::string TimeCondition(const Comparison& c, const std::string& us);
  std::string AttributeCondition(const Comparison& c);
  // How well an index answers `c` as the driving clause: 0 not at all.
  int DriverScore(const Comparison& c) const;
  // The table of a metric, param or tag.
  const char* TableOf(const Comparison& c) const;
  // An EXISTS probe of metric, param or tag clause `c` for the row whose id (a run's, for
  // tags) is `owner_expr`.
  std::string Probe(const Comparison& c, const std::string& owner_expr);
  // Runs only: `c` as the run ids an index gives, probed for `others` (metric, param and
  // tag clauses too).
  std::string Driver(const Comparison& c, const std::vector<const Comparison*>& others);

  // The position columns, in order: SQL and direction.
  struct Column {
    std::string expr;
    bool ascending;
  };
  void AddOrderColumns(std::string* joins);
  std::string AfterCondition();

  const SearchSpec& spec_;
  const Shape& shape_;
  std::vector<Column> columns_;
  SqlQuery query_;
};

bool Builder::UsesExperiment() const {
  if (spec_.listing == Listing::kExecutions) return true;  // in every row
  for (const Comparison& c : spec_.filter.clauses) {
    if (c.lhs.attribute == Attribute::kExperiment) return true;
  }
  for (const OrderKey& k : spec_.order) {
    if (k.field.attribute == Attribute::kExperiment) return true;
  }
  return false;
}

std::string Builder::AttributeExpr(Attribute attribute) const {
  switch (attribute) {
    case Attribute::kStatus:
      return StatusName();
    case Attribute::kRunName:
      return shape_.run_name;
    case Attribute::kRunId:
      return shape_.run_id;
    case Attribute::kExperiment:
      return "x.name";
    case Attribute::kStartTime:
      return shape_.start_us;
    case Attribute::kEndTime:
      return shape_.end_us;
    default:
      return "NULL";
  }
}

std::string Builder::ValueCondition(const Comparison& c, const std::string& column) {
  if (c.lhs.field != Field::kMetric) return StringCondition(c, column);
  const std::string v = Bind(c.values.front());
  // A NaN (NULL) equals nothing and differs from everything.
  if (c.op == Comparator::kNotEqual) {
    return absl::StrCat("(", column, " IS NULL OR ", column, " != ", v, ")");
  }
  return absl::StrCat(column, " ", Operator(c.op), " ", v);
}

std::string Builder::StringCondition(const Comparison& c, const std::string& expr,
                                     bool status_names) {
  auto text = [&](const Value& v) {
    std::string s = std::get<std::string>(v);
    if (status_names && s == kFinished) s = kSucceeded;
    return s;
  };
  switch (c.op) {
    case Comparator::kEqual:
    case Comparator::kNotEqual:
      return absl::StrCat(expr, " ", Operator(c.op), " ", BindText(text(c.values.front())));
    case Comparator::kLike:
    case Comparator::kILike: {
      const std::string& pattern = std::get<std::string>(c.values.front());
      const bool sensitive = c.op == Comparator::kLike;
      const std::string p = BindText(sensitive ? LikeToGlob(pattern) : pattern);
      const char* match = sensitive ? " GLOB " : " LIKE ";
      if (!status_names) return absl::StrCat(expr, match, p);
      return absl::StrCat("(", expr, match, p, " OR (", shape_.status, " = 2 AND '", kFinished, "'",
                          match, p, "))");
    }
    case Comparator::kIn:
    case Comparator::kNotIn: {
      std::vector<std::string> list;
      for (const Value& v : c.values) list.push_back(BindText(text(v)));
      return absl::StrCat(expr, c.op == Comparator::kIn ? " IN (" : " NOT IN (",
                          absl::StrJoin(list, ", "), ")");
    }
    default:
      return "0";  // not reached: the parser allows no other comparator on strings
  }
}

// Compared as a number where it can be (so an id is found by its primary key): a string
// that is not how an id is written equals no id.
std::string Builder::RunIdCondition(const Comparison& c) {
  const bool in = c.op == Comparator::kEqual || c.op == Comparator::kIn;
  if (!in && c.op != Comparator::kNotEqual && c.op != Comparator::kNotIn) {
    return StringCondition(c, absl::StrCat("CAST(", shape_.run_id, " AS TEXT)"));
  }
  std::vector<std::string> ids;
  for (const Value& v : c.values) {
    int64_t id = 0;
    if (CanonicalId(std::get<std::string>(v), &id)) ids.push_back(BindInt(id));
  }
  if (ids.empty()) {
    return in ? "0" : absl::StrCat(shape_.run_id, " IS NOT NULL");
  }
  return absl::StrCat(shape_.run_id, in ? " IN (" : " NOT IN (", absl::StrJoin(ids, ", "), ")");
}

// `c` on a time in milliseconds, of a column in microseconds: the time in milliseconds is
// floor(us / 1000), so ms = x holds for us in [x * 1000, (x + 1) * 1000).
std::string Builder::TimeCondition(const Comparison& c, const std::string& us) {
  const int64_t ms = std::get<int64_t>(c.values.front());
  const int64_t lo = MillisToMicros(ms);
  const int64_t hi = ms == std::numeric_limits<int64_t>::max() ? lo : MillisToMicros(ms + 1);
  switch (c.op) {
    case Comparator::kEqual:
      return absl::StrCat("(", us, " >= ", BindInt(lo), " AND ", us, " < ", BindInt(hi), ")");
    case Comparator::kNotEqual:
      return absl::StrCat("(", us, " < ", BindInt(lo), " OR ", us, " >= ", BindInt(hi), ")");
    case Comparator::kLess:
      return absl::StrCat(us, " < ", BindInt(lo));
    case Comparator::kLessOrEqual:
      return absl::StrCat(us, " < ", BindInt(hi));
    case Comparator::kGreater:
      return absl::StrCat(us, " >= ", BindInt(hi));
    case Comparator::kGreaterOrEqual:
      return absl::StrCat(us, " >= ", BindInt(lo));
    default:
      return "0";  // not reached
  }
}

std::string Builder::AttributeCondition(const Comparison& c) {
  switch (c.lhs.attribute) {
    case Attribute::kStatus:
      return StringCondition(c, StatusName(), /*status_names=*/true);
    case Attribute::kRunId:
      return RunIdCondition(c);
    case Attribute::kStartTime:
      return TimeCondition(c, shape_.start_us);
    case Attribute::kEndTime:
      return TimeCondition(c, shape_.end_us);
    default:
      return StringCondition(c, AttributeExpr(c.lhs.attribute));
  }
}

int Builder::DriverScore(const Comparison& c) const {
  if (!shape_.indexed_values || c.lhs.field == Field::kAttribute) return 0;
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

const char* Builder::TableOf(const Comparison& c) const {
  if (c.lhs.field == Field::kTag) return "run_tags";
  return c.lhs.field == Field::kMetric ? shape_.metrics : shape_.params;
}

std::string Builder::Probe(const Comparison& c, const std::string& owner_expr) {
  const bool tag = c.lhs.field == Field::kTag;
  const std::string key = BindText(c.lhs.key);
  const std::string condition = ValueCondition(c, "t.value");
  return absl::StrCat("EXISTS (SELECT 1 FROM ", TableOf(c), " t WHERE t.",
                      tag ? "run_id" : shape_.owner, " = ", owner_expr, " AND t.key = ", key,
                      " AND ", condition, ")");
}

// The other clauses are probed inside the subquery, on the ids the index gives, so that
// only the runs that match them all are looked up.
std::string Builder::Driver(const Comparison& c, const std::vector<const Comparison*>& others) {
  const std::string key = BindText(c.lhs.key);
  std::string sql = absl::StrCat("r.id IN (SELECT d.run_id FROM ", TableOf(c),
                                 " d WHERE d.key = ", key, " AND ", ValueCondition(c, "d.value"));
  for (const Comparison* other : others) absl::StrAppend(&sql, " AND ", Probe(*other, "d.run_id"));
  return sql + ")";
}

void Builder::AddOrderColumns(std::string* joins) {
  for (size_t i = 0; i < spec_.order.size(); ++i) {
    const OrderKey& k = spec_.order[i];
    if (k.field.field == Field::kAttribute) {
      const std::string expr = AttributeExpr(k.field.attribute);
      columns_.push_back({absl::StrCat("(", expr, " IS NULL)"), true});
      columns_.push_back({expr, k.ascending});
      continue;
    }
    const bool tag = k.field.field == Field::kTag;
    const std::string o = absl::StrCat("o", i);
    absl::StrAppend(joins, " LEFT JOIN ",
                    tag                               ? "run_tags"
                    : k.field.field == Field::kMetric ? shape_.metrics
                                                      : shape_.params,
                    " ", o, " ON ", o, ".", tag ? "run_id" : shape_.owner, " = ",
                    tag ? shape_.tag_owner : shape_.owner_expr, " AND ", o,
                    ".key = ", BindText(k.field.key));
    if (k.field.field == Field::kMetric) {
      columns_.push_back({absl::StrCat("(CASE WHEN ", o, ".key IS NULL THEN 2 WHEN ", o,
                                       ".value IS NULL THEN 1 ELSE 0 END)"),
                          true});
    } else {
      columns_.push_back({absl::StrCat("(", o, ".key IS NULL)"), true});
    }
    columns_.push_back({absl::StrCat(o, ".value"), k.ascending});
  }
  columns_.push_back({shape_.start_us, false});
  columns_.push_back({shape_.id, false});
}

// Rows after the position spec_.after in the order of columns_: lexicographically beyond
// it. A NULL in the position is a value column whose rank is not 0: every row of the same
// rank has NULL there too, so the column cannot tell them apart and is skipped.
std::string Builder::AfterCondition() {
  std::string after;
  std::string first_bound;
  for (size_t j = columns_.size(); j-- > 0;) {
    if (std::holds_alternative<std::monostate>(spec_.after[j])) continue;
    const Column& c = columns_[j];
    const std::string p = Bind(spec_.after[j]);
    const std::string beyond = absl::StrCat(c.expr, c.ascending ? " > " : " < ", p);
    after = after.empty()
                ? beyond
                : absl::StrCat("(", beyond, " OR (", c.expr, " = ", p, " AND ", after, "))");
    // Implied, said so that SQLite can start an index range there (the default order).
    first_bound = absl::StrCat(c.expr, c.ascending ? " >= " : " <= ", p);
  }
  if (after.empty()) return "0";
  return absl::StrCat(first_bound, " AND ", after);
}

SqlQuery Builder::Build() {
  std::string from = shape_.from;
  if (spec_.listing == Listing::kRuns && UsesExperiment()) {
    absl::StrAppend(&from, " JOIN experiments x ON x.id = r.experiment_id");
  }
  std::vector<std::string> where;
  if (spec_.listing == Listing::kExecutions) {
    where.push_back(absl::StrCat("e.step = ", BindText(spec_.step), " AND e.cache_hit = 0"));
  } else if (!spec_.experiments.empty()) {
    std::vector<std::string> names;
    for (const std::string& name : spec_.experiments) names.push_back(BindText(name));
    where.push_back(absl::StrCat("r.experiment_id IN (SELECT id FROM experiments WHERE name IN (",
                                 absl::StrJoin(names, ", "), "))"));
  }
  // The driving clause: the first of those an index answers best.
  size_t driver = spec_.filter.clauses.size();
  int best = 0;
  for (size_t i = 0; i < spec_.filter.clauses.size(); ++i) {
    const int score = DriverScore(spec_.filter.clauses[i]);
    if (score > best) {
      best = score;
      driver = i;
    }
  }
  std::vector<const Comparison*> probes;
  for (size_t i = 0; i < spec_.filter.clauses.size(); ++i) {
    const Comparison& c = spec_.filter.clauses[i];
    if (c.lhs.field == Field::kAttribute) {
      where.push_back(AttributeCondition(c));
    } else if (i != driver) {
      probes.push_back(&c);
    }
  }
  if (driver < spec_.filter.clauses.size()) {
    where.push_back(Driver(spec_.filter.clauses[driver], probes));
  } else {
    for (const Comparison* c : probes) {
      where.push_back(
          Probe(*c, c->lhs.field == Field::kTag ? shape_.tag_owner : shape_.owner_expr));
    }
  }
  AddOrderColumns(&from);
  if (!spec_.after.empty()) where.push_back(AfterCondition());

  std::string select = spec_.listing == Listing::kRuns ? "SELECT r.id, r.proto, r.name"
                                                       : "SELECT e.id, r.name, x.name";
  std::vector<std::string> order;
  for (size_t j = 0; j < columns_.size(); ++j) {
    absl::StrAppend(&select, ", ", columns_[j].expr, " AS k", j);
    order.push_back(absl::StrCat("k", j, columns_[j].ascending ? "" : " DESC"));
  }
  std::string sql = absl::StrCat(select, " FROM ", from);
  if (!where.empty()) absl::StrAppend(&sql, " WHERE ", absl::StrJoin(where, " AND "));
  absl::StrAppend(&sql, " ORDER BY ", absl::StrJoin(order, ", "), " LIMIT ", BindInt(spec_.limit));
  query_.sql = std::move(sql);
  return std::move(query_);
}

}  // namespace

SqlQuery BuildSearchSql(const SearchSpec& spec) { return Builder(spec).Build(); }

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
