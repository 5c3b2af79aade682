// Executions and artifacts in SqliteLineageStore, through the LineageStore interface, in
// each common configuration: every field read back, artifacts filled from refs, ids, bad
// input refused, lookups by run and by step.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
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

TEST_P(SqliteLineageStoreTest, ExecutionRoundTripWithEveryField) {
  const int64_t run = BeginRun(MakeRun("p", kT0));
  Execution e;
  e.set_id(99999);  // ignored
  e.set_run_id(run);
  e.set_step_name("train");
  e.set_step_version("v2");
  e.set_action_key(H("key"));
  *e.add_inputs() = Ref("features", "features", "vector<f64>", 8000, "train.csv", "/data/t.csv");
  *e.add_inputs() = Ref("labels", "labels", "vector<i32>", 400, "", "");
  *e.add_outputs() = Ref("0", "model", "Model", 123456, "model.bin", "s3://bucket/model");
  *e.add_outputs() = Ref("metrics", "metrics", "map<string,f64>", 0, "", "");
  e.set_status(Execution::FAILED);
  e.set_cache_hit(false);
  *e.mutable_start_time() = Ts(kT0, 1000);
  *e.mutable_end_time() = Ts(kT0 + 3, 999999000);
  e.set_error_message("step threw: \"bad\"\nsecond line");
  (*e.mutable_params())["lr"] = "0.01";
  (*e.mutable_params())["epochs"] = "3";
  (*e.mutable_metrics())["loss"] = 0.25;
  (*e.mutable_metrics())["acc"] = -1.5e300;
  e.set_nondeterministic(true);
  *e.add_expected_outputs() = Ref("0", "model_expected", "Model", 123456);

  const int64_t id = Record(e);
  ASSERT_GT(id, 0);
  Execution expected = e;
  expected.set_id(id);

  absl::StatusOr<Execution> got = store_->GetExecution(id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(*got, EqualsProto(expected));

  absl::StatusOr<std::vector<Execution>> of_run = store_->ExecutionsOfRun(run);
  ASSERT_TRUE(of_run.ok()) << of_run.status();
  ASSERT_EQ(of_run->size(), 1u);
  EXPECT_THAT(of_run->front(), EqualsProto(expected));

  // An execution with no run and nothing but a step name.
  Execution bare;
  bare.set_step_name("bare");
  const int64_t bare_id = Record(bare);
  bare.set_id(bare_id);
  got = store_->GetExecution(bare_id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(*got, EqualsProto(bare));

  if (IsFile()) {
    Open(Options());
    got = store_->GetExecution(id);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_THAT(*got, EqualsProto(expected));
  }
}

TEST_P(SqliteLineageStoreTest, ArtifactsComeFromRefs) {
  // First sighting: no label or uri, no type name.
  Execution first = Exec(0, "load", {}, {Ref("0", "x", "", 42, "", "")});
  Record(first);
  absl::StatusOr<Artifact> a = store_->GetArtifact(Digest::Of("x"));
  ASSERT_TRUE(a.ok()) << a.status();
  Artifact expected;
  expected.set_digest(H("x"));
  expected.set_size(42);
  EXPECT_THAT(*a, EqualsProto(expected));

  // A later record fills what is empty...
  Record(Exec(0, "use", {Ref("in", "x", "vector<f64>", 42, "x.csv", "")}, {}));
  a = store_->GetArtifact(Digest::Of("x"));
  ASSERT_TRUE(a.ok()) << a.status();
  expected.set_type_name("vector<f64>");
  expected.set_label("x.csv");
  EXPECT_THAT(*a, EqualsProto(expected));

  Record(Exec(0, "use2", {Ref("in", "x", "other", 42, "other.csv", "/data/x.csv")}, {}));
  a = store_->GetArtifact(Digest::Of("x"));
  ASSERT_TRUE(a.ok()) << a.status();
  expected.set_uri("/data/x.csv");         // was empty: filled
  EXPECT_THAT(*a, EqualsProto(expected));  // label and type name kept

  // ...and never overwrites what is set.
  Record(Exec(0, "use3", {Ref("in", "x", "again", 42, "again.csv", "/elsewhere")}, {}));
  a = store_->GetArtifact(Digest::Of("x"));
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_THAT(*a, EqualsProto(expected));

  // Every field from the first ref when it has them all.
  Record(Exec(0, "full", {}, {Ref("0", "y", "Model", 7, "model.bin", "s3://m")}));
  a = store_->GetArtifact(Digest::Of("y"));
  ASSERT_TRUE(a.ok()) << a.status();
  Artifact full;
  full.set_digest(H("y"));
  full.set_type_name("Model");
  full.set_size(7);
  full.set_label("model.bin");
  full.set_uri("s3://m");
  EXPECT_THAT(*a, EqualsProto(full));

  // Expected outputs are not artifacts of the graph.
  Execution nd = Exec(0, "nd", {}, {Ref("0", "z")});
  nd.set_nondeterministic(true);
  *nd.add_expected_outputs() = Ref("0", "z_cached");
  Record(nd);
  a = store_->GetArtifact(Digest::Of("z_cached"));
  EXPECT_EQ(a.status().code(), absl::StatusCode::kNotFound) << a.status();

  a = store_->GetArtifact(Digest::Of("never recorded"));
  EXPECT_EQ(a.status().code(), absl::StatusCode::kNotFound) << a.status();
}

TEST_P(SqliteLineageStoreTest, IdsAreUniqueAndIncreasing) {
  const int64_t run = BeginRun(MakeRun("p", kT0));
  std::vector<int64_t> ids;
  for (int i = 0; i < 60; ++i) {
    ids.push_back(Record(Exec(i % 2 == 0 ? run : 0, absl::StrCat("s", i % 5), {},
                              {Ref("0", absl::StrCat("v", i))})));
    if (i == 30) {
      ASSERT_TRUE(store_->Flush().ok());
    }
  }
  for (size_t i = 1; i < ids.size(); ++i) EXPECT_GT(ids[i], ids[i - 1]) << i;
  EXPECT_GT(ids.front(), 0);
  if (IsFile()) {
    // A new connection continues above every id already handed out.
    Open(Options());
    const int64_t next = Record(Exec(0, "after", {}, {}));
    EXPECT_GT(next, ids.back());
  }
}

TEST_P(SqliteLineageStoreTest, RecordExecutionRejectsBadInput) {
  const int64_t run = BeginRun(MakeRun("p", kT0));

  Execution no_step = Exec(run, "", {}, {Ref("0", "a")});
  absl::StatusOr<int64_t> id = store_->RecordExecution(no_step);
  EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument) << id.status();

  const std::vector<std::string> bad_digests = {"",
                                                "abc",
                                                std::string(31, 'a'),
                                                std::string(33, 'a'),
                                                std::string(31, 'a') + "g",
                                                std::string(32, ' ')};
  for (const std::string& bad : bad_digests) {
    SCOPED_TRACE(absl::StrCat("digest \"", bad, "\""));
    Execution in = Exec(run, "s", {Ref("in", "a")}, {});
    in.mutable_inputs(0)->set_digest(bad);
    id = store_->RecordExecution(in);
    EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument) << id.status();

    Execution out = Exec(run, "s", {}, {Ref("0", "a"), Ref("1", "b")});
    out.mutable_outputs(1)->set_digest(bad);
    id = store_->RecordExecution(out);
    EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument) << id.status();

    Execution expected_out = Exec(run, "s", {}, {Ref("0", "a")});
    *expected_out.add_expected_outputs() = Ref("0", "b");
    expected_out.mutable_expected_outputs(0)->set_digest(bad);
    id = store_->RecordExecution(expected_out);
    EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument) << id.status();

    if (!bad.empty()) {  // an empty action key means "none"
      Execution key = Exec(run, "s", {}, {});
      key.set_action_key(bad);
      id = store_->RecordExecution(key);
      EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument) << id.status();
    }
  }

  Execution unknown_run = Exec(run + 1000, "s", {}, {Ref("0", "a")});
  id = store_->RecordExecution(unknown_run);
  EXPECT_EQ(id.status().code(), absl::StatusCode::kNotFound) << id.status();

  // Nothing of the rejected records was stored.
  absl::StatusOr<std::vector<Execution>> of_step = Whole(store_->ExecutionsOfStep("s"));
  ASSERT_TRUE(of_step.ok()) << of_step.status();
  EXPECT_THAT(*of_step, IsEmpty());
  absl::StatusOr<Artifact> a = store_->GetArtifact(Digest::Of("a"));
  EXPECT_EQ(a.status().code(), absl::StatusCode::kNotFound) << a.status();

  // Uppercase hex is a well-formed digest.
  Execution upper = Exec(run, "s", {}, {Ref("0", "a")});
  std::string hex = H("a");
  std::transform(hex.begin(), hex.end(), hex.begin(), ::toupper);
  upper.mutable_outputs(0)->set_digest(hex);
  id = store_->RecordExecution(upper);
  EXPECT_TRUE(id.ok()) << id.status();
}

TEST_P(SqliteLineageStoreTest, GetUnknownIsNotFound) {
  absl::StatusOr<Execution> e = store_->GetExecution(424242);
  EXPECT_EQ(e.status().code(), absl::StatusCode::kNotFound) << e.status();
  absl::StatusOr<std::vector<Execution>> of_run = store_->ExecutionsOfRun(424242);
  EXPECT_EQ(of_run.status().code(), absl::StatusCode::kNotFound) << of_run.status();
  absl::StatusOr<std::vector<Execution>> p = store_->Producers(Digest::Of("nothing"));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_THAT(*p, IsEmpty());
  absl::StatusOr<std::vector<Execution>> c = store_->Consumers(Digest::Of("nothing"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(*c, IsEmpty());
  absl::StatusOr<std::vector<Execution>> s = Whole(store_->ExecutionsOfStep("nothing"));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_THAT(*s, IsEmpty());
}

TEST_P(SqliteLineageStoreTest, ExecutionsOfRunInIdOrder) {
  const int64_t run1 = BeginRun(MakeRun("p", kT0));
  const int64_t run2 = BeginRun(MakeRun("p", kT0 + 1));
  const int64_t empty = BeginRun(MakeRun("p", kT0 + 2));
  std::vector<int64_t> ids1, ids2;
  for (int i = 0; i < 10; ++i) {
    // Start times decrease, so time order and id order differ.
    ids1.push_back(
        Record(Exec(run1, "a", {}, {Ref("0", absl::StrCat("a", i))}, false, kT0 + 100 - i)));
    ids2.push_back(
        Record(Exec(run2, "b", {}, {Ref("0", absl::StrCat("b", i))}, false, kT0 + 100 - i)));
  }
  Record(Exec(0, "no_run", {}, {}));
  absl::StatusOr<std::vector<Execution>> got = store_->ExecutionsOfRun(run1);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(Ids(*got), ElementsAreArray(ids1));
  for (const Execution& e : *got) EXPECT_EQ(e.run_id(), run1);
  got = store_->ExecutionsOfRun(run2);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(Ids(*got), ElementsAreArray(ids2));
  got = store_->ExecutionsOfRun(empty);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(*got, IsEmpty());
  got = store_->ExecutionsOfRun(run2 + 1000);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kNotFound) << got.status();
  got = store_->ExecutionsOfRun(0);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kNotFound) << got.status();
}

TEST_P(SqliteLineageStoreTest, ExecutionsOfStepNewestFirst) {
  // start times 30, 10, 20, 40, 20 (ties broken by id, newest id first).
  const int64_t a = Record(Exec(0, "train", {}, {}, false, kT0 + 30));
  const int64_t b = Record(Exec(0, "train", {}, {}, false, kT0 + 10));
  const int64_t c = Record(Exec(0, "train", {}, {}, false, kT0 + 20));
  Record(Exec(0, "evaluate", {}, {}, false, kT0 + 50));
  const int64_t d = Record(Exec(0, "train", {}, {}, false, kT0 + 40));
  const int64_t e = Record(Exec(0, "train", {}, {}, false, kT0 + 20));

  absl::StatusOr<std::vector<Execution>> got = Whole(store_->ExecutionsOfStep("train"));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(Ids(*got), ElementsAre(d, a, e, c, b));
  PageRequest two;
  two.max_results = 2;
  absl::StatusOr<Page<Execution>> page = store_->ExecutionsOfStep("train", two);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(Ids(page->items), ElementsAre(d, a));
  EXPECT_TRUE(page->has_more());
  PageRequest one;
  one.max_results = 1;
  page = store_->ExecutionsOfStep("train", one);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items.front().step_name(), "train");
  EXPECT_EQ(page->items.front().start_time().seconds(), kT0 + 40);
  got = Whole(store_->ExecutionsOfStep("trai"));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(*got, IsEmpty());
}

}  // namespace
}  // namespace test
}  // namespace mlops
