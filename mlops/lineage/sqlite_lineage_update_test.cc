// SqliteLineageStore::UpdateExecution, through the LineageStore interface, in each common
// configuration: the record and its events replaced, queued or written, computed or a hit.
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

// UpdateExecution replaces a cache hit's outputs like any execution's.
TEST_P(SqliteLineageStoreTest, UpdateExecutionOfAHitMovesItsEvents) {
  const int64_t run1 = BeginRun(MakeRun("p", kT0));
  const int64_t run2 = BeginRun(MakeRun("p", kT0 + 100));
  const Execution computed =
      Keyed(Exec(run1, "train", {Ref("in", "a")}, {Ref("0", "x")}, false, kT0 + 1), "k");
  p_.Add("computed", Record(computed), computed);
  Execution hit =
      Keyed(Exec(run2, "train", {Ref("in", "a")}, {Ref("0", "x")}, true, kT0 + 101), "k");
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

}  // namespace
}  // namespace test
}  // namespace mlops
