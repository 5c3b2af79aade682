// Pipeline overhead and parallelism, next to baselines measured in the same run:
//   BM_PlainCalls/N               the nodes' function called N times directly
//   BM_PipelineAllHits/N          a fully cached pipeline of N nodes (64 independent chains)
//                                 run again: scheduling, digest-only hit, lineage record per
//                                 node (values from the in-process memory tier's records).
//                                 Goal: <= 10 us per node (the s_per_node counter).
//   BM_PipelineAllHitsFromDisk/N  the same with no memory tier: every action record is read
//                                 from disk, as in a fresh process.
//   BM_PipelineAllHitsNoLineage/N the same as AllHits in read-only mode, which records no
//                                 lineage: scheduling and cache lookups alone. (Each recorded
//                                 execution costs the SQLite lineage store ~19 us of its
//                                 writer's time, as lineage_benchmark measures, which bounds
//                                 the recorded variants' wall time.)
//   BM_PipelineParallel/P         16 independent CPU-bound nodes, recomputed every time
//                                 (force mode), with P threads. Goal: P=2 >= 1.8x P=1 on 2
//                                 cores.
//
//   bazel run -c opt //benchmarks:pipeline_benchmark
//   MLOPS_BENCH_NODES=2000 MLOPS_BENCH_WORK=100000 bazel run //benchmarks:pipeline_benchmark
#include <stdlib.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmarks/ratio_main.h"
#include "mlops/core/workspace.h"
#include "mlops/pipeline/pipeline.h"

namespace {

constexpr int kChains = 64;

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoll(v) : fallback;
}
// Nodes of the all-hits pipeline, and LCG steps per CPU-bound node (about 1 ns each).
const int64_t kNodes = EnvInt("MLOPS_BENCH_NODES", 100000);
const int64_t kWork = EnvInt("MLOPS_BENCH_WORK", 20000000);

const std::string& Root() {
  static const std::string* root = [] {
    const char* base = std::getenv("MLOPS_BENCH_DIR");
    std::string tmpl_s = std::string(base ? base : "/tmp") + "/mlops_pipeline_benchmark.XXXXXX";
    char* tmpl = tmpl_s.data();
    if (::mkdtemp(tmpl) == nullptr) std::abort();
    return new std::string(tmpl);
  }();
  return *root;
}

mlops::Workspace& Ws(int64_t memory_cache_bytes = int64_t{64} << 20) {
  static auto* cache = new std::map<int64_t, std::unique_ptr<mlops::Workspace>>();
  auto& ws = (*cache)[memory_cache_bytes];
  if (ws == nullptr) {
    mlops::WorkspaceOptions options;
    options.memory_cache_bytes = memory_cache_bytes;
    ws = *mlops::Workspace::Open(Root() + "/ws", options);  // one directory, shared
  }
  return *ws;
}

// Wraps around (in unsigned arithmetic: signed overflow would be undefined).
int64_t Bump(int64_t previous, int i) {
  return static_cast<int64_t>(static_cast<uint64_t>(previous) * 31 + static_cast<uint64_t>(i));
}
const auto kStart = mlops::MakeStep("start", 1, [](int i) { return int64_t{i}; });
const auto kBump = mlops::MakeStep("bump", 1, &Bump);

// kNodes nodes in kChains chains; the targets are the chains' last nodes.
struct Chains {
  mlops::Pipeline pipeline{"chains"};
  std::vector<mlops::NodeRef> targets;
};
Chains& AllHitsPipeline() {
  static Chains* chains = [] {
    auto* c = new Chains;
    std::vector<mlops::Handle<int64_t>> nodes;
    nodes.reserve(static_cast<size_t>(kNodes));
    for (int i = 0; i < kNodes; ++i) {
      const std::string name = absl::StrCat("n", i);
      nodes.push_back(
          i < kChains ? c->pipeline.Add(name, kStart, i)
                      : c->pipeline.Add(name, kBump, nodes[static_cast<size_t>(i - kChains)], i));
    }
    for (int64_t i = std::max<int64_t>(0, kNodes - kChains); i < kNodes; ++i) {
      c->targets.push_back(nodes[static_cast<size_t>(i)]);
    }
    // Compute everything once, outside any timing.
    absl::StatusOr<mlops::RunResult> r = c->pipeline.Run(Ws(), c->targets);
    if (!r.ok() || !r->status().ok()) std::abort();
    // ...including its lineage, which would otherwise still be queued when timing starts.
    if (!Ws().Flush().ok()) std::abort();
    return c;
  }();
  return *chains;
}

void BM_PlainCalls(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  for (auto _ : state) {
    int64_t v = 0;
    for (int i = 0; i < n; ++i) {
      v = Bump(v, i);
      benchmark::DoNotOptimize(v);
    }
  }
  state.counters["s_per_node"] =
      benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate |
                                                     benchmark::Counter::kInvert);
}
BENCHMARK(BM_PlainCalls)->Arg(kNodes)->UseRealTime();

void AllHits(benchmark::State& state, mlops::Workspace& ws,
             mlops::CacheMode mode = mlops::CacheMode::kNormal) {
  Chains& c = AllHitsPipeline();
  mlops::RunOptions options;
  options.show_progress = false;
  options.mode = mode;
  for (auto _ : state) {
    absl::StatusOr<mlops::RunResult> r = c.pipeline.Run(ws, c.targets, options);
    if (!r.ok() || r->hits() != kNodes) {
      state.SkipWithError("not all hits");
      break;
    }
  }
  ws.Flush().IgnoreError();
  state.counters["s_per_node"] = benchmark::Counter(
      static_cast<double>(kNodes),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

// Five runs each: one run of 100,000 nodes takes about a second, and a single one (what
// the default minimum time gives) still carries the first run's warm-up.
void BM_PipelineAllHits(benchmark::State& state) { AllHits(state, Ws()); }
BENCHMARK(BM_PipelineAllHits)->Arg(kNodes)->Iterations(5)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_PipelineAllHitsFromDisk(benchmark::State& state) {
  AllHitsPipeline();  // computed through the other workspace
  AllHits(state, Ws(0));
}
BENCHMARK(BM_PipelineAllHitsFromDisk)->Arg(kNodes)->Iterations(5)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_PipelineAllHitsNoLineage(benchmark::State& state) {
  AllHits(state, Ws(), mlops::CacheMode::kReadOnly);
}
BENCHMARK(BM_PipelineAllHitsNoLineage)->Arg(kNodes)->Iterations(5)->UseRealTime()->Unit(benchmark::kMillisecond);

// CPU-bound: kWork steps of a 64-bit LCG.
uint64_t Churn(int seed) {
  uint64_t x = static_cast<uint64_t>(seed);
  for (int64_t i = 0; i < kWork; ++i) x = x * 6364136223846793005ULL + 1442695040888963407ULL;
  return x;
}
const auto kChurn = mlops::MakeStep("churn", 1, &Churn);

void BM_PipelineParallel(benchmark::State& state) {
  static mlops::Pipeline* p = [] {
    auto* pipeline = new mlops::Pipeline("parallel");
    for (int i = 0; i < 16; ++i) pipeline->Add(absl::StrCat("churn", i), kChurn, i);
    return pipeline;
  }();
  mlops::RunOptions options;
  options.parallelism = static_cast<int>(state.range(0));
  options.mode = mlops::CacheMode::kForce;
  options.show_progress = false;
  for (auto _ : state) {
    absl::StatusOr<mlops::RunResult> r = p->RunAll(Ws(), options);
    if (!r.ok() || r->ran() != 16) {
      state.SkipWithError("not all ran");
      break;
    }
  }
  Ws().Flush().IgnoreError();
}
BENCHMARK(BM_PipelineParallel)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  const std::string n = absl::StrCat(kNodes);
  const std::string five = "/iterations:5/real_time";
  const std::string plain = "BM_PlainCalls/" + n + "/real_time";
  const int rc = mlops_bench::RunWithRatios(
      argc, argv,
      {
          {"BM_PipelineAllHits/" + n + five, plain, "time"},
          {"BM_PipelineAllHitsFromDisk/" + n + five, plain, "time"},
          {"BM_PipelineAllHitsNoLineage/" + n + five, plain, "time"},
          {"BM_PipelineParallel/2/real_time", "BM_PipelineParallel/1/real_time", "time"},
      });
  const std::string cmd = "rm -rf '" + Root() + "'";
  if (std::system(cmd.c_str()) != 0) return 1;
  return rc;
}
