// A large workspace for trying the `mlops` command line at scale (not a test; nothing runs
// it automatically):
//
//   bazel build //tools:make_scale_workspace
//   bazel-bin/tools/make_scale_workspace /tmp/big 100000 10   # DIR EXECUTIONS RUNS [CHAIN]
//
// Records EXECUTIONS executions (half "ramp", half "sum" of that ramp's output, each on its
// own input) spread over RUNS runs, every output stored, then one more run that repeats the
// first 1,000 calls, all cache hits. With CHAIN, a last run adds CHAIN executions of "step",
// each reading the previous one's output: a lineage CHAIN executions deep.
#include <cstdio>
#include <algorithm>
#include <cstdlib>
#include <numeric>
#include <string>
#include <vector>

#include "mlops/core/workspace.h"

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) {
    std::fprintf(stderr, "usage: %s DIR EXECUTIONS RUNS [CHAIN]\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const long executions = std::atol(argv[2]), runs = std::atol(argv[3]);
  const long chain = argc == 5 ? std::atol(argv[4]) : 0;
  if (executions <= 0 || runs <= 0) {
    std::fprintf(stderr, "EXECUTIONS and RUNS must be positive\n");
    return 2;
  }
  const auto ramp = mlops::MakeStep("ramp", 1, [](int n, double scale) {
    std::vector<double> v(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) v[static_cast<size_t>(i)] = i * scale;
    return v;
  });
  const auto sum = mlops::MakeStep("sum", 1, [](const std::vector<double>& v) {
    return std::accumulate(v.begin(), v.end(), 0.0);
  });
  const long calls = executions / 2, per_run = (calls + runs - 1) / runs;
  const auto run = [&](long first, long last) -> bool {
    mlops::WorkspaceOptions options;
    options.program = "make_scale_workspace";
    auto ws = mlops::Workspace::Open(dir, options);
    if (!ws.ok()) {
      std::fprintf(stderr, "%s\n", ws.status().ToString().c_str());
      return false;
    }
    for (long i = first; i < last; ++i) {
      auto v = (*ws)->Call(ramp, 8, static_cast<double>(i));
      if (!v.ok()) {
        std::fprintf(stderr, "%s\n", v.status().ToString().c_str());
        return false;
      }
      auto s = (*ws)->Call(sum, *v);
      if (!s.ok()) {
        std::fprintf(stderr, "%s\n", s.status().ToString().c_str());
        return false;
      }
    }
    const absl::Status flushed = (*ws)->Flush();
    if (!flushed.ok()) std::fprintf(stderr, "%s\n", flushed.ToString().c_str());
    return flushed.ok();
  };
  for (long first = 0; first < calls; first += per_run) {
    if (!run(first, std::min(calls, first + per_run))) return 1;
  }
  if (!run(0, std::min(calls, 1000L))) return 1;
  if (chain <= 0) return 0;
  const auto step = mlops::MakeStep("step", 1, [](const std::vector<double>& v) {
    std::vector<double> next = v;
    for (double& x : next) x += 1;
    return next;
  });
  mlops::WorkspaceOptions options;
  options.program = "make_scale_workspace_chain";
  auto ws = mlops::Workspace::Open(dir, options);
  if (!ws.ok()) {
    std::fprintf(stderr, "%s\n", ws.status().ToString().c_str());
    return 1;
  }
  auto v = (*ws)->Call(ramp, 8, -1.0);
  for (long i = 0; i < chain && v.ok(); ++i) v = (*ws)->Call(step, *v);
  if (!v.ok()) {
    std::fprintf(stderr, "%s\n", v.status().ToString().c_str());
    return 1;
  }
  std::printf("the chain ends at %s\n", v->digest().ToHex().c_str());
  const absl::Status flushed = (*ws)->Flush();
  if (!flushed.ok()) std::fprintf(stderr, "%s\n", flushed.ToString().c_str());
  return flushed.ok() ? 0 : 1;
}
