// mlops/track/filter.h — MLflow's run search filters and order_by clauses, parsed.
//
// Searching runs takes a filter string in MLflow's syntax (a simplified SQL WHERE clause)
// and order_by clauses; this header turns them into a typed syntax tree that a store
// translates into its own query. Every literal in the tree is a typed value for the store
// to bind as a query parameter, never text to splice into SQL: a filter such as
// `params.x = '; DROP TABLE runs; --'` is a comparison with that string and nothing more.
//
// Example:
//   absl::StatusOr<mlops::track::Filter> filter = mlops::track::ParseFilter(
//       "metrics.auc > 0.9 AND params.model = 'logreg' AND attributes.status != 'FAILED'");
//   if (!filter.ok()) return filter.status();  // INVALID_ARGUMENT with a caret, see below
//   for (const mlops::track::Comparison& c : filter->clauses) Translate(c);
//
// The grammar (keywords and identifier types are case-insensitive):
//   filter     := [ clause ( AND clause )* ]          (empty or blank: every run matches)
//   clause     := identifier comparator value
//               | identifier [ NOT ] IN '(' value ( ',' value )* ')'
//   identifier := type '.' key
//   type       := metrics | metric                    -> Field::kMetric
//               | params | param | parameters         -> Field::kParam
//               | tags | tag                          -> Field::kTag
//               | attributes | attribute | attr | run -> Field::kAttribute
//   key        := [A-Za-z0-9_.-]+   (so `tags.mlflow.user` is key "mlflow.user")
//               | '`' any bytes but '`' '`'  |  '"' any bytes but '"' '"'
//   comparator := = | != | < | <= | > | >= | LIKE | ILIKE
//   value      := number | string
//   number     := [ '+' | '-' ] ( digits [ '.' [ digits ] ] | '.' digits )
//                 [ ( 'e' | 'E' ) [ '+' | '-' ] digits ]           (as 1, -2.5, .5, 1e-3)
//   string     := "'" any bytes but "'" "'"  |  '"' any bytes but '"' '"'
// Keys, attribute names included, are case-sensitive and compared after unquoting.
// Strings have no escapes, as in MLflow: the next quote of the opening kind ends the string,
// so a value holding a single quote is written in double quotes ("it's") and vice versa.
// OR, parentheses around clauses, NaN and infinities are not part of the syntax.
//
// Which comparisons fit (anything else is INVALID_ARGUMENT saying what fits):
//   metrics             a number (a double);            = != < <= > >=
//   params, tags        a quoted string;                = != LIKE ILIKE
//                       (params compare as strings, as in MLflow: `params.lr = '0.1'`)
//   attributes (keys, and the aliases accepted for them; strings unless said otherwise):
//     status              the run's status, e.g. 'FINISHED'   = != LIKE ILIKE IN, NOT IN
//     run_name (name)     the run's name                     = != LIKE ILIKE IN, NOT IN
//     run_id (id)         the run's id                       = != LIKE ILIKE IN, NOT IN
//     experiment          the name of the run's experiment   = != LIKE ILIKE IN, NOT IN
//     start_time, end_time  an integer, milliseconds since the Unix epoch;
//                                                            = != < <= > >=
// IN and NOT IN take one or more quoted strings and apply to the string attributes only
// (MLflow allows them on run_id alone). Keys are at most 250 bytes and string values at
// most 6000 bytes (MLflow's limits for names and param values).
//
// order_by := [ key_clause ( ',' key_clause )* ],  key_clause := identifier [ ASC | DESC ]
// with identifiers as above (ASC is the default); a field may appear only once.
//
// Errors: every failure is INVALID_ARGUMENT with a message that says what is wrong, then
// the input on its own line (tabs and line breaks shown as spaces; an input longer than
// about 100 characters shortened around the error, with "..." marking the cuts), and a
// caret under the offending character, e.g.
//   invalid filter: expected a comparator after 'metrics.auc'
//     metrics.auc 0.9
//                 ^
// Columns count UTF-8 characters, so the caret lines up under non-ASCII text too.
//
// Thread safety: these are plain values and pure functions.
#ifndef MLOPS_TRACK_FILTER_H_
#define MLOPS_TRACK_FILTER_H_

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace mlops {
namespace track {

// What an identifier's type names.
enum class Field {
  kUnknown = 0,
  kMetric,     // a metric's latest value
  kParam,      // a parameter (a string)
  kTag,        // a tag (a string)
  kAttribute,  // one of the run's own columns, see Attribute
};

// The run columns a filter or order_by may name (Field::kAttribute).
enum class Attribute {
  kUnknown = 0,  // not an attribute (the field is a metric, param or tag)
  kStatus,       // string
  kRunName,      // string; also written `name`
  kRunId,        // string; also written `id`
  kExperiment,   // string: the experiment's name
  kStartTime,    // int64 milliseconds since the Unix epoch
  kEndTime,      // int64 milliseconds since the Unix epoch
};

// A field of a run: `metrics.auc` is {kMetric, "auc"}; `attributes.name` is
// {kAttribute, "run_name", kRunName} (attribute keys are given in their canonical spelling).
struct Identifier {
  Field field = Field::kUnknown;
  std::string key;  // unquoted; 1 to 250 bytes
  Attribute attribute = Attribute::kUnknown;

  friend bool operator==(const Identifier& a, const Identifier& b) {
    return a.field == b.field && a.key == b.key && a.attribute == b.attribute;
  }
};

enum class Comparator {
  kUnknown = 0,
  kEqual,           // =
  kNotEqual,        // !=
  kLess,            // <
  kLessOrEqual,     // <=
  kGreater,         // >
  kGreaterOrEqual,  // >=
  kLike,            // LIKE: SQL pattern (% and _), case-sensitive
  kILike,           // ILIKE: SQL pattern, case-insensitive
  kIn,              // IN (...)
  kNotIn,           // NOT IN (...)
};

// A literal, to be bound as a query parameter: a double for metrics, an int64 for
// start_time and end_time, a string (at most 6000 bytes) for everything else.
using Value = std::variant<double, int64_t, std::string>;

// One `identifier comparator value` clause.
struct Comparison {
  Identifier lhs;
  Comparator op = Comparator::kUnknown;
  // Exactly one value, except for kIn and kNotIn: one or more, in the order written.
  std::vector<Value> values;

  friend bool operator==(const Comparison& a, const Comparison& b) {
    return a.lhs == b.lhs && a.op == b.op && a.values == b.values;
  }
};

// A parsed filter: a run matches when every clause holds. No clauses matches every run.
struct Filter {
  std::vector<Comparison> clauses;
};

// One order_by key.
struct OrderKey {
  Identifier field;
  bool ascending = true;

  friend bool operator==(const OrderKey& a, const OrderKey& b) {
    return a.field == b.field && a.ascending == b.ascending;
  }
};

// Parses `filter` (grammar above). Returns the clauses in the order written; an empty or
// blank filter gives a Filter with no clauses. INVALID_ARGUMENT, with the message described
// above, for anything the grammar or the type rules do not allow; in particular OR gets a
// message saying only AND is supported.
absl::StatusOr<Filter> ParseFilter(absl::string_view filter);

// The comparator as a filter writes it ("=", "<=", "LIKE", "NOT IN"); for the six
// comparisons of numbers, also as SQL writes them. "?" for kUnknown.
absl::string_view ComparatorText(Comparator op);

// Parses one order_by string, `key [ASC|DESC] (, key [ASC|DESC])*`. Returns the keys in
// order; an empty or blank string gives none (the store's default order). INVALID_ARGUMENT
// (message "invalid order_by: ...", quoting `order_by` with a caret) for an identifier that
// is not valid, a word other than ASC or DESC after a key, an empty clause (",,"), or a
// field named twice.
absl::StatusOr<std::vector<OrderKey>> ParseOrderBy(absl::string_view order_by);

// MLflow's form: a list of order_by strings (each usually one `key [ASC|DESC]`), read as if
// joined with commas. An empty list gives no keys; an empty or blank element, and a field
// named twice across elements, are INVALID_ARGUMENT (quoting the element).
absl::StatusOr<std::vector<OrderKey>> ParseOrderBy(absl::Span<const std::string> order_by);

}  // namespace track
}  // namespace mlops

#endif  // MLOPS_TRACK_FILTER_H_
