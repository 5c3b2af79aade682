// Runs in SqliteLineageStore, through the LineageStore interface, in each common
// configuration (test::CommonConfigs): recorded, read back, updated, found by filter.
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
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

TEST_P(SqliteLineageStoreTest, RunRoundTrip) {
  mlops::Run run = MakeRun("train_model", kT0, mlops::Run::RUNNING);
  run.set_id(777);  // ignored
  run.add_args("--epochs=3");
  run.add_args("data.csv");
  *run.mutable_start_time() = Ts(kT0, 123456000);
  run.clear_end_time();
  Environment* env = run.mutable_environment();
  env->set_compiler("g++ 12.2.0");
  env->set_compiler_flags("-O2 -g");
  (*env->mutable_library_versions())["protobuf"] = "3.21.12";
  (*env->mutable_library_versions())["sqlite"] = "3.40.1";
  env->set_os("Linux 6.1.0 x86_64");
  env->set_cpu("Some CPU (2 cores)");
  env->set_source_revision("abc123");

  const int64_t id = BeginRun(run);
  ASSERT_GT(id, 0);
  mlops::Run expected = run;
  expected.set_id(id);
  // Without an experiment or name, a run is in "default" and named after its program.
  expected.set_experiment("default");
  expected.set_name(absl::StrCat("train_model-", id));
  absl::StatusOr<mlops::Run> got = store_->GetRun(id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(*got, EqualsProto(expected));

  // Finishing the run replaces it.
  expected.set_status(mlops::Run::FAILED);
  *expected.mutable_end_time() = Ts(kT0 + 60, 5000);
  expected.add_args("--extra");
  ASSERT_TRUE(store_->UpdateRun(expected).ok());
  got = store_->GetRun(id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(*got, EqualsProto(expected));

  // Run ids increase.
  const int64_t id2 = BeginRun(MakeRun("other", kT0));
  EXPECT_GT(id2, id);

  if (IsFile()) {
    Open(Options());
    got = store_->GetRun(id);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_THAT(*got, EqualsProto(expected));
  }
}

TEST_P(SqliteLineageStoreTest, RunErrors) {
  mlops::Run run = MakeRun("", kT0);
  absl::StatusOr<int64_t> id = store_->BeginRun(run);
  EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument) << id.status();

  absl::StatusOr<mlops::Run> got = store_->GetRun(12345);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kNotFound) << got.status();

  mlops::Run unknown = MakeRun("p", kT0);
  unknown.set_id(12345);
  absl::Status s = store_->UpdateRun(unknown);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  // The failed update created nothing.
  absl::StatusOr<std::vector<mlops::Run>> all = Whole(store_->FindRuns({}));
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_THAT(*all, IsEmpty());
}

TEST_P(SqliteLineageStoreTest, FindRuns) {
  // start times: a=0s, b=10s, c=20s, d=30s, e=30s (tie: id order decides), f=40s.
  const int64_t a = BeginRun(MakeRun("train", kT0 + 0, mlops::Run::SUCCEEDED));
  const int64_t b = BeginRun(MakeRun("eval", kT0 + 10, mlops::Run::FAILED));
  const int64_t c = BeginRun(MakeRun("train", kT0 + 20, mlops::Run::FAILED));
  const int64_t d = BeginRun(MakeRun("train", kT0 + 30, mlops::Run::RUNNING));
  const int64_t e = BeginRun(MakeRun("eval", kT0 + 30, mlops::Run::SUCCEEDED));
  const int64_t f = BeginRun(MakeRun("train", kT0 + 40, mlops::Run::SUCCEEDED));
  // A run inserted later but started earlier than all others.
  const int64_t g = BeginRun(MakeRun("train", kT0 - 100, mlops::Run::SUCCEEDED));

  const auto find = [&](const RunFilter& filter) -> std::vector<int64_t> {
    absl::StatusOr<std::vector<mlops::Run>> runs = Whole(store_->FindRuns(filter));
    EXPECT_TRUE(runs.ok()) << runs.status();
    return runs.ok() ? RunIds(*runs) : std::vector<int64_t>{};
  };

  EXPECT_THAT(find({}), ElementsAre(f, e, d, c, b, a, g));

  RunFilter by_program;
  by_program.program = "train";
  EXPECT_THAT(find(by_program), ElementsAre(f, d, c, a, g));
  by_program.program = "nope";
  EXPECT_THAT(find(by_program), IsEmpty());

  RunFilter by_status;
  by_status.status = mlops::Run::FAILED;
  EXPECT_THAT(find(by_status), ElementsAre(c, b));
  by_status.program = "train";
  EXPECT_THAT(find(by_status), ElementsAre(c));

  RunFilter window;
  window.started_after = absl::FromUnixSeconds(kT0 + 10);   // inclusive
  window.started_before = absl::FromUnixSeconds(kT0 + 30);  // exclusive
  EXPECT_THAT(find(window), ElementsAre(c, b));
  window.started_before = absl::FromUnixSeconds(kT0 + 30) + absl::Microseconds(1);
  EXPECT_THAT(find(window), ElementsAre(e, d, c, b));
  window.started_after = absl::FromUnixSeconds(kT0 + 10) + absl::Microseconds(1);
  EXPECT_THAT(find(window), ElementsAre(e, d, c));

  RunFilter after_only;
  after_only.started_after = absl::FromUnixSeconds(kT0 + 30);
  EXPECT_THAT(find(after_only), ElementsAre(f, e, d));
  RunFilter before_only;
  before_only.started_before = absl::FromUnixSeconds(kT0);
  EXPECT_THAT(find(before_only), ElementsAre(g));

  PageRequest two;
  two.max_results = 2;
  absl::StatusOr<Page<mlops::Run>> page = store_->FindRuns({}, two);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(RunIds(page->items), ElementsAre(f, e));
  EXPECT_TRUE(page->has_more());
  RunFilter eval;
  eval.program = "eval";
  PageRequest one;
  one.max_results = 1;
  page = store_->FindRuns(eval, one);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(RunIds(page->items), ElementsAre(e));

  // Whole runs come back, not just ids.
  ASSERT_EQ(page->items.size(), 1u);
  mlops::Run expected = MakeRun("eval", kT0 + 30, mlops::Run::SUCCEEDED);
  expected.set_id(e);
  expected.set_experiment("default");
  expected.set_name(absl::StrCat("eval-", e));
  EXPECT_THAT(page->items.front(), EqualsProto(expected));
}

}  // namespace
}  // namespace test
}  // namespace mlops
