// Batching in SqliteLineageStore, in each common configuration: queries see what is queued,
// the destructor commits it, and threads record at once.
#include <cstdint>
#include <set>
#include <string>
#include <thread>
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

TEST_P(SqliteLineageStoreTest, QueriesSeeRecordsBeforeFlush) {
  SqliteLineageOptions options = Options();
  if (options.max_batch_delay > absl::ZeroDuration()) {
    options.max_batch_delay = absl::Hours(1);  // nothing is committed behind our back
    options.max_batch_size = 1000000;
  }
  Open(options);
  const int64_t run = BeginRun(MakeRun("p", kT0));
  const int64_t a = Record(Exec(run, "a", {Ref("in", "x")}, {Ref("0", "y")}, false, kT0 + 1));
  absl::StatusOr<Execution> e = store_->GetExecution(a);
  EXPECT_TRUE(e.ok()) << e.status();
  const int64_t b = Record(Exec(run, "b", {Ref("in", "y")}, {Ref("0", "z")}, false, kT0 + 2));
  absl::StatusOr<std::vector<Execution>> p = store_->Producers(Digest::Of("z"));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_THAT(Ids(*p), ElementsAre(b));
  const int64_t c = Record(Exec(run, "c", {Ref("in", "z")}, {}, false, kT0 + 3));
  absl::StatusOr<std::vector<Execution>> cons = store_->Consumers(Digest::Of("z"));
  ASSERT_TRUE(cons.ok()) << cons.status();
  EXPECT_THAT(Ids(*cons), ElementsAre(c));
  const int64_t d = Record(Exec(run, "d", {Ref("in", "z")}, {Ref("0", "w")}, false, kT0 + 4));
  absl::StatusOr<Subgraph> up = store_->Upstream(LineageNode::Of(Digest::Of("w")));
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_EQ(up->executions_size(), 3);
  const int64_t e2 = Record(Exec(run, "e", {}, {Ref("0", "v")}, false, kT0 + 5));
  absl::StatusOr<Subgraph> down = store_->Downstream(LineageNode::OfExecution(e2));
  EXPECT_TRUE(down.ok()) << down.status();
  Record(Exec(run, "f", {}, {Ref("0", "u")}, false, kT0 + 6));
  absl::StatusOr<Artifact> art = store_->GetArtifact(Digest::Of("u"));
  EXPECT_TRUE(art.ok()) << art.status();
  Record(Exec(run, "g", {}, {}, false, kT0 + 7));
  absl::StatusOr<std::vector<Execution>> of_step = Whole(store_->ExecutionsOfStep("g"));
  ASSERT_TRUE(of_step.ok()) << of_step.status();
  EXPECT_EQ(of_step->size(), 1u);
  Record(Exec(run, "h", {}, {}, false, kT0 + 8));
  absl::StatusOr<std::vector<Execution>> of_run = store_->ExecutionsOfRun(run);
  ASSERT_TRUE(of_run.ok()) << of_run.status();
  EXPECT_EQ(of_run->size(), 8u);
  EXPECT_EQ(of_run->front().id(), a);
  EXPECT_EQ((*of_run)[3].id(), d);
}

TEST_P(SqliteLineageStoreTest, DestructorCommitsQueuedRecords) {
  if (!IsFile()) GTEST_SKIP() << "an in-memory database does not outlive its store";
  SqliteLineageOptions options = Options();
  if (options.max_batch_delay > absl::ZeroDuration()) {
    options.max_batch_delay = absl::Hours(1);
    options.max_batch_size = 1000000;
  }
  Open(options);
  const int64_t run = BeginRun(MakeRun("p", kT0));
  std::vector<int64_t> ids;
  for (int i = 0; i < 25; ++i) {
    ids.push_back(Record(Exec(run, "s", {Ref("in", absl::StrCat("v", i))},
                              {Ref("0", absl::StrCat("v", i + 1))}, false, kT0 + i)));
  }
  store_.reset();  // no Flush()

  Open(Options());
  absl::StatusOr<std::vector<Execution>> of_run = store_->ExecutionsOfRun(run);
  ASSERT_TRUE(of_run.ok()) << of_run.status();
  EXPECT_THAT(Ids(*of_run), ElementsAreArray(ids));
  absl::StatusOr<Subgraph> up = store_->Upstream(LineageNode::Of(Digest::Of("v25")));
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_EQ(up->executions_size(), 25);
  EXPECT_EQ(up->artifacts_size(), 26);
  EXPECT_EQ(up->events_size(), 50);
}

TEST_P(SqliteLineageStoreTest, ConcurrentThreadsRecord) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 150;
  std::vector<int64_t> runs(kThreads);
  std::vector<std::vector<int64_t>> ids(kThreads);
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      absl::StatusOr<int64_t> run = store_->BeginRun(MakeRun(absl::StrCat("thread", t), kT0 + t));
      if (!run.ok()) {
        errors[t] = run.status().ToString();
        return;
      }
      runs[t] = *run;
      for (int i = 0; i < kPerThread; ++i) {
        Execution e = Exec(*run, absl::StrCat("step", t),
                           {Ref("prev", absl::StrCat("t", t, "_", i)), Ref("shared", "shared")},
                           {Ref("0", absl::StrCat("t", t, "_", i + 1))}, false, kT0 + i);
        (*e.mutable_params())["i"] = absl::StrCat(i);
        absl::StatusOr<int64_t> id = store_->RecordExecution(e);
        if (!id.ok()) {
          errors[t] = id.status().ToString();
          return;
        }
        ids[t].push_back(*id);
        if (i % 50 == 25) {  // interleave queries with the writers
          absl::StatusOr<std::vector<Execution>> p =
              store_->Producers(Digest::Of(absl::StrCat("t", t, "_", i + 1)));
          if (!p.ok() || p->size() != 1 || p->front().id() != *id) {
            errors[t] = absl::StrCat("producer of t", t, "_", i + 1, " not found");
            return;
          }
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) ASSERT_EQ(errors[t], "") << "thread " << t;

  std::set<int64_t> all;
  for (int t = 0; t < kThreads; ++t) {
    for (size_t i = 1; i < ids[t].size(); ++i) EXPECT_GT(ids[t][i], ids[t][i - 1]);
    all.insert(ids[t].begin(), ids[t].end());
    absl::StatusOr<std::vector<Execution>> of_run = store_->ExecutionsOfRun(runs[t]);
    ASSERT_TRUE(of_run.ok()) << of_run.status();
    EXPECT_THAT(Ids(*of_run), ElementsAreArray(ids[t]));
    for (size_t i = 0; i < of_run->size(); ++i) {
      EXPECT_EQ((*of_run)[i].params().at("i"), absl::StrCat(i));
      EXPECT_EQ((*of_run)[i].step_name(), absl::StrCat("step", t));
    }
    absl::StatusOr<Subgraph> up =
        store_->Upstream(LineageNode::Of(Digest::Of(absl::StrCat("t", t, "_", kPerThread))));
    ASSERT_TRUE(up.ok()) << up.status();
    EXPECT_EQ(up->executions_size(), kPerThread);
  }
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
  absl::StatusOr<std::vector<Execution>> c = store_->Consumers(Digest::Of("shared"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->size(), static_cast<size_t>(kThreads * kPerThread));
  absl::StatusOr<std::vector<mlops::Run>> found = Whole(store_->FindRuns({}));
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->size(), static_cast<size_t>(kThreads));
}

}  // namespace
}  // namespace test
}  // namespace mlops
