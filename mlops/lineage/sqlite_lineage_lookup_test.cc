// Tests of the read-only lookups for tools: FindArtifactsByPrefix, StepOutputs and
// CountExecutions.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/hash/digest.h"
#include "mlops/lineage/lineage.pb.h"
#include "mlops/lineage/sqlite_lineage_store.h"
#include "mlops/testing/files.h"
#include "mlops/testing/lineage_records.h"
#include "mlops/testing/pages.h"

namespace mlops {
namespace test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

Digest D(const std::string& hex) { return *Digest::FromHex(hex); }

// An execution of action `key` without times (a cache hit without times is a full row).
Execution Step(int64_t run, const std::string& step, const std::string& key,
               std::vector<ArtifactRef> in, std::vector<ArtifactRef> out, bool hit = false) {
  return Untimed(Keyed(Exec(run, step, std::move(in), std::move(out), hit), key));
}

// Digests chosen to share prefixes: a1b2..., a1b3..., a1ff..., 0000....
const Digest kA = D("a1b20000000000000000000000000001");
const Digest kB = D("a1b30000000000000000000000000002");
const Digest kC = D("a1ff0000000000000000000000000003");
const Digest kZ = D("00000000000000000000000000000004");

class LookupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SqliteLineageOptions options;
    options.max_batch_delay = absl::Seconds(10);  // queries must see queued records
    absl::StatusOr<std::unique_ptr<SqliteLineageStore>> s =
        SqliteLineageStore::Open(":memory:", options);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = *std::move(s);
    mlops::Run run;
    run.set_program("test");
    absl::StatusOr<int64_t> id = store_->BeginRun(run);
    ASSERT_TRUE(id.ok()) << id.status();
    run_ = *id;
    // load: z -> a; clean: a -> b, c (computed, then a cache hit); copy: b -> a.
    ASSERT_TRUE(
        store_->RecordExecution(Step(run_, "load", "k1", {RefTo("f", kZ)}, {RefTo("0", kA)})).ok());
    ASSERT_TRUE(store_
                    ->RecordExecution(Step(run_, "clean", "k2", {RefTo("x", kA)},
                                           {RefTo("0", kB), RefTo("1", kC)}))
                    .ok());
    // A cache hit of clean: no event rows of its own, still counts as output by "clean".
    ASSERT_TRUE(store_
                    ->RecordExecution(Step(run_, "clean", "k2", {RefTo("x", kA)},
                                           {RefTo("0", kB), RefTo("1", kC)}, true))
                    .ok());
    // Another step that outputs the same value as load.
    ASSERT_TRUE(
        store_->RecordExecution(Step(run_, "copy", "k3", {RefTo("y", kB)}, {RefTo("0", kA)})).ok());
  }

  std::unique_ptr<SqliteLineageStore> store_;
  int64_t run_ = 0;
};

TEST_F(LookupTest, PrefixMatchesInDigestOrder) {
  absl::StatusOr<std::vector<Digest>> found = Whole(store_->FindArtifactsByPrefix("a1"));
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_THAT(*found, ElementsAre(kA, kB, kC));
  found = Whole(store_->FindArtifactsByPrefix("a1b"));
  ASSERT_TRUE(found.ok());
  EXPECT_THAT(*found, ElementsAre(kA, kB));
  found = Whole(store_->FindArtifactsByPrefix("A1B3"));  // either case
  ASSERT_TRUE(found.ok());
  EXPECT_THAT(*found, ElementsAre(kB));
  found = Whole(store_->FindArtifactsByPrefix(kC.ToHex()));  // a whole digest
  ASSERT_TRUE(found.ok());
  EXPECT_THAT(*found, ElementsAre(kC));
  found = Whole(store_->FindArtifactsByPrefix("0"));
  ASSERT_TRUE(found.ok());
  EXPECT_THAT(*found, ElementsAre(kZ));
}

TEST_F(LookupTest, PrefixPagesAndNoMatch) {
  PageRequest two;
  two.max_results = 2;
  absl::StatusOr<Page<Digest>> page = store_->FindArtifactsByPrefix("a1", two);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(page->items, ElementsAre(kA, kB));
  ASSERT_TRUE(page->has_more());
  two.page_token = page->next_page_token;
  page = store_->FindArtifactsByPrefix("A1", two);  // the same query in either case
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(page->items, ElementsAre(kC));
  EXPECT_FALSE(page->has_more());
  // A token of prefix "a1" does not continue prefix "a".
  EXPECT_TRUE(absl::IsInvalidArgument(store_->FindArtifactsByPrefix("a", two).status()));
  absl::StatusOr<std::vector<Digest>> found = Whole(store_->FindArtifactsByPrefix("b"));
  ASSERT_TRUE(found.ok());
  EXPECT_THAT(*found, IsEmpty());
}

TEST_F(LookupTest, MalformedPrefixIsInvalidArgument) {
  for (const std::string& bad :
       {std::string(""), std::string("xyz"), std::string("a1-"), std::string(33, 'a')}) {
    absl::StatusOr<std::vector<Digest>> found = Whole(store_->FindArtifactsByPrefix(bad));
    ASSERT_FALSE(found.ok()) << bad;
    EXPECT_TRUE(absl::IsInvalidArgument(found.status())) << found.status();
    EXPECT_THAT(std::string(found.status().message()), HasSubstr("\"" + bad + "\""));
  }
}

TEST_F(LookupTest, StepOutputsListsEachPairOnce) {
  absl::StatusOr<std::vector<LineageStore::StepOutput>> outputs = store_->StepOutputs();
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const auto& o : *outputs) pairs.emplace_back(o.digest.ToHex(), o.step_name);
  EXPECT_THAT(
      pairs, ElementsAre(std::make_pair(kA.ToHex(), "copy"), std::make_pair(kA.ToHex(), "load"),
                         std::make_pair(kB.ToHex(), "clean"), std::make_pair(kC.ToHex(), "clean")));
}

TEST_F(LookupTest, StepOutputsKeepsHitsWhoseComputingRunIsDeleted) {
  // A second run holding only a hit of "load"; deleting the first run hands the events
  // over to the hit, which still names its step.
  mlops::Run run;
  run.set_program("test");
  absl::StatusOr<int64_t> second = store_->BeginRun(run);
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(
      store_->RecordExecution(Step(*second, "load", "k1", {RefTo("f", kZ)}, {RefTo("0", kA)}, true))
          .ok());
  ASSERT_TRUE(store_->DeleteRun(run_).ok());
  absl::StatusOr<std::vector<LineageStore::StepOutput>> outputs = store_->StepOutputs();
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  ASSERT_EQ(outputs->size(), 1u);
  EXPECT_EQ((*outputs)[0].digest, kA);
  EXPECT_EQ((*outputs)[0].step_name, "load");
}

// The same action as `e`, answered from the cache in `run`, with start and end times (a
// hit without them cannot be a compact row).
Execution TimedHit(const Execution& e, int64_t run, int64_t second) {
  return HitOf(e, run, Ts(second), Ts(second + 1));
}

TEST_F(LookupTest, CountExecutionsCountsFullRowHits) {
  // The fixture's run: three computed executions and a hit without times (a full row).
  absl::StatusOr<RunCounts> counts = store_->CountExecutions(run_);
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->executions, 4);
  EXPECT_EQ(counts->cache_hits, 1);
  EXPECT_EQ(counts->failed, 0);
}

TEST_F(LookupTest, CountExecutionsOfAnUnknownRunIsNotFound) {
  absl::StatusOr<RunCounts> counts = store_->CountExecutions(run_ + 100);
  ASSERT_FALSE(counts.ok());
  EXPECT_TRUE(absl::IsNotFound(counts.status())) << counts.status();
  EXPECT_THAT(std::string(counts.status().message()), HasSubstr(std::to_string(run_ + 100)));
  // A run deleted meanwhile is unknown too.
  ASSERT_TRUE(store_->DeleteRun(run_).ok());
  EXPECT_TRUE(absl::IsNotFound(store_->CountExecutions(run_).status()));
}

TEST(CountExecutionsTest, CountsCompactAndFullHitsAndFailuresAsExecutionsOfRunDoes) {
  const std::string path = test::FreshDir() + "/lineage.db";
  int64_t first = 0, second = 0, empty = 0;
  {
    SqliteLineageOptions options;
    options.max_batch_delay = absl::Seconds(10);  // counts must see queued records
    absl::StatusOr<std::unique_ptr<SqliteLineageStore>> store =
        SqliteLineageStore::Open(path, options);
    ASSERT_TRUE(store.ok()) << store.status();
    mlops::Run run;
    run.set_program("test");
    first = *(*store)->BeginRun(run);
    second = *(*store)->BeginRun(run);
    empty = *(*store)->BeginRun(run);
    Execution load = Step(first, "load", "k1", {RefTo("f", kZ)}, {RefTo("0", kA)});
    Execution clean = Step(first, "clean", "k2", {RefTo("x", kA)}, {RefTo("0", kB)});
    Execution failed = Step(first, "train", "k3", {RefTo("x", kB)}, {});
    failed.set_status(Execution::FAILED);
    for (const Execution& e : {load, clean, failed}) {
      ASSERT_TRUE((*store)->RecordExecution(e).ok());
    }
    // The second run: two hits that repeat their representatives (compact rows), one that
    // differs in a metric (a full row), one without times (a full row), one computed.
    ASSERT_TRUE((*store)->RecordExecution(TimedHit(load, second, 100)).ok());
    ASSERT_TRUE((*store)->RecordExecution(TimedHit(clean, second, 101)).ok());
    Execution differs = TimedHit(clean, second, 102);
    (*differs.mutable_metrics())["loss"] = 0.5;
    ASSERT_TRUE((*store)->RecordExecution(differs).ok());
    Execution untimed = load;
    untimed.set_run_id(second);
    untimed.set_status(Execution::CACHED);
    untimed.set_cache_hit(true);
    ASSERT_TRUE((*store)->RecordExecution(untimed).ok());
    ASSERT_TRUE(
        (*store)
            ->RecordExecution(Step(second, "copy", "k4", {RefTo("y", kB)}, {RefTo("0", kC)}))
            .ok());

    for (int64_t run_id : {first, second, empty}) {
      absl::StatusOr<RunCounts> counts = (*store)->CountExecutions(run_id);
      ASSERT_TRUE(counts.ok()) << counts.status();
      absl::StatusOr<std::vector<Execution>> all = (*store)->ExecutionsOfRun(run_id);
      ASSERT_TRUE(all.ok()) << all.status();
      RunCounts expected;
      for (const Execution& e : *all) {
        ++expected.executions;
        if (e.cache_hit()) ++expected.cache_hits;
        if (e.status() == Execution::FAILED) ++expected.failed;
      }
      EXPECT_EQ(counts->executions, expected.executions) << "run " << run_id;
      EXPECT_EQ(counts->cache_hits, expected.cache_hits) << "run " << run_id;
      EXPECT_EQ(counts->failed, expected.failed) << "run " << run_id;
    }
    absl::StatusOr<RunCounts> counts = (*store)->CountExecutions(second);
    ASSERT_TRUE(counts.ok());
    EXPECT_EQ(counts->executions, 5);
    EXPECT_EQ(counts->cache_hits, 4);
    EXPECT_EQ(counts->failed, 0);
    counts = (*store)->CountExecutions(first);
    ASSERT_TRUE(counts.ok());
    EXPECT_EQ(counts->executions, 3);
    EXPECT_EQ(counts->cache_hits, 0);
    EXPECT_EQ(counts->failed, 1);
    counts = (*store)->CountExecutions(empty);
    ASSERT_TRUE(counts.ok());
    EXPECT_EQ(counts->executions, 0);
  }
  // Both kinds of hit were counted: two compact rows, the rest full rows.
  EXPECT_EQ(SqlInt(path, "SELECT count(*) FROM hits"), 2);
  EXPECT_EQ(SqlInt(path, "SELECT count(*) FROM executions"), 3 + 3);
}

}  // namespace
}  // namespace test
}  // namespace mlops
