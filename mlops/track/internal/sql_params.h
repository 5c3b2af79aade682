// Internal: the bound parameters of a query being written (sql_builder.h, filter_sql.h).
// Each Bind appends a value and returns its placeholder, "?N", for the SQL text: the only
// way a value the user gave reaches a query.
//
// Thread safety: a SqlParams is one query's, used by one thread.
#ifndef MLOPS_TRACK_INTERNAL_SQL_PARAMS_H_
#define MLOPS_TRACK_INTERNAL_SQL_PARAMS_H_

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "mlops/lineage/sqlite_lineage_store.h"
#include "mlops/track/filter.h"

namespace mlops {
namespace track {
namespace internal {

class SqlParams {
 public:
  // (Each kind is emplaced: moving a variant that holds a number draws a false
  // -Wmaybe-uninitialized from GCC 12.)
  std::string Int(int64_t v) {
    values_.emplace_back(v);
    return Placeholder();
  }
  std::string Double(double v) {
    values_.emplace_back(v);
    return Placeholder();
  }
  std::string Text(std::string v) {
    values_.emplace_back(std::move(v));
    return Placeholder();
  }
  std::string Bind(const SqlValue& v) {
    if (const int64_t* i = std::get_if<int64_t>(&v)) return Int(*i);
    if (const double* d = std::get_if<double>(&v)) return Double(*d);
    if (const std::string* s = std::get_if<std::string>(&v)) return Text(*s);
    values_.emplace_back(std::monostate{});
    return Placeholder();
  }
  // A filter's literal.
  std::string Bind(const Value& v) {
    if (const double* d = std::get_if<double>(&v)) return Double(*d);
    if (const int64_t* i = std::get_if<int64_t>(&v)) return Int(*i);
    return Text(std::get<std::string>(v));
  }

  // The values bound so far, in placeholder order; moved out.
  std::vector<SqlValue> Take() { return std::move(values_); }

 private:
  std::string Placeholder() const { return absl::StrCat("?", values_.size()); }

  std::vector<SqlValue> values_;
};

}  // namespace internal
}  // namespace track
}  // namespace mlops

#endif  // MLOPS_TRACK_INTERNAL_SQL_PARAMS_H_
