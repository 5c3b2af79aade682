// Step call overhead, next to a plain function call in the same run:
//   BM_PlainCall      the function called directly
//   BM_CallHitSmall   a cached step (small int/string inputs and output), lineage on
//   BM_CallMissSmall  the same step on new inputs every time (durability off), sustained:
//                     the timing includes writing every result (the last iteration waits
//                     for the write-behind queue), so it is bound by the slower of the
//                     caller and the writer thread
//   BM_PlainWork / BM_CallMissWork
//                     a step that works for 100 us, called directly / missing every time:
//                     the difference is what a miss adds to a step that does real work
//                     (the writer thread then writes while the next step runs)
// on a disk workspace, plus the hit path without the in-process memory tier (every hit
// read from disk, as a fresh process would). Goals: hit overhead <= 5 us, miss <= 50 us.
//
//   bazel run //benchmarks:step_benchmark
#include <stdlib.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "benchmarks/ratio_main.h"
#include "mlops/core/workspace.h"

namespace {

const std::string& Root() {
  static const std::string* root = [] {
    const char* base = std::getenv("MLOPS_BENCH_DIR");
    std::string tmpl_s = std::string(base ? base : "/tmp") + "/mlops_step_benchmark.XXXXXX";
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
    ws = *mlops::Workspace::Open(absl::StrCat(Root(), "/ws", memory_cache_bytes), options);
  }
  return *ws;
}

// The small step: an int and a short string in, a short string out.
std::string Label(int x, const std::string& prefix) { return absl::StrCat(prefix, x * 2 + 1); }

const auto kLabel = mlops::MakeStep("label", 1, &Label);

void BM_PlainCall(benchmark::State& state) {
  int i = 0;
  for (auto _ : state) {
    std::string s = Label(i++ & 1023, "run-");
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_PlainCall);

void BM_CallHitSmall(benchmark::State& state) {
  mlops::Workspace& ws = Ws();
  for (int i = 0; i < 1024; ++i) (void)ws.Call(kLabel, i, std::string("run-"));
  ws.Flush().IgnoreError();  // the warm-up's writes and lineage, before the timing
  int i = 0;
  for (auto _ : state) {
    auto r = ws.Call(kLabel, i++ & 1023, std::string("run-"));
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      break;
    }
  }
  ws.Flush().IgnoreError();
}
BENCHMARK(BM_CallHitSmall);

// Every hit read from disk (the action cache record and the value), no memory tier.
void BM_CallHitSmallFromDisk(benchmark::State& state) {
  mlops::Workspace& ws = Ws(0);
  for (int i = 0; i < 1024; ++i) (void)ws.Call(kLabel, i, std::string("run-"));
  ws.Flush().IgnoreError();  // the warm-up's writes and lineage, before the timing
  int i = 0;
  for (auto _ : state) {
    auto r = ws.Call(kLabel, i++ & 1023, std::string("run-"));
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      break;
    }
  }
  ws.Flush().IgnoreError();
}
BENCHMARK(BM_CallHitSmallFromDisk);

void BM_CallMissSmall(benchmark::State& state) {
  mlops::Workspace& ws = Ws();
  static int next = 1 << 20;  // inputs never seen before
  benchmark::IterationCount left = state.max_iterations;
  for (auto _ : state) {
    auto r = ws.Call(kLabel, next++, std::string("run-"));
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      break;
    }
    if (--left == 0) {  // the last iteration: every result written (and lineage committed)
      absl::Status s = ws.Flush();
      if (!s.ok()) state.SkipWithError(s.ToString().c_str());
    }
  }
}
BENCHMARK(BM_CallMissSmall);

// 100 us of work that depends on its input (so it cannot be hoisted or cached).
int64_t Work(int64_t x) {
  const absl::Time until = absl::Now() + absl::Microseconds(100);
  uint64_t acc = static_cast<uint64_t>(x);  // unsigned: the multiplication wraps, defined
  while (absl::Now() < until) {
    for (int i = 0; i < 64; ++i) acc = acc * 6364136223846793005u % 1000000007u + 1;
  }
  return static_cast<int64_t>(acc);
}

const auto kWork = mlops::MakeStep("work", 1, &Work);

void BM_PlainWork(benchmark::State& state) {
  int64_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(Work(i++));
}
BENCHMARK(BM_PlainWork);

void BM_CallMissWork(benchmark::State& state) {
  mlops::Workspace& ws = Ws();
  static int64_t next = int64_t{1} << 40;  // inputs never seen before
  benchmark::IterationCount left = state.max_iterations;
  for (auto _ : state) {
    auto r = ws.Call(kWork, next++);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      break;
    }
    if (--left == 0) {
      absl::Status s = ws.Flush();
      if (!s.ok()) state.SkipWithError(s.ToString().c_str());
    }
  }
}
BENCHMARK(BM_CallMissWork);

}  // namespace

int main(int argc, char** argv) {
  const int rc = mlops_bench::RunWithRatios(argc, argv,
                                            {
                                                {"BM_CallHitSmall", "BM_PlainCall", "time"},
                                                {"BM_CallHitSmallFromDisk", "BM_PlainCall", "time"},
                                                {"BM_CallMissSmall", "BM_PlainCall", "time"},
                                                {"BM_CallMissWork", "BM_PlainWork", "overhead"},
                                            });
  const std::string cmd = "rm -rf '" + Root() + "'";
  if (std::system(cmd.c_str()) != 0) return 1;
  return rc;
}
