// Page tokens (MakePageToken, ParsePageToken) and the cutting of a fetched page (CutPage,
// RowsToFetch, CheckPageRequest).
#include "mlops/lineage/page.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mlops {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(PageTokenTest, RoundTripsAnyPosition) {
  const std::vector<std::string> position = {"1700000000123456", "42", "",
                                             std::string("\0:\xff", 3), std::string(300, 'x')};
  const std::string token = MakePageToken("query one", position);
  EXPECT_FALSE(token.empty());
  for (char c : token) {
    EXPECT_TRUE(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')
        << "not URL-safe: " << token;
  }
  absl::StatusOr<std::vector<std::string>> parsed = ParsePageToken(token, "query one", 5);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, position);
  // Deterministic: the same position of the same query is the same token.
  EXPECT_EQ(MakePageToken("query one", position), token);
}

TEST(PageTokenTest, AnotherQuerysTokenIsInvalidArgument) {
  const std::string token = MakePageToken("ExecutionsOfStep\ntrain", {"1", "2"});
  for (const auto& [query, keys] : std::vector<std::pair<std::string, size_t>>{
           {"ExecutionsOfStep\ntrain2", 2}, {"FindRuns", 2}, {"ExecutionsOfStep\ntrain", 1},
           {"ExecutionsOfStep\ntrain", 3}}) {
    absl::StatusOr<std::vector<std::string>> parsed = ParsePageToken(token, query, keys);
    ASSERT_FALSE(parsed.ok()) << query;
    EXPECT_TRUE(absl::IsInvalidArgument(parsed.status())) << parsed.status();
    EXPECT_THAT(std::string(parsed.status().message()), HasSubstr("another query"));
  }
}

TEST(PageTokenTest, MalformedTokenIsInvalidArgumentQuotingIt) {
  const std::string good = MakePageToken("q", {"7"});
  std::vector<std::string> bad = {"",  "x", "not a token", "====", "AAAA", std::string(5000, 'A'),
                                  good.substr(0, good.size() - 1), good.substr(2), good + "A",
                                  absl::StrCat(good, "\n")};
  for (size_t i = 0; i < good.size(); ++i) {  // every character changed
    std::string changed = good;
    changed[i] = changed[i] == 'B' ? 'C' : 'B';
    bad.push_back(changed);
  }
  for (const std::string& token : bad) {
    absl::StatusOr<std::vector<std::string>> parsed = ParsePageToken(token, "q", 1);
    if (parsed.ok()) {
      // A change that still decodes to a token of this query is only another position,
      // which the query then validates; it must not be this one.
      EXPECT_NE(*parsed, std::vector<std::string>{"7"}) << token;
      continue;
    }
    EXPECT_TRUE(absl::IsInvalidArgument(parsed.status())) << token << ": " << parsed.status();
    EXPECT_THAT(std::string(parsed.status().message()), HasSubstr("page token"));
    EXPECT_THAT(std::string(parsed.status().message()), HasSubstr(token.substr(0, 10)));
  }
}

TEST(PageTest, CutPageKeepsMaxResultsAndTokensTheLastKept) {
  const auto position = [](int v) { return std::vector<std::string>{absl::StrCat(v)}; };
  PageRequest three;
  three.max_results = 3;
  EXPECT_EQ(RowsToFetch(three), 4);
  Page<int> page = CutPage(std::vector<int>{5, 4, 3, 2}, three, "q", position);
  EXPECT_THAT(page.items, ElementsAre(5, 4, 3));
  ASSERT_TRUE(page.has_more());
  absl::StatusOr<std::vector<std::string>> at = ParsePageToken(page.next_page_token, "q", 1);
  ASSERT_TRUE(at.ok()) << at.status();
  EXPECT_THAT(*at, ElementsAre("3"));

  // No more rows than asked: the whole rest, no token.
  page = CutPage(std::vector<int>{5, 4, 3}, three, "q", position);
  EXPECT_THAT(page.items, ElementsAre(5, 4, 3));
  EXPECT_EQ(page.next_page_token, "");
  page = CutPage(std::vector<int>{}, three, "q", position);
  EXPECT_FALSE(page.has_more());

  // max_results 0: everything, never a token.
  PageRequest all;
  EXPECT_EQ(RowsToFetch(all), -1);
  page = CutPage(std::vector<int>(1000, 1), all, "q", position);
  EXPECT_EQ(page.items.size(), 1000u);
  EXPECT_FALSE(page.has_more());

  PageRequest huge;
  huge.max_results = INT64_MAX;
  EXPECT_EQ(RowsToFetch(huge), INT64_MAX);
}

TEST(PageTest, NegativeMaxResultsIsInvalidArgument) {
  PageRequest r;
  EXPECT_TRUE(CheckPageRequest(r).ok());
  r.max_results = 1;
  EXPECT_TRUE(CheckPageRequest(r).ok());
  r.max_results = -1;
  const absl::Status s = CheckPageRequest(r);
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("-1"));
}

}  // namespace
}  // namespace mlops
