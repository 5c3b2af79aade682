// UpdateExecution with compact cache hits, in every configuration: updating a queued hit, a
// compact hit or a representative leaves every read as recorded (lineage_model.h).
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/hash/digest.h"
#include "mlops/lineage/lineage.pb.h"
#include "mlops/testing/lineage_model.h"
#include "mlops/testing/status_matchers.h"

namespace mlops {
namespace test {
namespace {

INSTANTIATE_TEST_SUITE_P(Stores, SqliteLineageHitsTest, ::testing::ValuesIn(AllConfigs()),
                         ParamName);

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

}  // namespace
}  // namespace test
}  // namespace mlops
