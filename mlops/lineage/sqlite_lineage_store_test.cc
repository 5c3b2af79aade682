// Tests of SqliteLineageStore through the LineageStore interface, over three configurations:
// a file database with default batching, a file database committing every record at once, and
// a private in-memory database. Graph queries are checked against a hand-built pipeline whose
// answers are written out below, not computed.
#include "mlops/lineage/sqlite_lineage_store.h"

#include <google/protobuf/timestamp.pb.h>
#include <google/protobuf/util/message_differencer.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <ostream>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/hash/digest.h"
#include "mlops/lineage/lineage.pb.h"
#include "mlops/lineage/lineage_store.h"

namespace mlops {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

// ---------------------------------------------------------------------------------------
// Helpers.

MATCHER_P(EqualsProto, expected, "") {
  std::string diff;
  MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&diff);
  if (differencer.Compare(expected, arg)) return true;
  *result_listener << "differs: " << diff;
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

Execution Exec(int64_t run_id, const std::string& step, std::vector<ArtifactRef> inputs,
               std::vector<ArtifactRef> outputs, bool cache_hit = false,
               int64_t start_seconds = kT0) {
  Execution e;
  e.set_run_id(run_id);
  e.set_step_name(step);
  e.set_step_version("1");
  e.set_action_key(H(absl::StrCat("key:", step, ":", start_seconds)));
  for (ArtifactRef& r : inputs) *e.add_inputs() = std::move(r);
  for (ArtifactRef& r : outputs) *e.add_outputs() = std::move(r);
  e.set_status(cache_hit ? Execution::CACHED : Execution::SUCCEEDED);
  e.set_cache_hit(cache_hit);
  *e.mutable_start_time() = Ts(start_seconds);
  *e.mutable_end_time() = Ts(start_seconds + 1);
  return e;
}

// `e` with the action key named `action` (executions of one action share it).
Execution Keyed(Execution e, const std::string& action) {
  e.set_action_key(H(absl::StrCat("action:", action)));
  return e;
}

Run MakeRun(const std::string& program, int64_t start_seconds,
            mlops::Run::Status status = mlops::Run::SUCCEEDED) {
  mlops::Run r;
  r.set_program(program);
  r.add_args("--flag");
  r.set_host("host");
  r.set_user("user");
  *r.mutable_start_time() = Ts(start_seconds);
  *r.mutable_end_time() = Ts(start_seconds + 5);
  r.set_status(status);
  return r;
}

std::vector<int64_t> Ids(const std::vector<Execution>& executions) {
  std::vector<int64_t> ids;
  for (const Execution& e : executions) ids.push_back(e.id());
  return ids;
}

std::vector<int64_t> RunIds(const std::vector<mlops::Run>& runs) {
  std::vector<int64_t> ids;
  for (const mlops::Run& r : runs) ids.push_back(r.id());
  return ids;
}

std::string TestTmpDir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr ? dir : "/tmp";
}

void RemoveDb(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    std::remove(absl::StrCat(path, suffix).c_str());
  }
}

// ---------------------------------------------------------------------------------------
// The hand-built pipeline.
//
// Run 1 (all computed):
//   load1     (file: raw)                      -> 0: data
//   clean1    (data: data)                     -> 0: clean
//   split1    (data: clean)                    -> train: train, test: test
//   train_a1  (train: train)                   -> 0: model_a
//   train_b1  (train: train)                   -> 0: model_b
//   evaluate1 (a: model_a, b: model_b, test: test) -> 0: report
// Run 2 (load, clean, split and train_a are cache hits with the same outputs and the same
// action keys as in run 1):
//   load2*, clean2*, split2*, train_a2*        (same inputs and outputs as in run 1)
//   train_b2  (train: train)                   -> 0: model_b2
//   evaluate2 (a: model_a, b: model_b2, test: test) -> 0: report2

class Pipeline {
 public:
  void Add(const std::string& name, int64_t id, const Execution& e) {
    ids_[name] = id;
    names_[id] = name;
    Execution stored = e;
    stored.set_id(id);
    recorded_[id] = stored;
  }
  int64_t Id(const std::string& name) const { return ids_.at(name); }
  const Execution& Recorded(const std::string& name) const { return recorded_.at(Id(name)); }

  std::string ExecutionName(int64_t id) const {
    auto it = names_.find(id);
    return it == names_.end() ? absl::StrCat("#", id) : it->second;
  }
  static std::string ArtifactName(const std::string& digest) {
    for (const char* n : {"raw", "data", "clean", "train", "test", "model_a", "model_b",
                          "report", "model_b2", "report2"}) {
      if (H(n) == digest) return n;
    }
    return digest;
  }
  static std::string EventName(const std::string& execution, const std::string& artifact,
                               Event::Kind kind, const std::string& name) {
    return kind == Event::INPUT ? absl::StrCat(artifact, " -", name, "-> ", execution)
                                : absl::StrCat(execution, " -", name, "-> ", artifact);
  }

  // Every event of the named executions, from what was recorded.
  std::set<std::string> EventsOf(const std::set<std::string>& executions) const {
    std::set<std::string> out;
    for (const std::string& x : executions) {
      const Execution& e = Recorded(x);
      for (const ArtifactRef& r : e.inputs()) {
        out.insert(EventName(x, ArtifactName(r.digest()), Event::INPUT, r.name()));
      }
      for (const ArtifactRef& r : e.outputs()) {
        out.insert(EventName(x, ArtifactName(r.digest()), Event::OUTPUT, r.name()));
      }
    }
    return out;
  }

  // A subgraph described by names, checking each execution against what was recorded and
  // each artifact's digest.
  struct Named {
    std::set<std::string> executions, artifacts, events;
  };
  Named Describe(const Subgraph& g) const {
    Named n;
    for (const Execution& e : g.executions()) {
      n.executions.insert(ExecutionName(e.id()));
      auto it = recorded_.find(e.id());
      if (it != recorded_.end()) {
        EXPECT_THAT(e, EqualsProto(it->second));
      }
    }
    for (const Artifact& a : g.artifacts()) n.artifacts.insert(ArtifactName(a.digest()));
    for (const Event& ev : g.events()) {
      n.events.insert(EventName(ExecutionName(ev.execution_id()), ArtifactName(ev.digest()),
                                ev.kind(), ev.name()));
    }
    EXPECT_EQ(n.executions.size(), static_cast<size_t>(g.executions_size())) << "duplicates";
    EXPECT_EQ(n.artifacts.size(), static_cast<size_t>(g.artifacts_size())) << "duplicates";
    EXPECT_EQ(n.events.size(), static_cast<size_t>(g.events_size())) << "duplicates";
    return n;
  }

  int64_t run1 = 0, run2 = 0;

 private:
  std::map<std::string, int64_t> ids_;
  std::map<int64_t, std::string> names_;
  std::map<int64_t, Execution> recorded_;
};

// ---------------------------------------------------------------------------------------
// The fixture: one store per test, in one of three configurations.

enum class DbKind { kFileBatched, kFileUnbatched, kMemory };

struct StoreParam {
  const char* name;
  DbKind kind;
};

void PrintTo(const StoreParam& param, std::ostream* os) { *os << param.name; }

class SqliteLineageStoreTest : public ::testing::TestWithParam<StoreParam> {
 protected:
  void SetUp() override {
    if (GetParam().kind == DbKind::kMemory) {
      path_ = ":memory:";
    } else {
      const ::testing::TestInfo* info =
          ::testing::UnitTest::GetInstance()->current_test_info();
      path_ = absl::StrCat(TestTmpDir(), "/",
                           absl::StrReplaceAll(absl::StrCat(info->test_suite_name(), "_",
                                                            info->name()),
                                               {{"/", "_"}}),
                           ".db");
      RemoveDb(path_);
    }
    Open(Options());
  }

  void TearDown() override { store_.reset(); }

  bool IsFile() const { return GetParam().kind != DbKind::kMemory; }

  SqliteLineageOptions Options() const {
    SqliteLineageOptions options;
    if (GetParam().kind == DbKind::kFileUnbatched) options.max_batch_delay = absl::ZeroDuration();
    return options;
  }

  void Open(const SqliteLineageOptions& options) {
    store_.reset();
    absl::StatusOr<std::unique_ptr<SqliteLineageStore>> store =
        SqliteLineageStore::Open(path_, options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  int64_t BeginRun(const mlops::Run& run) {
    absl::StatusOr<int64_t> id = store_->BeginRun(run);
    EXPECT_TRUE(id.ok()) << id.status();
    return id.ok() ? *id : -1;
  }

  int64_t Record(const Execution& e) {
    absl::StatusOr<int64_t> id = store_->RecordExecution(e);
    EXPECT_TRUE(id.ok()) << id.status();
    return id.ok() ? *id : -1;
  }

  // Records `e` as pipeline execution `name`.
  void Add(const std::string& name, const Execution& e) { p_.Add(name, Record(e), e); }

  // Records the pipeline described above Pipeline.
  void BuildPipeline() {
    p_.run1 = BeginRun(MakeRun("pipeline", kT0));
    p_.run2 = BeginRun(MakeRun("pipeline", kT0 + 1000));
    for (int run = 1; run <= 2; ++run) {
      const int64_t r = run == 1 ? p_.run1 : p_.run2;
      const bool hit = run == 2;
      const int64_t t = run == 1 ? kT0 : kT0 + 1000;
      const std::string n = absl::StrCat(run);
      // A hit has the action key of the execution that computed its result.
      Add("load" + n, Keyed(Exec(r, "load", {Ref("file", "raw", "file", 100, "raw.csv",
                                                 "/data/raw.csv")},
                                 {Ref("0", "data", "table")}, hit, t + 1),
                            "load"));
      Add("clean" + n, Keyed(Exec(r, "clean", {Ref("data", "data", "table")},
                                  {Ref("0", "clean", "table")}, hit, t + 2),
                             "clean"));
      Add("split" + n,
          Keyed(Exec(r, "split", {Ref("data", "clean", "table")},
                     {Ref("train", "train", "table"), Ref("test", "test", "table")}, hit, t + 3),
                "split"));
      Add("train_a" + n, Keyed(Exec(r, "train_a", {Ref("train", "train", "table")},
                                    {Ref("0", "model_a", "Model")}, hit, t + 4),
                               "train_a"));
      Add("train_b" + n, Keyed(Exec(r, "train_b", {Ref("train", "train", "table")},
                                    {Ref("0", run == 1 ? "model_b" : "model_b2", "Model")},
                                    false, t + 5),
                               "train_b" + n));
      Add("evaluate" + n,
          Keyed(Exec(r, "evaluate",
                     {Ref("a", "model_a", "Model"),
                      Ref("b", run == 1 ? "model_b" : "model_b2", "Model"),
                      Ref("test", "test", "table")},
                     {Ref("0", run == 1 ? "report" : "report2", "Report")}, false, t + 6),
                "evaluate" + n));
    }
  }


  std::vector<std::string> ProducerNames(const std::string& artifact) {
    absl::StatusOr<std::vector<Execution>> got = store_->Producers(Digest::Of(artifact));
    EXPECT_TRUE(got.ok()) << got.status();
    return Names(got.ok() ? *got : std::vector<Execution>{});
  }
  std::vector<std::string> ConsumerNames(const std::string& artifact) {
    absl::StatusOr<std::vector<Execution>> got = store_->Consumers(Digest::Of(artifact));
    EXPECT_TRUE(got.ok()) << got.status();
    return Names(got.ok() ? *got : std::vector<Execution>{});
  }
  std::vector<std::string> Names(const std::vector<Execution>& executions) {
    std::vector<std::string> out;
    for (const Execution& e : executions) {
      out.push_back(p_.ExecutionName(e.id()));
      if (out.back()[0] != '#') {
        EXPECT_THAT(e, EqualsProto(p_.Recorded(out.back())));
      }
    }
    return out;
  }

  // Checks a closure against the expected executions and artifacts; the expected events are
  // every event of the expected executions.
  void ExpectClosure(bool upstream, const LineageNode& from, int max_hops,
                     bool include_cache_hits, const std::set<std::string>& executions,
                     const std::set<std::string>& artifacts) {
    SCOPED_TRACE(absl::StrCat(upstream ? "Upstream" : "Downstream", " from ",
                              from.artifact ? Pipeline::ArtifactName(from.artifact->ToHex())
                                            : p_.ExecutionName(from.execution_id),
                              " max_hops=", max_hops,
                              " include_cache_hits=", include_cache_hits));
    ClosureOptions options;
    options.max_hops = max_hops;
    options.include_cache_hits = include_cache_hits;
    absl::StatusOr<Subgraph> g =
        upstream ? store_->Upstream(from, options) : store_->Downstream(from, options);
    ASSERT_TRUE(g.ok()) << g.status();
    const Pipeline::Named got = p_.Describe(*g);
    EXPECT_THAT(got.executions, ::testing::ContainerEq(executions));
    EXPECT_THAT(got.artifacts, ::testing::ContainerEq(artifacts));
    EXPECT_THAT(got.events, ::testing::ContainerEq(p_.EventsOf(executions)));
    // Artifacts carry their stored fields.
    for (const Artifact& a : g->artifacts()) {
      absl::StatusOr<Artifact> stored = store_->GetArtifact(*Digest::FromHex(a.digest()));
      ASSERT_TRUE(stored.ok()) << stored.status();
      EXPECT_THAT(a, EqualsProto(*stored));
    }
  }

  std::string path_;
  std::unique_ptr<SqliteLineageStore> store_;
  Pipeline p_;  // filled by BuildPipeline()
};

INSTANTIATE_TEST_SUITE_P(Stores, SqliteLineageStoreTest,
                         ::testing::Values(StoreParam{"FileBatched", DbKind::kFileBatched},
                                           StoreParam{"FileUnbatched", DbKind::kFileUnbatched},
                                           StoreParam{"Memory", DbKind::kMemory}),
                         [](const ::testing::TestParamInfo<StoreParam>& info) {
                           return std::string(info.param.name);
                         });

// ---------------------------------------------------------------------------------------
// Runs.

TEST_P(SqliteLineageStoreTest, RunRoundTrip) {
  mlops::Run run = MakeRun("train_model", kT0, mlops::Run::RUNNING);
  run.set_id(777);  // ignored
  run.add_args("--epochs=3");
  run.add_args("data.csv");
  *run.mutable_start_time() = Ts(kT0, 123456000);
  run.clear_end_time();
  Environment* env = run.mutable_environment();
  env->set_compiler("g++ 12.2.0");
  env->set_compiler_flags("-O2 -g");
  (*env->mutable_library_versions())["protobuf"] = "3.21.12";
  (*env->mutable_library_versions())["sqlite"] = "3.40.1";
  env->set_os("Linux 6.1.0 x86_64");
  env->set_cpu("Some CPU (2 cores)");
  env->set_source_revision("abc123");

  const int64_t id = BeginRun(run);
  ASSERT_GT(id, 0);
  mlops::Run expected = run;
  expected.set_id(id);
  absl::StatusOr<mlops::Run> got = store_->GetRun(id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(*got, EqualsProto(expected));

  // Finishing the run replaces it.
  expected.set_status(mlops::Run::FAILED);
  *expected.mutable_end_time() = Ts(kT0 + 60, 5000);
  expected.add_args("--extra");
  ASSERT_TRUE(store_->UpdateRun(expected).ok());
  got = store_->GetRun(id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(*got, EqualsProto(expected));

  // Run ids increase.
  const int64_t id2 = BeginRun(MakeRun("other", kT0));
  EXPECT_GT(id2, id);

  if (IsFile()) {
    Open(Options());
    got = store_->GetRun(id);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_THAT(*got, EqualsProto(expected));
  }
}

TEST_P(SqliteLineageStoreTest, RunErrors) {
  mlops::Run run = MakeRun("", kT0);
  absl::StatusOr<int64_t> id = store_->BeginRun(run);
  EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument) << id.status();

  absl::StatusOr<mlops::Run> got = store_->GetRun(12345);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kNotFound) << got.status();

  mlops::Run unknown = MakeRun("p", kT0);
  unknown.set_id(12345);
  absl::Status s = store_->UpdateRun(unknown);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  // The failed update created nothing.
  absl::StatusOr<std::vector<mlops::Run>> all = store_->FindRuns({});
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_THAT(*all, IsEmpty());
}

TEST_P(SqliteLineageStoreTest, FindRuns) {
  // start times: a=0s, b=10s, c=20s, d=30s, e=30s (tie: id order decides), f=40s.
  const int64_t a = BeginRun(MakeRun("train", kT0 + 0, mlops::Run::SUCCEEDED));
  const int64_t b = BeginRun(MakeRun("eval", kT0 + 10, mlops::Run::FAILED));
  const int64_t c = BeginRun(MakeRun("train", kT0 + 20, mlops::Run::FAILED));
  const int64_t d = BeginRun(MakeRun("train", kT0 + 30, mlops::Run::RUNNING));
  const int64_t e = BeginRun(MakeRun("eval", kT0 + 30, mlops::Run::SUCCEEDED));
  const int64_t f = BeginRun(MakeRun("train", kT0 + 40, mlops::Run::SUCCEEDED));
  // A run inserted later but started earlier than all others.
  const int64_t g = BeginRun(MakeRun("train", kT0 - 100, mlops::Run::SUCCEEDED));

  const auto find = [&](const RunFilter& filter) -> std::vector<int64_t> {
    absl::StatusOr<std::vector<mlops::Run>> runs = store_->FindRuns(filter);
    EXPECT_TRUE(runs.ok()) << runs.status();
    return runs.ok() ? RunIds(*runs) : std::vector<int64_t>{};
  };

  EXPECT_THAT(find({}), ElementsAre(f, e, d, c, b, a, g));

  RunFilter by_program;
  by_program.program = "train";
  EXPECT_THAT(find(by_program), ElementsAre(f, d, c, a, g));
  by_program.program = "nope";
  EXPECT_THAT(find(by_program), IsEmpty());

  RunFilter by_status;
  by_status.status = mlops::Run::FAILED;
  EXPECT_THAT(find(by_status), ElementsAre(c, b));
  by_status.program = "train";
  EXPECT_THAT(find(by_status), ElementsAre(c));

  RunFilter window;
  window.started_after = absl::FromUnixSeconds(kT0 + 10);   // inclusive
  window.started_before = absl::FromUnixSeconds(kT0 + 30);  // exclusive
  EXPECT_THAT(find(window), ElementsAre(c, b));
  window.started_before = absl::FromUnixSeconds(kT0 + 30) + absl::Microseconds(1);
  EXPECT_THAT(find(window), ElementsAre(e, d, c, b));
  window.started_after = absl::FromUnixSeconds(kT0 + 10) + absl::Microseconds(1);
  EXPECT_THAT(find(window), ElementsAre(e, d, c));

  RunFilter after_only;
  after_only.started_after = absl::FromUnixSeconds(kT0 + 30);
  EXPECT_THAT(find(after_only), ElementsAre(f, e, d));
  RunFilter before_only;
  before_only.started_before = absl::FromUnixSeconds(kT0);
  EXPECT_THAT(find(before_only), ElementsAre(g));

  RunFilter limited;
  limited.limit = 2;
  EXPECT_THAT(find(limited), ElementsAre(f, e));
  limited.limit = 1;
  limited.program = "eval";
  EXPECT_THAT(find(limited), ElementsAre(e));

  // Whole runs come back, not just ids.
  absl::StatusOr<std::vector<mlops::Run>> runs = store_->FindRuns(limited);
  ASSERT_TRUE(runs.ok()) << runs.status();
  ASSERT_EQ(runs->size(), 1u);
  mlops::Run expected = MakeRun("eval", kT0 + 30, mlops::Run::SUCCEEDED);
  expected.set_id(e);
  EXPECT_THAT(runs->front(), EqualsProto(expected));
}

// ---------------------------------------------------------------------------------------
// Executions and artifacts.

TEST_P(SqliteLineageStoreTest, ExecutionRoundTripWithEveryField) {
  const int64_t run = BeginRun(MakeRun("p", kT0));
  Execution e;
  e.set_id(99999);  // ignored
  e.set_run_id(run);
  e.set_step_name("train");
  e.set_step_version("v2");
  e.set_action_key(H("key"));
  *e.add_inputs() = Ref("features", "features", "vector<f64>", 8000, "train.csv", "/data/t.csv");
  *e.add_inputs() = Ref("labels", "labels", "vector<i32>", 400, "", "");
  *e.add_outputs() = Ref("0", "model", "Model", 123456, "model.bin", "s3://bucket/model");
  *e.add_outputs() = Ref("metrics", "metrics", "map<string,f64>", 0, "", "");
  e.set_status(Execution::FAILED);
  e.set_cache_hit(false);
  *e.mutable_start_time() = Ts(kT0, 1000);
  *e.mutable_end_time() = Ts(kT0 + 3, 999999000);
  e.set_error_message("step threw: \"bad\"\nsecond line");
  (*e.mutable_params())["lr"] = "0.01";
  (*e.mutable_params())["epochs"] = "3";
  (*e.mutable_metrics())["loss"] = 0.25;
  (*e.mutable_metrics())["acc"] = -1.5e300;
  e.set_nondeterministic(true);
  *e.add_expected_outputs() = Ref("0", "model_expected", "Model", 123456);

  const int64_t id = Record(e);
  ASSERT_GT(id, 0);
  Execution expected = e;
  expected.set_id(id);

  absl::StatusOr<Execution> got = store_->GetExecution(id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(*got, EqualsProto(expected));

  absl::StatusOr<std::vector<Execution>> of_run = store_->ExecutionsOfRun(run);
  ASSERT_TRUE(of_run.ok()) << of_run.status();
  ASSERT_EQ(of_run->size(), 1u);
  EXPECT_THAT(of_run->front(), EqualsProto(expected));

  // An execution with no run and nothing but a step name.
  Execution bare;
  bare.set_step_name("bare");
  const int64_t bare_id = Record(bare);
  bare.set_id(bare_id);
  got = store_->GetExecution(bare_id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(*got, EqualsProto(bare));

  if (IsFile()) {
    Open(Options());
    got = store_->GetExecution(id);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_THAT(*got, EqualsProto(expected));
  }
}

TEST_P(SqliteLineageStoreTest, ArtifactsComeFromRefs) {
  // First sighting: no label or uri, no type name.
  Execution first = Exec(0, "load", {}, {Ref("0", "x", "", 42, "", "")});
  Record(first);
  absl::StatusOr<Artifact> a = store_->GetArtifact(Digest::Of("x"));
  ASSERT_TRUE(a.ok()) << a.status();
  Artifact expected;
  expected.set_digest(H("x"));
  expected.set_size(42);
  EXPECT_THAT(*a, EqualsProto(expected));

  // A later record fills what is empty...
  Record(Exec(0, "use", {Ref("in", "x", "vector<f64>", 42, "x.csv", "")}, {}));
  a = store_->GetArtifact(Digest::Of("x"));
  ASSERT_TRUE(a.ok()) << a.status();
  expected.set_type_name("vector<f64>");
  expected.set_label("x.csv");
  EXPECT_THAT(*a, EqualsProto(expected));

  Record(Exec(0, "use2", {Ref("in", "x", "other", 42, "other.csv", "/data/x.csv")}, {}));
  a = store_->GetArtifact(Digest::Of("x"));
  ASSERT_TRUE(a.ok()) << a.status();
  expected.set_uri("/data/x.csv");  // was empty: filled
  EXPECT_THAT(*a, EqualsProto(expected));  // label and type name kept

  // ...and never overwrites what is set.
  Record(Exec(0, "use3", {Ref("in", "x", "again", 42, "again.csv", "/elsewhere")}, {}));
  a = store_->GetArtifact(Digest::Of("x"));
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_THAT(*a, EqualsProto(expected));

  // Every field from the first ref when it has them all.
  Record(Exec(0, "full", {}, {Ref("0", "y", "Model", 7, "model.bin", "s3://m")}));
  a = store_->GetArtifact(Digest::Of("y"));
  ASSERT_TRUE(a.ok()) << a.status();
  Artifact full;
  full.set_digest(H("y"));
  full.set_type_name("Model");
  full.set_size(7);
  full.set_label("model.bin");
  full.set_uri("s3://m");
  EXPECT_THAT(*a, EqualsProto(full));

  // Expected outputs are not artifacts of the graph.
  Execution nd = Exec(0, "nd", {}, {Ref("0", "z")});
  nd.set_nondeterministic(true);
  *nd.add_expected_outputs() = Ref("0", "z_cached");
  Record(nd);
  a = store_->GetArtifact(Digest::Of("z_cached"));
  EXPECT_EQ(a.status().code(), absl::StatusCode::kNotFound) << a.status();

  a = store_->GetArtifact(Digest::Of("never recorded"));
  EXPECT_EQ(a.status().code(), absl::StatusCode::kNotFound) << a.status();
}

TEST_P(SqliteLineageStoreTest, IdsAreUniqueAndIncreasing) {
  const int64_t run = BeginRun(MakeRun("p", kT0));
  std::vector<int64_t> ids;
  for (int i = 0; i < 60; ++i) {
    ids.push_back(Record(Exec(i % 2 == 0 ? run : 0, absl::StrCat("s", i % 5), {},
                              {Ref("0", absl::StrCat("v", i))})));
    if (i == 30) {
      ASSERT_TRUE(store_->Flush().ok());
    }
  }
  for (size_t i = 1; i < ids.size(); ++i) EXPECT_GT(ids[i], ids[i - 1]) << i;
  EXPECT_GT(ids.front(), 0);
  if (IsFile()) {
    // A new connection continues above every id already handed out.
    Open(Options());
    const int64_t next = Record(Exec(0, "after", {}, {}));
    EXPECT_GT(next, ids.back());
  }
}

TEST_P(SqliteLineageStoreTest, RecordExecutionRejectsBadInput) {
  const int64_t run = BeginRun(MakeRun("p", kT0));

  Execution no_step = Exec(run, "", {}, {Ref("0", "a")});
  absl::StatusOr<int64_t> id = store_->RecordExecution(no_step);
  EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument) << id.status();

  const std::vector<std::string> bad_digests = {
      "", "abc", std::string(31, 'a'), std::string(33, 'a'),
      std::string(31, 'a') + "g", std::string(32, ' ')};
  for (const std::string& bad : bad_digests) {
    SCOPED_TRACE(absl::StrCat("digest \"", bad, "\""));
    Execution in = Exec(run, "s", {Ref("in", "a")}, {});
    in.mutable_inputs(0)->set_digest(bad);
    id = store_->RecordExecution(in);
    EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument) << id.status();

    Execution out = Exec(run, "s", {}, {Ref("0", "a"), Ref("1", "b")});
    out.mutable_outputs(1)->set_digest(bad);
    id = store_->RecordExecution(out);
    EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument) << id.status();

    Execution expected_out = Exec(run, "s", {}, {Ref("0", "a")});
    *expected_out.add_expected_outputs() = Ref("0", "b");
    expected_out.mutable_expected_outputs(0)->set_digest(bad);
    id = store_->RecordExecution(expected_out);
    EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument) << id.status();

    if (!bad.empty()) {  // an empty action key means "none"
      Execution key = Exec(run, "s", {}, {});
      key.set_action_key(bad);
      id = store_->RecordExecution(key);
      EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument) << id.status();
    }
  }

  Execution unknown_run = Exec(run + 1000, "s", {}, {Ref("0", "a")});
  id = store_->RecordExecution(unknown_run);
  EXPECT_EQ(id.status().code(), absl::StatusCode::kNotFound) << id.status();

  // Nothing of the rejected records was stored.
  absl::StatusOr<std::vector<Execution>> of_step = store_->ExecutionsOfStep("s");
  ASSERT_TRUE(of_step.ok()) << of_step.status();
  EXPECT_THAT(*of_step, IsEmpty());
  absl::StatusOr<Artifact> a = store_->GetArtifact(Digest::Of("a"));
  EXPECT_EQ(a.status().code(), absl::StatusCode::kNotFound) << a.status();

  // Uppercase hex is a well-formed digest.
  Execution upper = Exec(run, "s", {}, {Ref("0", "a")});
  std::string hex = H("a");
  std::transform(hex.begin(), hex.end(), hex.begin(), ::toupper);
  upper.mutable_outputs(0)->set_digest(hex);
  id = store_->RecordExecution(upper);
  EXPECT_TRUE(id.ok()) << id.status();
}

TEST_P(SqliteLineageStoreTest, GetUnknownIsNotFound) {
  absl::StatusOr<Execution> e = store_->GetExecution(424242);
  EXPECT_EQ(e.status().code(), absl::StatusCode::kNotFound) << e.status();
  absl::StatusOr<std::vector<Execution>> of_run = store_->ExecutionsOfRun(424242);
  EXPECT_EQ(of_run.status().code(), absl::StatusCode::kNotFound) << of_run.status();
  absl::StatusOr<std::vector<Execution>> p = store_->Producers(Digest::Of("nothing"));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_THAT(*p, IsEmpty());
  absl::StatusOr<std::vector<Execution>> c = store_->Consumers(Digest::Of("nothing"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(*c, IsEmpty());
  absl::StatusOr<std::vector<Execution>> s = store_->ExecutionsOfStep("nothing");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_THAT(*s, IsEmpty());
}

TEST_P(SqliteLineageStoreTest, UpdateExecutionReplacesRecordAndEvents) {
  const int64_t run = BeginRun(MakeRun("p", kT0));
  // Updated while possibly still queued (batched configuration)...
  Execution e = Exec(run, "train", {Ref("in", "data")}, {}, false, kT0);
  e.set_status(Execution::RUNNING);
  const int64_t id = Record(e);
  Execution done = e;
  done.set_id(id);
  done.set_status(Execution::SUCCEEDED);
  *done.add_outputs() = Ref("0", "model_v1");
  (*done.mutable_metrics())["loss"] = 0.5;
  ASSERT_TRUE(store_->UpdateExecution(done).ok());
  absl::StatusOr<Execution> got = store_->GetExecution(id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(*got, EqualsProto(done));
  absl::StatusOr<std::vector<Execution>> producers = store_->Producers(Digest::Of("model_v1"));
  ASSERT_TRUE(producers.ok()) << producers.status();
  EXPECT_THAT(Ids(*producers), ElementsAre(id));

  // ...and once committed: changing the outputs moves the OUTPUT events.
  ASSERT_TRUE(store_->Flush().ok());
  Execution changed = done;
  changed.clear_outputs();
  *changed.add_outputs() = Ref("0", "model_v2");
  changed.clear_inputs();
  *changed.add_inputs() = Ref("in", "data2");
  changed.set_error_message("re-recorded");
  ASSERT_TRUE(store_->UpdateExecution(changed).ok());
  got = store_->GetExecution(id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(*got, EqualsProto(changed));

  producers = store_->Producers(Digest::Of("model_v1"));
  ASSERT_TRUE(producers.ok()) << producers.status();
  EXPECT_THAT(*producers, IsEmpty());
  producers = store_->Producers(Digest::Of("model_v2"));
  ASSERT_TRUE(producers.ok()) << producers.status();
  EXPECT_THAT(Ids(*producers), ElementsAre(id));
  absl::StatusOr<std::vector<Execution>> consumers = store_->Consumers(Digest::Of("data"));
  ASSERT_TRUE(consumers.ok()) << consumers.status();
  EXPECT_THAT(*consumers, IsEmpty());
  consumers = store_->Consumers(Digest::Of("data2"));
  ASSERT_TRUE(consumers.ok()) << consumers.status();
  EXPECT_THAT(Ids(*consumers), ElementsAre(id));

  absl::StatusOr<Subgraph> up = store_->Upstream(LineageNode::OfExecution(id), {0, false});
  ASSERT_TRUE(up.ok()) << up.status();
  ASSERT_EQ(up->events_size(), 2);
  EXPECT_EQ(up->events(0).digest(), H("data2"));
  EXPECT_EQ(up->events(0).kind(), Event::INPUT);
  EXPECT_EQ(up->events(1).digest(), H("model_v2"));
  EXPECT_EQ(up->events(1).kind(), Event::OUTPUT);

  // Unknown ids.
  Execution unknown = changed;
  unknown.set_id(id + 100000);
  absl::Status s = store_->UpdateExecution(unknown);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  unknown.set_id(0);
  s = store_->UpdateExecution(unknown);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  got = store_->GetExecution(id + 100000);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kNotFound) << got.status();

  // Updates are validated like records.
  Execution bad = changed;
  bad.mutable_outputs(0)->set_digest("xyz");
  s = store_->UpdateExecution(bad);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  bad = changed;
  bad.set_step_name("");
  s = store_->UpdateExecution(bad);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  got = store_->GetExecution(id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(*got, EqualsProto(changed));
}

// LineageStore::DeleteRun promises to delete "every artifact that no remaining execution
// refers to", and GetArtifact is NOT_FOUND "if no execution has read or written this
// artifact". An output that UpdateExecution replaced is referred to by no execution.
TEST_P(SqliteLineageStoreTest, ArtifactDroppedByUpdateExecutionIsNotKept) {
  const int64_t run = BeginRun(MakeRun("p", kT0));
  const int64_t id = Record(Exec(run, "train", {Ref("in", "data")}, {Ref("0", "stale")}));
  ASSERT_TRUE(store_->Flush().ok());
  Execution changed = Exec(run, "train", {Ref("in", "data")}, {Ref("0", "fresh")});
  changed.set_id(id);
  ASSERT_TRUE(store_->UpdateExecution(changed).ok());

  absl::StatusOr<Artifact> stale = store_->GetArtifact(Digest::Of("stale"));
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kNotFound)
      << "an artifact no execution refers to any more is still returned";

  ASSERT_TRUE(store_->DeleteRun(run).ok());
  for (const char* name : {"data", "fresh", "stale"}) {
    absl::StatusOr<Artifact> a = store_->GetArtifact(Digest::Of(name));
    EXPECT_EQ(a.status().code(), absl::StatusCode::kNotFound)
        << name << " survived DeleteRun although no execution remains";
  }
}

TEST_P(SqliteLineageStoreTest, ExecutionsOfRunInIdOrder) {
  const int64_t run1 = BeginRun(MakeRun("p", kT0));
  const int64_t run2 = BeginRun(MakeRun("p", kT0 + 1));
  const int64_t empty = BeginRun(MakeRun("p", kT0 + 2));
  std::vector<int64_t> ids1, ids2;
  for (int i = 0; i < 10; ++i) {
    // Start times decrease, so time order and id order differ.
    ids1.push_back(Record(Exec(run1, "a", {}, {Ref("0", absl::StrCat("a", i))}, false,
                               kT0 + 100 - i)));
    ids2.push_back(Record(Exec(run2, "b", {}, {Ref("0", absl::StrCat("b", i))}, false,
                               kT0 + 100 - i)));
  }
  Record(Exec(0, "no_run", {}, {}));
  absl::StatusOr<std::vector<Execution>> got = store_->ExecutionsOfRun(run1);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(Ids(*got), ElementsAreArray(ids1));
  for (const Execution& e : *got) EXPECT_EQ(e.run_id(), run1);
  got = store_->ExecutionsOfRun(run2);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(Ids(*got), ElementsAreArray(ids2));
  got = store_->ExecutionsOfRun(empty);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(*got, IsEmpty());
  got = store_->ExecutionsOfRun(run2 + 1000);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kNotFound) << got.status();
  got = store_->ExecutionsOfRun(0);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kNotFound) << got.status();
}

TEST_P(SqliteLineageStoreTest, ExecutionsOfStepNewestFirst) {
  // start times 30, 10, 20, 40, 20 (ties broken by id, newest id first).
  const int64_t a = Record(Exec(0, "train", {}, {}, false, kT0 + 30));
  const int64_t b = Record(Exec(0, "train", {}, {}, false, kT0 + 10));
  const int64_t c = Record(Exec(0, "train", {}, {}, false, kT0 + 20));
  Record(Exec(0, "evaluate", {}, {}, false, kT0 + 50));
  const int64_t d = Record(Exec(0, "train", {}, {}, false, kT0 + 40));
  const int64_t e = Record(Exec(0, "train", {}, {}, false, kT0 + 20));

  absl::StatusOr<std::vector<Execution>> got = store_->ExecutionsOfStep("train");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(Ids(*got), ElementsAre(d, a, e, c, b));
  got = store_->ExecutionsOfStep("train", 2);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(Ids(*got), ElementsAre(d, a));
  got = store_->ExecutionsOfStep("train", 1);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ(got->front().step_name(), "train");
  EXPECT_EQ(got->front().start_time().seconds(), kT0 + 40);
  got = store_->ExecutionsOfStep("trai");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(*got, IsEmpty());
}

// ---------------------------------------------------------------------------------------
// Graph queries on the hand-built pipeline (see Pipeline).

TEST_P(SqliteLineageStoreTest, ProducersAndConsumers) {
  ASSERT_NO_FATAL_FAILURE(BuildPipeline());
  EXPECT_THAT(ProducerNames("raw"), IsEmpty());
  EXPECT_THAT(ProducerNames("data"), ElementsAre("load1", "load2"));
  EXPECT_THAT(ProducerNames("train"), ElementsAre("split1", "split2"));
  EXPECT_THAT(ProducerNames("test"), ElementsAre("split1", "split2"));
  EXPECT_THAT(ProducerNames("model_a"), ElementsAre("train_a1", "train_a2"));
  EXPECT_THAT(ProducerNames("model_b"), ElementsAre("train_b1"));
  EXPECT_THAT(ProducerNames("model_b2"), ElementsAre("train_b2"));
  EXPECT_THAT(ProducerNames("report2"), ElementsAre("evaluate2"));

  EXPECT_THAT(ConsumerNames("raw"), ElementsAre("load1", "load2"));
  EXPECT_THAT(ConsumerNames("train"), ElementsAre("train_a1", "train_b1", "train_a2", "train_b2"));
  EXPECT_THAT(ConsumerNames("test"), ElementsAre("evaluate1", "evaluate2"));
  EXPECT_THAT(ConsumerNames("model_a"), ElementsAre("evaluate1", "evaluate2"));
  EXPECT_THAT(ConsumerNames("model_b2"), ElementsAre("evaluate2"));
  EXPECT_THAT(ConsumerNames("report"), IsEmpty());

  // Computing executions come first even when a cache hit has a smaller id; each group in
  // id order.
  Add("load3", Keyed(Exec(p_.run2, "load", {Ref("file", "raw", "file", 100)},
                          {Ref("0", "data")}, false, kT0 + 2000),
                     "load"));
  Add("load4", Keyed(Exec(p_.run2, "load", {Ref("file", "raw", "file", 100)},
                          {Ref("0", "data")}, true, kT0 + 2001),
                     "load"));
  EXPECT_THAT(ProducerNames("data"), ElementsAre("load1", "load3", "load2", "load4"));
  EXPECT_THAT(ConsumerNames("raw"), ElementsAre("load1", "load2", "load3", "load4"));

  // An execution naming the same artifact twice is listed once.
  Add("twice", Exec(0, "twice", {Ref("x", "clean"), Ref("y", "clean")},
                    {Ref("0", "model_b2"), Ref("1", "model_b2")}, false, kT0 + 3000));
  EXPECT_THAT(ProducerNames("model_b2"), ElementsAre("train_b2", "twice"));
  EXPECT_THAT(ConsumerNames("clean"), ElementsAre("split1", "split2", "twice"));
}

TEST_P(SqliteLineageStoreTest, UpstreamFromArtifact) {
  ASSERT_NO_FATAL_FAILURE(BuildPipeline());
  const LineageNode report2 = LineageNode::Of(Digest::Of("report2"));
  ExpectClosure(true, report2, 0, false, {}, {"report2"});
  ExpectClosure(true, report2, 1, false, {"evaluate2"}, {"report2", "model_a", "model_b2", "test"});
  ExpectClosure(true, report2, 2, false, {"evaluate2", "train_a1", "train_b2", "split1"},
                {"report2", "model_a", "model_b2", "test", "train", "clean"});
  const std::set<std::string> all_computed = {"evaluate2", "train_a1", "train_b2",
                                              "split1",    "clean1",   "load1"};
  const std::set<std::string> all_artifacts = {"report2", "model_a", "model_b2", "test",
                                               "train",   "clean",   "data",     "raw"};
  ExpectClosure(true, report2, -1, false, all_computed, all_artifacts);
  ExpectClosure(true, report2, 4, false, all_computed, all_artifacts);
  ExpectClosure(true, report2, 100, false, all_computed, all_artifacts);

  // With cache hits: the hits that returned the same values are followed too.
  ExpectClosure(true, report2, 1, true, {"evaluate2"}, {"report2", "model_a", "model_b2", "test"});
  ExpectClosure(true, report2, 2, true,
                {"evaluate2", "train_a1", "train_a2", "train_b2", "split1", "split2"},
                {"report2", "model_a", "model_b2", "test", "train", "clean"});
  ExpectClosure(true, report2, -1, true,
                {"evaluate2", "train_a1", "train_a2", "train_b2", "split1", "split2", "clean1",
                 "clean2", "load1", "load2"},
                all_artifacts);

  // From an artifact nothing produced: just the artifact.
  ExpectClosure(true, LineageNode::Of(Digest::Of("raw")), -1, false, {}, {"raw"});
  // From run 1's report.
  ExpectClosure(true, LineageNode::Of(Digest::Of("report")), -1, false,
                {"evaluate1", "train_a1", "train_b1", "split1", "clean1", "load1"},
                {"report", "model_a", "model_b", "test", "train", "clean", "data", "raw"});
}

TEST_P(SqliteLineageStoreTest, UpstreamFromExecution) {
  ASSERT_NO_FATAL_FAILURE(BuildPipeline());
  const LineageNode evaluate1 = LineageNode::OfExecution(p_.Id("evaluate1"));
  ExpectClosure(true, evaluate1, 0, false, {"evaluate1"},
                {"model_a", "model_b", "test", "report"});
  ExpectClosure(true, evaluate1, 1, false, {"evaluate1", "train_a1", "train_b1", "split1"},
                {"model_a", "model_b", "test", "report", "train", "clean"});
  ExpectClosure(true, evaluate1, 2, false,
                {"evaluate1", "train_a1", "train_b1", "split1", "clean1"},
                {"model_a", "model_b", "test", "report", "train", "clean", "data"});
  ExpectClosure(true, evaluate1, -1, false,
                {"evaluate1", "train_a1", "train_b1", "split1", "clean1", "load1"},
                {"model_a", "model_b", "test", "report", "train", "clean", "data", "raw"});
  ExpectClosure(true, evaluate1, 1, true,
                {"evaluate1", "train_a1", "train_a2", "train_b1", "split1", "split2"},
                {"model_a", "model_b", "test", "report", "train", "clean"});

  // A cache hit as the start node is always included.
  const LineageNode split2 = LineageNode::OfExecution(p_.Id("split2"));
  ExpectClosure(true, split2, 0, false, {"split2"}, {"clean", "train", "test"});
  ExpectClosure(true, split2, -1, false, {"split2", "clean1", "load1"},
                {"clean", "train", "test", "data", "raw"});
  ExpectClosure(true, split2, -1, true, {"split2", "clean1", "clean2", "load1", "load2"},
                {"clean", "train", "test", "data", "raw"});
}

TEST_P(SqliteLineageStoreTest, DownstreamFromArtifact) {
  ASSERT_NO_FATAL_FAILURE(BuildPipeline());
  const LineageNode clean = LineageNode::Of(Digest::Of("clean"));
  ExpectClosure(false, clean, 0, false, {}, {"clean"});
  ExpectClosure(false, clean, 1, false, {"split1"}, {"clean", "train", "test"});
  const std::set<std::string> two_hops = {"split1",    "train_a1", "train_b1",
                                          "train_b2",  "evaluate1", "evaluate2"};
  const std::set<std::string> two_hop_artifacts = {"clean",   "train",   "test",     "model_a",
                                                   "model_b", "model_b2", "report", "report2"};
  ExpectClosure(false, clean, 2, false, two_hops, two_hop_artifacts);
  ExpectClosure(false, clean, 3, false, two_hops, two_hop_artifacts);
  ExpectClosure(false, clean, -1, false, two_hops, two_hop_artifacts);

  ExpectClosure(false, clean, 1, true, {"split1", "split2"}, {"clean", "train", "test"});
  ExpectClosure(false, clean, -1, true,
                {"split1", "split2", "train_a1", "train_a2", "train_b1", "train_b2", "evaluate1",
                 "evaluate2"},
                two_hop_artifacts);

  const LineageNode model_b2 = LineageNode::Of(Digest::Of("model_b2"));
  ExpectClosure(false, model_b2, -1, false, {"evaluate2"},
                {"model_b2", "model_a", "test", "report2"});
  ExpectClosure(false, LineageNode::Of(Digest::Of("report")), -1, true, {}, {"report"});

  const LineageNode raw = LineageNode::Of(Digest::Of("raw"));
  ExpectClosure(false, raw, 1, false, {"load1"}, {"raw", "data"});
  ExpectClosure(false, raw, 1, true, {"load1", "load2"}, {"raw", "data"});
  ExpectClosure(false, raw, 2, false, {"load1", "clean1"}, {"raw", "data", "clean"});
}

TEST_P(SqliteLineageStoreTest, DownstreamFromExecution) {
  ASSERT_NO_FATAL_FAILURE(BuildPipeline());
  const LineageNode clean1 = LineageNode::OfExecution(p_.Id("clean1"));
  ExpectClosure(false, clean1, 0, false, {"clean1"}, {"data", "clean"});
  ExpectClosure(false, clean1, 1, false, {"clean1", "split1"}, {"data", "clean", "train", "test"});
  ExpectClosure(false, clean1, 1, true, {"clean1", "split1", "split2"},
                {"data", "clean", "train", "test"});
  ExpectClosure(false, clean1, -1, false,
                {"clean1", "split1", "train_a1", "train_b1", "train_b2", "evaluate1",
                 "evaluate2"},
                {"data", "clean", "train", "test", "model_a", "model_b", "model_b2", "report",
                 "report2"});

  const LineageNode train_a2 = LineageNode::OfExecution(p_.Id("train_a2"));
  ExpectClosure(false, train_a2, -1, false, {"train_a2", "evaluate1", "evaluate2"},
                {"train", "model_a", "model_b", "model_b2", "test", "report", "report2"});
}

TEST_P(SqliteLineageStoreTest, ClosureOfUnknownNodeIsNotFound) {
  ASSERT_NO_FATAL_FAILURE(BuildPipeline());
  const LineageNode unknown_artifact = LineageNode::Of(Digest::Of("unknown"));
  const LineageNode unknown_execution = LineageNode::OfExecution(p_.Id("evaluate2") + 10000);
  for (int max_hops : {-1, 0, 1}) {
    for (bool hits : {false, true}) {
      ClosureOptions options;
      options.max_hops = max_hops;
      options.include_cache_hits = hits;
      for (const LineageNode& node : {unknown_artifact, unknown_execution}) {
        absl::StatusOr<Subgraph> g = store_->Upstream(node, options);
        EXPECT_EQ(g.status().code(), absl::StatusCode::kNotFound) << g.status();
        g = store_->Downstream(node, options);
        EXPECT_EQ(g.status().code(), absl::StatusCode::kNotFound) << g.status();
      }
    }
  }
}

TEST_P(SqliteLineageStoreTest, DeleteRun) {
  ASSERT_NO_FATAL_FAILURE(BuildPipeline());
  const Pipeline& p = p_;
  ASSERT_TRUE(store_->DeleteRun(p.run1).ok());

  absl::StatusOr<mlops::Run> run = store_->GetRun(p.run1);
  EXPECT_EQ(run.status().code(), absl::StatusCode::kNotFound) << run.status();
  absl::StatusOr<std::vector<Execution>> of_run = store_->ExecutionsOfRun(p.run1);
  EXPECT_EQ(of_run.status().code(), absl::StatusCode::kNotFound) << of_run.status();
  for (const char* name : {"load1", "clean1", "split1", "train_a1", "train_b1", "evaluate1"}) {
    absl::StatusOr<Execution> e = store_->GetExecution(p.Id(name));
    EXPECT_EQ(e.status().code(), absl::StatusCode::kNotFound) << name << ": " << e.status();
    absl::StatusOr<Subgraph> g = store_->Upstream(LineageNode::OfExecution(p.Id(name)));
    EXPECT_EQ(g.status().code(), absl::StatusCode::kNotFound) << name << ": " << g.status();
  }
  // Only run 1 referred to model_b and report.
  for (const char* name : {"model_b", "report"}) {
    absl::StatusOr<Artifact> a = store_->GetArtifact(Digest::Of(name));
    EXPECT_EQ(a.status().code(), absl::StatusCode::kNotFound) << name << ": " << a.status();
    absl::StatusOr<Subgraph> g = store_->Downstream(LineageNode::Of(Digest::Of(name)));
    EXPECT_EQ(g.status().code(), absl::StatusCode::kNotFound) << name << ": " << g.status();
  }
  // The shared ones stay, with their fields.
  for (const char* name :
       {"raw", "data", "clean", "train", "test", "model_a", "model_b2", "report2"}) {
    absl::StatusOr<Artifact> a = store_->GetArtifact(Digest::Of(name));
    EXPECT_TRUE(a.ok()) << name << ": " << a.status();
  }
  absl::StatusOr<Artifact> raw = store_->GetArtifact(Digest::Of("raw"));
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->label(), "raw.csv");
  EXPECT_EQ(raw->uri(), "/data/raw.csv");

  // Run 2 is untouched.
  of_run = store_->ExecutionsOfRun(p.run2);
  ASSERT_TRUE(of_run.ok()) << of_run.status();
  EXPECT_THAT(Names(*of_run),
              ElementsAre("load2", "clean2", "split2", "train_a2", "train_b2", "evaluate2"));

  // With the computing executions gone, producers and closures fall back to the cache hits.
  EXPECT_THAT(ProducerNames("data"), ElementsAre("load2"));
  EXPECT_THAT(ProducerNames("model_a"), ElementsAre("train_a2"));
  EXPECT_THAT(ProducerNames("model_b"), IsEmpty());
  EXPECT_THAT(ConsumerNames("train"), ElementsAre("train_a2", "train_b2"));
  EXPECT_THAT(ConsumerNames("model_a"), ElementsAre("evaluate2"));
  const std::set<std::string> all_artifacts = {"report2", "model_a", "model_b2", "test",
                                               "train",   "clean",   "data",     "raw"};
  ExpectClosure(true, LineageNode::Of(Digest::Of("report2")), -1, false,
                {"evaluate2", "train_a2", "train_b2", "split2", "clean2", "load2"}, all_artifacts);
  ExpectClosure(true, LineageNode::Of(Digest::Of("report2")), 2, false,
                {"evaluate2", "train_a2", "train_b2", "split2"},
                {"report2", "model_a", "model_b2", "test", "train", "clean"});
  // (train_a2, a cache hit, is not followed from train, which the computing train_b2 read.)
  ExpectClosure(false, LineageNode::Of(Digest::Of("raw")), -1, false,
                {"load2", "clean2", "split2", "train_b2", "evaluate2"}, all_artifacts);

  // Unknown and already deleted runs.
  absl::Status s = store_->DeleteRun(p.run1);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  s = store_->DeleteRun(p.run2 + 1000);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  // A deleted run takes no more executions, and its id is not handed out again.
  absl::StatusOr<int64_t> id = store_->RecordExecution(Exec(p.run1, "late", {}, {}));
  EXPECT_EQ(id.status().code(), absl::StatusCode::kNotFound) << id.status();
  const int64_t run3 = BeginRun(MakeRun("pipeline", kT0 + 5000));
  EXPECT_GT(run3, p.run2);

  // Deleting the last run leaves nothing behind.
  ASSERT_TRUE(store_->DeleteRun(p.run2).ok());
  for (const char* name : {"raw", "data", "clean", "train", "test", "model_a", "model_b2",
                           "report2"}) {
    absl::StatusOr<Artifact> a = store_->GetArtifact(Digest::Of(name));
    EXPECT_EQ(a.status().code(), absl::StatusCode::kNotFound) << name << ": " << a.status();
  }
  absl::StatusOr<std::vector<Execution>> steps = store_->ExecutionsOfStep("load");
  ASSERT_TRUE(steps.ok());
  EXPECT_THAT(*steps, IsEmpty());

  if (IsFile()) {
    Open(Options());
    absl::StatusOr<std::vector<mlops::Run>> runs = store_->FindRuns({});
    ASSERT_TRUE(runs.ok()) << runs.status();
    EXPECT_THAT(RunIds(*runs), ElementsAre(run3));
  }
}

TEST_P(SqliteLineageStoreTest, DeleteRunKeepsArtifactsOfExecutionsWithoutRun) {
  ASSERT_NO_FATAL_FAILURE(BuildPipeline());
  // An execution outside any run reads run 1's model_b.
  Add("orphan", Exec(0, "inspect", {Ref("m", "model_b", "Model")}, {}, false, kT0 + 9000));
  ASSERT_TRUE(store_->DeleteRun(p_.run1).ok());
  absl::StatusOr<Artifact> a = store_->GetArtifact(Digest::Of("model_b"));
  EXPECT_TRUE(a.ok()) << a.status();
  a = store_->GetArtifact(Digest::Of("report"));
  EXPECT_EQ(a.status().code(), absl::StatusCode::kNotFound) << a.status();
  EXPECT_THAT(ConsumerNames("model_b"), ElementsAre("orphan"));
  EXPECT_THAT(ProducerNames("model_b"), IsEmpty());
}

// A step that passes one of its inputs through unchanged (validate(data) -> data) is
// common. What consumes that output is downstream of the step.
TEST_P(SqliteLineageStoreTest, DownstreamThroughPassThroughOutput) {
  ASSERT_NO_FATAL_FAILURE(BuildPipeline());
  // validate reads model_b2 and returns it unchanged; publish consumes the result.
  Add("validate", Exec(p_.run2, "validate", {Ref("m", "model_b2", "Model")},
                       {Ref("0", "model_b2", "Model")}, false, kT0 + 1010));
  Add("publish", Exec(p_.run2, "publish", {Ref("m", "model_b2", "Model")}, {}, false,
                      kT0 + 1011));
  ExpectClosure(false, LineageNode::OfExecution(p_.Id("validate")), -1, false,
                {"validate", "evaluate2", "publish"},
                {"model_b2", "model_a", "test", "report2"});
  ExpectClosure(false, LineageNode::OfExecution(p_.Id("validate")), 1, false,
                {"validate", "evaluate2", "publish"},
                {"model_b2", "model_a", "test", "report2"});
}

TEST_P(SqliteLineageStoreTest, DownstreamThroughArtifactFirstSeenAsInput) {
  ASSERT_NO_FATAL_FAILURE(BuildPipeline());
  // combine reads clean and model_a and outputs model_a again (e.g. a no-op refit);
  // deploy consumes model_a. Downstream of clean runs through combine to deploy.
  Add("combine", Exec(0, "combine", {Ref("c", "clean", "table"), Ref("m", "model_a", "Model")},
                      {Ref("0", "model_a", "Model")}, false, kT0 + 5000));
  Add("deploy", Exec(0, "deploy", {Ref("m", "model_a", "Model")}, {Ref("0", "deployed")}, false,
                     kT0 + 5001));
  absl::StatusOr<Subgraph> g = store_->Downstream(LineageNode::Of(Digest::Of("clean")));
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_THAT(p_.Describe(*g).executions,
              ::testing::IsSupersetOf({"split1", "combine", "deploy", "evaluate1", "evaluate2"}));
}

// The same in the other direction: an artifact first met as an output of one execution of
// the frontier and then as an input of another.
//   featurize0 (run 1)          -> 0: features
//   featurize  (run 2)          -> 0: features, vocab: A
//   fit        (x: features)    -> 0: B
//   report     (A, B)           -> 0: summary
// Upstream of report: fit read features, and both featurize and featurize0 computed
// features, so featurize0 is upstream of report.
TEST_P(SqliteLineageStoreTest, UpstreamThroughArtifactFirstSeenAsOutput) {
  const int64_t run1 = BeginRun(MakeRun("p", kT0));
  const int64_t run2 = BeginRun(MakeRun("p", kT0 + 100));
  // Name A and B so that A's digest sorts first: report's inputs are then expanded in the
  // order A (featurize), B (fit).
  std::string a = "vocab", b = "fitted";
  if (H(a) > H(b)) std::swap(a, b);
  const Execution featurize0 = Exec(run1, "featurize", {}, {Ref("0", "features")}, false, kT0);
  p_.Add("featurize0", Record(featurize0), featurize0);
  const Execution featurize =
      Exec(run2, "featurize", {}, {Ref("0", "features"), Ref("vocab", a)}, false, kT0 + 101);
  p_.Add("featurize", Record(featurize), featurize);
  const Execution fit = Exec(run2, "fit", {Ref("x", "features")}, {Ref("0", b)}, false, kT0 + 102);
  p_.Add("fit", Record(fit), fit);
  const Execution report =
      Exec(run2, "report", {Ref("a", a), Ref("b", b)}, {Ref("0", "summary")}, false, kT0 + 103);
  p_.Add("report", Record(report), report);

  absl::StatusOr<std::vector<Execution>> producers = store_->Producers(Digest::Of("features"));
  ASSERT_TRUE(producers.ok()) << producers.status();
  EXPECT_THAT(Names(*producers), ElementsAre("featurize0", "featurize"));
  absl::StatusOr<Subgraph> g = store_->Upstream(LineageNode::Of(Digest::Of("features")));
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_THAT(p_.Describe(*g).executions, UnorderedElementsAre("featurize", "featurize0"));
  g = store_->Upstream(LineageNode::Of(Digest::Of("summary")));
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_THAT(p_.Describe(*g).executions,
              UnorderedElementsAre("report", "featurize", "fit", "featurize0"));
}

// ---------------------------------------------------------------------------------------
// Executions of one action (same action key): computed, failed, answered from the cache.

// A step that failed and was run again has the same action key both times (same step,
// version and inputs). A later cache hit of that action output what the second run
// computed, and is one of its producers.
TEST_P(SqliteLineageStoreTest, HitOfAnActionRetriedAfterFailure) {
  const int64_t run1 = BeginRun(MakeRun("p", kT0));
  const int64_t run2 = BeginRun(MakeRun("p", kT0 + 100));
  Execution failed = Keyed(Exec(run1, "train", {Ref("in", "a")}, {}, false, kT0 + 1), "k");
  failed.set_status(Execution::FAILED);
  failed.set_error_message("out of memory");
  p_.Add("failed", Record(failed), failed);
  const Execution retried =
      Keyed(Exec(run1, "train", {Ref("in", "a")}, {Ref("0", "x")}, false, kT0 + 2), "k");
  p_.Add("retried", Record(retried), retried);
  const Execution hit =
      Keyed(Exec(run2, "train", {Ref("in", "a")}, {Ref("0", "x")}, true, kT0 + 101), "k");
  p_.Add("hit", Record(hit), hit);

  EXPECT_THAT(ProducerNames("x"), ElementsAre("retried", "hit"));
  EXPECT_THAT(ConsumerNames("a"),
              ElementsAre("failed", "retried", "hit"));
  ClosureOptions hits;
  hits.include_cache_hits = true;
  absl::StatusOr<Subgraph> up = store_->Upstream(LineageNode::Of(Digest::Of("x")), hits);
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_THAT(p_.Describe(*up).executions, UnorderedElementsAre("retried", "hit"));
  absl::StatusOr<Subgraph> down = store_->Downstream(LineageNode::Of(Digest::Of("a")), hits);
  ASSERT_TRUE(down.ok()) << down.status();
  EXPECT_THAT(p_.Describe(*down).executions, UnorderedElementsAre("failed", "retried", "hit"));

  // Once the run that computed it is gone, the hit is the producer.
  ASSERT_TRUE(store_->DeleteRun(run1).ok());
  EXPECT_THAT(ProducerNames("x"), ElementsAre("hit"));
  EXPECT_THAT(ConsumerNames("a"), ElementsAre("hit"));
  absl::StatusOr<Artifact> x = store_->GetArtifact(Digest::Of("x"));
  EXPECT_TRUE(x.ok()) << x.status();
}

// A nondeterministic step whose cache entry was evicted and computed again stores another
// value under the same action key; later hits return that value, not the first one.
TEST_P(SqliteLineageStoreTest, HitAfterTheActionWasRecomputedWithAnotherResult) {
  const int64_t run1 = BeginRun(MakeRun("p", kT0));
  const int64_t run2 = BeginRun(MakeRun("p", kT0 + 100));
  const int64_t run3 = BeginRun(MakeRun("p", kT0 + 200));
  const Execution first =
      Keyed(Exec(run1, "train", {Ref("in", "a")}, {Ref("0", "x")}, false, kT0 + 1), "k");
  p_.Add("first", Record(first), first);
  const Execution again =
      Keyed(Exec(run2, "train", {Ref("in", "a")}, {Ref("0", "x2")}, false, kT0 + 101), "k");
  p_.Add("again", Record(again), again);
  const Execution hit =
      Keyed(Exec(run3, "train", {Ref("in", "a")}, {Ref("0", "x2")}, true, kT0 + 201), "k");
  p_.Add("hit", Record(hit), hit);

  EXPECT_THAT(ProducerNames("x"), ElementsAre("first"));
  EXPECT_THAT(ProducerNames("x2"), ElementsAre("again", "hit"));
  ClosureOptions hits;
  hits.include_cache_hits = true;
  absl::StatusOr<Subgraph> up = store_->Upstream(LineageNode::Of(Digest::Of("x")), hits);
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_THAT(p_.Describe(*up).executions, UnorderedElementsAre("first"));
  up = store_->Upstream(LineageNode::Of(Digest::Of("x2")), hits);
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_THAT(p_.Describe(*up).executions, UnorderedElementsAre("again", "hit"));
}

// Deleting the run that computed an action leaves every cache hit of it in other runs
// findable, as producers and consumers, one run deleted after the other.
TEST_P(SqliteLineageStoreTest, DeleteRunKeepsEveryRemainingHitOfTheAction) {
  const int64_t run1 = BeginRun(MakeRun("p", kT0));
  const int64_t run2 = BeginRun(MakeRun("p", kT0 + 100));
  const int64_t run3 = BeginRun(MakeRun("p", kT0 + 200));
  const int64_t run4 = BeginRun(MakeRun("p", kT0 + 300));
  const auto step = [](int64_t run, bool hit, int64_t t) {
    return Keyed(Exec(run, "train", {Ref("in", "a")}, {Ref("0", "x")}, hit, t), "k");
  };
  p_.Add("computed", Record(step(run1, false, kT0 + 1)), step(run1, false, kT0 + 1));
  p_.Add("hit2", Record(step(run2, true, kT0 + 101)), step(run2, true, kT0 + 101));
  p_.Add("hit3", Record(step(run3, true, kT0 + 201)), step(run3, true, kT0 + 201));
  p_.Add("hit4", Record(step(run4, true, kT0 + 301)), step(run4, true, kT0 + 301));
  // A consumer of x, so that Downstream has something to find.
  const Execution use = Exec(run4, "use", {Ref("m", "x")}, {Ref("0", "y")}, false, kT0 + 302);
  p_.Add("use", Record(use), use);

  EXPECT_THAT(ProducerNames("x"),
              ElementsAre("computed", "hit2", "hit3", "hit4"));
  EXPECT_THAT(ConsumerNames("a"),
              ElementsAre("computed", "hit2", "hit3", "hit4"));

  ASSERT_TRUE(store_->DeleteRun(run1).ok());
  EXPECT_THAT(ProducerNames("x"), ElementsAre("hit2", "hit3", "hit4"));
  EXPECT_THAT(ConsumerNames("a"), ElementsAre("hit2", "hit3", "hit4"));
  absl::StatusOr<Subgraph> up = store_->Upstream(LineageNode::Of(Digest::Of("y")));
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_THAT(p_.Describe(*up).executions, UnorderedElementsAre("use", "hit2", "hit3", "hit4"));

  ASSERT_TRUE(store_->DeleteRun(run2).ok());
  EXPECT_THAT(ProducerNames("x"), ElementsAre("hit3", "hit4"));
  EXPECT_THAT(ConsumerNames("a"), ElementsAre("hit3", "hit4"));
  absl::StatusOr<Subgraph> down = store_->Downstream(LineageNode::Of(Digest::Of("a")));
  ASSERT_TRUE(down.ok()) << down.status();
  EXPECT_THAT(p_.Describe(*down).executions, UnorderedElementsAre("hit3", "hit4", "use"));

  ASSERT_TRUE(store_->DeleteRun(run3).ok());
  EXPECT_THAT(ProducerNames("x"), ElementsAre("hit4"));
  ASSERT_TRUE(store_->DeleteRun(run4).ok());
  for (const char* name : {"a", "x", "y"}) {
    absl::StatusOr<Artifact> gone = store_->GetArtifact(Digest::Of(name));
    EXPECT_EQ(gone.status().code(), absl::StatusCode::kNotFound) << name << ": " << gone.status();
  }
}

// UpdateExecution replaces a cache hit's outputs like any execution's.
TEST_P(SqliteLineageStoreTest, UpdateExecutionOfAHitMovesItsEvents) {
  const int64_t run1 = BeginRun(MakeRun("p", kT0));
  const int64_t run2 = BeginRun(MakeRun("p", kT0 + 100));
  const Execution computed =
      Keyed(Exec(run1, "train", {Ref("in", "a")}, {Ref("0", "x")}, false, kT0 + 1), "k");
  p_.Add("computed", Record(computed), computed);
  Execution hit = Keyed(Exec(run2, "train", {Ref("in", "a")}, {Ref("0", "x")}, true, kT0 + 101),
                        "k");
  const int64_t hit_id = Record(hit);
  ASSERT_TRUE(store_->Flush().ok());
  hit.set_id(hit_id);
  hit.mutable_outputs(0)->set_digest(H("z"));
  hit.set_nondeterministic(true);
  *hit.add_expected_outputs() = Ref("0", "x");
  ASSERT_TRUE(store_->UpdateExecution(hit).ok());
  p_.Add("hit", hit_id, hit);

  EXPECT_THAT(ProducerNames("x"), ElementsAre("computed"));
  EXPECT_THAT(ProducerNames("z"), ElementsAre("hit"));
  absl::StatusOr<Subgraph> up = store_->Upstream(LineageNode::Of(Digest::Of("z")));
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_THAT(p_.Describe(*up).executions, UnorderedElementsAre("hit"));
}

// ---------------------------------------------------------------------------------------
// Visibility, durability, concurrency.

TEST_P(SqliteLineageStoreTest, QueriesSeeRecordsBeforeFlush) {
  SqliteLineageOptions options = Options();
  if (options.max_batch_delay > absl::ZeroDuration()) {
    options.max_batch_delay = absl::Hours(1);  // nothing is committed behind our back
    options.max_batch_size = 1000000;
  }
  Open(options);
  const int64_t run = BeginRun(MakeRun("p", kT0));
  const int64_t a = Record(Exec(run, "a", {Ref("in", "x")}, {Ref("0", "y")}, false, kT0 + 1));
  absl::StatusOr<Execution> e = store_->GetExecution(a);
  EXPECT_TRUE(e.ok()) << e.status();
  const int64_t b = Record(Exec(run, "b", {Ref("in", "y")}, {Ref("0", "z")}, false, kT0 + 2));
  absl::StatusOr<std::vector<Execution>> p = store_->Producers(Digest::Of("z"));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_THAT(Ids(*p), ElementsAre(b));
  const int64_t c = Record(Exec(run, "c", {Ref("in", "z")}, {}, false, kT0 + 3));
  absl::StatusOr<std::vector<Execution>> cons = store_->Consumers(Digest::Of("z"));
  ASSERT_TRUE(cons.ok()) << cons.status();
  EXPECT_THAT(Ids(*cons), ElementsAre(c));
  const int64_t d = Record(Exec(run, "d", {Ref("in", "z")}, {Ref("0", "w")}, false, kT0 + 4));
  absl::StatusOr<Subgraph> up = store_->Upstream(LineageNode::Of(Digest::Of("w")));
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_EQ(up->executions_size(), 3);
  const int64_t e2 = Record(Exec(run, "e", {}, {Ref("0", "v")}, false, kT0 + 5));
  absl::StatusOr<Subgraph> down = store_->Downstream(LineageNode::OfExecution(e2));
  EXPECT_TRUE(down.ok()) << down.status();
  Record(Exec(run, "f", {}, {Ref("0", "u")}, false, kT0 + 6));
  absl::StatusOr<Artifact> art = store_->GetArtifact(Digest::Of("u"));
  EXPECT_TRUE(art.ok()) << art.status();
  Record(Exec(run, "g", {}, {}, false, kT0 + 7));
  absl::StatusOr<std::vector<Execution>> of_step = store_->ExecutionsOfStep("g");
  ASSERT_TRUE(of_step.ok()) << of_step.status();
  EXPECT_EQ(of_step->size(), 1u);
  Record(Exec(run, "h", {}, {}, false, kT0 + 8));
  absl::StatusOr<std::vector<Execution>> of_run = store_->ExecutionsOfRun(run);
  ASSERT_TRUE(of_run.ok()) << of_run.status();
  EXPECT_EQ(of_run->size(), 8u);
  EXPECT_EQ(of_run->front().id(), a);
  EXPECT_EQ((*of_run)[3].id(), d);
}

TEST_P(SqliteLineageStoreTest, DestructorCommitsQueuedRecords) {
  if (!IsFile()) GTEST_SKIP() << "an in-memory database does not outlive its store";
  SqliteLineageOptions options = Options();
  if (options.max_batch_delay > absl::ZeroDuration()) {
    options.max_batch_delay = absl::Hours(1);
    options.max_batch_size = 1000000;
  }
  Open(options);
  const int64_t run = BeginRun(MakeRun("p", kT0));
  std::vector<int64_t> ids;
  for (int i = 0; i < 25; ++i) {
    ids.push_back(Record(Exec(run, "s", {Ref("in", absl::StrCat("v", i))},
                              {Ref("0", absl::StrCat("v", i + 1))}, false, kT0 + i)));
  }
  store_.reset();  // no Flush()

  Open(Options());
  absl::StatusOr<std::vector<Execution>> of_run = store_->ExecutionsOfRun(run);
  ASSERT_TRUE(of_run.ok()) << of_run.status();
  EXPECT_THAT(Ids(*of_run), ElementsAreArray(ids));
  absl::StatusOr<Subgraph> up = store_->Upstream(LineageNode::Of(Digest::Of("v25")));
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_EQ(up->executions_size(), 25);
  EXPECT_EQ(up->artifacts_size(), 26);
  EXPECT_EQ(up->events_size(), 50);
}

TEST_P(SqliteLineageStoreTest, ConcurrentThreadsRecord) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 150;
  std::vector<int64_t> runs(kThreads);
  std::vector<std::vector<int64_t>> ids(kThreads);
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      absl::StatusOr<int64_t> run = store_->BeginRun(MakeRun(absl::StrCat("thread", t), kT0 + t));
      if (!run.ok()) {
        errors[t] = run.status().ToString();
        return;
      }
      runs[t] = *run;
      for (int i = 0; i < kPerThread; ++i) {
        Execution e = Exec(*run, absl::StrCat("step", t),
                           {Ref("prev", absl::StrCat("t", t, "_", i)), Ref("shared", "shared")},
                           {Ref("0", absl::StrCat("t", t, "_", i + 1))}, false, kT0 + i);
        (*e.mutable_params())["i"] = absl::StrCat(i);
        absl::StatusOr<int64_t> id = store_->RecordExecution(e);
        if (!id.ok()) {
          errors[t] = id.status().ToString();
          return;
        }
        ids[t].push_back(*id);
        if (i % 50 == 25) {  // interleave queries with the writers
          absl::StatusOr<std::vector<Execution>> p =
              store_->Producers(Digest::Of(absl::StrCat("t", t, "_", i + 1)));
          if (!p.ok() || p->size() != 1 || p->front().id() != *id) {
            errors[t] = absl::StrCat("producer of t", t, "_", i + 1, " not found");
            return;
          }
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) ASSERT_EQ(errors[t], "") << "thread " << t;

  std::set<int64_t> all;
  for (int t = 0; t < kThreads; ++t) {
    for (size_t i = 1; i < ids[t].size(); ++i) EXPECT_GT(ids[t][i], ids[t][i - 1]);
    all.insert(ids[t].begin(), ids[t].end());
    absl::StatusOr<std::vector<Execution>> of_run = store_->ExecutionsOfRun(runs[t]);
    ASSERT_TRUE(of_run.ok()) << of_run.status();
    EXPECT_THAT(Ids(*of_run), ElementsAreArray(ids[t]));
    for (size_t i = 0; i < of_run->size(); ++i) {
      EXPECT_EQ((*of_run)[i].params().at("i"), absl::StrCat(i));
      EXPECT_EQ((*of_run)[i].step_name(), absl::StrCat("step", t));
    }
    absl::StatusOr<Subgraph> up =
        store_->Upstream(LineageNode::Of(Digest::Of(absl::StrCat("t", t, "_", kPerThread))));
    ASSERT_TRUE(up.ok()) << up.status();
    EXPECT_EQ(up->executions_size(), kPerThread);
  }
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
  absl::StatusOr<std::vector<Execution>> c = store_->Consumers(Digest::Of("shared"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->size(), static_cast<size_t>(kThreads * kPerThread));
  absl::StatusOr<std::vector<mlops::Run>> found = store_->FindRuns({});
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->size(), static_cast<size_t>(kThreads));
}

}  // namespace
}  // namespace mlops
