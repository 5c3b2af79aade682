// The `mlops` command line: look at what programs recorded in a workspace.
//
//   mlops [--workspace DIR] COMMAND [ARGS] [--json]
//
// See tools/README.md for every command, the JSON schema and the exit codes (0 success,
// 1 the operation failed, 2 bad usage).
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "mlops/core/workspace.h"
#include "tools/args.h"
#include "tools/commands.h"

namespace mlops {
namespace cli {
namespace {

struct Command {
  const char* name;
  CommandFn run;
  int min_args, max_args;  // positional; max -1: any number
  std::vector<FlagSpec> flags;  // besides --workspace and --help
  const char* usage;
};

const std::vector<Command>& Commands() {
  static const auto* commands = new std::vector<Command>{
      {"runs", &Runs, 0, 0,
       {{"limit", true}, {"page-token", true}, {"program", true}, {"experiment", true},
        {"filter", true}, {"order-by", true}, {"columns", true}, {"json", false}},
       "mlops runs [--limit N] [--page-token TOKEN] [--program NAME] [--json]\n"
       "           [--experiment NAME] [--filter EXPR] [--order-by EXPR] [--columns LIST]\n"
       "  Recent runs, newest first: id, program, experiment, name, start, duration,\n"
       "  status, executions, cache hits. At most N (default 20; 0: all); when more exist,\n"
       "  a last line (in --json, next_page_token) gives the TOKEN that lists the next ones.\n"
       "  With --experiment, --filter, --order-by or --columns, a search in MLflow's syntax:\n"
       "  --filter \"metrics.auc > 0.9 AND params.lr = '0.1'\" (params are strings),\n"
       "  --order-by \"metrics.auc DESC\", --columns params.lr,metrics.auc (the table's\n"
       "  extra columns). A malformed filter is bad usage, with a caret under the error.\n"},
      {"search", &Search, 0, 0,
       {{"step", true}, {"filter", true}, {"order-by", true}, {"columns", true},
        {"limit", true}, {"page-token", true}, {"json", false}},
       "mlops search --step STEP [--filter EXPR] [--order-by EXPR] [--columns LIST]\n"
       "             [--limit N] [--page-token TOKEN] [--json]\n"
       "  The executions of STEP that computed (a sweep's candidates; cache hits repeat\n"
       "  them), across runs, newest first, filtered and ordered as for runs (metrics and\n"
       "  params are the execution's, tags its run's). Without --columns: every param and\n"
       "  metric the listed executions logged.\n"},
      {"show", &Show, 1, 1, {{"json", false}},
       "mlops show <run:ID | exec:ID | ID | DIGEST-PREFIX> [--json]\n"
       "  Everything recorded about a run (its experiment, name, tags, params, metrics,\n"
       "  environment and executions), an execution (inputs, outputs, params, metrics) or a\n"
       "  digest (artifact, stored size, pinned, producers, consumers). A bare number is a\n"
       "  run or an execution, whichever exists (an error if both do: then say run:ID or\n"
       "  exec:ID); any other hex is a digest prefix (digest:PREFIX for an all-digit one).\n"},
      {"lineage", &Lineage, 1, 1,
       {{"upstream", false}, {"downstream", false}, {"depth", true}, {"format", true},
        {"json", false}, {"output", true}},
       "mlops lineage <DIGEST-PREFIX | exec:ID | ID> [--upstream | --downstream] [--depth N]\n"
       "              [--format text|dot|json|svg | --json] [--output FILE]\n"
       "  The graph upstream (default: what it came from) or downstream (what was made from\n"
       "  it) of an artifact or an execution (a bare number is an execution id). --depth N\n"
       "  follows at most N executions away. --json is --format json. svg needs Graphviz's\n"
       "  dot on PATH.\n"},
      {"diff", &Diff, 2, 2, {{"json", false}},
       "mlops diff <RUN> <RUN> [--json]\n"
       "  The steps of two runs side by side (paired by step name and occurrence): which\n"
       "  steps' inputs, outputs, params or metrics changed, and steps only in one run.\n"},
      {"experiments", &Experiments, 0, 0, {{"json", false}},
       "mlops experiments [--json]\n"
       "  Every experiment: its name, how many runs it has, when its newest run started.\n"},
      {"compare", &Compare, 2, -1, {{"all-params", false}, {"json", false}},
       "mlops compare <RUN | exec:ID> <RUN | exec:ID>... [--all-params] [--json]\n"
       "  Runs (RUN: ID or run:ID) or executions side by side: experiment, name, source\n"
       "  commit, the params that differ (--all-params: all), every metric as\n"
       "  last [min, max], the input data's digests, the environment fields that differ.\n"},
      {"metrics", &Metrics, 1, -1, {{"format", true}, {"json", false}, {"output", true}},
       "mlops metrics <RUN | exec:ID>... [NAME...] [--format text|csv|json|svg | --json]\n"
       "              [--output FILE]\n"
       "  The metric series (step, value, time) of runs or executions: those named, or every\n"
       "  one they have. Arguments of an id's form are targets (a bare number is a run),\n"
       "  others metric names (metric:NAME for a name that looks like an id). svg draws a\n"
       "  line chart per metric, one line per target, with gnuplot found on PATH.\n"},
      {"du", &Du, 0, 0, {{"json", false}},
       "mlops du [--json]\n"
       "  Content store size by the step that produced each value; \"(unknown)\" for values\n"
       "  no recorded execution output.\n"},
      {"gc", &Gc, 0, 0, {{"max-size", true}, {"dry-run", false}, {"json", false}},
       "mlops gc --max-size SIZE [--dry-run] [--json]\n"
       "  Evicts least recently used values until the store holds at most SIZE, never a\n"
       "  pinned one (see `mlops pin`). SIZE: 1024, 500M, 10G, 1.5GiB (K/M/G/T and KiB/... are\n"
       "  powers of 1024; KB/MB/GB/TB of 1000). --dry-run reports without deleting.\n"},
      {"cat", &Cat, 1, 1, {},
       "mlops cat <DIGEST-PREFIX>\n"
       "  The raw stored bytes of a value (its canonical encoding), verified, to stdout.\n"},
      {"pin", &Pin, 1, -1, {},
       "mlops pin <DIGEST-PREFIX>...\n"
       "  Adds digests to the workspace's pin list (<workspace>/pins): gc never evicts them.\n"},
      {"unpin", &Unpin, 1, -1, {},
       "mlops unpin <DIGEST-PREFIX>...\n"
       "  Removes digests (prefixes of pinned digests) from the pin list.\n"},
      {"pins", &Pins, 0, 0, {{"json", false}},
       "mlops pins [--json]\n"
       "  The pinned digests, and whether each is still stored.\n"},
  };
  return *commands;
}

constexpr char kCommonUsage[] =
    "\nCommon flags:\n"
    "  --workspace DIR   the workspace (default: $MLOPS_WORKSPACE, else .mlops in the\n"
    "                    current directory; under `bazel run`, where the command was typed)\n"
    "  --help            this help\n";

std::string MainUsage() {
  std::string s =
      "usage: mlops [--workspace DIR] <command> [args]\n"
      "Looks at what programs recorded in an mlops workspace: runs, lineage, the cache.\n\n"
      "Commands:\n";
  for (const Command& c : Commands()) absl::StrAppend(&s, "  ", c.usage);
  absl::StrAppend(&s, kCommonUsage,
                  "\nExit codes: 0 success, 1 the operation failed, 2 bad usage.\n"
                  "`mlops help <command>` or `mlops <command> --help` shows one command.\n");
  return s;
}

int UsageFailure(const std::string& message, const std::string& usage) {
  std::fprintf(stderr, "mlops: %s\n\n%s", message.c_str(), usage.c_str());
  return 2;
}

int Main(int argc, char** argv) {
  std::vector<std::string> rest(argv + 1, argv + argc);
  // Flags before the command: --workspace and --help.
  std::vector<std::string> leading;
  while (!rest.empty() && rest[0].rfind("--", 0) == 0) {
    leading.push_back(rest[0]);
    rest.erase(rest.begin());
    if (leading.back() == "--workspace" && !rest.empty()) {
      leading.push_back(rest[0]);
      rest.erase(rest.begin());
    }
  }
  const absl::StatusOr<Args> global =
      ParseArgs(leading, {{"workspace", true}, {"help", false}});
  if (!global.ok()) return UsageFailure(std::string(global.status().message()), MainUsage());
  if (rest.empty()) {
    if (global->has("help")) {
      std::fputs(MainUsage().c_str(), stdout);
      return 0;
    }
    return UsageFailure("no command given", MainUsage());
  }
  const std::string name = rest[0];
  rest.erase(rest.begin());
  const auto find = [](const std::string& n) -> const Command* {
    for (const Command& c : Commands()) {
      if (n == c.name) return &c;
    }
    return nullptr;
  };
  if (name == "help") {  // `mlops help` or `mlops help COMMAND`
    if (rest.empty()) {
      std::fputs(MainUsage().c_str(), stdout);
      return 0;
    }
    const Command* c = find(rest[0]);
    if (c == nullptr || rest.size() > 1) {
      return UsageFailure(c == nullptr ? "unknown command \"" + rest[0] + "\""
                                       : std::string("help takes at most one command"),
                          MainUsage());
    }
    std::fputs(absl::StrCat("usage: ", c->usage, kCommonUsage).c_str(), stdout);
    return 0;
  }
  const Command* command = find(name);
  if (command == nullptr) return UsageFailure("unknown command \"" + name + "\"", MainUsage());
  const std::string usage = absl::StrCat("usage: ", command->usage, kCommonUsage);

  std::vector<FlagSpec> flags = command->flags;
  flags.push_back({"workspace", true});
  flags.push_back({"help", false});
  absl::StatusOr<Args> args = ParseArgs(rest, flags);
  if (!args.ok()) return UsageFailure(std::string(args.status().message()), usage);
  if (args->has("help") || global->has("help")) {
    std::fputs(usage.c_str(), stdout);
    return 0;
  }
  const int n = static_cast<int>(args->positional.size());
  if (n < command->min_args || (command->max_args >= 0 && n > command->max_args)) {
    return UsageFailure(absl::StrCat(name, " takes ",
                                     command->min_args == command->max_args
                                         ? absl::StrCat(command->min_args)
                                         : absl::StrCat("at least ", command->min_args),
                                     " argument", command->min_args == 1 ? "" : "s", ", not ", n),
                        usage);
  }
  // An empty --workspace (e.g. from an unset shell variable) is a mistake, not the default.
  if ((args->has("workspace") && args->value("workspace").empty()) ||
      (!args->has("workspace") && global->has("workspace") &&
       global->value("workspace").empty())) {
    return UsageFailure("--workspace needs a directory, not \"\"", usage);
  }
  std::string workspace = args->value("workspace", global->value("workspace"));
  workspace = workspace.empty() ? Workspace::DefaultDir() : UserPath(workspace);

  const absl::Status s = command->run(*args, workspace);
  if (std::fflush(stdout) != 0 && s.ok()) {
    std::fprintf(stderr, "mlops %s: cannot write to standard output\n", name.c_str());
    return 1;
  }
  if (s.ok()) return 0;
  if (IsUsageError(s)) return UsageFailure(std::string(s.message()), usage);
  std::fprintf(stderr, "mlops %s: %s\n", name.c_str(), std::string(s.message()).c_str());
  return 1;
}

}  // namespace

absl::Status Print(const std::string& text) {
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size()) {
    return absl::UnavailableError("cannot write to standard output");
  }
  return absl::OkStatus();
}

}  // namespace cli
}  // namespace mlops

int main(int argc, char** argv) { return mlops::cli::Main(argc, argv); }
