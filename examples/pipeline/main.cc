// The quickstart as a pipeline: load → standardize → split, then one branch per learning
// rate (train → evaluate → candidate) trained in parallel, and a chain of `better` nodes
// that picks the best candidate by AUC.
//
//   bazel run //examples/pipeline                                    # computes every node
//   bazel run //examples/pipeline                                    # all from the cache
//   bazel run //examples/pipeline -- --learning_rates=0.03,0.1,0.5   # reruns one branch
//
// After each run it prints, from the lineage of this run, which nodes were computed and
// how many came from the cache, and writes the graph (coloured by what happened) to
// <workspace>/pipeline.dot.
//
// Flags: --workspace, --data, --learning_rates, --epochs, --l2, --test_fraction, --seed,
// --parallelism.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <utility>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "examples/quickstart/quickstart.h"
#include "fmt/format.h"
#include "mlops/base/file_io.h"
#include "mlops/core/workspace.h"
#include "mlops/pipeline/pipeline.h"

ABSL_FLAG(std::string, workspace, ".mlops",
          "workspace directory (relative paths are taken from where the command runs)");
ABSL_FLAG(std::string, data, "", "the CSV (default: the bundled breast_cancer.csv)");
ABSL_FLAG(std::vector<std::string>, learning_rates,
          std::vector<std::string>({"0.03", "0.1", "0.3"}),
          "one model per learning rate, trained in parallel");
ABSL_FLAG(int32_t, epochs, 300, "passes over the training set");
ABSL_FLAG(double, l2, 0.001, "L2 regularization strength");
ABSL_FLAG(double, test_fraction, 0.25, "share of rows held out for evaluation");
ABSL_FLAG(uint64_t, seed, 42, "seed of the train/test split");
ABSL_FLAG(int32_t, parallelism, 0, "threads running nodes (0: one per core)");

namespace sweep {

// A model's hyperparameters and how well it did.
struct Candidate {
  quickstart::TrainParams params;
  quickstart::Metrics metrics;
};
MLOPS_CODEC_FIELDS(Candidate, params, metrics);

}  // namespace sweep

namespace {

using sweep::Candidate;

Candidate MakeCandidate(const quickstart::TrainParams& params, const quickstart::Metrics& m) {
  return Candidate{params, m};
}

// The better of two candidates: higher AUC, then higher accuracy; the first on a tie.
Candidate Better(const Candidate& a, const Candidate& b) {
  if (b.metrics.auc != a.metrics.auc) return b.metrics.auc > a.metrics.auc ? b : a;
  return b.metrics.accuracy > a.metrics.accuracy ? b : a;
}

std::string UserPath(const std::string& path) {
  const char* cwd = std::getenv("BUILD_WORKING_DIRECTORY");
  if (cwd == nullptr || path.empty() || path[0] == '/') return path;
  return std::string(cwd) + "/" + path;
}

int Fail(const absl::Status& status) {
  fmt::print(stderr, "error: {}\n", status.ToString());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("mlops pipeline example: several models trained in parallel");
  absl::ParseCommandLine(argc, argv);
  const std::string dir = UserPath(absl::GetFlag(FLAGS_workspace));
  std::string data = absl::GetFlag(FLAGS_data);
  data = data.empty() ? "examples/data/breast_cancer.csv" : UserPath(data);
  std::vector<double> rates;
  for (const std::string& s : absl::GetFlag(FLAGS_learning_rates)) {
    double r = 0;
    if (!absl::SimpleAtod(s, &r) || !(r > 0)) {
      return Fail(absl::InvalidArgumentError("bad learning rate '" + s + "'"));
    }
    rates.push_back(r);
  }
  if (rates.empty()) return Fail(absl::InvalidArgumentError("no learning rates"));

  // The steps: the quickstart's, and two small ones to compare models.
  const auto load = mlops::MakeStep("load", 1, &quickstart::Load);
  const auto standardize = mlops::MakeStep("standardize", 1, &quickstart::Standardize);
  const auto split = mlops::MakeStep("split", 1, &quickstart::Split);
  const auto train = mlops::MakeStep("train", 2, &quickstart::Train);
  const auto evaluate = mlops::MakeStep("evaluate", 1, &quickstart::Evaluate);
  const auto candidate = mlops::MakeStep("candidate", 1, &MakeCandidate);
  const auto better = mlops::MakeStep("better", 1, &Better);

  // The graph. Nothing runs while it is built.
  mlops::Pipeline p("quickstart_sweep");
  auto raw = p.Add("load", load, mlops::File(data));
  auto scaled = p.Add("standardize", standardize, raw);
  auto [train_set, test_set] =
      p.Add("split", split, scaled, absl::GetFlag(FLAGS_test_fraction), absl::GetFlag(FLAGS_seed));
  std::vector<mlops::NodeRef> targets;
  std::vector<mlops::Handle<quickstart::Metrics>> metrics;
  mlops::Handle<Candidate> best;
  for (size_t i = 0; i < rates.size(); ++i) {
    const std::string tag = absl::StrCat("[lr=", rates[i], "]");
    const quickstart::TrainParams params{rates[i], absl::GetFlag(FLAGS_epochs),
                                         absl::GetFlag(FLAGS_l2)};
    auto model = p.Add("train" + tag, train, train_set, params);
    metrics.push_back(p.Add("evaluate" + tag, evaluate, model, test_set));
    auto c = p.Add("candidate" + tag, candidate, params, metrics.back());
    best = i == 0 ? c : p.Add(absl::StrCat("better_", i), better, best, c);
    targets.push_back(metrics.back());
  }
  targets.push_back(best);

  mlops::WorkspaceOptions options;
  options.program = "pipeline_example";
  options.experiment = "quickstart_sweep";
  absl::StatusOr<std::unique_ptr<mlops::Workspace>> opened = mlops::Workspace::Open(dir, options);
  if (!opened.ok()) return Fail(opened.status());
  mlops::Workspace& ws = **opened;
  fmt::print("mlops pipeline example (run {} in {}): {} nodes\n", ws.run_id(), dir, p.size());

  mlops::RunOptions run_options;
  run_options.parallelism = absl::GetFlag(FLAGS_parallelism);
  absl::StatusOr<mlops::RunResult> result = p.Run(ws, targets, run_options);
  if (!result.ok()) return Fail(result.status());

  for (size_t i = 0; i < rates.size(); ++i) {
    absl::StatusOr<mlops::Stored<quickstart::Metrics>> m = result->Get(metrics[i]);
    if (!m.ok()) {
      fmt::print("  lr={:<8} failed: {}\n", rates[i], m.status().ToString());
      continue;
    }
    fmt::print("  lr={:<8} accuracy {:.4f}, AUC {:.4f}  ({})\n", rates[i], (*m)->accuracy,
               (*m)->auc, m->cached() ? "from the cache" : "computed");
  }
  absl::StatusOr<mlops::Stored<Candidate>> winner = result->Get(best);
  if (winner.ok()) {
    fmt::print("best: lr={} (AUC {:.4f}, accuracy {:.4f})\n", (*winner)->params.learning_rate,
               (*winner)->metrics.auc, (*winner)->metrics.accuracy);
  }

  // What this run did, from its lineage: computed nodes by name, and the number of hits.
  if (absl::Status s = ws.Flush(); !s.ok()) return Fail(s);
  absl::StatusOr<std::vector<mlops::Execution>> execs = ws.lineage().ExecutionsOfRun(ws.run_id());
  if (!execs.ok()) return Fail(execs.status());
  std::map<int64_t, mlops::Execution::Status> status_of;
  int cached = 0, failed = 0;
  for (const mlops::Execution& e : *execs) {
    status_of[e.id()] = e.status();
    if (e.status() == mlops::Execution::CACHED) ++cached;
    if (e.status() == mlops::Execution::FAILED) ++failed;
  }
  std::vector<std::string> computed;  // in pipeline order
  for (const mlops::NodeResult& n : result->nodes()) {
    auto it = status_of.find(n.execution_id);
    if (it != status_of.end() && it->second == mlops::Execution::SUCCEEDED) {
      computed.push_back(n.name);
    }
  }
  fmt::print("lineage of run {}: {} executions; from the cache: {}; failed: {}\n", ws.run_id(),
             execs->size(), cached, failed);
  fmt::print("computed: {}\n", computed.empty() ? "(none)" : absl::StrJoin(computed, " "));

  const std::string dot_path = dir + "/pipeline.dot";
  if (absl::Status s = mlops::WriteFileAtomically(dot_path, p.ToDot(&*result)); !s.ok()) {
    return Fail(s);
  }
  fmt::print("graph: {} (dot -Tsvg {} -o pipeline.svg)\n", dot_path, dot_path);

  // The sweep's candidates, in the lineage: every evaluation of a learning rate (the
  // evaluate step logs auc), best first; and the two best of this run side by side.
  std::vector<std::pair<double, int64_t>> ranked;  // (AUC, evaluate's execution)
  for (size_t i = 0; i < rates.size(); ++i) {
    absl::StatusOr<mlops::Stored<quickstart::Metrics>> m = result->Get(metrics[i]);
    const std::string node = absl::StrCat("evaluate[lr=", rates[i], "]");
    for (const mlops::NodeResult& n : result->nodes()) {
      if (m.ok() && n.name == node && n.execution_id != 0) {
        ranked.emplace_back((*m)->auc, n.execution_id);
      }
    }
  }
  std::sort(ranked.rbegin(), ranked.rend());
  const std::string cli = absl::StrCat("bazel run //tools:mlops -- --workspace ", dir);
  fmt::print("the best candidates of every sweep: {} search --step evaluate "
             "--filter \"attributes.experiment = 'quickstart_sweep'\" "
             "--order-by 'metrics.auc DESC' --limit 3\n", cli);
  if (ranked.size() >= 2) {
    fmt::print("this run's two best side by side: {} compare exec:{} exec:{}\n", cli,
               ranked[0].second, ranked[1].second);
  }
  return result->status().ok() ? 0 : Fail(result->status());
}
