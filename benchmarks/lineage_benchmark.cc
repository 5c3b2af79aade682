// Lineage store speed at scale. Records 1,000,000 executions (2 inputs, 1 output each) in a
// chain-and-fan-out graph into a fresh SQLite lineage database, then times an upstream
// closure 10 hops deep and a producer lookup. Baselines in the same run: a bare SQLite
// INSERT of one row per execution (batched the same way) and a bare indexed SELECT.
// Goals: recording <= 20 us per execution; closure <= 10 ms; producer lookup <= 100 us.
//
//   bazel run //benchmarks:lineage_benchmark
//   MLOPS_BENCH_EXECUTIONS=20000 bazel run //benchmarks:lineage_benchmark   # smaller
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmarks/ratio_main.h"
#include "mlops/lineage/sqlite_lineage_store.h"

namespace {

int64_t Executions() {
  const char* env = std::getenv("MLOPS_BENCH_EXECUTIONS");
  return env != nullptr ? std::atoll(env) : 1000000;
}

const std::string& Root() {
  static const std::string* root = [] {
    // MLOPS_BENCH_DIR picks the filesystem (e.g. /dev/shm to leave the disk out).
    const char* base = std::getenv("MLOPS_BENCH_DIR");
    std::string tmpl = std::string(base ? base : "/tmp") + "/mlops_lineage_benchmark.XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    return new std::string(tmpl);
  }();
  return *root;
}

// The output of execution i.
mlops::Digest Output(int64_t i) { return mlops::Digest(0x5eed, static_cast<uint64_t>(i)); }

// Execution i reads the output of i-1 (the chain) and of an earlier execution that many
// others also read (the fan-out: every 16th output feeds the next 16 executions).
mlops::Execution MakeExecution(int64_t i, int64_t run_id) {
  mlops::Execution e;
  e.set_run_id(run_id);
  e.set_step_name(absl::StrCat("step", i % 10));
  e.set_step_version("1");
  e.set_action_key(mlops::Digest(0xac, static_cast<uint64_t>(i)).ToHex());
  e.set_status(mlops::Execution::SUCCEEDED);
  e.mutable_start_time()->set_seconds(1700000000 + i);
  e.mutable_end_time()->set_seconds(1700000000 + i);
  if (i > 0) {
    mlops::ArtifactRef* a = e.add_inputs();
    a->set_name("previous");
    a->set_digest(Output(i - 1).ToHex());
    a->set_type_name("vector<f64>");
    a->set_size(800);
    mlops::ArtifactRef* b = e.add_inputs();
    b->set_name("shared");
    b->set_digest(Output(i - 1 - (i - 1) % 16).ToHex());
    b->set_type_name("vector<f64>");
    b->set_size(800);
  }
  mlops::ArtifactRef* out = e.add_outputs();
  out->set_name("0");
  out->set_digest(Output(i).ToHex());
  out->set_type_name("vector<f64>");
  out->set_size(800);
  (*e.mutable_metrics())["loss"] = 1.0 / static_cast<double>(i + 1);
  return e;
}

std::unique_ptr<mlops::SqliteLineageStore>& Store() {
  static auto* store = new std::unique_ptr<mlops::SqliteLineageStore>();
  return *store;
}

// Records every execution once (a single iteration); reports the cost per execution.
void BM_RecordExecutions(benchmark::State& state) {
  const int64_t n = Executions();
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    auto store = mlops::SqliteLineageStore::Open(Root() + "/lineage.db");
    if (!store.ok()) {
      state.SkipWithError(store.status().ToString().c_str());
      return;
    }
    mlops::Run run;
    run.set_program("lineage_benchmark");
    const int64_t run_id = *(*store)->BeginRun(run);
    for (int64_t i = 0; i < n; ++i) {
      auto id = (*store)->RecordExecution(MakeExecution(i, run_id));
      if (!id.ok()) {
        state.SkipWithError(id.status().ToString().c_str());
        return;
      }
    }
    if (!(*store)->Flush().ok()) state.SkipWithError("flush failed");
    Store() = *std::move(store);
  }
  const std::chrono::duration<double, std::micro> elapsed =
      std::chrono::steady_clock::now() - start;
  state.SetItemsProcessed(n);
  state.counters["executions"] = static_cast<double>(n);
  state.counters["us_per_execution"] = elapsed.count() / static_cast<double>(n);
}
BENCHMARK(BM_RecordExecutions)->Iterations(1)->Unit(benchmark::kMillisecond);

// A warm rerun: the first 100,000 executions again, each now a cache hit of the same action
// with the same outputs (what a fully cached pipeline records).
void BM_RecordCacheHits(benchmark::State& state) {
  if (Store() == nullptr) {
    state.SkipWithError("BM_RecordExecutions did not run");
    return;
  }
  const int64_t n = std::min<int64_t>(Executions(), 100000);
  mlops::Run run;
  run.set_program("lineage_benchmark_warm");
  const int64_t run_id = *Store()->BeginRun(run);
  std::vector<mlops::Execution> hits;
  hits.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    mlops::Execution e = MakeExecution(i, run_id);
    e.set_status(mlops::Execution::CACHED);
    e.set_cache_hit(true);
    hits.push_back(std::move(e));
  }
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    for (mlops::Execution& e : hits) {
      if (!Store()->RecordExecution(std::move(e)).ok()) {
        state.SkipWithError("record failed");
        return;
      }
    }
    if (!Store()->Flush().ok()) state.SkipWithError("flush failed");
  }
  const std::chrono::duration<double, std::micro> elapsed =
      std::chrono::steady_clock::now() - start;
  state.SetItemsProcessed(n);
  state.counters["us_per_execution"] = elapsed.count() / static_cast<double>(n);
}
BENCHMARK(BM_RecordCacheHits)->Iterations(1)->Unit(benchmark::kMillisecond);

// Baseline: one bare SQLite row per execution, same batching (1000 per transaction), same
// journal settings, no indexes beyond the primary key.
void BM_BareSqliteInsert(benchmark::State& state) {
  const int64_t n = Executions();
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    sqlite3* db = nullptr;
    sqlite3_open((Root() + "/bare.db").c_str(), &db);
    sqlite3_exec(db,
                 "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                 "CREATE TABLE t(id INTEGER PRIMARY KEY, payload BLOB)",
                 nullptr, nullptr, nullptr);
    sqlite3_stmt* ins = nullptr;
    sqlite3_prepare_v2(db, "INSERT INTO t VALUES(?1, ?2)", -1, &ins, nullptr);
    const std::string payload(200, 'x');
    for (int64_t i = 0; i < n; ++i) {
      if (i % 1000 == 0) sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
      sqlite3_bind_int64(ins, 1, i + 1);
      sqlite3_bind_blob(ins, 2, payload.data(), static_cast<int>(payload.size()),
                        SQLITE_STATIC);
      sqlite3_step(ins);
      sqlite3_reset(ins);
      if (i % 1000 == 999 || i == n - 1) sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
    }
    sqlite3_finalize(ins);
    sqlite3_close(db);
  }
  const std::chrono::duration<double, std::micro> elapsed =
      std::chrono::steady_clock::now() - start;
  state.SetItemsProcessed(n);
  state.counters["us_per_execution"] = elapsed.count() / static_cast<double>(n);
}
BENCHMARK(BM_BareSqliteInsert)->Iterations(1)->Unit(benchmark::kMillisecond);

void BM_UpstreamClosure10Hops(benchmark::State& state) {
  if (Store() == nullptr) {
    state.SkipWithError("BM_RecordExecutions did not run");
    return;
  }
  const mlops::Digest last = Output(Executions() - 1);
  mlops::ClosureOptions options;
  options.max_hops = 10;
  size_t executions = 0;
  for (auto _ : state) {
    auto graph = Store()->Upstream(mlops::LineageNode::Of(last), options);
    if (!graph.ok()) {
      state.SkipWithError(graph.status().ToString().c_str());
      return;
    }
    executions = graph->executions_size();
  }
  state.counters["executions_in_closure"] = static_cast<double>(executions);
}
BENCHMARK(BM_UpstreamClosure10Hops)->Unit(benchmark::kMicrosecond);

void BM_ProducerLookup(benchmark::State& state) {
  if (Store() == nullptr) {
    state.SkipWithError("BM_RecordExecutions did not run");
    return;
  }
  const int64_t n = Executions();
  int64_t i = 0;
  for (auto _ : state) {
    auto producers = Store()->Producers(Output((i++ * 7919) % n));
    // The computing execution first (then the warm run's hit, for the first outputs).
    if (!producers.ok() || producers->empty() || producers->front().cache_hit()) {
      state.SkipWithError("wrong producer");
      return;
    }
  }
}
BENCHMARK(BM_ProducerLookup)->Unit(benchmark::kMicrosecond);

// Baseline: a bare indexed SELECT of one row by primary key in the bare table.
void BM_BareSqliteSelect(benchmark::State& state) {
  sqlite3* db = nullptr;
  sqlite3_open((Root() + "/bare.db").c_str(), &db);
  sqlite3_stmt* q = nullptr;
  sqlite3_prepare_v2(db, "SELECT payload FROM t WHERE id = ?1", -1, &q, nullptr);
  const int64_t n = Executions();
  int64_t i = 0;
  for (auto _ : state) {
    sqlite3_bind_int64(q, 1, (i++ * 7919) % n + 1);
    sqlite3_step(q);
    benchmark::DoNotOptimize(sqlite3_column_blob(q, 0));
    sqlite3_reset(q);
  }
  sqlite3_finalize(q);
  sqlite3_close(db);
}
BENCHMARK(BM_BareSqliteSelect)->Unit(benchmark::kMicrosecond);

}  // namespace

int main(int argc, char** argv) {
  const int rc = mlops_bench::RunWithRatios(
      argc, argv,
      {
          {"BM_RecordExecutions/iterations:1", "BM_BareSqliteInsert/iterations:1", "time"},
          {"BM_ProducerLookup", "BM_BareSqliteSelect", "time"},
      });
  Store().reset();
  const std::string cmd = "rm -rf '" + Root() + "'";
  if (std::system(cmd.c_str()) != 0) return 1;
  return rc;
}
