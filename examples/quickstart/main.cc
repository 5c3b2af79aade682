// The quickstart: a reproducible logistic-regression pipeline on the Wisconsin
// breast-cancer data, written as plain C++ calls through an mlops Workspace.
//
//   bazel run //examples/quickstart                     # computes every step
//   bazel run //examples/quickstart                     # every step from the cache
//   bazel run //examples/quickstart -- --epochs=500     # reruns only train and evaluate
//
// Flags: --workspace (default $MLOPS_WORKSPACE, else .mlops in the directory the command
// runs from: mlops::Workspace::DefaultDir()), --data,
// --learning_rate, --epochs, --l2, --test_fraction, --seed.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "examples/quickstart/quickstart.h"
#include "fmt/format.h"
#include "mlops/core/workspace.h"
#include "mlops/lineage/export.h"
#include "mlops/base/file_io.h"

ABSL_FLAG(std::string, workspace, "",
          "workspace directory (relative paths are taken from where the command runs; "
          "default: $MLOPS_WORKSPACE, else .mlops there)");
ABSL_FLAG(std::string, data, "", "the CSV (default: the bundled breast_cancer.csv)");
ABSL_FLAG(double, learning_rate, 0.1, "gradient-descent step size");
ABSL_FLAG(int32_t, epochs, 300, "passes over the training set");
ABSL_FLAG(double, l2, 0.001, "L2 regularization strength");
ABSL_FLAG(double, test_fraction, 0.25, "share of rows held out for evaluation");
ABSL_FLAG(uint64_t, seed, 42, "seed of the train/test split");

namespace {

// `bazel run` starts programs in their runfiles; user paths are relative to where the
// command was typed.
std::string UserPath(const std::string& path) {
  const char* cwd = std::getenv("BUILD_WORKING_DIRECTORY");
  if (cwd == nullptr || path.empty() || path[0] == '/') return path;
  return std::string(cwd) + "/" + path;
}

// Prints one line per step call: whether it came from the cache, how long it took.
template <typename T>
void Report(const char* step, const mlops::Stored<T>& out,
            std::chrono::steady_clock::duration took) {
  fmt::print("  {:<12} {:<24} {:>9.3f} ms   output {}\n", step,
             out.cached() ? "from the cache" : "computed",
             std::chrono::duration<double, std::milli>(took).count(), out.digest().ShortHex());
}

int Fail(const absl::Status& status) {
  fmt::print(stderr, "error: {}\n", status.ToString());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("mlops quickstart: logistic regression with cached, traced steps");
  absl::ParseCommandLine(argc, argv);
  const std::string flag = absl::GetFlag(FLAGS_workspace);
  const std::string dir = flag.empty() ? mlops::Workspace::DefaultDir() : UserPath(flag);
  std::string data = absl::GetFlag(FLAGS_data);
  data = data.empty() ? "examples/data/breast_cancer.csv" : UserPath(data);

  mlops::WorkspaceOptions options;
  options.program = "quickstart";
  options.experiment = "quickstart";  // every run of it, whatever its flags: see README.md
  absl::StatusOr<std::unique_ptr<mlops::Workspace>> opened = mlops::Workspace::Open(dir, options);
  if (!opened.ok()) return Fail(opened.status());
  mlops::Workspace& ws = **opened;

  // The steps: a name, a version (bump it when the code changes), and a function.
  const auto load = mlops::MakeStep("load", 1, &quickstart::Load);
  const auto standardize = mlops::MakeStep("standardize", 1, &quickstart::Standardize);
  const auto split = mlops::MakeStep("split", 1, &quickstart::Split);
  const auto train = mlops::MakeStep("train", 2, &quickstart::Train);
  const auto evaluate = mlops::MakeStep("evaluate", 1, &quickstart::Evaluate);

  const quickstart::TrainParams params{absl::GetFlag(FLAGS_learning_rate),
                                       absl::GetFlag(FLAGS_epochs), absl::GetFlag(FLAGS_l2)};
  fmt::print("mlops quickstart (run {} in {})\n", ws.run_id(), dir);
  using Clock = std::chrono::steady_clock;

  auto t = Clock::now();
  auto raw = ws.Call(load, mlops::File(data));
  if (!raw.ok()) return Fail(raw.status());
  Report("load", *raw, Clock::now() - t);

  t = Clock::now();
  auto scaled = ws.Call(standardize, *raw);
  if (!scaled.ok()) return Fail(scaled.status());
  Report("standardize", *scaled, Clock::now() - t);

  t = Clock::now();
  auto parts = ws.Call(split, *scaled, absl::GetFlag(FLAGS_test_fraction),
                       absl::GetFlag(FLAGS_seed));
  if (!parts.ok()) return Fail(parts.status());
  const auto& [train_set, test_set] = *parts;
  Report("split", train_set, Clock::now() - t);

  t = Clock::now();
  auto model = ws.Call(train, train_set, params);
  if (!model.ok()) return Fail(model.status());
  Report("train", *model, Clock::now() - t);

  t = Clock::now();
  auto metrics = ws.Call(evaluate, *model, test_set);
  if (!metrics.ok()) return Fail(metrics.status());
  Report("evaluate", *metrics, Clock::now() - t);

  fmt::print("\nlearning_rate={} epochs={} l2={}: accuracy {:.4f}, AUC {:.4f} on {} test rows\n",
             params.learning_rate, params.epochs, params.l2, (*metrics)->accuracy,
             (*metrics)->auc, (*metrics)->test_rows);

  // Lineage: everything upstream of the metrics, as a Graphviz file.
  if (absl::Status s = ws.Flush(); !s.ok()) return Fail(s);
  absl::StatusOr<mlops::Subgraph> graph =
      ws.lineage().Upstream(mlops::LineageNode::Of(metrics->digest()));
  if (!graph.ok()) return Fail(graph.status());
  const std::string dot_path = dir + "/quickstart_lineage.dot";
  if (absl::Status s = mlops::WriteFileAtomically(dot_path, mlops::ToDot(*graph)); !s.ok()) {
    return Fail(s);
  }
  fmt::print(
      "\nLineage of this run is in {0}/lineage.db (SQLite). To look at it:\n"
      "  bazel run //tools:mlops -- --workspace {0} show run:{2}   # its executions, hits\n"
      "  bazel run //tools:mlops -- --workspace {0} runs           # all runs\n"
      "  dot -Tsvg {1} -o lineage.svg      # the graph behind these metrics (graphviz)\n"
      "Run it again with another --learning_rate, then find the best run of the experiment:\n"
      "  bazel run //tools:mlops -- --workspace {0} runs --experiment quickstart "
      "--order-by 'metrics.auc DESC' --columns params.learning_rate,metrics.auc\n",
      dir, dot_path, ws.run_id());
  return 0;
}
