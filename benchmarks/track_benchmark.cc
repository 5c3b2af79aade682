// Experiment tracking speed at scale (mlops/track/search.h).
//
// BM_SearchRuns100k: 100,000 runs with 20 params and 10 metrics each; one iteration is a
// search on one metric and one param, ordered by another metric, for the first 100 runs
// with their values. Goal: <= 50 ms. Baseline in the same run: the same select written by
// hand against the same file with sqlite3 directly (ids, protos and the sort metric; no
// values). BM_OrderRuns100k: the same order and page without a filter, which sorts every
// run (no goal; for the record).
//
// BM_RunListing*: the first page of 100 runs, newest first, with their values, from runs
// whose metric series are short (10 points a series) and long (100,000 points a run). A
// listing shows each metric's last value and never reads the series: goal, long <= 1.2x
// the time of short.
//
// The databases are built once, through the store's API, before the benchmarks that use
// them (not timed; reported as setup_s), in MLOPS_BENCH_DIR (e.g. /dev/shm to leave the
// disk out; else $TEST_TMPDIR or /tmp), and deleted at the end.
//
//   bazel run -c opt //benchmarks:track_benchmark
//   MLOPS_BENCH_RUNS=10000 MLOPS_BENCH_SERIES_POINTS=1000 bazel run //benchmarks:track_benchmark
#include <sqlite3.h>
#include <stdlib.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "benchmarks/ratio_main.h"
#include "mlops/lineage/sqlite_lineage_store.h"
#include "mlops/track/search.h"

namespace {

// Runs in the search database (MLOPS_BENCH_RUNS).
int64_t SearchRunCount() {
  const char* env = std::getenv("MLOPS_BENCH_RUNS");
  return env != nullptr ? std::atoll(env) : 100000;
}

// Points per metric series in the long-series listing database
// (MLOPS_BENCH_SERIES_POINTS); with 10 metrics, 100,000 points a run.
int64_t LongSeriesPoints() {
  const char* env = std::getenv("MLOPS_BENCH_SERIES_POINTS");
  return env != nullptr ? std::atoll(env) : 10000;
}

constexpr int kParams = 20;
constexpr int kMetrics = 10;
constexpr int64_t kPage = 100;
constexpr int64_t kListingRuns = 110;  // a page of 100 and more after it
constexpr int64_t kT0 = 1700000000;

const std::string& Root() {
  static const std::string* root = [] {
    const char* base = std::getenv("MLOPS_BENCH_DIR");
    if (base == nullptr) base = std::getenv("TEST_TMPDIR");
    std::string tmpl = std::string(base ? base : "/tmp") + "/mlops_track_benchmark.XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    return new std::string(tmpl);
  }();
  return *root;
}

// A uniform double in [0, 1) from `x` (splitmix64), the same in every run.
double Uniform(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return static_cast<double>(x >> 11) / 9007199254740992.0;
}

mlops::Run MakeRun(int64_t i) {
  mlops::Run run;
  run.set_program("track_benchmark");
  run.set_experiment("bench");
  run.set_name(absl::StrCat("run-", i));
  run.set_status(mlops::Run::SUCCEEDED);
  run.mutable_start_time()->set_seconds(kT0 + i);
  run.mutable_end_time()->set_seconds(kT0 + i + 5);
  return run;
}

// A database built once, and how long that took.
struct Built {
  std::unique_ptr<mlops::SqliteLineageStore> store;
  double setup_seconds = 0;
  std::string error;  // why it could not be built, if it could not
};

// The databases built so far, by name (each is built by the first benchmark that needs it,
// so that a filtered run builds only those it uses).
std::map<std::string, std::unique_ptr<Built>>& Databases() {
  static auto* databases = new std::map<std::string, std::unique_ptr<Built>>();
  return *databases;
}

template <typename Fill>
Built Build(const std::string& name, Fill fill) {
  Built b;
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<std::unique_ptr<mlops::SqliteLineageStore>> store =
      mlops::SqliteLineageStore::Open(Root() + "/" + name);
  absl::Status s = store.status();
  if (s.ok()) s = fill(**store);
  if (s.ok()) s = (*store)->Flush();
  if (!s.ok()) {
    b.error = s.ToString();
    return b;
  }
  b.store = *std::move(store);
  b.setup_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return b;
}

// --- Search -------------------------------------------------------------------------------

// Run i: params p0..p19 = "v0".."v9" and metrics m0..m9 uniform in [0, 1), logged by one
// execution of step "train" (the store writes those in batches; a run's own params would
// take a transaction each).
Built& SearchDb() {
  std::unique_ptr<Built>& built = Databases()["search.db"];
  if (built != nullptr) return *built;
  built = std::make_unique<Built>(Build("search.db", [](mlops::SqliteLineageStore& store) {
    const int64_t n = SearchRunCount();
    for (int64_t i = 0; i < n; ++i) {
      absl::StatusOr<int64_t> run = store.BeginRun(MakeRun(i));
      if (!run.ok()) return run.status();
      mlops::Execution e;
      e.set_run_id(*run);
      e.set_step_name("train");
      e.set_status(mlops::Execution::SUCCEEDED);
      e.mutable_start_time()->set_seconds(kT0 + i);
      e.mutable_end_time()->set_seconds(kT0 + i + 1);
      for (int p = 0; p < kParams; ++p) {
        const uint64_t v = static_cast<uint64_t>(Uniform(i * 64 + p) * 10);
        (*e.mutable_params())[absl::StrCat("p", p)] = absl::StrCat("v", v);
      }
      for (int m = 0; m < kMetrics; ++m) {
        (*e.mutable_metrics())[absl::StrCat("m", m)] = Uniform(i * 64 + 32 + m);
      }
      absl::StatusOr<int64_t> id = store.RecordExecution(std::move(e));
      if (!id.ok()) return id.status();
    }
    return absl::OkStatus();
  }));
  return *built;
}

constexpr char kFilter[] = "metrics.m3 > 0.9 AND params.p7 = 'v3'";
constexpr char kOrderBy[] = "metrics.m0 DESC";

void BM_SearchRuns100k(benchmark::State& state) {
  Built& db = SearchDb();
  if (db.store == nullptr) {
    state.SkipWithError(db.error.c_str());
    return;
  }
  mlops::track::RunSearch search;
  search.filter = kFilter;
  search.order_by = kOrderBy;
  search.page.max_results = kPage;
  size_t found = 0;
  for (auto _ : state) {
    absl::StatusOr<mlops::Page<mlops::track::FoundRun>> page =
        mlops::track::SearchRuns(*db.store, search);
    if (!page.ok() || page->items.empty() || page->items[0].values.params.size() != kParams) {
      state.SkipWithError(page.ok() ? "no values" : page.status().ToString().c_str());
      return;
    }
    found = page->items.size();
    benchmark::DoNotOptimize(page->items.data());
  }
  state.counters["runs"] = static_cast<double>(SearchRunCount());
  state.counters["found"] = static_cast<double>(found);
  state.counters["setup_s"] = db.setup_seconds;
}
BENCHMARK(BM_SearchRuns100k)->Unit(benchmark::kMillisecond);

// No filter: every run is sorted by one metric for the first 100 (no index gives that
// order with the runs that lack the metric last).
void BM_OrderRuns100k(benchmark::State& state) {
  Built& db = SearchDb();
  if (db.store == nullptr) {
    state.SkipWithError(db.error.c_str());
    return;
  }
  mlops::track::RunSearch search;
  search.order_by = kOrderBy;
  search.page.max_results = kPage;
  for (auto _ : state) {
    absl::StatusOr<mlops::Page<mlops::track::FoundRun>> page =
        mlops::track::SearchRuns(*db.store, search);
    if (!page.ok() || page->items.size() != static_cast<size_t>(kPage)) {
      state.SkipWithError(page.ok() ? "wrong page" : page.status().ToString().c_str());
      return;
    }
    benchmark::DoNotOptimize(page->items.data());
  }
}
BENCHMARK(BM_OrderRuns100k)->Unit(benchmark::kMillisecond);

// Baseline: the same select, written by hand, on the same file through sqlite3 directly.
void BM_BareSqliteSearch(benchmark::State& state) {
  Built& db = SearchDb();
  if (db.store == nullptr) {
    state.SkipWithError(db.error.c_str());
    return;
  }
  sqlite3* conn = nullptr;
  if (sqlite3_open_v2((Root() + "/search.db").c_str(), &conn, SQLITE_OPEN_READONLY, nullptr) !=
      SQLITE_OK) {
    state.SkipWithError("cannot open search.db");
    sqlite3_close(conn);
    return;
  }
  sqlite3_stmt* q = nullptr;
  sqlite3_prepare_v2(
      conn,
      "SELECT r.id, r.proto, s.value FROM runs r "
      "JOIN run_metrics s ON s.run_id = r.id AND s.key = 'm0' "
      "WHERE r.id IN (SELECT run_id FROM run_params WHERE key = 'p7' AND value = 'v3') "
      "AND EXISTS (SELECT 1 FROM run_metrics m WHERE m.run_id = r.id AND m.key = 'm3' "
      "AND m.value > 0.9) "
      "ORDER BY s.value DESC, r.start_us DESC, r.id DESC LIMIT 100",
      -1, &q, nullptr);
  size_t found = 0;
  for (auto _ : state) {
    found = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
      benchmark::DoNotOptimize(sqlite3_column_blob(q, 1));
      benchmark::DoNotOptimize(sqlite3_column_double(q, 2));
      ++found;
    }
    sqlite3_reset(q);
  }
  if (found == 0) state.SkipWithError("the bare select found nothing");
  state.counters["found"] = static_cast<double>(found);
  sqlite3_finalize(q);
  sqlite3_close(conn);
}
BENCHMARK(BM_BareSqliteSearch)->Unit(benchmark::kMillisecond);

// --- Listing ------------------------------------------------------------------------------

// kListingRuns runs, each with 20 params of its own and 10 metric series of
// `points_per_series` points.
Built MakeListingDb(const std::string& name, int64_t points_per_series) {
  return Build(name, [points_per_series](mlops::SqliteLineageStore& store) {
    for (int64_t i = 0; i < kListingRuns; ++i) {
      absl::StatusOr<int64_t> run = store.BeginRun(MakeRun(i));
      if (!run.ok()) return run.status();
      for (int p = 0; p < kParams; ++p) {
        absl::Status s = store.LogRunParam(*run, absl::StrCat("p", p), absl::StrCat("v", p));
        if (!s.ok()) return s;
      }
      for (int m = 0; m < kMetrics; ++m) {
        std::vector<mlops::MetricPoint> points(static_cast<size_t>(points_per_series));
        for (int64_t step = 0; step < points_per_series; ++step) {
          points[step] =
              mlops::MetricPoint{step, Uniform(i * 1000 + m * 100 + step),
                                 absl::FromUnixSeconds(kT0 + i) + absl::Milliseconds(step)};
        }
        absl::Status s = store.LogMetricPoints(mlops::MetricOwner::OfRun(*run),
                                               absl::StrCat("m", m), std::move(points));
        if (!s.ok()) return s;
      }
    }
    return absl::OkStatus();
  });
}

Built& ShortSeriesDb() {
  std::unique_ptr<Built>& built = Databases()["short_series.db"];
  if (built == nullptr) built = std::make_unique<Built>(MakeListingDb("short_series.db", 10));
  return *built;
}

Built& LongSeriesDb() {
  std::unique_ptr<Built>& built = Databases()["long_series.db"];
  if (built == nullptr) {
    built = std::make_unique<Built>(MakeListingDb("long_series.db", LongSeriesPoints()));
  }
  return *built;
}

void RunListing(benchmark::State& state, Built& db, int64_t points_per_series) {
  if (db.store == nullptr) {
    state.SkipWithError(db.error.c_str());
    return;
  }
  mlops::track::RunSearch search;
  search.page.max_results = kPage;
  for (auto _ : state) {
    absl::StatusOr<mlops::Page<mlops::track::FoundRun>> page =
        mlops::track::SearchRuns(*db.store, search);
    if (!page.ok() || page->items.size() != static_cast<size_t>(kPage) ||
        page->items[0].values.metrics.size() != kMetrics) {
      state.SkipWithError(page.ok() ? "wrong page" : page.status().ToString().c_str());
      return;
    }
    benchmark::DoNotOptimize(page->items.data());
  }
  state.counters["points_per_run"] = static_cast<double>(points_per_series * kMetrics);
  state.counters["setup_s"] = db.setup_seconds;
}

void BM_RunListingShortSeries(benchmark::State& state) { RunListing(state, ShortSeriesDb(), 10); }
BENCHMARK(BM_RunListingShortSeries)->Unit(benchmark::kMicrosecond);

void BM_RunListingLongSeries(benchmark::State& state) {
  RunListing(state, LongSeriesDb(), LongSeriesPoints());
}
BENCHMARK(BM_RunListingLongSeries)->Unit(benchmark::kMicrosecond);

}  // namespace

int main(int argc, char** argv) {
  const int rc = mlops_bench::RunWithRatios(
      argc, argv,
      {
          {"BM_LogMetricPoints/real_time", "BM_BareSqliteInsertPoints/real_time", "time"},
          {"BM_SearchRuns100k", "BM_BareSqliteSearch", "overhead"},
          {"BM_RunListingLongSeries", "BM_RunListingShortSeries", "time"},
      });
  Databases().clear();
  const std::string cmd = "rm -rf '" + Root() + "'";
  if (std::system(cmd.c_str()) != 0) return 1;
  return rc;
}
