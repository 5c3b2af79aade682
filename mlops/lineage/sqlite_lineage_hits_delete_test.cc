// DeleteRun with compact cache hits, in every configuration: the hits' own runs and their
// representatives' runs deleted in any order leave every remaining hit as recorded
// (lineage_model.h).
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/hash/digest.h"
#include "mlops/lineage/lineage.pb.h"
#include "mlops/testing/lineage_model.h"

namespace mlops {
namespace test {
namespace {

INSTANTIATE_TEST_SUITE_P(Stores, SqliteLineageHitsTest, ::testing::ValuesIn(AllConfigs()),
                         ParamName);

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

}  // namespace
}  // namespace test
}  // namespace mlops
