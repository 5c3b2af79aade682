// BM_LogMetricPoints and its baseline, for //benchmarks:track_benchmark: a step logs
// 1,000,000 points of one metric (ctx.LogMetric with a step), and the iteration ends when
// they are committed (Workspace::Flush). Counters: wall ns per point until committed, and
// the step's own ns per point (the caller's thread). The baseline inserts as many
// (step, value, time) rows into a bare SQLite table, in one transaction, with one prepared
// statement. MLOPS_BENCH_POINTS sets the number of points (the smoke test runs few).
#include <sqlite3.h>
#include <stdlib.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include <benchmark/benchmark.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "mlops/core/context.h"
#include "mlops/core/step.h"
#include "mlops/core/workspace.h"

namespace {

int64_t Points() {
  const char* n = std::getenv("MLOPS_BENCH_POINTS");
  return n != nullptr ? std::atoll(n) : 1000000;
}

std::string FreshBenchDir(const char* stem) {
  const char* base = std::getenv("MLOPS_BENCH_DIR");
  std::string tmpl = absl::StrCat(base ? base : "/tmp", "/", stem, ".XXXXXX");
  if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
  return tmpl;
}

void RemoveDir(const std::string& dir) {
  if (std::system(absl::StrCat("rm -rf '", dir, "'").c_str()) != 0) {
    std::fprintf(stderr, "could not remove %s\n", dir.c_str());
  }
}

// How long the step spent logging, for the caller's counter.
absl::Duration logging;

const auto kLogPoints = mlops::MakeStep("log_points", 1, [](mlops::Context& ctx, int64_t seed) {
  const int64_t n = Points();
  const absl::Time start = absl::Now();
  for (int64_t i = 0; i < n; ++i) ctx.LogMetric("loss", 1.0 / (i + 1 + seed), i);
  logging = absl::Now() - start;
  return seed;
});

void BM_LogMetricPoints(benchmark::State& state) {
  const std::string dir = FreshBenchDir("mlops_track_points");
  std::unique_ptr<mlops::Workspace> ws = *mlops::Workspace::Open(dir);
  int64_t seed = 0;
  absl::Duration caller;
  for (auto _ : state) {
    // A new input each time: the step runs (a hit would log nothing).
    if (!ws->Call(kLogPoints, seed++).ok()) state.SkipWithError("the call failed");
    if (!ws->Flush().ok()) state.SkipWithError("the flush failed");
    caller += logging;
  }
  const double points = static_cast<double>(Points()) * state.iterations();
  state.counters["ns_per_point"] = benchmark::Counter(
      points, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["caller_ns_per_point"] = absl::ToDoubleNanoseconds(caller) / points;
  ws.reset();
  RemoveDir(dir);
}
BENCHMARK(BM_LogMetricPoints)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_BareSqliteInsertPoints(benchmark::State& state) {
  const std::string dir = FreshBenchDir("mlops_track_bare");
  sqlite3* db = nullptr;
  sqlite3_open((dir + "/bare.db").c_str(), &db);
  sqlite3_exec(db,
               "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
               "CREATE TABLE points(owner INTEGER, step INTEGER, value REAL, time_us INTEGER);",
               nullptr, nullptr, nullptr);
  sqlite3_stmt* insert = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO points VALUES(?1, ?2, ?3, ?4)", -1, &insert, nullptr);
  int64_t owner = 0;
  for (auto _ : state) {
    const int64_t n = Points();
    sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
    ++owner;
    for (int64_t i = 0; i < n; ++i) {
      sqlite3_bind_int64(insert, 1, owner);
      sqlite3_bind_int64(insert, 2, i);
      sqlite3_bind_double(insert, 3, 1.0 / (i + 1));
      sqlite3_bind_int64(insert, 4, absl::ToUnixMicros(absl::Now()));
      sqlite3_step(insert);
      sqlite3_reset(insert);
    }
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  }
  state.counters["ns_per_point"] = benchmark::Counter(
      static_cast<double>(Points()) * state.iterations(),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  sqlite3_finalize(insert);
  sqlite3_close(db);
  RemoveDir(dir);
}
BENCHMARK(BM_BareSqliteInsertPoints)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
