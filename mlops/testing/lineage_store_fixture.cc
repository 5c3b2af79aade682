#include "mlops/testing/lineage_store_fixture.h"

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace mlops {
namespace test {

void RecordedPipeline::Add(const std::string& name, int64_t id, const Execution& e) {
  ids_[name] = id;
  names_[id] = name;
  Execution stored = e;
  stored.set_id(id);
  recorded_[id] = stored;
}

std::string RecordedPipeline::ExecutionName(int64_t id) const {
  auto it = names_.find(id);
  return it == names_.end() ? absl::StrCat("#", id) : it->second;
}

std::string RecordedPipeline::ArtifactName(const std::string& digest) {
  for (const char* n : {"raw", "data", "clean", "train", "test", "model_a", "model_b", "report",
                        "model_b2", "report2"}) {
    if (H(n) == digest) return n;
  }
  return digest;
}

std::string RecordedPipeline::EventName(const std::string& execution, const std::string& artifact,
                                        Event::Kind kind, const std::string& name) {
  return kind == Event::INPUT ? absl::StrCat(artifact, " -", name, "-> ", execution)
                              : absl::StrCat(execution, " -", name, "-> ", artifact);
}

std::set<std::string> RecordedPipeline::EventsOf(const std::set<std::string>& executions) const {
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

RecordedPipeline::Named RecordedPipeline::Describe(const Subgraph& g) const {
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

int64_t SqliteLineageStoreTest::BeginRun(const mlops::Run& run) {
  absl::StatusOr<int64_t> id = store_->BeginRun(run);
  EXPECT_TRUE(id.ok()) << id.status();
  return id.ok() ? *id : -1;
}

int64_t SqliteLineageStoreTest::Record(const Execution& e) {
  absl::StatusOr<int64_t> id = store_->RecordExecution(e);
  EXPECT_TRUE(id.ok()) << id.status();
  return id.ok() ? *id : -1;
}

void SqliteLineageStoreTest::BuildPipeline() {
  p_.run1 = BeginRun(MakeRun("pipeline", kT0));
  p_.run2 = BeginRun(MakeRun("pipeline", kT0 + 1000));
  for (int run = 1; run <= 2; ++run) {
    const int64_t r = run == 1 ? p_.run1 : p_.run2;
    const bool hit = run == 2;
    const int64_t t = run == 1 ? kT0 : kT0 + 1000;
    const std::string n = absl::StrCat(run);
    // A hit has the action key of the execution that computed its result.
    Add("load" + n,
        Keyed(Exec(r, "load", {Ref("file", "raw", "file", 100, "raw.csv", "/data/raw.csv")},
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
    Add("train_b" + n,
        Keyed(Exec(r, "train_b", {Ref("train", "train", "table")},
                   {Ref("0", run == 1 ? "model_b" : "model_b2", "Model")}, false, t + 5),
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

std::vector<std::string> SqliteLineageStoreTest::ProducerNames(const std::string& artifact) {
  absl::StatusOr<std::vector<Execution>> got = store_->Producers(Digest::Of(artifact));
  EXPECT_TRUE(got.ok()) << got.status();
  return Names(got.ok() ? *got : std::vector<Execution>{});
}

std::vector<std::string> SqliteLineageStoreTest::ConsumerNames(const std::string& artifact) {
  absl::StatusOr<std::vector<Execution>> got = store_->Consumers(Digest::Of(artifact));
  EXPECT_TRUE(got.ok()) << got.status();
  return Names(got.ok() ? *got : std::vector<Execution>{});
}

std::vector<std::string> SqliteLineageStoreTest::Names(const std::vector<Execution>& executions) {
  std::vector<std::string> out;
  for (const Execution& e : executions) {
    out.push_back(p_.ExecutionName(e.id()));
    if (out.back()[0] != '#') {
      EXPECT_THAT(e, EqualsProto(p_.Recorded(out.back())));
    }
  }
  return out;
}

void SqliteLineageStoreTest::ExpectClosure(bool upstream, const LineageNode& from, int max_hops,
                                           bool include_cache_hits,
                                           const std::set<std::string>& executions,
                                           const std::set<std::string>& artifacts) {
  SCOPED_TRACE(absl::StrCat(upstream ? "Upstream" : "Downstream", " from ",
                            from.artifact ? RecordedPipeline::ArtifactName(from.artifact->ToHex())
                                          : p_.ExecutionName(from.execution_id),
                            " max_hops=", max_hops, " include_cache_hits=", include_cache_hits));
  ClosureOptions options;
  options.max_hops = max_hops;
  options.include_cache_hits = include_cache_hits;
  absl::StatusOr<Subgraph> g =
      upstream ? store_->Upstream(from, options) : store_->Downstream(from, options);
  ASSERT_TRUE(g.ok()) << g.status();
  const RecordedPipeline::Named got = p_.Describe(*g);
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

}  // namespace test
}  // namespace mlops
