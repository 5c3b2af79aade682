// Every INVALID_ARGUMENT of ParseFilter and ParseOrderBy, with its exact message and the
// column of its caret.
#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/testing/status_matchers.h"
#include "mlops/track/filter.h"

namespace mlops {
namespace track {
namespace {

// The whole message: "invalid <what>: <message>", `shown` and a caret at `column`.
std::string Message(absl::string_view what, absl::string_view message, absl::string_view shown,
                    size_t column) {
  return absl::StrCat("invalid ", what, ": ", message, "\n  ", shown, "\n  ",
                      std::string(column, ' '), "^");
}

// Expects ParseFilter(filter) to fail with `message` and the caret under `column`.
void ExpectFilterError(absl::string_view filter, absl::string_view message, size_t column) {
  const absl::StatusOr<Filter> parsed = ParseFilter(filter);
  ASSERT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument)
      << filter << " -> " << parsed.status();
  EXPECT_EQ(std::string(parsed.status().message()), Message("filter", message, filter, column))
      << filter;
}

void ExpectOrderByError(absl::string_view order_by, absl::string_view message, size_t column) {
  const absl::StatusOr<std::vector<OrderKey>> parsed = ParseOrderBy(order_by);
  ASSERT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument)
      << order_by << " -> " << parsed.status();
  EXPECT_EQ(std::string(parsed.status().message()), Message("order_by", message, order_by, column))
      << order_by;
}

TEST(FilterErrorsTest, MissingComparator) {
  ExpectFilterError("metrics.auc 0.9", "expected a comparator after 'metrics.auc'", 12);
  ExpectFilterError("metrics.auc", "expected a comparator after 'metrics.auc'", 11);
  ExpectFilterError("metrics.auc == 1", "expected a number after 'metrics.auc =', not '='", 13);
  ExpectFilterError("attributes.status NOT 'x'", "expected IN after NOT", 22);
  ExpectFilterError("attributes.status NOT", "expected IN after NOT", 21);
}

TEST(FilterErrorsTest, EmptyKey) {
  ExpectFilterError("metrics. > 1", "empty key after 'metrics.'", 8);
  ExpectFilterError("metrics.", "empty key after 'metrics.'", 8);
  ExpectFilterError("metrics.`` > 1", "empty key after 'metrics.'", 8);
  ExpectFilterError("Params.\"\" = 'x'", "empty key after 'Params.'", 7);
  ExpectFilterError("metrics.'x' > 1",
                    "a key is quoted with backquotes (`a key`) or double quotes, not single "
                    "quotes",
                    8);
}

TEST(FilterErrorsTest, NotAnIdentifier) {
  ExpectFilterError("foo.x = 1",
                    "unknown identifier type 'foo': expected metrics, params, tags or "
                    "attributes",
                    0);
  ExpectFilterError("metrics.a > 1 AND foo.x = 1",
                    "unknown identifier type 'foo': expected metrics, params, tags or "
                    "attributes",
                    18);
  ExpectFilterError("auc > 1",
                    "expected an identifier <type>.<key>, such as metrics.auc, not 'auc'", 0);
  ExpectFilterError("metrics > 1", "expected '.' and a key after 'metrics'", 7);
  ExpectFilterError("> 1",
                    "expected an identifier such as metrics.auc, params.lr, tags.team or "
                    "attributes.status",
                    0);
  ExpectFilterError("attributes.foo = 'x'",
                    "unknown attribute 'foo': expected status, run_name (or name), run_id (or "
                    "id), experiment, start_time or end_time",
                    11);
}

TEST(FilterErrorsTest, ComparatorDoesNotFitTheType) {
  ExpectFilterError("metrics.auc LIKE 'x'", "metrics compare with =, !=, <, <=, > or >=, not LIKE",
                    12);
  ExpectFilterError("params.lr > '0.1'",
                    "params compare as strings, with =, !=, LIKE or ILIKE and a quoted value "
                    "(such as params.lr = 'x'), not with >",
                    10);
  ExpectFilterError("tags.t <= 'a'",
                    "tags compare as strings, with =, !=, LIKE or ILIKE and a quoted value (such "
                    "as tags.t = 'x'), not with <=",
                    7);
  ExpectFilterError("attributes.start_time ILIKE '1%'",
                    "attributes.start_time is a number and compares with =, !=, <, <=, > or >=, "
                    "not ILIKE",
                    22);
  ExpectFilterError("attributes.status < 'x'",
                    "attributes.status is a string and compares with =, !=, LIKE, ILIKE, IN or "
                    "NOT IN, not <",
                    18);
}

TEST(FilterErrorsTest, ValueDoesNotFitTheType) {
  ExpectFilterError("params.lr > 0.1",
                    "params compare as strings, with =, !=, LIKE or ILIKE and a quoted value "
                    "(such as params.lr = '0.1'), not with >",
                    10);
  ExpectFilterError("params.`learning rate`>=1e-3",
                    "params compare as strings, with =, !=, LIKE or ILIKE and a quoted value "
                    "(such as params.`learning rate` = '1e-3'), not with >=",
                    22);
  ExpectFilterError("params.lr = 0.1",
                    "params compare as strings and need a quoted value, such as '0.1'", 12);
  ExpectFilterError("tags.v != -2", "tags compare as strings and need a quoted value, such as '-2'",
                    10);
  ExpectFilterError("attributes.status = 1",
                    "attributes.status is a string and needs a quoted value, such as '1'", 20);
  ExpectFilterError("metrics.auc > '0.9'",
                    "metrics compare with numbers, not strings: write the number without quotes",
                    14);
  ExpectFilterError("attributes.start_time > '1'",
                    "attributes.start_time compares with an integer (milliseconds since the "
                    "Unix epoch), not a string",
                    24);
  ExpectFilterError("attributes.end_time > 1.5",
                    "attributes.end_time takes an integer (milliseconds since the Unix epoch), "
                    "not 1.5",
                    22);
}

TEST(FilterErrorsTest, MissingOrBareValue) {
  ExpectFilterError("metrics.auc >", "expected a number after 'metrics.auc >'", 13);
  ExpectFilterError("params.a =", "expected a quoted string after 'params.a ='", 10);
  ExpectFilterError("params.model = logreg",
                    "expected a quoted string after 'params.model =', such as 'logreg'", 15);
  ExpectFilterError("metrics.a = NaN", "expected a number after 'metrics.a =', not 'NaN'", 12);
  ExpectFilterError("metrics.a = inf", "expected a number after 'metrics.a =', not 'inf'", 12);
}

TEST(FilterErrorsTest, MalformedOrOutOfRangeNumber) {
  ExpectFilterError("metrics.a = 1.2.3", "malformed number '1.2.3'", 12);
  ExpectFilterError("metrics.a = 0.9abc", "malformed number '0.9abc'", 12);
  ExpectFilterError("metrics.a = 1e", "malformed number '1e'", 12);
  ExpectFilterError("metrics.a = - 1", "malformed number '-'", 12);
  ExpectFilterError("metrics.a = 1e999", "number out of range: 1e999", 12);
  ExpectFilterError("attributes.start_time = 99999999999999999999",
                    "number out of range: 99999999999999999999", 24);
}

TEST(FilterErrorsTest, UnterminatedStringOrKey) {
  ExpectFilterError("params.a = 'abc", "unterminated string: no closing '", 11);
  ExpectFilterError("params.a = \"it's", "unterminated string: no closing \"", 11);
  // No escapes: the second quote ends the string, and what follows is not part of it.
  ExpectFilterError("params.a = 'it's'",
                    "expected AND or the end of the filter after 'params.a = 'it''", 15);
  ExpectFilterError("metrics.`f1 score > 1", "unterminated backquoted key: no closing '`'", 8);
  ExpectFilterError("metrics.\"f1 > 1", "unterminated quoted key: no closing '\"'", 8);
}

TEST(FilterErrorsTest, TrailingGarbage) {
  ExpectFilterError("metrics.a > 1 x",
                    "expected AND or the end of the filter after 'metrics.a > 1'", 14);
  ExpectFilterError("params.a = 'x' 'y'",
                    "expected AND or the end of the filter after 'params.a = 'x''", 15);
  ExpectFilterError("metrics.a > 1)", "expected AND or the end of the filter after 'metrics.a > 1'",
                    13);
}

TEST(FilterErrorsTest, OnlyAndJoinsClauses) {
  ExpectFilterError("metrics.a > 1 OR metrics.b < 2",
                    "OR is not supported: only AND may join clauses", 14);
  ExpectFilterError("metrics.a > 1 or metrics.b < 2",
                    "OR is not supported: only AND may join clauses", 14);
  ExpectFilterError("metrics.a > 1 AND ", "expected a clause after AND", 18);
  ExpectFilterError("AND metrics.a > 1", "expected a clause, not AND", 0);
  ExpectFilterError("metrics.a > 1 AND and metrics.b > 1", "expected a clause, not AND", 18);
}

TEST(FilterErrorsTest, InOnlyOnStringAttributes) {
  ExpectFilterError("params.a IN ('x')",
                    "IN applies only to the string attributes (status, run_name, run_id, "
                    "experiment), not to params",
                    9);
  ExpectFilterError("metrics.a NOT IN (1)",
                    "NOT IN applies only to the string attributes (status, run_name, run_id, "
                    "experiment), not to metrics",
                    10);
  ExpectFilterError("attributes.start_time IN (1)",
                    "IN applies only to the string attributes (status, run_name, run_id, "
                    "experiment), not to attributes.start_time",
                    22);
}

TEST(FilterErrorsTest, MalformedInList) {
  ExpectFilterError("attributes.run_id IN 'a'",
                    "expected '(' and a list of quoted strings after IN", 21);
  ExpectFilterError("attributes.run_id IN ()",
                    "expected a quoted string after 'attributes.run_id IN', not ')'", 22);
  ExpectFilterError("attributes.run_id IN ('a' 'b')", "expected ',' or ')' in the list after IN",
                    26);
  ExpectFilterError("attributes.run_id NOT IN ('a',",
                    "expected a quoted string after 'attributes.run_id NOT IN'", 30);
  ExpectFilterError("attributes.run_id IN (1)",
                    "attributes.run_id is a string and needs a quoted value, such as '1'", 22);
}

TEST(FilterErrorsTest, KeyOver250Bytes) {
  const std::string filter = absl::StrCat("metrics.", std::string(251, 'k'), " = 1");
  const absl::StatusOr<Filter> parsed = ParseFilter(filter);
  EXPECT_EQ(parsed.status().message(),
            Message("filter", "key is 251 bytes long; at most 250 are allowed",
                    absl::StrCat(filter.substr(0, 58), "..."), 8));
  const std::string quoted = absl::StrCat("tags.`", std::string(251, 'k'), "` = 'x'");
  EXPECT_EQ(std::string(ParseFilter(quoted).status().message()),
            Message("filter", "key is 251 bytes long; at most 250 are allowed",
                    absl::StrCat(quoted.substr(0, 55), "..."), 5));
}

TEST(FilterErrorsTest, StringValueOver6000Bytes) {
  const std::string filter = absl::StrCat("tags.a = '", std::string(6001, 'v'), "'");
  EXPECT_EQ(std::string(ParseFilter(filter).status().message()),
            Message("filter", "string value is 6001 bytes long; at most 6000 are allowed",
                    absl::StrCat(filter.substr(0, 59), "..."), 9));
}

TEST(FilterErrorsTest, LongFilterIsShownAroundTheError) {
  const std::string filter =
      absl::StrCat("params.p = '", std::string(80, 'a'), "' x ", std::string(106, 'b'));
  EXPECT_EQ(std::string(ParseFilter(filter).status().message()),
            Message("filter",
                    absl::StrCat("expected AND or the end of the filter after 'params.p = '",
                                 std::string(48, 'a'), "...'"),
                    absl::StrCat("...", filter.substr(44, 100), "..."), 53));
}

TEST(FilterErrorsTest, CaretCountsCharactersAndShowsLineBreaksAsSpaces) {
  ExpectFilterError("tags.`caf\xc3\xa9` = 'x' junk",
                    "expected AND or the end of the filter after 'tags.`caf\xc3\xa9` = 'x''", 18);
  EXPECT_EQ(std::string(ParseFilter("metrics.a >\n1\tx").status().message()),
            Message("filter", "expected AND or the end of the filter after 'metrics.a >\n1'",
                    "metrics.a > 1 x", 14));
}

// Every prefix of valid filters, and each with one byte removed, parses or is refused with
// the three-line message: never a crash, another code, or a caret past the quoted line.
TEST(FilterErrorsTest, EveryTruncationIsParsedOrRefusedWithACaret) {
  const std::vector<std::string> filters = {
      "metrics.auc >= -1.5e-3 AND params.`learning rate` LIKE 'a%' and tags.\"x y\" != \"b\"",
      "attributes.run_id NOT IN ('a', \"b\") AND run.start_time < 1700000000000",
      "tags.`caf\xc3\xa9` ILIKE '%\xc3\xa9' AND attr.status IN ('FINISHED')"};
  for (const std::string& filter : filters) {
    ASSERT_OK(ParseFilter(filter).status());
    std::vector<std::string> inputs;
    for (size_t n = 0; n <= filter.size(); ++n) {
      inputs.push_back(filter.substr(0, n));
      if (n < filter.size())
        inputs.push_back(absl::StrCat(filter.substr(0, n), filter.substr(n + 1)));
    }
    for (const std::string& input : inputs) {
      const absl::StatusOr<Filter> parsed = ParseFilter(input);
      if (parsed.ok()) continue;
      ASSERT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << input;
      const std::vector<std::string> lines = absl::StrSplit(parsed.status().message(), '\n');
      ASSERT_EQ(lines.size(), 3u) << parsed.status();
      EXPECT_TRUE(absl::StartsWith(lines[0], "invalid filter: ")) << parsed.status();
      EXPECT_TRUE(absl::StartsWith(lines[2], "  ") && absl::EndsWith(lines[2], "^")) << input;
      EXPECT_LE(lines[2].size(), lines[1].size() + 1) << parsed.status();
    }
  }
}

TEST(OrderByErrorsTest, Malformed) {
  ExpectOrderByError("metrics.auc DOWN", "expected ASC, DESC or ',' after 'metrics.auc'", 12);
  ExpectOrderByError("metrics.auc DESC x", "expected ',' or the end after 'metrics.auc DESC'", 17);
  ExpectOrderByError("metrics.a,,params.b", "expected a key after ','", 10);
  ExpectOrderByError("metrics.a, ", "expected a key after ','", 11);
  ExpectOrderByError("foo.x",
                     "unknown identifier type 'foo': expected metrics, params, tags or "
                     "attributes",
                     0);
  ExpectOrderByError("metrics.`x DESC", "unterminated backquoted key: no closing '`'", 8);
  ExpectOrderByError("attributes.size",
                     "unknown attribute 'size': expected status, run_name (or name), run_id "
                     "(or id), experiment, start_time or end_time",
                     11);
}

TEST(OrderByErrorsTest, FieldNamedTwice) {
  ExpectOrderByError("metrics.a, metrics.a DESC",
                     "'metrics.a' is already in order_by: a field may be named only once", 11);
  ExpectOrderByError("attributes.name, run.run_name",
                     "'run.run_name' is already in order_by: a field may be named only once", 17);
}

TEST(OrderByErrorsTest, ListFormQuotesTheElement) {
  EXPECT_EQ(
      std::string(ParseOrderBy(std::vector<std::string>{"metrics.a", " "}).status().message()),
      Message("order_by", "empty order_by clause", " ", 1));
  EXPECT_EQ(
      std::string(
          ParseOrderBy(std::vector<std::string>{"metrics.a", "metric.a ASC"}).status().message()),
      Message("order_by", "'metric.a' is already in order_by: a field may be named only once",
              "metric.a ASC", 0));
}

}  // namespace
}  // namespace track
}  // namespace mlops
