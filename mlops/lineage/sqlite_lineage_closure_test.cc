// Upstream and Downstream closures of SqliteLineageStore, through the LineageStore
// interface, in each common configuration, checked against the hand-built pipeline's
// answers (lineage_store_fixture.h), written out by hand.
#include <set>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/hash/digest.h"
#include "mlops/lineage/lineage.pb.h"
#include "mlops/testing/lineage_store_fixture.h"

namespace mlops {
namespace test {
namespace {

INSTANTIATE_TEST_SUITE_P(Stores, SqliteLineageStoreTest, ::testing::ValuesIn(CommonConfigs()),
                         ParamName);

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
  ExpectClosure(true, evaluate1, 0, false, {"evaluate1"}, {"model_a", "model_b", "test", "report"});
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
  const std::set<std::string> two_hops = {"split1",   "train_a1",  "train_b1",
                                          "train_b2", "evaluate1", "evaluate2"};
  const std::set<std::string> two_hop_artifacts = {"clean",   "train",    "test",   "model_a",
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
  ExpectClosure(
      false, clean1, -1, false,
      {"clean1", "split1", "train_a1", "train_b1", "train_b2", "evaluate1", "evaluate2"},
      {"data", "clean", "train", "test", "model_a", "model_b", "model_b2", "report", "report2"});

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

// A step that passes one of its inputs through unchanged (validate(data) -> data) is
// common. What consumes that output is downstream of the step.
TEST_P(SqliteLineageStoreTest, DownstreamThroughPassThroughOutput) {
  ASSERT_NO_FATAL_FAILURE(BuildPipeline());
  // validate reads model_b2 and returns it unchanged; publish consumes the result.
  Add("validate", Exec(p_.run2, "validate", {Ref("m", "model_b2", "Model")},
                       {Ref("0", "model_b2", "Model")}, false, kT0 + 1010));
  Add("publish", Exec(p_.run2, "publish", {Ref("m", "model_b2", "Model")}, {}, false, kT0 + 1011));
  ExpectClosure(false, LineageNode::OfExecution(p_.Id("validate")), -1, false,
                {"validate", "evaluate2", "publish"}, {"model_b2", "model_a", "test", "report2"});
  ExpectClosure(false, LineageNode::OfExecution(p_.Id("validate")), 1, false,
                {"validate", "evaluate2", "publish"}, {"model_b2", "model_a", "test", "report2"});
}

TEST_P(SqliteLineageStoreTest, DownstreamThroughArtifactFirstSeenAsInput) {
  ASSERT_NO_FATAL_FAILURE(BuildPipeline());
  // combine reads clean and model_a and outputs model_a again (e.g. a no-op refit);
  // deploy consumes model_a. Downstream of clean runs through combine to deploy.
  Add("combine", Exec(0, "combine", {Ref("c", "clean", "table"), Ref("m", "model_a", "Model")},
                      {Ref("0", "model_a", "Model")}, false, kT0 + 5000));
  Add("deploy",
      Exec(0, "deploy", {Ref("m", "model_a", "Model")}, {Ref("0", "deployed")}, false, kT0 + 5001));
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

}  // namespace
}  // namespace test
}  // namespace mlops
