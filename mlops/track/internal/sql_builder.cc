#include "mlops/track/internal/sql_builder.h"

#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "mlops/track/internal/filter_sql.h"
#include "mlops/track/internal/sql_params.h"

namespace mlops {
namespace track {
namespace internal {
namespace {

// A position column: its SQL and its direction.
struct Column {
  std::string expr;
  bool ascending;
};

bool UsesExperiment(const SearchSpec& spec) {
  for (const Comparison& c : spec.filter.clauses) {
    if (c.lhs.attribute == Attribute::kExperiment) return true;
  }
  for (const OrderKey& k : spec.order) {
    if (k.field.attribute == Attribute::kExperiment) return true;
  }
  return false;
}

// The position columns of `spec`'s order, adding to `joins` the value of each metric,
// param and tag key (o0, o1, ...).
std::vector<Column> OrderColumns(const SearchSpec& spec, const ListingSql& l, SqlParams& params,
                                 std::string* joins) {
  std::vector<Column> columns;
  for (size_t i = 0; i < spec.order.size(); ++i) {
    const Identifier& key = spec.order[i].field;
    const bool ascending = spec.order[i].ascending;
    if (key.field == Field::kAttribute) {
      const std::string expr = AttributeSql(l, key.attribute);
      columns.push_back({absl::StrCat("(", expr, " IS NULL)"), true});
      columns.push_back({expr, ascending});
      continue;
    }
    const std::string o = absl::StrCat("o", i);
    absl::StrAppend(joins, " LEFT JOIN ", ValueTable(l, key.field), " ", o, " ON ", o, ".",
                    ValueOwner(l, key.field), " = ", ValueOwnerExpr(l, key.field), " AND ", o,
                    ".key = ", params.Text(key.key));
    if (key.field == Field::kMetric) {
      columns.push_back({absl::StrCat("(CASE WHEN ", o, ".key IS NULL THEN 2 WHEN ", o,
                                      ".value IS NULL THEN 1 ELSE 0 END)"),
                         true});
    } else {
      columns.push_back({absl::StrCat("(", o, ".key IS NULL)"), true});
    }
    columns.push_back({absl::StrCat(o, ".value"), ascending});
  }
  columns.push_back({l.start_us, false});
  columns.push_back({l.id, false});
  return columns;
}

// Rows after `after` in the order of `columns`: lexicographically beyond it. A NULL in the
// position is a value column whose rank is not 0: every row of the same rank has NULL there
// too, so the column cannot tell them apart and is skipped.
std::string AfterCondition(const std::vector<Column>& columns, const std::vector<SqlValue>& after,
                           SqlParams& params) {
  std::string condition;
  std::string first_bound;
  for (size_t j = columns.size(); j-- > 0;) {
    if (std::holds_alternative<std::monostate>(after[j])) continue;
    const Column& c = columns[j];
    const std::string p = params.Bind(after[j]);
    const std::string beyond = absl::StrCat(c.expr, c.ascending ? " > " : " < ", p);
    condition = condition.empty() ? beyond
                                  : absl::StrCat("(", beyond, " OR (", c.expr, " = ", p, " AND ",
                                                 condition, "))");
    // Implied, said so that SQLite can start an index range there (the default order).
    first_bound = absl::StrCat(c.expr, c.ascending ? " >= " : " <= ", p);
  }
  if (condition.empty()) return "0";
  return absl::StrCat(first_bound, " AND ", condition);
}

}  // namespace

SqlQuery BuildSearchSql(const SearchSpec& spec) {
  const ListingSql& l = SqlOf(spec.listing);
  SqlParams params;
  std::string from = l.from;
  std::vector<std::string> where;
  if (spec.listing == Listing::kExecutions) {
    where.push_back(absl::StrCat("e.step = ", params.Text(spec.step), " AND e.cache_hit = 0"));
  } else {
    if (UsesExperiment(spec))
      absl::StrAppend(&from, " JOIN experiments x ON x.id = r.experiment_id");
    if (!spec.experiments.empty()) {
      std::vector<std::string> names;
      for (const std::string& name : spec.experiments) names.push_back(params.Text(name));
      where.push_back(absl::StrCat("r.experiment_id IN (SELECT id FROM experiments WHERE name IN (",
                                   absl::StrJoin(names, ", "), "))"));
    }
  }
  for (std::string& term : FilterSql(l, spec.filter, &params)) where.push_back(std::move(term));
  const std::vector<Column> columns = OrderColumns(spec, l, params, &from);
  if (!spec.after.empty()) where.push_back(AfterCondition(columns, spec.after, params));

  std::string select = spec.listing == Listing::kRuns ? "SELECT r.id, r.proto, r.name"
                                                      : "SELECT e.id, r.name, x.name";
  std::vector<std::string> order;
  for (size_t j = 0; j < columns.size(); ++j) {
    absl::StrAppend(&select, ", ", columns[j].expr, " AS k", j);
    order.push_back(absl::StrCat("k", j, columns[j].ascending ? "" : " DESC"));
  }
  SqlQuery query;
  query.sql = absl::StrCat(select, " FROM ", from);
  if (!where.empty()) absl::StrAppend(&query.sql, " WHERE ", absl::StrJoin(where, " AND "));
  absl::StrAppend(&query.sql, " ORDER BY ", absl::StrJoin(order, ", "), " LIMIT ",
                  params.Int(spec.limit));
  query.params = params.Take();
  return query;
}

}  // namespace internal
}  // namespace track
}  // namespace mlops
