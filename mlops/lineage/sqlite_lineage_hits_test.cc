// Compact cache-hit rows, in every configuration (test::AllConfigs): a cache hit identical
// to its representative apart from id, run, status, cache_hit and its (set) start and end
// times is stored as one small row of the `hits` table, and every read returns exactly what
// was recorded (lineage_model.h checks every read path against a model). Here: warm reruns,
// times to the nanosecond, and reopening.
#include <cstdint>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/hash/digest.h"
#include "mlops/lineage/lineage.pb.h"
#include "mlops/testing/lineage_model.h"
#include "mlops/testing/pages.h"
#include "mlops/testing/status_matchers.h"

namespace mlops {
namespace test {
namespace {

INSTANTIATE_TEST_SUITE_P(Stores, SqliteLineageHitsTest, ::testing::ValuesIn(AllConfigs()),
                         ParamName);

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
  absl::StatusOr<std::vector<Execution>> of_step = Whole(store_->ExecutionsOfStep("train"));
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

}  // namespace
}  // namespace test
}  // namespace mlops
