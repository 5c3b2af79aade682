// Paged listings of SqliteLineageStore (ExecutionsOfStep, FindRuns, FindArtifactsByPrefix),
// in each common configuration: no listing is cut silently (issue 13, item 5: a step's
// executions were cut at 100 without a word), pages of any size return every item once
// and end with an empty next_page_token, and bad tokens are INVALID_ARGUMENT.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/hash/digest.h"
#include "mlops/lineage/lineage.pb.h"
#include "mlops/lineage/page.h"
#include "mlops/testing/lineage_store_fixture.h"
#include "mlops/testing/pages.h"

namespace mlops {
namespace test {
namespace {

using ::testing::HasSubstr;

INSTANTIATE_TEST_SUITE_P(Stores, SqliteLineageStoreTest, ::testing::ValuesIn(CommonConfigs()),
                         ParamName);

constexpr int kMany = 150;  // more than the 100 that used to be the silent default

// Records kMany executions of "train" in `run` through `record`: every third a compact cache
// hit of one computed execution, the rest full rows, with start times in threes (ties,
// broken by id, fall across page boundaries); and executions of another step. Returns the
// ids of the executions of "train", newest first (later start, then higher id).
std::vector<int64_t> RecordManyOfOneStep(int64_t run,
                                         const std::function<int64_t(const Execution&)>& record) {
  std::vector<std::pair<int64_t, int64_t>> by_start;  // (start in microseconds, id)
  const auto add = [&](const Execution& e) {
    const int64_t id = record(e);
    by_start.push_back({e.start_time().seconds() * 1000000 + e.start_time().nanos() / 1000, id});
  };
  const Execution rep = Computed(run, "train", "k", {}, {Ref("0", "model")}, kT0 - 1000);
  add(rep);
  for (int i = 1; i < kMany; ++i) {
    const int64_t start = kT0 + i / 3;
    add(i % 3 == 0 ? HitOf(rep, run, start)
                   : Exec(run, "train", {}, {Ref("0", absl::StrCat("m", i))}, false, start));
    record(Exec(run, "evaluate", {}, {}, false, start));
  }
  std::sort(by_start.rbegin(), by_start.rend());
  std::vector<int64_t> ids;
  for (const auto& [start, id] : by_start) ids.push_back(id);
  return ids;
}

TEST_P(SqliteLineageStoreTest, CountingAStepsExecutionsCountsAllOfThem) {
  const int64_t run = BeginRun(MakeRun("p", kT0));
  const std::vector<int64_t> want =
      RecordManyOfOneStep(run, [&](const Execution& e) { return Record(e); });
  absl::StatusOr<Page<Execution>> all = store_->ExecutionsOfStep("train");
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->items.size(), static_cast<size_t>(kMany));
  EXPECT_EQ(all->next_page_token, "");
  EXPECT_THAT(Ids(all->items), ElementsAreArray(want));
  // A third of them are compact hits (merged with the full rows, paged alike).
  if (IsFile()) {
    EXPECT_EQ(SqlValue(path_, "SELECT count(*) FROM hits"), "49");
  }
}

TEST_P(SqliteLineageStoreTest, PagingAStepsExecutionsByFortyReturnsEachOnce) {
  const int64_t run = BeginRun(MakeRun("p", kT0));
  const std::vector<int64_t> want =
      RecordManyOfOneStep(run, [&](const Execution& e) { return Record(e); });
  int pages = 0;
  absl::StatusOr<std::vector<Execution>> got = AllPages<Execution>(
      [&](const PageRequest& r) { return store_->ExecutionsOfStep("train", r); }, 40, &pages);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(pages, 4);  // 40 + 40 + 40 + 30, the last with no token
  EXPECT_THAT(Ids(*got), ElementsAreArray(want));
  const std::vector<int64_t> ids = Ids(*got);
  EXPECT_EQ(std::set<int64_t>(ids.begin(), ids.end()).size(), static_cast<size_t>(kMany));

  // Exactly a page's worth: one page, and it says nothing more follows.
  PageRequest exact;
  exact.max_results = kMany;
  absl::StatusOr<Page<Execution>> page = store_->ExecutionsOfStep("train", exact);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->items.size(), static_cast<size_t>(kMany));
  EXPECT_EQ(page->next_page_token, "");
}

TEST_P(SqliteLineageStoreTest, FindRunsReturnsAllRunsAndPagesByForty) {
  std::vector<int64_t> want;  // newest first
  for (int i = 0; i < kMany; ++i) {
    want.insert(want.begin(), BeginRun(MakeRun(i % 2 == 0 ? "even" : "odd", kT0 + i / 3)));
  }
  absl::StatusOr<Page<mlops::Run>> all = store_->FindRuns({});
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->items.size(), static_cast<size_t>(kMany));
  EXPECT_EQ(all->next_page_token, "");
  EXPECT_THAT(RunIds(all->items), ElementsAreArray(want));

  int pages = 0;
  absl::StatusOr<std::vector<mlops::Run>> got = AllPages<mlops::Run>(
      [&](const PageRequest& r) { return store_->FindRuns({}, r); }, 40, &pages);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(pages, 4);
  EXPECT_THAT(RunIds(*got), ElementsAreArray(want));

  // With a filter, the filter's runs only, still in pages.
  RunFilter odd;
  odd.program = "odd";
  got = AllPages<mlops::Run>([&](const PageRequest& r) { return store_->FindRuns(odd, r); }, 40,
                             &pages);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(pages, 2);
  EXPECT_EQ(got->size(), static_cast<size_t>(kMany / 2));
  for (const mlops::Run& r : *got) EXPECT_EQ(r.program(), "odd");
}

TEST_P(SqliteLineageStoreTest, PagesDoNotRepeatItemsRecordedMeanwhile) {
  const int64_t run = BeginRun(MakeRun("p", kT0));
  for (int i = 0; i < 10; ++i) Record(Exec(run, "s", {}, {}, false, kT0 + i));
  PageRequest request;
  request.max_results = 4;
  std::vector<int64_t> seen;
  for (int page = 0; page == 0 || !request.page_token.empty(); ++page) {
    ASSERT_LT(page, 10) << "the pages do not end";
    absl::StatusOr<Page<Execution>> got = store_->ExecutionsOfStep("s", request);
    ASSERT_TRUE(got.ok()) << got.status();
    for (const Execution& e : got->items) seen.push_back(e.start_time().seconds() - kT0);
    request.page_token = got->next_page_token;
    // Newer executions appear before the first page, not in the next one.
    Record(Exec(run, "s", {}, {}, false, kT0 + 100 + page));
  }
  EXPECT_THAT(seen, ElementsAre(9, 8, 7, 6, 5, 4, 3, 2, 1, 0));
}

TEST_P(SqliteLineageStoreTest, MalformedPageTokenIsInvalidArgument) {
  const int64_t run = BeginRun(MakeRun("p", kT0));
  BeginRun(MakeRun("p", kT0 + 1));
  for (int i = 0; i < 3; ++i) Record(Exec(run, "a", {}, {Ref("0", "aa")}, false, kT0 + i));
  Record(Exec(run, "b", {}, {}, false, kT0));
  PageRequest one;
  one.max_results = 1;
  absl::StatusOr<Page<Execution>> of_a = store_->ExecutionsOfStep("a", one);
  absl::StatusOr<Page<mlops::Run>> runs = store_->FindRuns({}, one);
  ASSERT_TRUE(of_a.ok() && of_a->has_more()) << of_a.status();
  ASSERT_TRUE(runs.ok() && runs->has_more()) << runs.status();

  const auto expect_invalid = [](const absl::Status& s, const std::string& what) {
    EXPECT_TRUE(absl::IsInvalidArgument(s)) << what << ": " << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr("page token")) << what;
  };
  for (const std::string& bad :
       {std::string("garbage"), std::string("!!"), std::string("a b"), std::string(5000, 'A'),
        std::string("\0\xff", 2), of_a->next_page_token.substr(1),
        of_a->next_page_token + "AA",
        // Well-formed, for this query (paging.cc's description of it), at a position that
        // is not one.
        MakePageToken("ExecutionsOfStep\na", {"x", "1"})}) {
    PageRequest r;
    r.page_token = bad;
    expect_invalid(store_->ExecutionsOfStep("a", r).status(), "ExecutionsOfStep " + bad);
    expect_invalid(store_->FindRuns({}, r).status(), "FindRuns " + bad);
    expect_invalid(store_->FindArtifactsByPrefix(H("aa").substr(0, 2), r).status(),
                   "FindArtifactsByPrefix " + bad);
  }
  // Another query's token: another method, another step, another filter.
  PageRequest foreign;
  foreign.page_token = runs->next_page_token;
  expect_invalid(store_->ExecutionsOfStep("a", foreign).status(), "a FindRuns token");
  foreign.page_token = of_a->next_page_token;
  expect_invalid(store_->FindRuns({}, foreign).status(), "an ExecutionsOfStep token");
  expect_invalid(store_->ExecutionsOfStep("b", foreign).status(), "step a's token for b");
  RunFilter filtered;
  filtered.program = "p";
  foreign.page_token = runs->next_page_token;
  expect_invalid(store_->FindRuns(filtered, foreign).status(), "another filter's token");
  // The token itself works with its own query, at any page size.
  foreign.max_results = 0;
  absl::StatusOr<Page<mlops::Run>> rest = store_->FindRuns({}, foreign);
  ASSERT_TRUE(rest.ok()) << rest.status();
  EXPECT_EQ(rest->items.size(), 1u);

  PageRequest negative;
  negative.max_results = -1;
  EXPECT_TRUE(absl::IsInvalidArgument(store_->ExecutionsOfStep("a", negative).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(store_->FindRuns({}, negative).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(store_->FindArtifactsByPrefix("a", negative).status()));
}

TEST_P(SqliteLineageStoreTest, FindArtifactsByPrefixPagesThroughEveryMatch) {
  const int64_t run = BeginRun(MakeRun("p", kT0));
  std::vector<Digest> want;
  for (int i = 0; i < kMany; ++i) {
    Record(Exec(run, "s", {}, {Ref("0", absl::StrCat("v", i))}, false, kT0 + i));
    const Digest d = *Digest::FromHex(H(absl::StrCat("v", i)));
    if (d.ToHex()[0] < '8') want.push_back(d);  // about half of them
  }
  std::sort(want.begin(), want.end());
  std::vector<Digest> got;
  for (char c : std::string("01234567")) {
    absl::StatusOr<std::vector<Digest>> part = AllPages<Digest>(
        [&](const PageRequest& r) { return store_->FindArtifactsByPrefix(std::string(1, c), r); },
        7);
    ASSERT_TRUE(part.ok()) << part.status();
    got.insert(got.end(), part->begin(), part->end());
  }
  EXPECT_THAT(got, ElementsAreArray(want));
}

}  // namespace
}  // namespace test
}  // namespace mlops
