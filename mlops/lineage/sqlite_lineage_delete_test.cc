// SqliteLineageStore::DeleteRun, through the LineageStore interface, in each common
// configuration: a run's executions, events and artifacts go, and the cache hits of other
// runs take over the events of the actions it computed.
#include <cstdint>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/hash/digest.h"
#include "mlops/lineage/lineage.pb.h"
#include "mlops/testing/lineage_store_fixture.h"
#include "mlops/testing/pages.h"

namespace mlops {
namespace test {
namespace {

INSTANTIATE_TEST_SUITE_P(Stores, SqliteLineageStoreTest, ::testing::ValuesIn(CommonConfigs()),
                         ParamName);

TEST_P(SqliteLineageStoreTest, DeleteRun) {
  ASSERT_NO_FATAL_FAILURE(BuildPipeline());
  const RecordedPipeline& p = p_;
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
  for (const char* name :
       {"raw", "data", "clean", "train", "test", "model_a", "model_b2", "report2"}) {
    absl::StatusOr<Artifact> a = store_->GetArtifact(Digest::Of(name));
    EXPECT_EQ(a.status().code(), absl::StatusCode::kNotFound) << name << ": " << a.status();
  }
  absl::StatusOr<std::vector<Execution>> steps = Whole(store_->ExecutionsOfStep("load"));
  ASSERT_TRUE(steps.ok());
  EXPECT_THAT(*steps, IsEmpty());

  if (IsFile()) {
    Open(Options());
    absl::StatusOr<std::vector<mlops::Run>> runs = Whole(store_->FindRuns({}));
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

  EXPECT_THAT(ProducerNames("x"), ElementsAre("computed", "hit2", "hit3", "hit4"));
  EXPECT_THAT(ConsumerNames("a"), ElementsAre("computed", "hit2", "hit3", "hit4"));

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

}  // namespace
}  // namespace test
}  // namespace mlops
