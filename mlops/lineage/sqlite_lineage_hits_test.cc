// Tests of compact cache-hit rows (lineage schema version 2): a cache hit identical to its
// representative apart from id, run, status, cache_hit and its (set) start and end times is
// stored as one small row of the `hits` table, anything else as a full `executions` row.
//
// The contract under test is that storage is invisible: every read returns exactly what was
// recorded, whichever way it was stored. Each test keeps a model of what was recorded
// (Model below) and ExpectReadsExact() checks every read path against it: GetExecution,
// ExecutionsOfRun, ExecutionsOfStep, Producers, Consumers, GetArtifact, StepOutputs, and the
// Upstream and Downstream closures (with and without cache hits) from every artifact and
// every execution. Comparisons are bitwise (deterministic serialization), so that -0.0 and
// 0.0 differ. Storage itself is checked with raw SQL on the database file.
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/timestamp.pb.h>
#include <google/protobuf/util/message_differencer.h>
#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/hash/digest.h"
#include "mlops/lineage/lineage.pb.h"
#include "mlops/lineage/lineage_store.h"
#include "mlops/lineage/sqlite_lineage_store.h"
#include "mlops/testing/files.h"
#include "mlops/testing/status_matchers.h"

namespace mlops {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::HasSubstr;

// ---------------------------------------------------------------------------------------
// Helpers.

// The message's deterministic serialization: equal exactly when the messages are equal
// field for field, bit for bit (so -0.0 differs from 0.0, unlike MessageDifferencer).
std::string Canonical(const google::protobuf::Message& m) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    m.SerializeToCodedStream(&coded);
  }
  return out;
}

MATCHER_P(EqualsProto, expected, "") {
  if (Canonical(arg) == Canonical(expected)) return true;
  std::string diff;
  MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&diff);
  differencer.Compare(expected, arg);
  *result_listener << "differs: "
                   << (diff.empty() ? "(bitwise only, e.g. -0.0 against 0.0)\n" : diff)
                   << "expected: " << expected.ShortDebugString()
                   << "\n     got: " << arg.ShortDebugString();
  return false;
}

// The digest (hex) of a named test value.
std::string H(const std::string& name) { return Digest::Of(name).ToHex(); }

google::protobuf::Timestamp Ts(int64_t seconds, int32_t nanos = 0) {
  google::protobuf::Timestamp t;
  t.set_seconds(seconds);
  t.set_nanos(nanos);
  return t;
}

constexpr int64_t kT0 = 1700000000;  // an arbitrary epoch for test times

ArtifactRef Ref(const std::string& name, const std::string& value,
                const std::string& type_name = "blob", int64_t size = 8,
                const std::string& label = "", const std::string& uri = "") {
  ArtifactRef r;
  r.set_name(name);
  r.set_digest(H(value));
  r.set_type_name(type_name);
  r.set_size(size);
  r.set_label(label);
  r.set_uri(uri);
  return r;
}

Run MakeRun(int64_t start_seconds) {
  Run r;
  r.set_program("pipeline");
  r.set_host("host");
  *r.mutable_start_time() = Ts(start_seconds);
  *r.mutable_end_time() = Ts(start_seconds + 5);
  r.set_status(Run::SUCCEEDED);
  return r;
}

// A computing execution.
Execution Computed(int64_t run_id, const std::string& step, const std::string& action,
                   std::vector<ArtifactRef> inputs, std::vector<ArtifactRef> outputs,
                   int64_t start_seconds) {
  Execution e;
  e.set_run_id(run_id);
  e.set_step_name(step);
  e.set_step_version("1");
  e.set_action_key(H(absl::StrCat("action:", action)));
  for (ArtifactRef& r : inputs) *e.add_inputs() = std::move(r);
  for (ArtifactRef& r : outputs) *e.add_outputs() = std::move(r);
  e.set_status(Execution::SUCCEEDED);
  e.set_cache_hit(false);
  *e.mutable_start_time() = Ts(start_seconds, 1000);
  *e.mutable_end_time() = Ts(start_seconds + 1, 2000);
  return e;
}

// A cache hit repeating `computed` in another run, at other times.
Execution HitOf(const Execution& computed, int64_t run_id, google::protobuf::Timestamp start,
                google::protobuf::Timestamp end) {
  Execution e = computed;
  e.clear_id();
  e.set_run_id(run_id);
  e.set_status(Execution::CACHED);
  e.set_cache_hit(true);
  *e.mutable_start_time() = start;
  *e.mutable_end_time() = end;
  return e;
}

Execution HitOf(const Execution& computed, int64_t run_id, int64_t start_seconds) {
  return HitOf(computed, run_id, Ts(start_seconds, 250000000), Ts(start_seconds, 750000000));
}

// ---------------------------------------------------------------------------------------
// Raw SQL on a database file, through the SQLite C API directly.

void Sql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK) << path;
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  const std::string message = err != nullptr ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << sql << ": " << message;
}

// The first column of the first row of a query, as text ("<error: ...>" if it fails).
std::string SqlValue(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return "<cannot open>";
  }
  sqlite3_stmt* stmt = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    out = absl::StrCat("<error: ", sqlite3_errmsg(db), ">");
  } else {
    const int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(stmt, 0);
      out = text != nullptr ? reinterpret_cast<const char*>(text) : "<null>";
    } else if (rc == SQLITE_DONE) {
      out = "<no row>";
    } else {
      out = absl::StrCat("<error: ", sqlite3_errmsg(db), ">");
    }
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

// ---------------------------------------------------------------------------------------
// The model: what was recorded, and what every read must therefore return.

struct Model {
  std::map<int64_t, Execution> executions;  // live, by id, each with its id set
  std::set<int64_t> runs;                   // live
  std::set<int64_t> deleted_runs;
  std::set<int64_t> deleted_executions;
  std::set<std::string> digests;  // every digest (hex) any execution ever named

  void Put(const Execution& e) {
    executions[e.id()] = e;
    for (const auto* refs : {&e.inputs(), &e.outputs(), &e.expected_outputs()}) {
      for (const ArtifactRef& r : *refs) digests.insert(r.digest());
    }
  }

  void DeleteRun(int64_t run) {
    runs.erase(run);
    deleted_runs.insert(run);
    for (auto it = executions.begin(); it != executions.end();) {
      if (it->second.run_id() == run) {
        deleted_executions.insert(it->first);
        it = executions.erase(it);
      } else {
        ++it;
      }
    }
  }

  static bool Names(const google::protobuf::RepeatedPtrField<ArtifactRef>& refs,
                    const std::string& digest) {
    return std::any_of(refs.begin(), refs.end(),
                       [&](const ArtifactRef& r) { return r.digest() == digest; });
  }

  // Whether an artifact is stored: some live execution reads or writes it.
  bool ArtifactExists(const std::string& digest) const {
    for (const auto& [id, e] : executions) {
      if (Names(e.inputs(), digest) || Names(e.outputs(), digest)) return true;
    }
    return false;
  }

  // The executions with `digest` among their inputs or outputs: the computing ones, then
  // the cache hits, each in id order; only the computing ones if there are any and hits are
  // not wanted.
  std::vector<int64_t> Edge(const std::string& digest, bool inputs, bool include_hits) const {
    std::vector<int64_t> computed, hits;
    for (const auto& [id, e] : executions) {
      if (Names(inputs ? e.inputs() : e.outputs(), digest)) {
        (e.cache_hit() ? hits : computed).push_back(id);
      }
    }
    if (!include_hits && !computed.empty()) return computed;
    computed.insert(computed.end(), hits.begin(), hits.end());
    return computed;
  }

  std::vector<int64_t> OfRun(int64_t run) const {
    std::vector<int64_t> ids;
    for (const auto& [id, e] : executions) {
      if (e.run_id() == run) ids.push_back(id);
    }
    return ids;
  }

  // Newest first by start time (to the microsecond, as indexed), then by id, descending.
  std::vector<int64_t> OfStep(const std::string& step) const {
    std::vector<std::pair<int64_t, int64_t>> keyed;  // (start micros, id)
    for (const auto& [id, e] : executions) {
      if (e.step_name() != step) continue;
      const int64_t micros = e.start_time().seconds() * 1000000 + e.start_time().nanos() / 1000;
      keyed.emplace_back(micros, id);
    }
    std::sort(keyed.rbegin(), keyed.rend());
    std::vector<int64_t> ids;
    for (const auto& k : keyed) ids.push_back(k.second);
    return ids;
  }

  std::set<std::string> Steps() const {
    std::set<std::string> steps;
    for (const auto& [id, e] : executions) steps.insert(e.step_name());
    return steps;
  }

  using EventKey = std::tuple<int64_t, int, std::string, std::string>;  // id, kind, name, digest
  struct Graph {
    std::set<int64_t> executions;
    std::set<std::string> artifacts;
    std::set<EventKey> events;
  };

  // The closure as lineage_store.h defines it, computed over the model.
  Graph Closure(const LineageNode& from, bool upstream, bool include_hits) const {
    Graph g;
    std::set<std::string> expanded;
    std::vector<int64_t> execution_frontier;
    std::vector<std::string> artifact_frontier;
    if (from.artifact) {
      const std::string d = from.artifact->ToHex();
      g.artifacts.insert(d);
      expanded.insert(d);
      artifact_frontier.push_back(d);
    } else {
      g.executions.insert(from.execution_id);
      execution_frontier.push_back(from.execution_id);
    }
    const int follow = upstream ? Event::INPUT : Event::OUTPUT;
    while (true) {
      for (int64_t id : execution_frontier) {
        const Execution& e = executions.at(id);
        for (int kind : {static_cast<int>(Event::INPUT), static_cast<int>(Event::OUTPUT)}) {
          for (const ArtifactRef& r : kind == Event::INPUT ? e.inputs() : e.outputs()) {
            g.events.emplace(id, kind, r.name(), r.digest());
            g.artifacts.insert(r.digest());
            if (kind == follow && expanded.insert(r.digest()).second) {
              artifact_frontier.push_back(r.digest());
            }
          }
        }
      }
      execution_frontier.clear();
      if (artifact_frontier.empty()) break;
      for (const std::string& d : artifact_frontier) {
        // Going up, an artifact leads to its producers; going down, to its consumers.
        for (int64_t id : Edge(d, /*inputs=*/!upstream, include_hits)) {
          if (g.executions.insert(id).second) execution_frontier.push_back(id);
        }
      }
      artifact_frontier.clear();
      if (execution_frontier.empty()) break;
    }
    return g;
  }
};

// ---------------------------------------------------------------------------------------
// The fixture: one store per test, in one of four configurations.

enum class Config { kFileBatched, kFileBatchSizeOne, kFileNoDelay, kMemory };

struct StoreParam {
  const char* name;
  Config config;
};

void PrintTo(const StoreParam& param, std::ostream* os) { *os << param.name; }

class SqliteLineageHitsTest : public ::testing::TestWithParam<StoreParam> {
 protected:
  void SetUp() override {
    path_ = IsFile() ? test::FreshDir() + "/lineage.db" : ":memory:";
    Open();
  }

  void TearDown() override { store_.reset(); }

  bool IsFile() const { return GetParam().config != Config::kMemory; }

  SqliteLineageOptions Options() const {
    SqliteLineageOptions options;
    if (GetParam().config == Config::kFileBatchSizeOne) options.max_batch_size = 1;
    if (GetParam().config == Config::kFileNoDelay) options.max_batch_delay = absl::ZeroDuration();
    return options;
  }

  void Open() {
    store_.reset();
    absl::StatusOr<std::unique_ptr<SqliteLineageStore>> store =
        SqliteLineageStore::Open(path_, Options());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  int64_t BeginRun(int64_t start_seconds) {
    absl::StatusOr<int64_t> id = store_->BeginRun(MakeRun(start_seconds));
    EXPECT_TRUE(id.ok()) << id.status();
    if (!id.ok()) return -1;
    model_.runs.insert(*id);
    return *id;
  }

  // Records `e` and returns it as it must read back (with its id).
  Execution Record(const Execution& e) {
    absl::StatusOr<int64_t> id = store_->RecordExecution(e);
    EXPECT_TRUE(id.ok()) << id.status();
    Execution stored = e;
    stored.set_id(id.ok() ? *id : -1);
    if (id.ok()) model_.Put(stored);
    return stored;
  }

  void Update(const Execution& e) {
    ASSERT_OK(store_->UpdateExecution(e));
    model_.Put(e);
  }

  void DeleteRun(int64_t run) {
    ASSERT_OK(store_->DeleteRun(run));
    model_.DeleteRun(run);
  }

  // Rows in a table of the database file, after a flush; -1 for the in-memory database.
  int64_t Rows(const std::string& table) {
    if (!IsFile()) return -1;
    EXPECT_OK(store_->Flush());
    const std::string n = SqlValue(path_, absl::StrCat("SELECT count(*) FROM ", table));
    int64_t out = -2;
    if (!absl::SimpleAtoi(n, &out)) ADD_FAILURE() << "count(*) FROM " << table << ": " << n;
    return out;
  }

  // Expects `hits` rows in the hits table and `executions` in the executions table (file
  // databases only).
  void ExpectRows(int64_t hits, int64_t executions) {
    if (!IsFile()) return;
    EXPECT_EQ(Rows("hits"), hits) << "rows in the hits table";
    EXPECT_EQ(Rows("executions"), executions) << "rows in the executions table";
  }

  // Expects every execution to be stored exactly once, in one table or the other.
  void ExpectOneRowPerExecution() {
    if (!IsFile()) return;
    EXPECT_EQ(Rows("hits") + Rows("executions"), static_cast<int64_t>(model_.executions.size()))
        << "rows in hits + executions";
  }

  void ExpectExecutions(const std::vector<Execution>& got, const std::vector<int64_t>& ids,
                        const std::string& what) {
    std::vector<int64_t> got_ids;
    for (const Execution& e : got) got_ids.push_back(e.id());
    EXPECT_EQ(got_ids, ids) << what;
    for (const Execution& e : got) {
      auto it = model_.executions.find(e.id());
      if (it == model_.executions.end()) {
        ADD_FAILURE() << what << " returned unknown or deleted execution " << e.id();
        continue;
      }
      EXPECT_THAT(e, EqualsProto(it->second)) << what << ", execution " << e.id();
    }
  }

  void ExpectClosure(const LineageNode& from, bool upstream, bool include_hits) {
    const std::string what =
        absl::StrCat(upstream ? "Upstream" : "Downstream", " from ",
                     from.artifact ? from.artifact->ToHex() : absl::StrCat("#", from.execution_id),
                     " include_cache_hits=", include_hits);
    ClosureOptions options;
    options.include_cache_hits = include_hits;
    absl::StatusOr<Subgraph> g =
        upstream ? store_->Upstream(from, options) : store_->Downstream(from, options);
    ASSERT_TRUE(g.ok()) << what << ": " << g.status();
    const Model::Graph want = model_.Closure(from, upstream, include_hits);
    std::vector<Execution> executions(g->executions().begin(), g->executions().end());
    ExpectExecutions(executions, std::vector<int64_t>(want.executions.begin(), want.executions.end()),
                     what);
    std::set<std::string> artifacts;
    for (const Artifact& a : g->artifacts()) {
      artifacts.insert(a.digest());
      absl::StatusOr<Artifact> stored = store_->GetArtifact(*Digest::FromHex(a.digest()));
      ASSERT_TRUE(stored.ok()) << what << ": " << stored.status();
      EXPECT_THAT(a, EqualsProto(*stored)) << what;
    }
    EXPECT_EQ(artifacts, want.artifacts) << what;
    EXPECT_EQ(artifacts.size(), static_cast<size_t>(g->artifacts_size())) << what << ": duplicates";
    std::set<Model::EventKey> events;
    for (const Event& ev : g->events()) {
      events.emplace(ev.execution_id(), static_cast<int>(ev.kind()), ev.name(), ev.digest());
    }
    EXPECT_EQ(events, want.events) << what;
    EXPECT_EQ(events.size(), static_cast<size_t>(g->events_size())) << what << ": duplicates";
  }

  // Checks every read path against the model.
  void ExpectReadsExact() {
    for (const auto& [id, e] : model_.executions) {
      absl::StatusOr<Execution> got = store_->GetExecution(id);
      ASSERT_TRUE(got.ok()) << "GetExecution(" << id << "): " << got.status();
      EXPECT_THAT(*got, EqualsProto(e)) << "GetExecution(" << id << ")";
    }
    for (int64_t id : model_.deleted_executions) {
      absl::StatusOr<Execution> got = store_->GetExecution(id);
      EXPECT_EQ(got.status().code(), absl::StatusCode::kNotFound)
          << "GetExecution(" << id << ") of a deleted execution: "
          << (got.ok() ? got->ShortDebugString() : got.status().ToString());
    }
    for (int64_t run : model_.runs) {
      absl::StatusOr<std::vector<Execution>> got = store_->ExecutionsOfRun(run);
      ASSERT_TRUE(got.ok()) << "ExecutionsOfRun(" << run << "): " << got.status();
      ExpectExecutions(*got, model_.OfRun(run), absl::StrCat("ExecutionsOfRun(", run, ")"));
    }
    for (int64_t run : model_.deleted_runs) {
      EXPECT_EQ(store_->ExecutionsOfRun(run).status().code(), absl::StatusCode::kNotFound)
          << "ExecutionsOfRun(" << run << ") of a deleted run";
    }
    for (const std::string& step : model_.Steps()) {
      const std::vector<int64_t> all = model_.OfStep(step);
      for (int limit : {100, 1, 2, 3}) {
        absl::StatusOr<std::vector<Execution>> got = store_->ExecutionsOfStep(step, limit);
        ASSERT_TRUE(got.ok()) << "ExecutionsOfStep(" << step << "): " << got.status();
        const std::vector<int64_t> want(
            all.begin(), all.begin() + std::min<size_t>(all.size(), static_cast<size_t>(limit)));
        ExpectExecutions(*got, want, absl::StrCat("ExecutionsOfStep(", step, ", ", limit, ")"));
      }
    }
    for (const std::string& hex : model_.digests) {
      const Digest d = *Digest::FromHex(hex);
      absl::StatusOr<std::vector<Execution>> producers = store_->Producers(d);
      ASSERT_TRUE(producers.ok()) << "Producers(" << hex << "): " << producers.status();
      ExpectExecutions(*producers, model_.Edge(hex, /*inputs=*/false, /*include_hits=*/true),
                       absl::StrCat("Producers(", hex, ")"));
      absl::StatusOr<std::vector<Execution>> consumers = store_->Consumers(d);
      ASSERT_TRUE(consumers.ok()) << "Consumers(" << hex << "): " << consumers.status();
      std::vector<int64_t> want = model_.Edge(hex, /*inputs=*/true, /*include_hits=*/true);
      std::sort(want.begin(), want.end());
      ExpectExecutions(*consumers, want, absl::StrCat("Consumers(", hex, ")"));
      absl::StatusOr<Artifact> artifact = store_->GetArtifact(d);
      if (model_.ArtifactExists(hex)) {
        EXPECT_TRUE(artifact.ok()) << "GetArtifact(" << hex << "): " << artifact.status();
        for (bool upstream : {true, false}) {
          for (bool hits : {false, true}) {
            ExpectClosure(LineageNode::Of(d), upstream, hits);
          }
        }
      } else {
        EXPECT_EQ(artifact.status().code(), absl::StatusCode::kNotFound)
            << "GetArtifact(" << hex << ") of an artifact no execution names";
      }
    }
    for (const auto& [id, e] : model_.executions) {
      for (bool upstream : {true, false}) {
        for (bool hits : {false, true}) {
          ExpectClosure(LineageNode::OfExecution(id), upstream, hits);
        }
      }
    }
    // StepOutputs: every (output, step) pair of the live executions, once each.
    std::set<std::pair<std::string, std::string>> want_outputs;
    for (const auto& [id, e] : model_.executions) {
      for (const ArtifactRef& r : e.outputs()) want_outputs.emplace(r.digest(), e.step_name());
    }
    absl::StatusOr<std::vector<LineageStore::StepOutput>> outputs = store_->StepOutputs();
    ASSERT_TRUE(outputs.ok()) << outputs.status();
    std::set<std::pair<std::string, std::string>> got_outputs;
    for (const LineageStore::StepOutput& o : *outputs) {
      got_outputs.emplace(o.digest.ToHex(), o.step_name);
    }
    EXPECT_EQ(got_outputs, want_outputs) << "StepOutputs()";
    EXPECT_EQ(got_outputs.size(), outputs->size()) << "StepOutputs() has duplicates";
  }

  // The warm rerun: run 1 computes a -> b -> c, run 2 records the three as cache hits.
  struct WarmRerun {
    int64_t run1 = 0, run2 = 0;
    Execution a1, b1, c1, a2, b2, c2;
  };
  WarmRerun RecordWarmRerun() {
    WarmRerun w;
    w.run1 = BeginRun(kT0);
    w.run2 = BeginRun(kT0 + 1000);
    Execution a = Computed(w.run1, "load", "load",
                           {Ref("file", "raw", "file", 100, "raw.csv", "/data/raw.csv")},
                           {Ref("0", "data", "table", 4096)}, kT0 + 1);
    (*a.mutable_params())["sep"] = ",";
    (*a.mutable_metrics())["rows"] = 1000;
    Execution b = Computed(w.run1, "train", "train", {Ref("data", "data", "table", 4096)},
                           {Ref("0", "model", "Model", 123456)}, kT0 + 2);
    (*b.mutable_params())["lr"] = "0.01";
    (*b.mutable_params())["epochs"] = "3";
    (*b.mutable_metrics())["loss"] = 0.25;
    (*b.mutable_metrics())["acc"] = -1.5e300;
    Execution c = Computed(w.run1, "report", "report",
                           {Ref("m", "model", "Model", 123456), Ref("t", "data", "table", 4096)},
                           {Ref("0", "report", "Report", 77, "report.txt", "/out/report.txt")},
                           kT0 + 3);
    w.a1 = Record(a);
    w.b1 = Record(b);
    w.c1 = Record(c);
    w.a2 = Record(HitOf(w.a1, w.run2, kT0 + 1001));
    w.b2 = Record(HitOf(w.b1, w.run2, kT0 + 1002));
    w.c2 = Record(HitOf(w.c1, w.run2, kT0 + 1003));
    return w;
  }

  std::string path_;
  std::unique_ptr<SqliteLineageStore> store_;
  Model model_;
};

INSTANTIATE_TEST_SUITE_P(
    Stores, SqliteLineageHitsTest,
    ::testing::Values(StoreParam{"FileBatched", Config::kFileBatched},
                      StoreParam{"FileBatchSizeOne", Config::kFileBatchSizeOne},
                      StoreParam{"FileNoDelay", Config::kFileNoDelay},
                      StoreParam{"Memory", Config::kMemory}),
    [](const ::testing::TestParamInfo<StoreParam>& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------------------
// 1, 13. A warm rerun: three computed executions, three compact hits.

TEST_P(SqliteLineageHitsTest, WarmRerunStoresHitsCompactlyAndReadsThemExactly) {
  const WarmRerun w = RecordWarmRerun();
  ASSERT_NO_FATAL_FAILURE(ExpectRows(/*hits=*/3, /*executions=*/3));
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());

  // The same answers, written out by hand (a check on the model).
  absl::StatusOr<Execution> got = store_->GetExecution(w.b2.id());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(*got, EqualsProto(w.b2));
  EXPECT_EQ(got->status(), Execution::CACHED);
  EXPECT_TRUE(got->cache_hit());
  EXPECT_EQ(got->metrics().at("acc"), -1.5e300);
  absl::StatusOr<std::vector<Execution>> of_run = store_->ExecutionsOfRun(w.run2);
  ASSERT_TRUE(of_run.ok()) << of_run.status();
  ASSERT_EQ(of_run->size(), 3u);
  EXPECT_THAT((*of_run)[0], EqualsProto(w.a2));
  EXPECT_THAT((*of_run)[1], EqualsProto(w.b2));
  EXPECT_THAT((*of_run)[2], EqualsProto(w.c2));
  absl::StatusOr<std::vector<Execution>> of_step = store_->ExecutionsOfStep("train");
  ASSERT_TRUE(of_step.ok()) << of_step.status();
  ASSERT_EQ(of_step->size(), 2u);
  EXPECT_THAT((*of_step)[0], EqualsProto(w.b2));
  EXPECT_THAT((*of_step)[1], EqualsProto(w.b1));
  absl::StatusOr<std::vector<Execution>> producers = store_->Producers(Digest::Of("report"));
  ASSERT_TRUE(producers.ok()) << producers.status();
  ASSERT_EQ(producers->size(), 2u);
  EXPECT_THAT((*producers)[0], EqualsProto(w.c1));
  EXPECT_THAT((*producers)[1], EqualsProto(w.c2));
  absl::StatusOr<std::vector<Execution>> consumers = store_->Consumers(Digest::Of("data"));
  ASSERT_TRUE(consumers.ok()) << consumers.status();
  ASSERT_EQ(consumers->size(), 4u);
  EXPECT_THAT((*consumers)[0], EqualsProto(w.b1));
  EXPECT_THAT((*consumers)[1], EqualsProto(w.c1));
  EXPECT_THAT((*consumers)[2], EqualsProto(w.b2));
  EXPECT_THAT((*consumers)[3], EqualsProto(w.c2));
  ClosureOptions with_hits;
  with_hits.include_cache_hits = true;
  absl::StatusOr<Subgraph> up = store_->Upstream(LineageNode::Of(Digest::Of("report")));
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_EQ(up->executions_size(), 3);
  EXPECT_EQ(up->artifacts_size(), 4);  // raw, data, model, report
  up = store_->Upstream(LineageNode::Of(Digest::Of("report")), with_hits);
  ASSERT_TRUE(up.ok()) << up.status();
  ASSERT_EQ(up->executions_size(), 6);
  EXPECT_THAT(up->executions(4), EqualsProto(w.b2));
  absl::StatusOr<Subgraph> down = store_->Downstream(LineageNode::Of(Digest::Of("raw")));
  ASSERT_TRUE(down.ok()) << down.status();
  EXPECT_EQ(down->executions_size(), 3);
  down = store_->Downstream(LineageNode::OfExecution(w.a2.id()), with_hits);
  ASSERT_TRUE(down.ok()) << down.status();
  EXPECT_EQ(down->executions_size(), 5);  // a2, b1, b2, c1, c2
  absl::StatusOr<Artifact> raw = store_->GetArtifact(Digest::Of("raw"));
  ASSERT_TRUE(raw.ok()) << raw.status();
  EXPECT_EQ(raw->label(), "raw.csv");
  EXPECT_EQ(raw->uri(), "/data/raw.csv");
}

// A second warm rerun adds three more compact rows, and a hit without a run is compact too.
TEST_P(SqliteLineageHitsTest, MoreRerunsAndHitsWithoutRunAreCompact) {
  const WarmRerun w = RecordWarmRerun();
  const int64_t run3 = BeginRun(kT0 + 2000);
  Record(HitOf(w.a1, run3, kT0 + 2001));
  Record(HitOf(w.b1, run3, kT0 + 2002));
  Record(HitOf(w.c1, run3, kT0 + 2003));
  Record(HitOf(w.b1, /*run_id=*/0, kT0 + 3000));
  ASSERT_NO_FATAL_FAILURE(ExpectRows(/*hits=*/7, /*executions=*/3));
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
}

// ---------------------------------------------------------------------------------------
// 2. Times.

TEST_P(SqliteLineageHitsTest, CompactHitTimesRoundTripToTheNanosecond) {
  const WarmRerun w = RecordWarmRerun();
  const int64_t run3 = BeginRun(kT0 + 2000);
  // Nanoseconds that are no multiple of 1000, and times before 1970 (negative seconds with
  // positive nanos: -999999.876543211 s).
  Record(HitOf(w.a1, run3, Ts(kT0 + 2001, 123456789), Ts(kT0 + 2002, 987654321)));
  Record(HitOf(w.b1, run3, Ts(-1000000, 123456789), Ts(-999999, 1)));
  Record(HitOf(w.c1, run3, Ts(-1, 999999999), Ts(0, 1)));
  Record(HitOf(w.a1, run3, Ts(-86400 * 365 * 50, 500000000), Ts(-86400 * 365 * 50, 500000001)));
  ASSERT_NO_FATAL_FAILURE(ExpectRows(/*hits=*/7, /*executions=*/3));
  // Set to the epoch itself: still set.
  const Execution epoch = Record(HitOf(w.b1, run3, Ts(0, 0), Ts(0, 0)));
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
  absl::StatusOr<Execution> got = store_->GetExecution(epoch.id());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(got->has_start_time());
  EXPECT_TRUE(got->has_end_time());
  ASSERT_NO_FATAL_FAILURE(ExpectOneRowPerExecution());
}

// Times a nanosecond count in 64 bits cannot hold (before 1677, after 2262) are valid
// Timestamps (years 1 to 9999) and must read back as recorded, however they are stored.
TEST_P(SqliteLineageHitsTest, HitTimesBeyondSixtyFourBitNanosecondsRoundTrip) {
  const WarmRerun w = RecordWarmRerun();
  const int64_t run3 = BeginRun(kT0 + 2000);
  constexpr int64_t kYear1 = -62135596800;     // 0001-01-01T00:00:00Z
  constexpr int64_t kYear9999 = 253402300799;  // 9999-12-31T23:59:59Z
  constexpr int64_t kYear2500 = 16725225600;
  constexpr int64_t kYear1600 = -11676096000;
  Record(HitOf(w.a1, run3, Ts(kYear2500, 1), Ts(kYear2500 + 1, 999999999)));
  Record(HitOf(w.b1, run3, Ts(kYear1600, 123456789), Ts(kT0, 5)));
  Record(HitOf(w.c1, run3, Ts(kYear1, 0), Ts(kYear9999, 999999999)));
  // Just inside and just outside the int64 nanosecond range (2262-04-11T23:47:16.854775807Z).
  Record(HitOf(w.a1, run3, Ts(9223372036, 854775807), Ts(9223372036, 854775808)));
  Record(HitOf(w.b1, run3, Ts(-9223372036, 145224192), Ts(-9223372037, 145224191)));
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
  ASSERT_NO_FATAL_FAILURE(ExpectOneRowPerExecution());
}

// Timestamps whose nanos lie outside [0, 1e9) are not normalized Timestamps, but the store
// accepts them, and the contract is that every read returns what was recorded.
TEST_P(SqliteLineageHitsTest, HitTimesWithUnnormalizedNanosRoundTrip) {
  const WarmRerun w = RecordWarmRerun();
  const int64_t run3 = BeginRun(kT0 + 2000);
  Record(HitOf(w.a1, run3, Ts(kT0 + 2001, -1), Ts(kT0 + 2002, 1500000000)));
  Record(HitOf(w.b1, run3, Ts(-5, -250000000), Ts(kT0 + 2002, 0)));
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
  ASSERT_NO_FATAL_FAILURE(ExpectOneRowPerExecution());
}

// ---------------------------------------------------------------------------------------
// 3, 4. Hits that differ from their representative are stored in full.

struct Variant {
  const char* name;
  std::function<void(Execution*)> change;
};

std::vector<Variant> OneFieldVariants() {
  return {
      {"input label changed", [](Execution* e) { e->mutable_inputs(0)->set_label("other.csv"); }},
      {"input label cleared", [](Execution* e) { e->mutable_inputs(0)->clear_label(); }},
      {"input uri changed", [](Execution* e) { e->mutable_inputs(0)->set_uri("/elsewhere"); }},
      {"input type_name changed", [](Execution* e) { e->mutable_inputs(1)->set_type_name("x"); }},
      {"input size changed", [](Execution* e) { e->mutable_inputs(1)->set_size(9); }},
      {"input name changed", [](Execution* e) { e->mutable_inputs(1)->set_name("renamed"); }},
      {"inputs reordered", [](Execution* e) { e->mutable_inputs()->SwapElements(0, 1); }},
      {"output type_name changed", [](Execution* e) { e->mutable_outputs(0)->set_type_name("M2"); }},
      {"output size changed", [](Execution* e) { e->mutable_outputs(0)->set_size(1); }},
      {"output label set", [](Execution* e) { e->mutable_outputs(1)->set_label("m.json"); }},
      {"output uri changed", [](Execution* e) { e->mutable_outputs(0)->set_uri("s3://b/2"); }},
      {"param value changed", [](Execution* e) { (*e->mutable_params())["lr"] = "0.02"; }},
      {"param added", [](Execution* e) { (*e->mutable_params())["seed"] = "7"; }},
      {"param removed", [](Execution* e) { e->mutable_params()->erase("epochs"); }},
      {"param emptied", [](Execution* e) { (*e->mutable_params())["lr"] = ""; }},
      {"metric value changed", [](Execution* e) { (*e->mutable_metrics())["loss"] = 0.2500001; }},
      {"metric added", [](Execution* e) { (*e->mutable_metrics())["f1"] = 0.5; }},
      {"metric removed", [](Execution* e) { e->mutable_metrics()->erase("acc"); }},
      {"step_version changed", [](Execution* e) { e->set_step_version("2"); }},
      {"error_message set", [](Execution* e) { e->set_error_message("warning: slow"); }},
      {"nondeterministic set", [](Execution* e) { e->set_nondeterministic(true); }},
      {"expected_outputs added",
       [](Execution* e) { *e->add_expected_outputs() = Ref("0", "model_expected", "Model"); }},
      // The compact row keeps no status or cache_hit of its own: only CACHED hits fit it.
      {"status SUCCEEDED with cache_hit", [](Execution* e) { e->set_status(Execution::SUCCEEDED); }},
      {"status FAILED with cache_hit", [](Execution* e) { e->set_status(Execution::FAILED); }},
      {"status RUNNING with cache_hit", [](Execution* e) { e->set_status(Execution::RUNNING); }},
      {"cache_hit false with status CACHED", [](Execution* e) { e->set_cache_hit(false); }},
      {"recomputed (not a hit)",
       [](Execution* e) {
         e->set_cache_hit(false);
         e->set_status(Execution::SUCCEEDED);
       }},
  };
}

// The representative of the variants: one execution with every field set.
Execution RichExecution(int64_t run_id) {
  Execution e = Computed(run_id, "train", "train",
                         {Ref("file", "raw", "file", 100, "raw.csv", "/data/raw.csv"),
                          Ref("features", "features", "vector<f64>", 8000)},
                         {Ref("0", "model", "Model", 123456, "model.bin", "s3://b/model"),
                          Ref("metrics", "metrics", "map<string,f64>", 40)},
                         kT0 + 1);
  (*e.mutable_params())["lr"] = "0.01";
  (*e.mutable_params())["epochs"] = "3";
  (*e.mutable_metrics())["loss"] = 0.25;
  (*e.mutable_metrics())["acc"] = 0.75;
  return e;
}

TEST_P(SqliteLineageHitsTest, HitsDifferingInOneFieldAreStoredInFullAndReadExactly) {
  const int64_t run1 = BeginRun(kT0);
  const int64_t run2 = BeginRun(kT0 + 1000);
  const Execution rep = Record(RichExecution(run1));
  // A control: the identical hit is compact.
  Record(HitOf(rep, run2, kT0 + 1000));
  ASSERT_NO_FATAL_FAILURE(ExpectRows(/*hits=*/1, /*executions=*/1));
  const std::vector<Variant> variants = OneFieldVariants();
  int64_t t = kT0 + 1001;
  for (const Variant& v : variants) {
    Execution hit = HitOf(rep, run2, t++);
    v.change(&hit);
    const Execution stored = Record(hit);
    absl::StatusOr<Execution> got = store_->GetExecution(stored.id());
    ASSERT_TRUE(got.ok()) << v.name << ": " << got.status();
    EXPECT_THAT(*got, EqualsProto(stored)) << v.name;
    if (IsFile()) {
      EXPECT_EQ(Rows("hits"), 1) << v.name << ": stored compactly";
    }
  }
  ASSERT_NO_FATAL_FAILURE(
      ExpectRows(/*hits=*/1, /*executions=*/1 + static_cast<int64_t>(variants.size())));
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
  // A later identical hit is still compact.
  Record(HitOf(rep, run2, t++));
  ASSERT_NO_FATAL_FAILURE(
      ExpectRows(/*hits=*/2, /*executions=*/1 + static_cast<int64_t>(variants.size())));
  // And every one of them survives the representative's run.
  ASSERT_NO_FATAL_FAILURE(DeleteRun(run1));
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
  ASSERT_NO_FATAL_FAILURE(ExpectOneRowPerExecution());
}

// Hits with the representative's action key and outputs but other input digests or another
// step name cannot happen (the action key covers both), and their events are not checked
// here (a full-row hit has always shared its representative's event rows); but they too
// are stored in full and read back exactly by id, by run and by step.
TEST_P(SqliteLineageHitsTest, HitsDifferingInInputDigestsOrStepAreStoredInFull) {
  const int64_t run1 = BeginRun(kT0);
  const int64_t run2 = BeginRun(kT0 + 1000);
  const Execution rep = Record(RichExecution(run1));
  const std::vector<Variant> variants = {
      {"input digest changed", [](Execution* e) { e->mutable_inputs(1)->set_digest(H("q")); }},
      {"input added", [](Execution* e) { *e->add_inputs() = Ref("extra", "extra"); }},
      {"input removed", [](Execution* e) { e->mutable_inputs()->RemoveLast(); }},
      {"step_name changed", [](Execution* e) { e->set_step_name("train_renamed"); }},
  };
  int64_t t = kT0 + 1001;
  std::vector<Execution> stored;
  for (const Variant& v : variants) {
    Execution hit = HitOf(rep, run2, t++);
    v.change(&hit);
    stored.push_back(Record(hit));
  }
  ASSERT_NO_FATAL_FAILURE(ExpectRows(/*hits=*/0, /*executions=*/5));
  for (size_t i = 0; i < variants.size(); ++i) {
    absl::StatusOr<Execution> got = store_->GetExecution(stored[i].id());
    ASSERT_TRUE(got.ok()) << variants[i].name << ": " << got.status();
    EXPECT_THAT(*got, EqualsProto(stored[i])) << variants[i].name;
  }
  absl::StatusOr<std::vector<Execution>> of_run = store_->ExecutionsOfRun(run2);
  ASSERT_TRUE(of_run.ok()) << of_run.status();
  ExpectExecutions(*of_run, model_.OfRun(run2), "ExecutionsOfRun");
  for (const char* step : {"train", "train_renamed"}) {
    absl::StatusOr<std::vector<Execution>> of_step = store_->ExecutionsOfStep(step);
    ASSERT_TRUE(of_step.ok()) << of_step.status();
    ExpectExecutions(*of_step, model_.OfStep(step), step);
  }
}

// A hit identical to a full-row hit, but not to the representative, is a full row too.
TEST_P(SqliteLineageHitsTest, HitMatchingOnlyAFullRowHitIsStoredInFull) {
  const int64_t run1 = BeginRun(kT0);
  const int64_t run2 = BeginRun(kT0 + 1000);
  const int64_t run3 = BeginRun(kT0 + 2000);
  const Execution rep = Record(RichExecution(run1));
  Execution hit = HitOf(rep, run2, kT0 + 1001);
  (*hit.mutable_metrics())["loss"] = 0.5;
  Record(hit);
  hit.set_run_id(run3);
  *hit.mutable_start_time() = Ts(kT0 + 2001, 5);
  *hit.mutable_end_time() = Ts(kT0 + 2002, 5);
  Record(hit);
  ASSERT_NO_FATAL_FAILURE(ExpectRows(/*hits=*/0, /*executions=*/3));
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
  ASSERT_NO_FATAL_FAILURE(DeleteRun(run1));
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
}

// -0.0 and 0.0 compare equal as doubles, but they are different values: a hit whose metric
// is -0.0 where its representative's is 0.0 (or the reverse) must read back with its sign.
TEST_P(SqliteLineageHitsTest, HitWithNegativeZeroMetricKeepsItsSign) {
  const int64_t run1 = BeginRun(kT0);
  const int64_t run2 = BeginRun(kT0 + 1000);
  Execution computed = RichExecution(run1);
  (*computed.mutable_metrics())["delta"] = 0.0;
  const Execution rep = Record(computed);
  Execution hit = HitOf(rep, run2, kT0 + 1001);
  (*hit.mutable_metrics())["delta"] = -0.0;
  const Execution negative = Record(hit);
  absl::StatusOr<Execution> got = store_->GetExecution(negative.id());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(std::signbit(got->metrics().at("delta"))) << "read back +0.0, recorded -0.0";
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
}

TEST_P(SqliteLineageHitsTest, HitWithoutStartOrEndTimeIsStoredInFull) {
  const int64_t run1 = BeginRun(kT0);
  const int64_t run2 = BeginRun(kT0 + 1000);
  const Execution rep = Record(RichExecution(run1));
  Execution no_start = HitOf(rep, run2, kT0 + 1001);
  no_start.clear_start_time();
  Execution no_end = HitOf(rep, run2, kT0 + 1002);
  no_end.clear_end_time();
  Execution neither = HitOf(rep, run2, kT0 + 1003);
  neither.clear_start_time();
  neither.clear_end_time();
  const std::vector<Execution> stored = {Record(no_start), Record(no_end), Record(neither)};
  ASSERT_NO_FATAL_FAILURE(ExpectRows(/*hits=*/0, /*executions=*/4));
  for (const Execution& e : stored) {
    absl::StatusOr<Execution> got = store_->GetExecution(e.id());
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_THAT(*got, EqualsProto(e));
    EXPECT_EQ(got->has_start_time(), e.has_start_time()) << e.id();
    EXPECT_EQ(got->has_end_time(), e.has_end_time()) << e.id();
  }
  // The control: with both times, compact.
  Record(HitOf(rep, run2, kT0 + 1004));
  ASSERT_NO_FATAL_FAILURE(ExpectRows(/*hits=*/1, /*executions=*/4));
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
  ASSERT_NO_FATAL_FAILURE(DeleteRun(run1));
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
}

// ---------------------------------------------------------------------------------------
// 5, 6, 9. DeleteRun.

TEST_P(SqliteLineageHitsTest, DeletingTheComputingRunKeepsCompactHitsExact) {
  const WarmRerun w = RecordWarmRerun();
  ASSERT_NO_FATAL_FAILURE(ExpectRows(/*hits=*/3, /*executions=*/3));
  ASSERT_NO_FATAL_FAILURE(DeleteRun(w.run1));
  for (const Execution& hit : {w.a2, w.b2, w.c2}) {
    absl::StatusOr<Execution> got = store_->GetExecution(hit.id());
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_THAT(*got, EqualsProto(hit));
  }
  absl::StatusOr<std::vector<Execution>> producers = store_->Producers(Digest::Of("report"));
  ASSERT_TRUE(producers.ok()) << producers.status();
  ASSERT_EQ(producers->size(), 1u);
  EXPECT_THAT(producers->front(), EqualsProto(w.c2));
  for (bool hits : {false, true}) {
    ClosureOptions options;
    options.include_cache_hits = hits;
    absl::StatusOr<Subgraph> up = store_->Upstream(LineageNode::Of(Digest::Of("report")), options);
    ASSERT_TRUE(up.ok()) << up.status();
    std::set<std::string> artifacts;
    for (const Artifact& a : up->artifacts()) artifacts.insert(a.digest());
    EXPECT_TRUE(artifacts.count(H("raw"))) << "Upstream from the report misses the raw input";
    EXPECT_EQ(up->executions_size(), 3) << "include_cache_hits=" << hits;
  }
  for (const char* name : {"raw", "data", "model", "report"}) {
    absl::StatusOr<Artifact> a = store_->GetArtifact(Digest::Of(name));
    EXPECT_TRUE(a.ok()) << name << ": " << a.status();
  }
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
  ASSERT_NO_FATAL_FAILURE(ExpectOneRowPerExecution());
  // Later hits of the same actions are compact again, against the new representatives.
  const int64_t before = Rows("hits");
  const int64_t run3 = BeginRun(kT0 + 2000);
  Record(HitOf(w.a1, run3, kT0 + 2001));
  Record(HitOf(w.b1, run3, kT0 + 2002));
  Record(HitOf(w.c1, run3, kT0 + 2003));
  if (IsFile()) {
    EXPECT_EQ(Rows("hits"), before + 3) << "new hits after the deletion";
  }
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
  ASSERT_NO_FATAL_FAILURE(ExpectOneRowPerExecution());
}

TEST_P(SqliteLineageHitsTest, DeletingTheHitsRunRemovesTheCompactRows) {
  const WarmRerun w = RecordWarmRerun();
  ASSERT_NO_FATAL_FAILURE(ExpectRows(/*hits=*/3, /*executions=*/3));
  ASSERT_NO_FATAL_FAILURE(DeleteRun(w.run2));
  for (const Execution& hit : {w.a2, w.b2, w.c2}) {
    absl::StatusOr<Execution> got = store_->GetExecution(hit.id());
    EXPECT_EQ(got.status().code(), absl::StatusCode::kNotFound)
        << (got.ok() ? got->ShortDebugString() : got.status().ToString());
    EXPECT_EQ(store_->UpdateExecution(hit).code(), absl::StatusCode::kNotFound);
  }
  EXPECT_EQ(store_->DeleteRun(w.run2).code(), absl::StatusCode::kNotFound);
  ASSERT_NO_FATAL_FAILURE(ExpectRows(/*hits=*/0, /*executions=*/3));
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
}

TEST_P(SqliteLineageHitsTest, ThreeRunsDeletedOneAfterTheOther) {
  const WarmRerun w = RecordWarmRerun();
  const int64_t run3 = BeginRun(kT0 + 2000);
  Record(HitOf(w.a1, run3, kT0 + 2001));
  Record(HitOf(w.b1, run3, kT0 + 2002));
  Record(HitOf(w.c1, run3, kT0 + 2003));
  ASSERT_NO_FATAL_FAILURE(ExpectRows(/*hits=*/6, /*executions=*/3));
  ASSERT_NO_FATAL_FAILURE(DeleteRun(w.run1));
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
  ASSERT_NO_FATAL_FAILURE(ExpectOneRowPerExecution());
  ASSERT_NO_FATAL_FAILURE(DeleteRun(w.run2));
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
  ASSERT_NO_FATAL_FAILURE(ExpectOneRowPerExecution());
  absl::StatusOr<std::vector<Execution>> producers = store_->Producers(Digest::Of("model"));
  ASSERT_TRUE(producers.ok()) << producers.status();
  ASSERT_EQ(producers->size(), 1u);
  EXPECT_EQ(producers->front().run_id(), run3);
  ASSERT_NO_FATAL_FAILURE(DeleteRun(run3));
  ASSERT_NO_FATAL_FAILURE(ExpectRows(/*hits=*/0, /*executions=*/0));
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());  // every artifact gone
}

// A step called twice in one run: the second call is a hit of the first, in the same run.
// Deleting that run removes both, and the hits of other runs stay exact.
TEST_P(SqliteLineageHitsTest, HitInTheSameRunAsItsRepresentative) {
  const WarmRerun w = RecordWarmRerun();
  const Execution again = Record(HitOf(w.b1, w.run1, kT0 + 10));
  const Execution rep_without_run =
      Record(Computed(0, "free", "free", {Ref("in", "model")}, {Ref("0", "free_out")}, kT0 + 20));
  Record(HitOf(rep_without_run, w.run1, kT0 + 21));
  Record(HitOf(rep_without_run, w.run2, kT0 + 1021));
  ASSERT_NO_FATAL_FAILURE(ExpectRows(/*hits=*/6, /*executions=*/4));
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
  ASSERT_NO_FATAL_FAILURE(DeleteRun(w.run1));
  EXPECT_EQ(store_->GetExecution(again.id()).status().code(), absl::StatusCode::kNotFound);
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
  ASSERT_NO_FATAL_FAILURE(ExpectOneRowPerExecution());
}

// Hits without outputs or without an action key have no representative: full rows.
TEST_P(SqliteLineageHitsTest, HitsWithoutOutputsOrActionKeyAreStoredInFull) {
  const int64_t run1 = BeginRun(kT0);
  const int64_t run2 = BeginRun(kT0 + 1000);
  const Execution no_outputs = Record(Computed(run1, "check", "check", {Ref("in", "x")}, {}, kT0));
  Record(HitOf(no_outputs, run2, kT0 + 1000));
  Execution no_key = Computed(run1, "load", "load", {}, {Ref("0", "y")}, kT0 + 1);
  no_key.clear_action_key();
  no_key = Record(no_key);
  Record(HitOf(no_key, run2, kT0 + 1001));
  ASSERT_NO_FATAL_FAILURE(ExpectRows(/*hits=*/0, /*executions=*/4));
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
  ASSERT_NO_FATAL_FAILURE(DeleteRun(run1));
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
}

// A queued compact-hit candidate updated before it is written, and an update of a compact
// hit that leaves it identical (only its times change).
TEST_P(SqliteLineageHitsTest, UpdatesOfQueuedAndCompactHits) {
  const WarmRerun w = RecordWarmRerun();
  const int64_t run3 = BeginRun(kT0 + 2000);
  Execution a3 = Record(HitOf(w.a1, run3, kT0 + 2001));
  a3.set_error_message("noted");
  ASSERT_NO_FATAL_FAILURE(Update(a3));  // most likely still queued
  Execution b3 = Record(HitOf(w.b1, run3, kT0 + 2002));
  ASSERT_OK(store_->Flush());
  *b3.mutable_start_time() = Ts(kT0 + 2005, 999999999);
  *b3.mutable_end_time() = Ts(kT0 + 2006, 1);
  ASSERT_NO_FATAL_FAILURE(Update(b3));
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
  ASSERT_NO_FATAL_FAILURE(ExpectOneRowPerExecution());
  ASSERT_NO_FATAL_FAILURE(DeleteRun(w.run1));
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
  ASSERT_NO_FATAL_FAILURE(ExpectOneRowPerExecution());
}

// The hits' run deleted first, then the computing run, with a mix of compact and full hits.
TEST_P(SqliteLineageHitsTest, DeletingRunsInEitherOrderWithMixedHits) {
  const WarmRerun w = RecordWarmRerun();
  const int64_t run3 = BeginRun(kT0 + 2000);
  Execution different = HitOf(w.b1, run3, kT0 + 2002);
  (*different.mutable_metrics())["loss"] = 0.125;
  Record(different);
  Record(HitOf(w.b1, run3, kT0 + 2003));
  Record(HitOf(w.c1, run3, kT0 + 2004));
  ASSERT_NO_FATAL_FAILURE(ExpectRows(/*hits=*/5, /*executions=*/4));
  ASSERT_NO_FATAL_FAILURE(DeleteRun(w.run2));
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
  ASSERT_NO_FATAL_FAILURE(ExpectRows(/*hits=*/2, /*executions=*/4));
  ASSERT_NO_FATAL_FAILURE(DeleteRun(w.run1));
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
  ASSERT_NO_FATAL_FAILURE(ExpectOneRowPerExecution());
}

// ---------------------------------------------------------------------------------------
// 7, 8. UpdateExecution.

TEST_P(SqliteLineageHitsTest, UpdatingARepresentativeLeavesItsHitsAsRecorded) {
  const WarmRerun w = RecordWarmRerun();
  ASSERT_NO_FATAL_FAILURE(ExpectRows(/*hits=*/3, /*executions=*/3));
  // Same result, other metrics and params.
  Execution a = w.a1;
  (*a.mutable_metrics())["rows"] = 999;
  (*a.mutable_metrics())["skipped"] = 1;
  (*a.mutable_params())["sep"] = ";";
  ASSERT_NO_FATAL_FAILURE(Update(a));
  absl::StatusOr<Execution> got = store_->GetExecution(w.a2.id());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(*got, EqualsProto(w.a2)) << "the hit took the representative's new metrics";
  got = store_->GetExecution(w.a1.id());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(*got, EqualsProto(a));
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
  // Another result: the report was recomputed into another artifact.
  Execution c = w.c1;
  *c.mutable_outputs(0) = Ref("0", "report_v2", "Report", 78);
  ASSERT_NO_FATAL_FAILURE(Update(c));
  // An input label changed (same result).
  Execution b = w.b1;
  b.mutable_inputs(0)->set_label("data.parquet");
  ASSERT_NO_FATAL_FAILURE(Update(b));
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
  ASSERT_NO_FATAL_FAILURE(ExpectOneRowPerExecution());
  // And after the (updated) representatives' run is gone.
  ASSERT_NO_FATAL_FAILURE(DeleteRun(w.run1));
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
  ASSERT_NO_FATAL_FAILURE(ExpectOneRowPerExecution());
}

TEST_P(SqliteLineageHitsTest, UpdatingACompactHitReadsBackAsUpdated) {
  const WarmRerun w = RecordWarmRerun();
  const int64_t run3 = BeginRun(kT0 + 2000);
  const Execution b3 = Record(HitOf(w.b1, run3, kT0 + 2002));
  ASSERT_NO_FATAL_FAILURE(ExpectRows(/*hits=*/4, /*executions=*/3));
  Execution b2 = w.b2;
  b2.set_error_message("verification rerun failed");
  ASSERT_NO_FATAL_FAILURE(Update(b2));
  Execution c2 = w.c2;
  *c2.mutable_end_time() = Ts(kT0 + 1010, 123456789);
  ASSERT_NO_FATAL_FAILURE(Update(c2));
  for (const Execution& e : {b2, c2, w.a2, b3}) {
    absl::StatusOr<Execution> got = store_->GetExecution(e.id());
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_THAT(*got, EqualsProto(e));
  }
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
  ASSERT_NO_FATAL_FAILURE(ExpectOneRowPerExecution());
  // More updates of compact hits: times cleared, run moved, no longer a hit, other outputs
  // (nondeterministic).
  Execution a2 = w.a2;
  a2.clear_start_time();
  ASSERT_NO_FATAL_FAILURE(Update(a2));
  Execution b3_moved = b3;
  b3_moved.set_run_id(w.run2);
  *b3_moved.mutable_start_time() = Ts(-3, 7);
  ASSERT_NO_FATAL_FAILURE(Update(b3_moved));
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
  Execution c2_again = c2;
  c2_again.set_cache_hit(false);
  c2_again.set_status(Execution::SUCCEEDED);
  ASSERT_NO_FATAL_FAILURE(Update(c2_again));
  Execution b2_nondet = b2;
  b2_nondet.clear_error_message();
  b2_nondet.set_nondeterministic(true);
  *b2_nondet.add_expected_outputs() = b2_nondet.outputs(0);
  *b2_nondet.mutable_outputs(0) = Ref("0", "model_rerun", "Model", 123456);
  ASSERT_NO_FATAL_FAILURE(Update(b2_nondet));
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
  ASSERT_NO_FATAL_FAILURE(ExpectOneRowPerExecution());
  // A full-row hit updated back to the representative's twin, then the runs deleted.
  Execution b2_twin = HitOf(w.b1, w.run2, kT0 + 1002);
  b2_twin.set_id(w.b2.id());
  ASSERT_NO_FATAL_FAILURE(Update(b2_twin));
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
  ASSERT_NO_FATAL_FAILURE(DeleteRun(w.run1));
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
  ASSERT_NO_FATAL_FAILURE(DeleteRun(w.run2));
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
  ASSERT_NO_FATAL_FAILURE(ExpectOneRowPerExecution());
}

TEST_P(SqliteLineageHitsTest, UpdatingAnUnknownExecutionIsNotFound) {
  const WarmRerun w = RecordWarmRerun();
  ASSERT_OK(store_->Flush());
  Execution ghost = w.b2;
  ghost.set_id(w.c2.id() + 1000);
  EXPECT_EQ(store_->UpdateExecution(ghost).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->GetExecution(ghost.id()).status().code(), absl::StatusCode::kNotFound);
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
}

// ---------------------------------------------------------------------------------------
// ExecutionsOfStep merges compact hits with full rows by start time, then id.

TEST_P(SqliteLineageHitsTest, ExecutionsOfStepOrdersHitsAmongFullRows) {
  const int64_t run1 = BeginRun(kT0);
  const int64_t run2 = BeginRun(kT0 + 1000);
  const Execution rep = Record(RichExecution(run1));  // starts at kT0 + 1
  // Compact hits before, at and after the representative's start, and full rows between.
  Record(HitOf(rep, run2, Ts(kT0 - 100, 0), Ts(kT0 - 99, 0)));
  Record(HitOf(rep, run2, rep.start_time(), rep.end_time()));  // ties with rep: id decides
  Record(HitOf(rep, run2, Ts(kT0 + 50, 0), Ts(kT0 + 51, 0)));
  Execution full = HitOf(rep, run2, Ts(kT0 + 50, 0), Ts(kT0 + 52, 0));  // ties with a hit
  full.set_error_message("differs");
  Record(full);
  Execution early = HitOf(rep, run2, Ts(-100, 0), Ts(-99, 0));
  early.set_step_version("0");
  Record(early);
  Record(HitOf(rep, run2, Ts(kT0 + 20, 0), Ts(kT0 + 21, 0)));
  ASSERT_NO_FATAL_FAILURE(ExpectRows(/*hits=*/4, /*executions=*/3));
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
}

// ---------------------------------------------------------------------------------------
// 10. Reopening.

TEST_P(SqliteLineageHitsTest, ReopenedDatabaseReadsTheSame) {
  if (!IsFile()) GTEST_SKIP() << "an in-memory database does not outlive its store";
  const WarmRerun w = RecordWarmRerun();
  Execution different = HitOf(w.b1, w.run2, kT0 + 1010);
  different.set_step_version("7");
  Record(different);
  ASSERT_NO_FATAL_FAILURE(ExpectRows(/*hits=*/3, /*executions=*/4));
  store_.reset();
  ASSERT_NO_FATAL_FAILURE(Open());
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
  ASSERT_NO_FATAL_FAILURE(ExpectRows(/*hits=*/3, /*executions=*/4));
  // New hits after reopening are compact too (the representatives are found in the file).
  const int64_t run3 = BeginRun(kT0 + 2000);
  Record(HitOf(w.a1, run3, kT0 + 2001));
  Record(HitOf(w.c1, run3, kT0 + 2003));
  ASSERT_NO_FATAL_FAILURE(ExpectRows(/*hits=*/5, /*executions=*/4));
  store_.reset();  // the destructor commits what is queued
  ASSERT_NO_FATAL_FAILURE(Open());
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
}

// Two stores on one file: one deletes the representatives the other has cached.
TEST_P(SqliteLineageHitsTest, AnotherConnectionDeletingTheRepresentatives) {
  if (!IsFile()) GTEST_SKIP() << "an in-memory database is private to its store";
  const WarmRerun w = RecordWarmRerun();
  ASSERT_OK(store_->Flush());
  absl::StatusOr<std::unique_ptr<SqliteLineageStore>> other =
      SqliteLineageStore::Open(path_, Options());
  ASSERT_TRUE(other.ok()) << other.status();
  ASSERT_OK((*other)->DeleteRun(w.run1));
  model_.DeleteRun(w.run1);
  // This store has seen run 1; its ExecutionsOfRun must still ask the database, and find
  // the run gone (NOT_FOUND, checked by ExpectReadsExact for deleted runs).
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
  // This store's cached representatives are gone; new hits must not name them.
  const int64_t run3 = BeginRun(kT0 + 2000);
  Record(HitOf(w.a1, run3, kT0 + 2001));
  Record(HitOf(w.b1, run3, kT0 + 2002));
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
  ASSERT_NO_FATAL_FAILURE(ExpectOneRowPerExecution());
  // And the other store reads them all exactly too.
  for (const auto& [id, e] : model_.executions) {
    absl::StatusOr<Execution> got = (*other)->GetExecution(id);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_THAT(*got, EqualsProto(e));
  }
  ASSERT_OK((*other)->DeleteRun(w.run2));
  model_.DeleteRun(w.run2);
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
}

// ---------------------------------------------------------------------------------------
// 11, 12. Schema versions.

std::unique_ptr<SqliteLineageStore> OpenOrDie(const std::string& path) {
  absl::StatusOr<std::unique_ptr<SqliteLineageStore>> store = SqliteLineageStore::Open(path);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

bool TableExists(const std::string& path, const std::string& table) {
  return SqlValue(path, absl::StrCat("SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                                     "AND name = '",
                                     table, "'")) == "1";
}

TEST(SqliteLineageHitsSchemaTest, SchemaVersionIsTwo) {
  EXPECT_EQ(SqliteLineageStore::kSchemaVersion, 2);
  const std::string path = test::FreshDir() + "/lineage.db";
  std::unique_ptr<SqliteLineageStore> store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(SqlValue(path, "PRAGMA user_version"), "2");
  EXPECT_TRUE(TableExists(path, "hits"));
}

// Version 1 was only written by development builds: a database of that version is refused,
// read-write or read-only, naming its path and saying what to do, and left as it was.
void ExpectVersionOneRefused(const std::string& path) {
  const std::string before = test::Slurp(path);
  for (bool read_only : {false, true}) {
    SCOPED_TRACE(read_only ? "read-only" : "read-write");
    SqliteLineageOptions options;
    options.read_only = read_only;
    absl::StatusOr<std::unique_ptr<SqliteLineageStore>> store =
        SqliteLineageStore::Open(path, options);
    ASSERT_FALSE(store.ok());
    EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition) << store.status();
    EXPECT_THAT(std::string(store.status().message()), HasSubstr(path));
    EXPECT_THAT(std::string(store.status().message()), HasSubstr("development build"));
    EXPECT_THAT(std::string(store.status().message()), HasSubstr("move it aside"));
    EXPECT_EQ(SqlValue(path, "PRAGMA user_version"), "1");
    EXPECT_TRUE(test::Slurp(path) == before) << "the refused database was modified";
  }
}

// A database made by this build, with the hits table dropped and the version set back to 1.
TEST(SqliteLineageHitsSchemaTest, RefusesASchemaVersionOneDatabase) {
  const std::string path = test::FreshDir() + "/lineage.db";
  {
    std::unique_ptr<SqliteLineageStore> store = OpenOrDie(path);
    ASSERT_NE(store, nullptr);
    absl::StatusOr<int64_t> run = store->BeginRun(MakeRun(kT0));
    ASSERT_TRUE(run.ok()) << run.status();
    absl::StatusOr<int64_t> id = store->RecordExecution(
        Computed(*run, "load", "load", {Ref("file", "raw")}, {Ref("0", "data")}, kT0 + 1));
    ASSERT_TRUE(id.ok()) << id.status();
  }
  ASSERT_NO_FATAL_FAILURE(Sql(path,
                              "DROP INDEX IF EXISTS hits_by_run; DROP INDEX IF EXISTS hits_by_rep;"
                              "DROP TABLE hits; PRAGMA user_version=1;"));
  ASSERT_FALSE(TableExists(path, "hits"));
  ASSERT_NO_FATAL_FAILURE(ExpectVersionOneRefused(path));
  EXPECT_FALSE(TableExists(path, "hits"));
}

// The version-1 schema, as development builds wrote it: a cache hit is a full row of
// `executions` naming its representative in rep_id, without events of its own.
constexpr char kSchemaV1[] = R"sql(
CREATE TABLE runs(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  program TEXT NOT NULL,
  status INTEGER NOT NULL,
  start_us INTEGER NOT NULL,
  end_us INTEGER NOT NULL,
  proto BLOB NOT NULL);
CREATE INDEX runs_by_program ON runs(program, start_us);
CREATE INDEX runs_by_start ON runs(start_us);
CREATE TABLE executions(
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL,
  step TEXT NOT NULL,
  action_key BLOB NOT NULL,
  status INTEGER NOT NULL,
  cache_hit INTEGER NOT NULL,
  rep_id INTEGER NOT NULL,
  result_key BLOB NOT NULL,
  start_us INTEGER NOT NULL,
  end_us INTEGER NOT NULL,
  proto BLOB NOT NULL);
CREATE INDEX executions_by_run ON executions(run_id);
CREATE INDEX executions_by_result ON executions(result_key) WHERE rep_id = 0;
CREATE INDEX executions_by_rep ON executions(rep_id) WHERE rep_id != 0;
CREATE INDEX executions_by_step ON executions(step, start_us);
CREATE TABLE artifacts(
  id INTEGER PRIMARY KEY,
  digest BLOB NOT NULL UNIQUE,
  type_name TEXT NOT NULL,
  size INTEGER NOT NULL,
  label TEXT NOT NULL,
  uri TEXT NOT NULL);
CREATE TABLE events(
  artifact_id INTEGER NOT NULL,
  kind INTEGER NOT NULL,
  execution_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  PRIMARY KEY(artifact_id, kind, execution_id, name)) WITHOUT ROWID;
CREATE TABLE id_blocks(kind TEXT PRIMARY KEY, next INTEGER NOT NULL);
INSERT INTO id_blocks VALUES('execution', 33);
INSERT INTO runs VALUES(1, 'pipeline', 2, 1700000000000000, 1700000005000000, x'');
PRAGMA application_id=1835822960;
PRAGMA user_version=1;
)sql";

// A version-1 database written with raw SQL, independently of the code under test.
TEST(SqliteLineageHitsSchemaTest, RefusesADevelopmentBuildsVersionOneDatabase) {
  const std::string path = test::FreshDir() + "/v1.db";
  ASSERT_NO_FATAL_FAILURE(Sql(path, kSchemaV1));
  ASSERT_EQ(SqlValue(path, "PRAGMA user_version"), "1");
  ASSERT_NO_FATAL_FAILURE(ExpectVersionOneRefused(path));
  EXPECT_FALSE(TableExists(path, "hits"));
  EXPECT_EQ(SqlValue(path, "SELECT count(*) FROM runs"), "1");
}

TEST(SqliteLineageHitsSchemaTest, NewerSchemaVersionThreeIsRefused) {
  const std::string path = test::FreshDir() + "/lineage.db";
  {
    std::unique_ptr<SqliteLineageStore> store = OpenOrDie(path);
    ASSERT_NE(store, nullptr);
    absl::StatusOr<int64_t> run = store->BeginRun(MakeRun(kT0));
    ASSERT_TRUE(run.ok()) << run.status();
  }
  ASSERT_NO_FATAL_FAILURE(Sql(path, "PRAGMA user_version=3"));
  absl::StatusOr<std::unique_ptr<SqliteLineageStore>> store = SqliteLineageStore::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition) << store.status();
  EXPECT_THAT(std::string(store.status().message()), HasSubstr(path));
  EXPECT_EQ(SqlValue(path, "PRAGMA user_version"), "3");
}

}  // namespace
}  // namespace mlops
