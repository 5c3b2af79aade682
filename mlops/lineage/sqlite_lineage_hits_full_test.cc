// Cache hits that differ from their representative in anything a compact row does not keep
// are stored in full, and read back exactly (lineage_model.h), in every configuration; and
// ExecutionsOfStep merges compact hits with full rows in order.
#include <cmath>
#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/hash/digest.h"
#include "mlops/lineage/lineage.pb.h"
#include "mlops/testing/lineage_model.h"
#include "mlops/testing/pages.h"

namespace mlops {
namespace test {
namespace {

INSTANTIATE_TEST_SUITE_P(Stores, SqliteLineageHitsTest, ::testing::ValuesIn(AllConfigs()),
                         ParamName);

struct Variant {
  const char* name;
  std::function<void(Execution*)> change;
};

std::vector<Variant> OneFieldVariants() {
  return {
      {"input label changed", [](Execution* e) { e->mutable_inputs(0)->set_label("other.csv"); }},
      {"input label cleared", [](Execution* e) { e->mutable_inputs(0)->clear_label(); }},
      {"input uri changed", [](Execution* e) { e->mutable_inputs(0)->set_uri("/elsewhere"); }},
      {"input type_name changed", [](Execution* e) { e->mutable_inputs(1)->set_type_name("x"); }},
      {"input size changed", [](Execution* e) { e->mutable_inputs(1)->set_size(9); }},
      {"input name changed", [](Execution* e) { e->mutable_inputs(1)->set_name("renamed"); }},
      {"inputs reordered", [](Execution* e) { e->mutable_inputs()->SwapElements(0, 1); }},
      {"output type_name changed",
       [](Execution* e) { e->mutable_outputs(0)->set_type_name("M2"); }},
      {"output size changed", [](Execution* e) { e->mutable_outputs(0)->set_size(1); }},
      {"output label set", [](Execution* e) { e->mutable_outputs(1)->set_label("m.json"); }},
      {"output uri changed", [](Execution* e) { e->mutable_outputs(0)->set_uri("s3://b/2"); }},
      {"param value changed", [](Execution* e) { (*e->mutable_params())["lr"] = "0.02"; }},
      {"param added", [](Execution* e) { (*e->mutable_params())["seed"] = "7"; }},
      {"param removed", [](Execution* e) { e->mutable_params()->erase("epochs"); }},
      {"param emptied", [](Execution* e) { (*e->mutable_params())["lr"] = ""; }},
      {"metric value changed", [](Execution* e) { (*e->mutable_metrics())["loss"] = 0.2500001; }},
      {"metric added", [](Execution* e) { (*e->mutable_metrics())["f1"] = 0.5; }},
      {"metric removed", [](Execution* e) { e->mutable_metrics()->erase("acc"); }},
      {"step_version changed", [](Execution* e) { e->set_step_version("2"); }},
      {"error_message set", [](Execution* e) { e->set_error_message("warning: slow"); }},
      {"nondeterministic set", [](Execution* e) { e->set_nondeterministic(true); }},
      {"expected_outputs added",
       [](Execution* e) { *e->add_expected_outputs() = Ref("0", "model_expected", "Model"); }},
      // The compact row keeps no status or cache_hit of its own: only CACHED hits fit it.
      {"status SUCCEEDED with cache_hit",
       [](Execution* e) { e->set_status(Execution::SUCCEEDED); }},
      {"status FAILED with cache_hit", [](Execution* e) { e->set_status(Execution::FAILED); }},
      {"status RUNNING with cache_hit", [](Execution* e) { e->set_status(Execution::RUNNING); }},
      {"cache_hit false with status CACHED", [](Execution* e) { e->set_cache_hit(false); }},
      {"recomputed (not a hit)",
       [](Execution* e) {
         e->set_cache_hit(false);
         e->set_status(Execution::SUCCEEDED);
       }},
  };
}

// The representative of the variants: one execution with every field set.
Execution RichExecution(int64_t run_id) {
  Execution e = Computed(run_id, "train", "train",
                         {Ref("file", "raw", "file", 100, "raw.csv", "/data/raw.csv"),
                          Ref("features", "features", "vector<f64>", 8000)},
                         {Ref("0", "model", "Model", 123456, "model.bin", "s3://b/model"),
                          Ref("metrics", "metrics", "map<string,f64>", 40)},
                         kT0 + 1);
  (*e.mutable_params())["lr"] = "0.01";
  (*e.mutable_params())["epochs"] = "3";
  (*e.mutable_metrics())["loss"] = 0.25;
  (*e.mutable_metrics())["acc"] = 0.75;
  return e;
}

TEST_P(SqliteLineageHitsTest, HitsDifferingInOneFieldAreStoredInFullAndReadExactly) {
  const int64_t run1 = BeginRun(kT0);
  const int64_t run2 = BeginRun(kT0 + 1000);
  const Execution rep = Record(RichExecution(run1));
  // A control: the identical hit is compact.
  Record(HitOf(rep, run2, kT0 + 1000));
  ASSERT_NO_FATAL_FAILURE(ExpectRows(/*hits=*/1, /*executions=*/1));
  const std::vector<Variant> variants = OneFieldVariants();
  int64_t t = kT0 + 1001;
  for (const Variant& v : variants) {
    Execution hit = HitOf(rep, run2, t++);
    v.change(&hit);
    const Execution stored = Record(hit);
    absl::StatusOr<Execution> got = store_->GetExecution(stored.id());
    ASSERT_TRUE(got.ok()) << v.name << ": " << got.status();
    EXPECT_THAT(*got, EqualsProto(stored)) << v.name;
    if (IsFile()) {
      EXPECT_EQ(Rows("hits"), 1) << v.name << ": stored compactly";
    }
  }
  ASSERT_NO_FATAL_FAILURE(
      ExpectRows(/*hits=*/1, /*executions=*/1 + static_cast<int64_t>(variants.size())));
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
  // A later identical hit is still compact.
  Record(HitOf(rep, run2, t++));
  ASSERT_NO_FATAL_FAILURE(
      ExpectRows(/*hits=*/2, /*executions=*/1 + static_cast<int64_t>(variants.size())));
  // And every one of them survives the representative's run.
  ASSERT_NO_FATAL_FAILURE(DeleteRun(run1));
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
  ASSERT_NO_FATAL_FAILURE(ExpectOneRowPerExecution());
}

// Hits with the representative's action key and outputs but other input digests or another
// step name cannot happen (the action key covers both), and their events are not checked
// here (a full-row hit has always shared its representative's event rows); but they too
// are stored in full and read back exactly by id, by run and by step.
TEST_P(SqliteLineageHitsTest, HitsDifferingInInputDigestsOrStepAreStoredInFull) {
  const int64_t run1 = BeginRun(kT0);
  const int64_t run2 = BeginRun(kT0 + 1000);
  const Execution rep = Record(RichExecution(run1));
  const std::vector<Variant> variants = {
      {"input digest changed", [](Execution* e) { e->mutable_inputs(1)->set_digest(H("q")); }},
      {"input added", [](Execution* e) { *e->add_inputs() = Ref("extra", "extra"); }},
      {"input removed", [](Execution* e) { e->mutable_inputs()->RemoveLast(); }},
      {"step_name changed", [](Execution* e) { e->set_step_name("train_renamed"); }},
  };
  int64_t t = kT0 + 1001;
  std::vector<Execution> stored;
  for (const Variant& v : variants) {
    Execution hit = HitOf(rep, run2, t++);
    v.change(&hit);
    stored.push_back(Record(hit));
  }
  ASSERT_NO_FATAL_FAILURE(ExpectRows(/*hits=*/0, /*executions=*/5));
  for (size_t i = 0; i < variants.size(); ++i) {
    absl::StatusOr<Execution> got = store_->GetExecution(stored[i].id());
    ASSERT_TRUE(got.ok()) << variants[i].name << ": " << got.status();
    EXPECT_THAT(*got, EqualsProto(stored[i])) << variants[i].name;
  }
  absl::StatusOr<std::vector<Execution>> of_run = store_->ExecutionsOfRun(run2);
  ASSERT_TRUE(of_run.ok()) << of_run.status();
  ExpectExecutions(*of_run, model_.OfRun(run2), "ExecutionsOfRun");
  for (const char* step : {"train", "train_renamed"}) {
    absl::StatusOr<std::vector<Execution>> of_step = Whole(store_->ExecutionsOfStep(step));
    ASSERT_TRUE(of_step.ok()) << of_step.status();
    ExpectExecutions(*of_step, model_.OfStep(step), step);
  }
}

// A hit identical to a full-row hit, but not to the representative, is a full row too.
TEST_P(SqliteLineageHitsTest, HitMatchingOnlyAFullRowHitIsStoredInFull) {
  const int64_t run1 = BeginRun(kT0);
  const int64_t run2 = BeginRun(kT0 + 1000);
  const int64_t run3 = BeginRun(kT0 + 2000);
  const Execution rep = Record(RichExecution(run1));
  Execution hit = HitOf(rep, run2, kT0 + 1001);
  (*hit.mutable_metrics())["loss"] = 0.5;
  Record(hit);
  hit.set_run_id(run3);
  *hit.mutable_start_time() = Ts(kT0 + 2001, 5);
  *hit.mutable_end_time() = Ts(kT0 + 2002, 5);
  Record(hit);
  ASSERT_NO_FATAL_FAILURE(ExpectRows(/*hits=*/0, /*executions=*/3));
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
  ASSERT_NO_FATAL_FAILURE(DeleteRun(run1));
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
}

// -0.0 and 0.0 compare equal as doubles, but they are different values: a hit whose metric
// is -0.0 where its representative's is 0.0 (or the reverse) must read back with its sign.
TEST_P(SqliteLineageHitsTest, HitWithNegativeZeroMetricKeepsItsSign) {
  const int64_t run1 = BeginRun(kT0);
  const int64_t run2 = BeginRun(kT0 + 1000);
  Execution computed = RichExecution(run1);
  (*computed.mutable_metrics())["delta"] = 0.0;
  const Execution rep = Record(computed);
  Execution hit = HitOf(rep, run2, kT0 + 1001);
  (*hit.mutable_metrics())["delta"] = -0.0;
  const Execution negative = Record(hit);
  absl::StatusOr<Execution> got = store_->GetExecution(negative.id());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(std::signbit(got->metrics().at("delta"))) << "read back +0.0, recorded -0.0";
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
}

TEST_P(SqliteLineageHitsTest, HitWithoutStartOrEndTimeIsStoredInFull) {
  const int64_t run1 = BeginRun(kT0);
  const int64_t run2 = BeginRun(kT0 + 1000);
  const Execution rep = Record(RichExecution(run1));
  Execution no_start = HitOf(rep, run2, kT0 + 1001);
  no_start.clear_start_time();
  Execution no_end = HitOf(rep, run2, kT0 + 1002);
  no_end.clear_end_time();
  Execution neither = HitOf(rep, run2, kT0 + 1003);
  neither.clear_start_time();
  neither.clear_end_time();
  const std::vector<Execution> stored = {Record(no_start), Record(no_end), Record(neither)};
  ASSERT_NO_FATAL_FAILURE(ExpectRows(/*hits=*/0, /*executions=*/4));
  for (const Execution& e : stored) {
    absl::StatusOr<Execution> got = store_->GetExecution(e.id());
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_THAT(*got, EqualsProto(e));
    EXPECT_EQ(got->has_start_time(), e.has_start_time()) << e.id();
    EXPECT_EQ(got->has_end_time(), e.has_end_time()) << e.id();
  }
  // The control: with both times, compact.
  Record(HitOf(rep, run2, kT0 + 1004));
  ASSERT_NO_FATAL_FAILURE(ExpectRows(/*hits=*/1, /*executions=*/4));
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
  ASSERT_NO_FATAL_FAILURE(DeleteRun(run1));
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
}

// Hits without outputs or without an action key have no representative: full rows.
TEST_P(SqliteLineageHitsTest, HitsWithoutOutputsOrActionKeyAreStoredInFull) {
  const int64_t run1 = BeginRun(kT0);
  const int64_t run2 = BeginRun(kT0 + 1000);
  const Execution no_outputs = Record(Computed(run1, "check", "check", {Ref("in", "x")}, {}, kT0));
  Record(HitOf(no_outputs, run2, kT0 + 1000));
  Execution no_key = Computed(run1, "load", "load", {}, {Ref("0", "y")}, kT0 + 1);
  no_key.clear_action_key();
  no_key = Record(no_key);
  Record(HitOf(no_key, run2, kT0 + 1001));
  ASSERT_NO_FATAL_FAILURE(ExpectRows(/*hits=*/0, /*executions=*/4));
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
  ASSERT_NO_FATAL_FAILURE(DeleteRun(run1));
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
}

TEST_P(SqliteLineageHitsTest, ExecutionsOfStepOrdersHitsAmongFullRows) {
  const int64_t run1 = BeginRun(kT0);
  const int64_t run2 = BeginRun(kT0 + 1000);
  const Execution rep = Record(RichExecution(run1));  // starts at kT0 + 1
  // Compact hits before, at and after the representative's start, and full rows between.
  Record(HitOf(rep, run2, Ts(kT0 - 100, 0), Ts(kT0 - 99, 0)));
  Record(HitOf(rep, run2, rep.start_time(), rep.end_time()));  // ties with rep: id decides
  Record(HitOf(rep, run2, Ts(kT0 + 50, 0), Ts(kT0 + 51, 0)));
  Execution full = HitOf(rep, run2, Ts(kT0 + 50, 0), Ts(kT0 + 52, 0));  // ties with a hit
  full.set_error_message("differs");
  Record(full);
  Execution early = HitOf(rep, run2, Ts(-100, 0), Ts(-99, 0));
  early.set_step_version("0");
  Record(early);
  Record(HitOf(rep, run2, Ts(kT0 + 20, 0), Ts(kT0 + 21, 0)));
  ASSERT_NO_FATAL_FAILURE(ExpectRows(/*hits=*/4, /*executions=*/3));
  ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
}

}  // namespace
}  // namespace test
}  // namespace mlops
