// Producers and consumers in SqliteLineageStore, through the LineageStore interface, in each
// common configuration, on the hand-built pipeline (lineage_store_fixture.h) and on the
// executions of one action: computed, failed, answered from the cache.
#include <cstdint>

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
  Add("load3", Keyed(Exec(p_.run2, "load", {Ref("file", "raw", "file", 100)}, {Ref("0", "data")},
                          false, kT0 + 2000),
                     "load"));
  Add("load4", Keyed(Exec(p_.run2, "load", {Ref("file", "raw", "file", 100)}, {Ref("0", "data")},
                          true, kT0 + 2001),
                     "load"));
  EXPECT_THAT(ProducerNames("data"), ElementsAre("load1", "load3", "load2", "load4"));
  EXPECT_THAT(ConsumerNames("raw"), ElementsAre("load1", "load2", "load3", "load4"));

  // An execution naming the same artifact twice is listed once.
  Add("twice", Exec(0, "twice", {Ref("x", "clean"), Ref("y", "clean")},
                    {Ref("0", "model_b2"), Ref("1", "model_b2")}, false, kT0 + 3000));
  EXPECT_THAT(ProducerNames("model_b2"), ElementsAre("train_b2", "twice"));
  EXPECT_THAT(ConsumerNames("clean"), ElementsAre("split1", "split2", "twice"));
}

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
  EXPECT_THAT(ConsumerNames("a"), ElementsAre("failed", "retried", "hit"));
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

}  // namespace
}  // namespace test
}  // namespace mlops
