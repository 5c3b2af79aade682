#include "mlops/testing/lineage_model.h"

#include <algorithm>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "mlops/testing/pages.h"
#include "mlops/testing/status_matchers.h"

namespace mlops {
namespace test {

void LineageModel::Put(const Execution& e) {
  executions[e.id()] = e;
  for (const auto* refs : {&e.inputs(), &e.outputs(), &e.expected_outputs()}) {
    for (const ArtifactRef& r : *refs) digests.insert(r.digest());
  }
}

void LineageModel::DeleteRun(int64_t run) {
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

bool LineageModel::Names(const google::protobuf::RepeatedPtrField<ArtifactRef>& refs,
                         const std::string& digest) {
  return std::any_of(refs.begin(), refs.end(),
                     [&](const ArtifactRef& r) { return r.digest() == digest; });
}

bool LineageModel::ArtifactExists(const std::string& digest) const {
  for (const auto& [id, e] : executions) {
    if (Names(e.inputs(), digest) || Names(e.outputs(), digest)) return true;
  }
  return false;
}

std::vector<int64_t> LineageModel::Edge(const std::string& digest, bool inputs,
                                        bool include_hits) const {
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

std::vector<int64_t> LineageModel::OfRun(int64_t run) const {
  std::vector<int64_t> ids;
  for (const auto& [id, e] : executions) {
    if (e.run_id() == run) ids.push_back(id);
  }
  return ids;
}

std::vector<int64_t> LineageModel::OfStep(const std::string& step) const {
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

std::set<std::string> LineageModel::Steps() const {
  std::set<std::string> steps;
  for (const auto& [id, e] : executions) steps.insert(e.step_name());
  return steps;
}

LineageModel::Graph LineageModel::Closure(const LineageNode& from, bool upstream,
                                          bool include_hits) const {
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
int64_t SqliteLineageHitsTest::BeginRun(int64_t start_seconds) {
  absl::StatusOr<int64_t> id = store_->BeginRun(MakeRun("pipeline", start_seconds));
  EXPECT_TRUE(id.ok()) << id.status();
  if (!id.ok()) return -1;
  model_.runs.insert(*id);
  return *id;
}

Execution SqliteLineageHitsTest::Record(const Execution& e) {
  absl::StatusOr<int64_t> id = store_->RecordExecution(e);
  EXPECT_TRUE(id.ok()) << id.status();
  Execution stored = e;
  stored.set_id(id.ok() ? *id : -1);
  if (id.ok()) model_.Put(stored);
  return stored;
}

void SqliteLineageHitsTest::Update(const Execution& e) {
  ASSERT_OK(store_->UpdateExecution(e));
  model_.Put(e);
}

void SqliteLineageHitsTest::DeleteRun(int64_t run) {
  ASSERT_OK(store_->DeleteRun(run));
  model_.DeleteRun(run);
}

int64_t SqliteLineageHitsTest::Rows(const std::string& table) {
  if (!IsFile()) return -1;
  EXPECT_OK(store_->Flush());
  return SqlInt(path_, absl::StrCat("SELECT count(*) FROM ", table));
}

void SqliteLineageHitsTest::ExpectRows(int64_t hits, int64_t executions) {
  if (!IsFile()) return;
  EXPECT_EQ(Rows("hits"), hits) << "rows in the hits table";
  EXPECT_EQ(Rows("executions"), executions) << "rows in the executions table";
}

void SqliteLineageHitsTest::ExpectOneRowPerExecution() {
  if (!IsFile()) return;
  EXPECT_EQ(Rows("hits") + Rows("executions"), static_cast<int64_t>(model_.executions.size()))
      << "rows in hits + executions";
}

void SqliteLineageHitsTest::ExpectExecutions(const std::vector<Execution>& got,
                                             const std::vector<int64_t>& ids,
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

void SqliteLineageHitsTest::ExpectClosure(const LineageNode& from, bool upstream,
                                          bool include_hits) {
  const std::string what =
      absl::StrCat(upstream ? "Upstream" : "Downstream", " from ",
                   from.artifact ? from.artifact->ToHex() : absl::StrCat("#", from.execution_id),
                   " include_cache_hits=", include_hits);
  ClosureOptions options;
  options.include_cache_hits = include_hits;
  absl::StatusOr<Subgraph> g =
      upstream ? store_->Upstream(from, options) : store_->Downstream(from, options);
  ASSERT_TRUE(g.ok()) << what << ": " << g.status();
  const LineageModel::Graph want = model_.Closure(from, upstream, include_hits);
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
  std::set<LineageModel::EventKey> events;
  for (const Event& ev : g->events()) {
    events.emplace(ev.execution_id(), static_cast<int>(ev.kind()), ev.name(), ev.digest());
  }
  EXPECT_EQ(events, want.events) << what;
  EXPECT_EQ(events.size(), static_cast<size_t>(g->events_size())) << what << ": duplicates";
}

void SqliteLineageHitsTest::ExpectReadsExact() {
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
    absl::StatusOr<std::vector<Execution>> whole = Whole(store_->ExecutionsOfStep(step));
    ASSERT_TRUE(whole.ok()) << "ExecutionsOfStep(" << step << "): " << whole.status();
    ExpectExecutions(*whole, all, absl::StrCat("ExecutionsOfStep(", step, ")"));
    for (int page_size : {1, 2, 3}) {
      absl::StatusOr<std::vector<Execution>> got = AllPages<Execution>(
          [&](const PageRequest& r) { return store_->ExecutionsOfStep(step, r); }, page_size);
      ASSERT_TRUE(got.ok()) << "ExecutionsOfStep(" << step << "): " << got.status();
      ExpectExecutions(*got, all,
                       absl::StrCat("ExecutionsOfStep(", step, ") in pages of ", page_size));
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

SqliteLineageHitsTest::WarmRerun SqliteLineageHitsTest::RecordWarmRerun() {
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
  Execution c =
      Computed(w.run1, "report", "report",
               {Ref("m", "model", "Model", 123456), Ref("t", "data", "table", 4096)},
               {Ref("0", "report", "Report", 77, "report.txt", "/out/report.txt")}, kT0 + 3);
  w.a1 = Record(a);
  w.b1 = Record(b);
  w.c1 = Record(c);
  w.a2 = Record(HitOf(w.a1, w.run2, kT0 + 1001));
  w.b2 = Record(HitOf(w.b1, w.run2, kT0 + 1002));
  w.c2 = Record(HitOf(w.c1, w.run2, kT0 + 1003));
  return w;
}
}  // namespace test
}  // namespace mlops
