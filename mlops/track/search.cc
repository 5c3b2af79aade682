// SearchRuns and SearchExecutions: parse the search, build its SQL (internal/sql_builder.h),
// cut the page (page.h, with positions as internal/position.h writes them), then read the
// values of the page's rows (internal/found_values.h).
#include "mlops/track/search.h"

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "mlops/track/filter.h"
#include "mlops/track/internal/found_values.h"
#include "mlops/track/internal/position.h"
#include "mlops/track/internal/sql_builder.h"

namespace mlops {
namespace track {
namespace {

using internal::Listing;
using internal::SearchSpec;
using Row = std::vector<SqlValue>;

// Past these a query would exceed SQLite's limits (an expression 1000 deep, 64 tables in a
// join, 32766 parameters), far beyond any search a person writes.
constexpr size_t kMaxClauses = 100;
constexpr size_t kMaxValues = 10000;
constexpr size_t kMaxOrderKeys = 16;

absl::Status CheckSize(const SearchSpec& spec) {
  size_t values = 0;
  for (const Comparison& c : spec.filter.clauses) values += c.values.size();
  if (spec.filter.clauses.size() > kMaxClauses || values > kMaxValues) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid filter: it has ", spec.filter.clauses.size(), " clauses and ", values,
        " values; a search takes at most ", kMaxClauses, " clauses and ", kMaxValues, " values"));
  }
  if (spec.order.size() > kMaxOrderKeys) {
    return absl::InvalidArgumentError(absl::StrCat("invalid order_by: it has ", spec.order.size(),
                                                   " keys; a search takes at most ",
                                                   kMaxOrderKeys));
  }
  return absl::OkStatus();
}

// Appends `part`, length-prefixed, to a query's description (so that no two searches have
// the same one).
void Describe(std::string* query, absl::string_view part) {
  absl::StrAppend(query, part.size(), ":", part);
}

// The spec of a search whose page tokens carry `query`, before its listing's own fields.
absl::StatusOr<SearchSpec> Parse(Listing listing, const std::string& filter,
                                 const std::string& order_by, const PageRequest& page,
                                 const std::string& query) {
  SearchSpec spec;
  spec.listing = listing;
  absl::StatusOr<Filter> parsed = ParseFilter(filter);
  if (!parsed.ok()) return parsed.status();
  spec.filter = *std::move(parsed);
  absl::StatusOr<std::vector<OrderKey>> order = ParseOrderBy(order_by);
  if (!order.ok()) return order.status();
  spec.order = *std::move(order);
  absl::Status s = CheckSize(spec);
  if (s.ok()) s = CheckPageRequest(page);
  if (!s.ok()) return s;
  if (!page.page_token.empty()) {
    absl::StatusOr<std::vector<std::string>> parts =
        ParsePageToken(page.page_token, query, internal::PositionSize(spec.order));
    if (!parts.ok()) return parts.status();
    absl::StatusOr<std::vector<SqlValue>> after =
        internal::DecodePosition(*parts, spec.order.size(), page.page_token);
    if (!after.ok()) return after.status();
    spec.after = *std::move(after);
  }
  spec.limit = RowsToFetch(page);
  return spec;
}

// The matching rows of `spec`, cut to the page: each row's own `columns`, then its
// position.
absl::StatusOr<Page<Row>> PageOfRows(SqliteLineageStore& store, const SearchSpec& spec,
                                     size_t columns, const PageRequest& page,
                                     const std::string& query) {
  absl::StatusOr<std::vector<Row>> rows = store.Select(internal::BuildSearchSql(spec));
  if (!rows.ok()) return rows.status();
  return CutPage(*std::move(rows), page, query, [columns](const Row& row) {
    return internal::EncodePosition(absl::MakeConstSpan(row).subspan(columns));
  });
}

int64_t Int(const SqlValue& v) {
  const int64_t* i = std::get_if<int64_t>(&v);
  return i != nullptr ? *i : 0;
}

std::string Text(const SqlValue& v) {
  const std::string* s = std::get_if<std::string>(&v);
  return s != nullptr ? *s : "";
}

std::vector<int64_t> Ids(const std::vector<Row>& rows) {
  std::vector<int64_t> ids;
  ids.reserve(rows.size());
  for (const Row& row : rows) ids.push_back(Int(row[0]));
  return ids;
}

}  // namespace

absl::StatusOr<Page<FoundRun>> SearchRuns(SqliteLineageStore& store, const RunSearch& search) {
  std::string query = "SearchRuns\n";
  absl::StrAppend(&query, search.experiments.size(), "\n");
  for (const std::string& name : search.experiments) Describe(&query, name);
  Describe(&query, search.filter);
  Describe(&query, search.order_by);
  absl::StatusOr<SearchSpec> spec =
      Parse(Listing::kRuns, search.filter, search.order_by, search.page, query);
  if (!spec.ok()) return spec.status();
  spec->experiments = search.experiments;
  absl::StatusOr<Page<Row>> rows =
      PageOfRows(store, *spec, internal::kRunColumns, search.page, query);
  if (!rows.ok()) return rows.status();
  absl::StatusOr<absl::flat_hash_map<int64_t, RunValues>> values =
      internal::ReadFoundValues(store, Listing::kRuns, Ids(rows->items));
  if (!values.ok()) return values.status();

  Page<FoundRun> page;
  page.next_page_token = std::move(rows->next_page_token);
  page.items.reserve(rows->items.size());
  for (const Row& row : rows->items) {
    FoundRun& found = page.items.emplace_back();
    const std::string proto = Text(row[1]);
    if (!found.run.ParseFromString(proto)) {
      return absl::DataLossError(
          absl::StrCat("corrupt lineage database ", store.path(), ": a stored Run does not parse"));
    }
    found.run.set_id(Int(row[0]));
    // As GetRun gives it (a version 2 database read as it is keeps neither in the proto).
    if (found.run.experiment().empty()) found.run.set_experiment("default");
    if (found.run.name().empty()) found.run.set_name(Text(row[2]));
    auto v = values->find(found.run.id());
    if (v != values->end()) found.values = std::move(v->second);
  }
  return page;
}

absl::StatusOr<Page<FoundExecution>> SearchExecutions(SqliteLineageStore& store,
                                                      const ExecutionSearch& search) {
  if (search.step.empty()) {
    return absl::InvalidArgumentError("searching executions needs the name of a step");
  }
  std::string query = "SearchExecutions\n";
  Describe(&query, search.step);
  Describe(&query, search.filter);
  Describe(&query, search.order_by);
  absl::StatusOr<SearchSpec> spec =
      Parse(Listing::kExecutions, search.filter, search.order_by, search.page, query);
  if (!spec.ok()) return spec.status();
  spec->step = search.step;
  absl::StatusOr<Page<Row>> rows =
      PageOfRows(store, *spec, internal::kExecutionColumns, search.page, query);
  if (!rows.ok()) return rows.status();
  absl::StatusOr<absl::flat_hash_map<int64_t, RunValues>> values =
      internal::ReadFoundValues(store, Listing::kExecutions, Ids(rows->items));
  if (!values.ok()) return values.status();

  Page<FoundExecution> page;
  page.next_page_token = std::move(rows->next_page_token);
  page.items.reserve(rows->items.size());
  for (const Row& row : rows->items) {
    absl::StatusOr<Execution> e = store.GetExecution(Int(row[0]));
    if (absl::IsNotFound(e.status())) continue;  // deleted with its run since the query
    if (!e.ok()) return e.status();
    FoundExecution& found = page.items.emplace_back();
    found.execution = *std::move(e);
    found.run_name = Text(row[1]);
    found.experiment = Text(row[2]);
    auto v = values->find(found.execution.id());
    if (v != values->end()) {
      found.params = std::move(v->second.params);
      found.metrics = std::move(v->second.metrics);
    }
  }
  return page;
}

}  // namespace track
}  // namespace mlops
