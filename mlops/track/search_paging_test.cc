// SearchRuns paging: every order and page size lists every match exactly once, page sizes
// may change between pages, runs begun meanwhile are not listed twice, and a token
// continues only the search it came from.
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/testing/lineage_records.h"
#include "mlops/testing/pages.h"
#include "mlops/testing/status_matchers.h"
#include "mlops/track/search.h"
#include "mlops/track/search_testing.h"

namespace mlops {
namespace track {
namespace test {
namespace {

using ::mlops::test::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class SearchPagingTest : public SearchRunsTest {
 protected:
  // Every run `search` finds, `page_size` at a time.
  std::vector<std::string> Paged(RunSearch search, int64_t page_size) {
    absl::StatusOr<std::vector<FoundRun>> all = mlops::test::AllPages<FoundRun>(
        [&](const PageRequest& request) {
          search.page = request;
          return SearchRuns(*store_, search);
        },
        page_size);
    if (!all.ok()) return {all.status().ToString()};
    return NamesOf(*all);
  }
};

TEST_F(SearchPagingTest, EveryOrderAndPageSizeListsEachRunOnce) {
  const std::vector<std::string> orders = {
      "",
      "metrics.auc DESC",
      "metrics.auc",
      "metrics.`f1 score`",
      "params.model, metrics.auc DESC",
      "tags.team DESC",
      "attributes.start_time",
      "attributes.end_time DESC",
      "attributes.run_id",
      "attributes.status, attributes.experiment DESC",
  };
  for (const char* filter : {"", "metrics.auc != 0.85", "attributes.run_name != 'x'"}) {
    for (const std::string& order : orders) {
      const std::vector<std::string> whole = Names(filter, order);
      for (int64_t size : {1, 2, 3, 4, 100}) {
        RunSearch search;
        search.filter = filter;
        search.order_by = order;
        EXPECT_EQ(Paged(search, size), whole)
            << "filter '" << filter << "', order_by '" << order << "', " << size << " a page";
      }
    }
  }
}

TEST_F(SearchPagingTest, PageSizeMayChangeBetweenPages) {
  RunSearch search;
  search.order_by = "metrics.auc DESC";
  std::vector<std::string> names;
  for (int64_t size : {3, 1, 4, 2}) {
    search.page.max_results = size;
    ASSERT_OK_AND_ASSIGN(const Page<FoundRun> page, SearchRuns(*store_, search));
    for (const std::string& name : NamesOf(page.items)) names.push_back(name);
    search.page.page_token = page.next_page_token;
    if (!page.has_more()) break;
  }
  EXPECT_TRUE(search.page.page_token.empty());
  EXPECT_EQ(names, Names("", "metrics.auc DESC"));
}

TEST_F(SearchPagingTest, LastPageHasNoToken) {
  RunSearch search;
  search.page.max_results = 10;
  ASSERT_OK_AND_ASSIGN(const Page<FoundRun> page, SearchRuns(*store_, search));
  EXPECT_EQ(page.items.size(), 10u);
  EXPECT_FALSE(page.has_more());
  search.page.max_results = 9;
  ASSERT_OK_AND_ASSIGN(const Page<FoundRun> cut, SearchRuns(*store_, search));
  EXPECT_EQ(cut.items.size(), 9u);
  EXPECT_TRUE(cut.has_more());
}

// A run begun between two pages of the default order (newest first) comes before the
// position: it is not listed, and nothing is listed twice.
TEST_F(SearchPagingTest, RunBegunMeanwhileIsNotListedTwice) {
  RunSearch search;
  search.page.max_results = 4;
  ASSERT_OK_AND_ASSIGN(const Page<FoundRun> first, SearchRuns(*store_, search));
  mlops::Run late = mlops::test::MakeRun("train.py", mlops::test::kT0 + 100);
  late.set_name("late");
  ASSERT_OK(store_->BeginRun(late).status());
  search.page.page_token = first.next_page_token;
  search.page.max_results = 0;
  ASSERT_OK_AND_ASSIGN(const Page<FoundRun> rest, SearchRuns(*store_, search));
  std::vector<std::string> names = NamesOf(first.items);
  for (const std::string& name : NamesOf(rest.items)) names.push_back(name);
  EXPECT_EQ(names, AllRunsNewestFirst());
}

TEST_F(SearchPagingTest, TokenOfAnotherSearchIsInvalid) {
  RunSearch search;
  search.filter = "metrics.auc > 0";
  search.order_by = "metrics.auc DESC";
  search.page.max_results = 2;
  ASSERT_OK_AND_ASSIGN(const Page<FoundRun> page, SearchRuns(*store_, search));
  ASSERT_TRUE(page.has_more());

  RunSearch other = search;
  other.page.page_token = page.next_page_token;
  other.filter = "metrics.auc > 1";
  EXPECT_THAT(SearchRuns(*store_, other), StatusIs(absl::StatusCode::kInvalidArgument));
  other = search;
  other.page.page_token = page.next_page_token;
  other.order_by = "metrics.auc";
  EXPECT_THAT(SearchRuns(*store_, other), StatusIs(absl::StatusCode::kInvalidArgument));
  other.order_by = "metrics.auc DESC, params.model";  // another number of keys
  EXPECT_THAT(SearchRuns(*store_, other), StatusIs(absl::StatusCode::kInvalidArgument));
  other = search;
  other.page.page_token = page.next_page_token;
  other.experiments = {"churn"};
  EXPECT_THAT(SearchRuns(*store_, other), StatusIs(absl::StatusCode::kInvalidArgument));

  // The same search, with another page size, continues.
  other = search;
  other.page.page_token = page.next_page_token;
  other.page.max_results = 100;
  ASSERT_OK_AND_ASSIGN(const Page<FoundRun> rest, SearchRuns(*store_, other));
  EXPECT_THAT(NamesOf(rest.items), ElementsAre("alpha", "theta", "beta", "iota"));

  // Nor is a token of an execution search.
  ExecutionSearch executions;
  executions.step = "train";
  executions.filter = search.filter;
  executions.order_by = search.order_by;
  executions.page.page_token = page.next_page_token;
  EXPECT_THAT(SearchExecutions(*store_, executions), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(SearchPagingTest, MalformedTokenAndNegativeSizeAreInvalid) {
  RunSearch search;
  search.page.page_token = "not a token";
  absl::StatusOr<Page<FoundRun>> page = SearchRuns(*store_, search);
  EXPECT_THAT(page, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(page.status().message(), HasSubstr("page token"));
  search.page.page_token = "";
  search.page.max_results = -1;
  EXPECT_THAT(SearchRuns(*store_, search), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(SearchPagingTest, NoMatchIsOneEmptyPage) {
  RunSearch search;
  search.filter = "metrics.loss > 2";
  search.page.max_results = 1;
  ASSERT_OK_AND_ASSIGN(const Page<FoundRun> page, SearchRuns(*store_, search));
  EXPECT_THAT(page.items, IsEmpty());
  EXPECT_FALSE(page.has_more());
}

}  // namespace
}  // namespace test
}  // namespace track
}  // namespace mlops
