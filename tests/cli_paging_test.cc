// `mlops runs` never cuts its listing silently (issue 13, item 5): past --limit (default 20)
// it says that more runs exist and gives the --page-token that lists them; --json carries
// next_page_token; a bad token is a usage error.
//
// The runs are recorded by opening a Workspace 25 times (each Open records one run).
//
// Argument: the mlops binary (a runfiles path).
#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/core/workspace.h"
#include "mlops/testing/files.h"
#include "tests/cli_testing.h"

namespace mlops {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string g_mlops;
constexpr int kRuns = 25;
constexpr char kMore[] = "more runs exist: run again with --page-token ";

class CliPagingTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    workspace_ = new std::string(test::MakeTempDir("cli_paging") + "/ws");
    for (int i = 0; i < kRuns; ++i) {
      WorkspaceOptions options;
      options.program = i % 2 == 0 ? "even" : "odd";
      absl::StatusOr<std::unique_ptr<Workspace>> ws = Workspace::Open(*workspace_, options);
      ASSERT_TRUE(ws.ok()) << ws.status();
    }
  }

  static test::Result Mlops(std::vector<std::string> args) {
    args.insert(args.begin(), {"--workspace", *workspace_});
    return test::Spawn(g_mlops, args);
  }

  // The run ids in the table `out` prints (its lines after the header that start with an
  // id), and the page token of its "more runs" line, or "" if it has none.
  static std::vector<int64_t> TableIds(const std::string& out, std::string* token) {
    std::vector<int64_t> ids;
    token->clear();
    for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
      if (absl::ConsumePrefix(&line, kMore)) {
        *token = std::string(line.substr(0, line.find(' ')));
        continue;
      }
      int64_t id = 0;
      const std::vector<absl::string_view> cells =
          absl::StrSplit(line, ' ', absl::SkipWhitespace());
      if (!cells.empty() && absl::SimpleAtoi(cells[0], &id)) ids.push_back(id);
    }
    return ids;
  }

  static std::string* workspace_;
};

std::string* CliPagingTest::workspace_ = nullptr;

TEST_F(CliPagingTest, RunsSaysWhenItCutTheListingAndHowToSeeTheRest) {
  test::Result r = Mlops({"runs"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string token;
  std::vector<int64_t> ids = TableIds(r.out, &token);
  EXPECT_EQ(ids.size(), 20u) << r.out;  // the default --limit
  ASSERT_FALSE(token.empty()) << "the cut listing does not say so:\n" << r.out;
  EXPECT_THAT(r.out, HasSubstr("for the next 20, or with --limit 0 for all")) << r.out;

  // The token lists the rest, and the last page says nothing more.
  r = Mlops({"runs", "--page-token", token});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string no_token;
  const std::vector<int64_t> rest = TableIds(r.out, &no_token);
  EXPECT_EQ(rest.size(), static_cast<size_t>(kRuns - 20)) << r.out;
  EXPECT_EQ(no_token, "") << r.out;
  EXPECT_THAT(r.out, Not(HasSubstr("more runs"))) << r.out;
  ids.insert(ids.end(), rest.begin(), rest.end());
  EXPECT_EQ(std::set<int64_t>(ids.begin(), ids.end()).size(), static_cast<size_t>(kRuns));
  for (size_t i = 1; i < ids.size(); ++i) EXPECT_GT(ids[i - 1], ids[i]);  // newest first

  // Exactly --limit runs, or --limit 0: the whole listing, and no such line.
  for (const char* limit : {"25", "0", "1000"}) {
    r = Mlops({"runs", "--limit", limit});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(TableIds(r.out, &token).size(), static_cast<size_t>(kRuns)) << r.out;
    EXPECT_EQ(token, "") << "--limit " << limit << ":\n" << r.out;
  }
}

TEST_F(CliPagingTest, RunsJsonCarriesNextPageToken) {
  std::vector<std::string> args = {"runs", "--limit", "10", "--program", "even", "--json"};
  std::set<int64_t> seen;
  int pages = 0;
  std::string token = "first";
  while (!token.empty()) {
    ASSERT_LT(++pages, 10) << "the pages do not end";
    const test::Result r = Mlops(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const google::protobuf::Struct page = test::ParseJson(r.out);
    for (const auto& run : test::List(test::Field(page, "runs")).values()) {
      EXPECT_EQ(test::Field(run, "program").string_value(), "even");
      EXPECT_TRUE(seen.insert(static_cast<int64_t>(test::Field(run, "id").number_value())).second);
    }
    token = test::Field(page, "next_page_token").string_value();
    if (pages == 1) args.insert(args.end(), {"--page-token", ""});
    args.back() = token;
  }
  EXPECT_EQ(pages, 2);  // 10 + 3
  EXPECT_EQ(seen.size(), static_cast<size_t>((kRuns + 1) / 2));
}

TEST_F(CliPagingTest, ABadPageTokenIsAUsageError) {
  test::Result r = Mlops({"runs", "--limit", "1", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string token =
      test::Field(test::ParseJson(r.out), "next_page_token").string_value();
  ASSERT_FALSE(token.empty());
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"runs", "--page-token", "not-a-token"},
        std::vector<std::string>{"runs", "--page-token", token + "x"},
        // A token continues only the listing it came from.
        std::vector<std::string>{"runs", "--program", "odd", "--page-token", token}}) {
    r = Mlops(args);
    EXPECT_EQ(r.exit_code, 2) << absl::StrJoin(args, " ") << "\n" << r.out << r.err;
    EXPECT_THAT(r.err, HasSubstr("--page-token")) << r.err;
    EXPECT_THAT(r.err, HasSubstr("page token")) << r.err;
  }
}

}  // namespace
}  // namespace mlops

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s MLOPS\n", argv[0]);
    return 2;
  }
  mlops::g_mlops = argv[1];
  return RUN_ALL_TESTS();
}
