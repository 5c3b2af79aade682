// `mlops runs` and `mlops show`.
#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "fmt/format.h"
#include "absl/strings/str_join.h"
#include "mlops/lineage/lineage_store.h"
#include "tools/cli_workspace.h"
#include "tools/commands.h"
#include "tools/ids.h"
#include "tools/records.h"
#include "tools/units.h"

namespace mlops {
namespace cli {
namespace {

std::string Hit(const Execution& e) { return e.cache_hit() ? "hit" : "-"; }

std::string Outputs(const Execution& e) {
  std::vector<std::string> out;
  for (const ArtifactRef& r : e.outputs()) out.push_back(Digest::FromHex(r.digest())->ShortHex());
  return absl::StrJoin(out, ",");
}

std::vector<std::string> ExecutionRow(const Execution& e) {
  return {absl::StrCat(e.id()), absl::StrCat(e.run_id()), e.step_name(), e.step_version(),
          StatusName(e.status()), Hit(e),
          HumanDuration(DurationOf(e.start_time(), e.end_time())), Outputs(e)};
}

// The run's source revision, marked if the tree had uncommitted changes.
std::string SourceText(const Environment& env) {
  if (env.source_revision().empty()) return "(unknown: no git checkout, or no git)";
  if (env.source_state() == Environment::SOURCE_MODIFIED) {
    return absl::StrCat(env.source_revision(), " (uncommitted changes)");
  }
  return env.source_revision();
}

const std::vector<std::string> kExecutionHeader = {"ID",     "RUN", "STEP",     "VERSION",
                                                   "STATUS", "HIT", "DURATION", "OUTPUTS"};
constexpr Align L = Align::kLeft, R = Align::kRight;
const std::vector<Align> kExecutionAlign = {R, R, L, L, L, L, R, L};

// The recoveries of the damaged lineage database by run `run_id`, or all if it is 0.
absl::StatusOr<std::vector<LineageRecovery>> RecoveriesBy(CliWorkspace& ws, int64_t run_id) {
  absl::StatusOr<std::vector<LineageRecovery>> all = ws.lineage().Recoveries();
  if (!all.ok() || run_id == 0) return all;
  std::vector<LineageRecovery> out;
  for (const LineageRecovery& r : *all) {
    if (r.run_id() == run_id) out.push_back(r);
  }
  return out;
}

// The run's tags, params and metrics (RunValues), as `show` lists an execution's: a metric
// with the step of its last point and, when an execution logged it, which one.
void PrintRunValues(const RunValues& values) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& [k, v] : values.tags) rows.push_back({"  tag", k, v});
  for (const auto& [k, v] : values.params) rows.push_back({"  param", k, v});
  for (const auto& [k, m] : values.metrics) {
    rows.push_back({"  metric", k,
                    absl::StrCat(FormatMetricValue(m.value), " (step ", m.step,
                                 m.execution_id != 0 ? absl::StrCat(", exec ", m.execution_id)
                                                     : std::string(),
                                 ")")});
  }
  if (rows.empty()) return;
  std::fputs("\ntags, params and metrics:\n", stdout);
  PrintTable(stdout, rows);
}

absl::Status ShowRun(CliWorkspace& ws, int64_t id, bool json) {
  absl::StatusOr<Run> run = ws.lineage().GetRun(id);
  if (!run.ok()) return run.status();
  absl::StatusOr<std::vector<Execution>> execs = ws.lineage().ExecutionsOfRun(id);
  if (!execs.ok()) return execs.status();
  absl::StatusOr<std::vector<LineageRecovery>> recoveries = RecoveriesBy(ws, id);
  if (!recoveries.ok()) return recoveries.status();
  absl::StatusOr<RunValues> values = ws.lineage().GetRunValues(id);
  if (!values.ok()) return values.status();
  const RunCounts counts = CountExecutions(*execs);
  if (json) {
    JsonWriter w;
    w.BeginObject().Key("kind").String("run").Key("run");
    WriteRunJson(w, *run, counts, /*with_environment=*/true, &*values);
    w.Key("executions").BeginArray();
    for (const Execution& e : *execs) WriteExecutionJson(w, e);
    w.EndArray();
    w.Key("recoveries").BeginArray();
    for (const LineageRecovery& r : *recoveries) WriteRecoveryJson(w, r);
    w.EndArray().EndObject();
    return Print(w.str());
  }
  const Environment& env = run->environment();
  std::vector<std::vector<std::string>> rows = {
      {"run", absl::StrCat(run->id())},
      {"program", run->program()},
      {"experiment", run->experiment()},
      {"name", run->name()},
      {"args", absl::StrJoin(run->args(), " ")},
      {"status", StatusName(run->status())},
      {"start", FormatLocalTime(ToTime(run->start_time()))},
      {"end", FormatLocalTime(ToTime(run->end_time()))},
      {"duration", HumanDuration(DurationOf(run->start_time(), run->end_time()))},
      {"host", run->host()},
      {"user", run->user()},
      {"executions", absl::StrCat(counts.executions, " (", counts.cache_hits, " from the cache, ",
                                  counts.failed, " failed)")},
      {"compiler", absl::StrCat(env.compiler(), " ", env.compiler_flags())},
      {"os", env.os()},
      {"cpu", env.cpu()},
      {"source", SourceText(env)},
  };
  for (const LineageRecovery& r : *recoveries) rows.push_back({"recovered", RecoveryLine(r)});
  PrintTable(stdout, rows);
  PrintRunValues(*values);
  std::vector<std::vector<std::string>> table = {kExecutionHeader};
  for (const Execution& e : *execs) table.push_back(ExecutionRow(e));
  std::fputs("\n", stdout);
  PrintTable(stdout, table, kExecutionAlign);
  return absl::OkStatus();
}

void PrintRefs(const char* title, const google::protobuf::RepeatedPtrField<ArtifactRef>& refs) {
  std::printf("\n%s:\n", title);
  std::vector<std::vector<std::string>> rows;
  for (const ArtifactRef& r : refs) {
    rows.push_back({"  " + r.name(), r.digest(), r.type_name(), FormatBytes(r.size()),
                    r.label()});
  }
  if (rows.empty()) rows.push_back({"  (none)"});
  PrintTable(stdout, rows, {L, L, L, R, L});
}

absl::Status ShowExecution(CliWorkspace& ws, int64_t id, bool json) {
  absl::StatusOr<Execution> e = ws.lineage().GetExecution(id);
  if (!e.ok()) return e.status();
  if (json) {
    JsonWriter w;
    w.BeginObject().Key("kind").String("execution").Key("execution");
    WriteExecutionJson(w, *e);
    w.EndObject();
    return Print(w.str());
  }
  std::vector<std::vector<std::string>> rows = {
      {"execution", absl::StrCat(e->id())},
      {"run", absl::StrCat(e->run_id())},
      {"step", absl::StrCat(e->step_name(), " (version ", e->step_version(), ")")},
      {"status", absl::StrCat(StatusName(e->status()), e->cache_hit() ? " (cache hit)" : "",
                              e->nondeterministic() ? " (nondeterministic)" : "")},
      {"action key", e->action_key()},
      {"start", FormatLocalTime(ToTime(e->start_time()))},
      {"duration", HumanDuration(DurationOf(e->start_time(), e->end_time()))},
  };
  if (!e->error_message().empty()) rows.push_back({"error", e->error_message()});
  PrintTable(stdout, rows);
  PrintRefs("inputs", e->inputs());
  PrintRefs("outputs", e->outputs());
  std::vector<std::vector<std::string>> values;
  for (const auto& [k, v] : std::map<std::string, std::string>(e->params().begin(),
                                                                e->params().end())) {
    values.push_back({"  param", k, v});
  }
  for (const auto& [k, v] : std::map<std::string, double>(e->metrics().begin(),
                                                           e->metrics().end())) {
    values.push_back({"  metric", k, fmt::format("{}", v)});
  }
  if (!values.empty()) {
    std::fputs("\nparams and metrics:\n", stdout);
    PrintTable(stdout, values);
  }
  return absl::OkStatus();
}

absl::Status ShowDigest(CliWorkspace& ws, const std::string& prefix, bool json) {
  absl::StatusOr<Digest> d = ws.ResolveDigest(prefix);
  if (!d.ok()) return d.status();
  absl::StatusOr<Artifact> artifact = ws.lineage().GetArtifact(*d);
  if (!artifact.ok() && !absl::IsNotFound(artifact.status())) return artifact.status();
  int64_t stored_size = -1;
  absl::StatusOr<const std::vector<StoreEntry>*> entries = ws.StoreEntries();  // listed once
  if (!entries.ok()) return entries.status();
  for (const StoreEntry& e : **entries) {
    if (e.digest == *d) stored_size = e.size;
  }
  absl::StatusOr<absl::btree_set<Digest>> pins = ws.LoadPins();
  if (!pins.ok()) return pins.status();
  absl::StatusOr<std::vector<Execution>> producers = ws.lineage().Producers(*d);
  if (!producers.ok()) return producers.status();
  absl::StatusOr<std::vector<Execution>> consumers = ws.lineage().Consumers(*d);
  if (!consumers.ok()) return consumers.status();
  const bool pinned = pins->contains(*d);

  if (json) {
    JsonWriter w;
    w.BeginObject().Key("kind").String("digest").Key("digest").String(d->ToHex());
    w.Key("artifact");
    if (artifact.ok()) {
      w.BeginObject();
      w.Key("type_name").String(artifact->type_name());
      w.Key("size").Int(artifact->size());
      w.Key("label").String(artifact->label());
      w.Key("uri").String(artifact->uri());
      w.EndObject();
    } else {
      w.Null();
    }
    w.Key("stored").Bool(stored_size >= 0);
    w.Key("stored_size");
    if (stored_size >= 0) {
      w.Int(stored_size);
    } else {
      w.Null();
    }
    w.Key("pinned").Bool(pinned);
    w.Key("producers").BeginArray();
    for (const Execution& e : *producers) WriteExecutionJson(w, e);
    w.EndArray();
    w.Key("consumers").BeginArray();
    for (const Execution& e : *consumers) WriteExecutionJson(w, e);
    w.EndArray();
    w.EndObject();
    return Print(w.str());
  }
  std::vector<std::vector<std::string>> rows = {{"digest", d->ToHex()}};
  if (artifact.ok()) {
    rows.push_back({"type", artifact->type_name()});
    rows.push_back({"size", FormatBytes(artifact->size())});
    if (!artifact->label().empty()) rows.push_back({"label", artifact->label()});
    if (!artifact->uri().empty()) rows.push_back({"uri", artifact->uri()});
  } else {
    rows.push_back({"lineage", "(no execution recorded it)"});
  }
  rows.push_back({"stored", stored_size >= 0 ? FormatBytes(stored_size) : "no"});
  rows.push_back({"pinned", pinned ? "yes" : "no"});
  PrintTable(stdout, rows);
  for (const auto& [title, list] : {std::make_pair("produced by", &*producers),
                                    std::make_pair("consumed by", &*consumers)}) {
    std::printf("\n%s:\n", title);
    std::vector<std::vector<std::string>> table = {kExecutionHeader};
    for (const Execution& e : *list) table.push_back(ExecutionRow(e));
    if (list->empty()) table = {{"  (none)"}};
    PrintTable(stdout, table, kExecutionAlign);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Runs(const Args& args, const std::string& workspace) {
  if (args.has("experiment") || args.has("filter") || args.has("order-by") ||
      args.has("columns")) {
    return SearchRuns(args, workspace);  // search_commands.cc
  }
  PageRequest page;
  page.max_results = 20;
  if (args.has("limit")) {
    absl::StatusOr<int64_t> n = ParseCount(args.value("limit"), "--limit");
    if (!n.ok()) return n.status();
    page.max_results = *n;  // 0: all of them
  }
  page.page_token = args.value("page-token");
  RunFilter filter;
  if (args.has("program")) filter.program = args.value("program");
  absl::StatusOr<std::unique_ptr<CliWorkspace>> ws =
      CliWorkspace::Open(workspace, CliWorkspace::Access::kRead);
  if (!ws.ok()) return ws.status();
  absl::StatusOr<Page<Run>> found = (*ws)->lineage().FindRuns(filter, page);
  if (absl::IsInvalidArgument(found.status()) && args.has("page-token")) {
    return UsageError(absl::StrCat("--page-token: ", found.status().message()));
  }
  if (!found.ok()) return found.status();
  const std::vector<Run>& runs = found->items;
  std::vector<RunCounts> counts;
  for (const Run& r : runs) {
    absl::StatusOr<RunCounts> c = (*ws)->lineage().CountExecutions(r.id());
    if (!c.ok()) return c.status();
    counts.push_back(*c);
  }
  absl::StatusOr<std::vector<LineageRecovery>> recoveries = RecoveriesBy(**ws, 0);
  if (!recoveries.ok()) return recoveries.status();
  if (args.has("json")) {
    JsonWriter w;
    w.BeginObject().Key("runs").BeginArray();
    for (size_t i = 0; i < runs.size(); ++i) {
      WriteRunJson(w, runs[i], counts[i], /*with_environment=*/false);
    }
    w.EndArray().Key("next_page_token").String(found->next_page_token);
    w.Key("recoveries").BeginArray();
    for (const LineageRecovery& r : *recoveries) WriteRecoveryJson(w, r);
    w.EndArray().EndObject();
    return Print(w.str());
  }
  // Below the listing: each recovery of the damaged lineage database.
  std::string notes;
  for (const LineageRecovery& r : *recoveries) {
    absl::StrAppend(&notes, notes.empty() ? "\n" : "", "note: ", RecoveryLine(r), "\n");
  }
  if (runs.empty()) {
    if (args.has("page-token")) return Print(absl::StrCat("no more runs\n", notes));
    return Print(absl::StrCat(
        args.has("program") ? absl::StrCat("no runs of program \"", args.value("program"),
                                           "\" recorded in ", workspace, "\n")
                            : absl::StrCat("no runs recorded in ", workspace, "\n"),
        notes));
  }
  std::vector<std::vector<std::string>> rows = {
      {"ID", "PROGRAM", "EXPERIMENT", "NAME", "START", "DURATION", "STATUS", "EXECUTIONS",
       "HITS"}};
  for (size_t i = 0; i < runs.size(); ++i) {
    const Run& r = runs[i];
    rows.push_back({absl::StrCat(r.id()), r.program(), r.experiment(), r.name(),
                    FormatLocalTime(ToTime(r.start_time())),
                    HumanDuration(DurationOf(r.start_time(), r.end_time())),
                    StatusName(r.status()), absl::StrCat(counts[i].executions),
                    absl::StrCat(counts[i].cache_hits)});
  }
  PrintTable(stdout, rows, {R, L, L, L, L, R, L, R, R});
  if (found->has_more()) {
    // Never cut the listing without saying so, and how to see the rest.
    return Print(absl::StrCat("more runs exist: run again with --page-token ",
                              found->next_page_token, " for the next ", page.max_results,
                              ", or with --limit 0 for all\n", notes));
  }
  return Print(notes);
}

absl::Status Show(const Args& args, const std::string& workspace) {
  absl::StatusOr<Target> target = ParseTarget(args.positional[0]);
  if (!target.ok()) return target.status();
  absl::StatusOr<std::unique_ptr<CliWorkspace>> ws =
      CliWorkspace::Open(workspace, CliWorkspace::Access::kRead);
  if (!ws.ok()) return ws.status();
  const bool json = args.has("json");
  switch (target->kind) {
    case Target::kRun:
      return ShowRun(**ws, target->id, json);
    case Target::kExecution:
      return ShowExecution(**ws, target->id, json);
    case Target::kDigest:
      return ShowDigest(**ws, target->prefix, json);
    case Target::kRunOrExecution:
      break;
  }
  // A bare number: a run or an execution, whichever exists; both is ambiguous.
  const int64_t id = target->id;
  absl::StatusOr<Run> run = (*ws)->lineage().GetRun(id);
  if (!run.ok() && !absl::IsNotFound(run.status())) return run.status();
  absl::StatusOr<Execution> exec = (*ws)->lineage().GetExecution(id);
  if (!exec.ok() && !absl::IsNotFound(exec.status())) return exec.status();
  if (run.ok() && exec.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        id, " is ambiguous: both run ", id, " and execution ", id,
        " exist; say run:", id, " or exec:", id));
  }
  if (run.ok()) return ShowRun(**ws, id, json);
  if (exec.ok()) return ShowExecution(**ws, id, json);
  return absl::NotFoundError(
      absl::StrCat("no run or execution with id ", id, " in ", workspace));
}

}  // namespace cli
}  // namespace mlops
