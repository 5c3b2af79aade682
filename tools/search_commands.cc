// `mlops runs` with the flags of experiment tracking (--experiment, --filter, --order-by,
// --columns), and `mlops search --step STEP`: the searches of mlops/track/search.h, with
// MLflow's filter and order_by syntax.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "mlops/track/search.h"
#include "tools/args.h"
#include "tools/cli_workspace.h"
#include "tools/commands.h"
#include "tools/json_writer.h"
#include "tools/records.h"
#include "tools/units.h"

namespace mlops {
namespace cli {
namespace {

// One --columns entry: a param, metric or tag, by key.
struct Column {
  enum Kind { kParam, kMetric, kTag } kind;
  std::string key;
  std::string label;  // as the header shows it: "params.lr"
};

absl::StatusOr<std::vector<Column>> ParseColumns(absl::string_view flag) {
  std::vector<Column> columns;
  if (flag.empty()) return columns;
  for (absl::string_view part : absl::StrSplit(flag, ',')) {
    part = absl::StripAsciiWhitespace(part);
    static const std::pair<const char*, Column::Kind> kPrefixes[] = {
        {"params.", Column::kParam},   {"param.", Column::kParam},
        {"metrics.", Column::kMetric}, {"metric.", Column::kMetric},
        {"tags.", Column::kTag},       {"tag.", Column::kTag}};
    bool found = false;
    for (const auto& [prefix, kind] : kPrefixes) {
      absl::string_view key = part;
      if (absl::ConsumePrefix(&key, prefix) && !key.empty()) {
        columns.push_back(Column{kind, std::string(key), std::string(part)});
        found = true;
        break;
      }
    }
    if (!found) {
      return UsageError(absl::StrCat("--columns: \"", part,
                                     "\" is not params.KEY, metrics.KEY or tags.KEY"));
    }
  }
  return columns;
}

// The cell of `c` for a run or execution with these values ("" if it has none).
std::string Cell(const Column& c, const std::map<std::string, std::string>& params,
                 const std::map<std::string, MetricValue>& metrics,
                 const std::map<std::string, std::string>* tags) {
  if (c.kind == Column::kParam) {
    auto it = params.find(c.key);
    return it == params.end() ? "" : it->second;
  }
  if (c.kind == Column::kMetric) {
    auto it = metrics.find(c.key);
    return it == metrics.end() ? "" : FormatMetricValue(it->second.value);
  }
  if (tags == nullptr) return "";
  auto it = tags->find(c.key);
  return it == tags->end() ? "" : it->second;
}

// The page request of --limit (default 20; 0: all) and --page-token.
absl::StatusOr<PageRequest> PageOf(const Args& args) {
  PageRequest page;
  page.max_results = 20;
  if (args.has("limit")) {
    absl::StatusOr<int64_t> n = ParseCount(args.value("limit"), "--limit");
    if (!n.ok()) return n.status();
    page.max_results = *n;
  }
  page.page_token = args.value("page-token");
  return page;
}

// A search's INVALID_ARGUMENT is the user's filter, order or token: bad usage.
absl::Status UsageIfInvalid(const absl::Status& s) {
  return absl::IsInvalidArgument(s) ? UsageError(s.message()) : s;
}

std::string MoreLine(const std::string& what, const std::string& token, int64_t n) {
  return absl::StrCat("more ", what, " exist: run again with --page-token ", token,
                      " for the next ", n, ", or with --limit 0 for all\n");
}

}  // namespace

absl::Status SearchRuns(const Args& args, const std::string& workspace) {
  if (args.has("program")) {
    return UsageError("--program cannot be combined with --experiment, --filter, --order-by "
                      "or --columns (filter on attributes instead)");
  }
  absl::StatusOr<std::vector<Column>> columns = ParseColumns(args.value("columns"));
  if (!columns.ok()) return columns.status();
  absl::StatusOr<PageRequest> page = PageOf(args);
  if (!page.ok()) return page.status();
  track::RunSearch search;
  if (args.has("experiment")) search.experiments.push_back(args.value("experiment"));
  search.filter = args.value("filter");
  search.order_by = args.value("order-by");
  search.page = *page;
  absl::StatusOr<std::unique_ptr<CliWorkspace>> ws =
      CliWorkspace::Open(workspace, CliWorkspace::Access::kRead);
  if (!ws.ok()) return ws.status();
  absl::StatusOr<Page<track::FoundRun>> found = track::SearchRuns((*ws)->lineage(), search);
  if (!found.ok()) return UsageIfInvalid(found.status());
  if (args.has("json")) {
    JsonWriter w;
    w.BeginObject().Key("runs").BeginArray();
    for (const track::FoundRun& f : found->items) {
      absl::StatusOr<RunCounts> counts = (*ws)->lineage().CountExecutions(f.run.id());
      if (!counts.ok()) return counts.status();
      WriteRunJson(w, f.run, *counts, /*with_environment=*/false, &f.values);
    }
    w.EndArray().Key("next_page_token").String(found->next_page_token).EndObject();
    return Print(w.str());
  }
  if (found->items.empty()) {
    return Print(args.has("page-token") ? "no more runs\n" : "no runs match\n");
  }
  std::vector<std::vector<std::string>> rows = {
      {"ID", "EXPERIMENT", "NAME", "START", "DURATION", "STATUS"}};
  std::vector<Align> align = {Align::kRight, Align::kLeft, Align::kLeft,
                              Align::kLeft,  Align::kRight, Align::kLeft};
  for (const Column& c : *columns) {
    rows[0].push_back(c.label);
    align.push_back(c.kind == Column::kMetric ? Align::kRight : Align::kLeft);
  }
  for (const track::FoundRun& f : found->items) {
    const Run& r = f.run;
    std::vector<std::string> row = {absl::StrCat(r.id()), r.experiment(), r.name(),
                                    FormatLocalTime(ToTime(r.start_time())),
                                    HumanDuration(DurationOf(r.start_time(), r.end_time())),
                                    StatusName(r.status())};
    for (const Column& c : *columns) {
      row.push_back(Cell(c, f.values.params, f.values.metrics, &f.values.tags));
    }
    rows.push_back(std::move(row));
  }
  PrintTable(stdout, rows, align);
  if (found->has_more()) return Print(MoreLine("runs", found->next_page_token, page->max_results));
  return absl::OkStatus();
}

absl::Status Search(const Args& args, const std::string& workspace) {
  if (args.value("step").empty()) return UsageError("search needs --step STEP");
  absl::StatusOr<std::vector<Column>> columns = ParseColumns(args.value("columns"));
  if (!columns.ok()) return columns.status();
  absl::StatusOr<PageRequest> page = PageOf(args);
  if (!page.ok()) return page.status();
  track::ExecutionSearch search;
  search.step = args.value("step");
  search.filter = args.value("filter");
  search.order_by = args.value("order-by");
  search.page = *page;
  absl::StatusOr<std::unique_ptr<CliWorkspace>> ws =
      CliWorkspace::Open(workspace, CliWorkspace::Access::kRead);
  if (!ws.ok()) return ws.status();
  absl::StatusOr<Page<track::FoundExecution>> found =
      track::SearchExecutions((*ws)->lineage(), search);
  if (!found.ok()) return UsageIfInvalid(found.status());
  if (args.has("json")) {
    JsonWriter w;
    w.BeginObject().Key("executions").BeginArray();
    for (const track::FoundExecution& f : found->items) {
      const Execution& e = f.execution;
      w.BeginObject();
      w.Key("id").Int(e.id()).Key("run_id").Int(e.run_id());
      w.Key("run_name").String(f.run_name).Key("experiment").String(f.experiment);
      w.Key("step").String(e.step_name()).Key("status").String(StatusName(e.status()));
      w.Key("start_time").String(FormatUtcTime(ToTime(e.start_time())));
      w.Key("params").BeginObject();
      for (const auto& [k, v] : f.params) w.Key(k).String(v);
      w.EndObject().Key("metrics").BeginObject();
      for (const auto& [k, m] : f.metrics) {
        w.Key(k);
        WriteMetricValueJson(w, m.value);
      }
      w.EndObject().EndObject();
    }
    w.EndArray().Key("next_page_token").String(found->next_page_token).EndObject();
    return Print(w.str());
  }
  if (found->items.empty()) {
    return Print(args.has("page-token") ? "no more executions\n"
                                        : absl::StrCat("no executions of step \"", search.step,
                                                       "\" match\n"));
  }
  // Without --columns: every param, then every metric, the page's executions logged.
  std::vector<Column> shown = *columns;
  if (shown.empty()) {
    std::map<std::string, bool> params, metrics;
    for (const track::FoundExecution& f : found->items) {
      for (const auto& [k, v] : f.params) params[k] = true;
      for (const auto& [k, v] : f.metrics) metrics[k] = true;
    }
    for (const auto& [k, v] : params) shown.push_back({Column::kParam, k, "params." + k});
    for (const auto& [k, v] : metrics) shown.push_back({Column::kMetric, k, "metrics." + k});
  }
  std::vector<std::vector<std::string>> rows = {
      {"EXEC", "RUN", "EXPERIMENT", "RUN NAME", "START", "STATUS"}};
  std::vector<Align> align = {Align::kRight, Align::kRight, Align::kLeft,
                              Align::kLeft,  Align::kLeft,  Align::kLeft};
  for (const Column& c : shown) {
    rows[0].push_back(c.label);
    align.push_back(c.kind == Column::kMetric ? Align::kRight : Align::kLeft);
  }
  for (const track::FoundExecution& f : found->items) {
    const Execution& e = f.execution;
    std::vector<std::string> row = {absl::StrCat(e.id()), absl::StrCat(e.run_id()), f.experiment,
                                    f.run_name, FormatLocalTime(ToTime(e.start_time())),
                                    StatusName(e.status())};
    for (const Column& c : shown) row.push_back(Cell(c, f.params, f.metrics, nullptr));
    rows.push_back(std::move(row));
  }
  PrintTable(stdout, rows, align);
  if (found->has_more()) {
    return Print(MoreLine("executions", found->next_page_token, page->max_results));
  }
  return absl::OkStatus();
}

}  // namespace cli
}  // namespace mlops
