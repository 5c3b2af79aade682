// ParseFilter and ParseOrderBy on valid input: each identifier type and alias, each
// comparator, each value form, and the exact tree they give.
#include "mlops/track/filter.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/testing/status_matchers.h"

namespace mlops {
namespace track {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

Identifier Metric(std::string key) { return {Field::kMetric, std::move(key), Attribute::kUnknown}; }
Identifier Param(std::string key) { return {Field::kParam, std::move(key), Attribute::kUnknown}; }
Identifier Tag(std::string key) { return {Field::kTag, std::move(key), Attribute::kUnknown}; }
Identifier Attr(std::string key, Attribute a) { return {Field::kAttribute, std::move(key), a}; }

Comparison C(Identifier lhs, Comparator op, std::vector<Value> values) {
  return Comparison{std::move(lhs), op, std::move(values)};
}

// The single clause of `filter`, or a failure.
Comparison OnlyClause(absl::string_view filter) {
  absl::StatusOr<Filter> parsed = ParseFilter(filter);
  EXPECT_TRUE(parsed.ok()) << filter << " -> " << parsed.status();
  if (!parsed.ok() || parsed->clauses.size() != 1) {
    ADD_FAILURE() << filter << " did not give one clause";
    return {};
  }
  return parsed->clauses[0];
}

TEST(ParseFilterTest, EmptyOrBlankMatchesEverything) {
  for (absl::string_view blank : {"", " ", " \t\n "}) {
    ASSERT_OK_AND_ASSIGN(const Filter filter, ParseFilter(blank));
    EXPECT_THAT(filter.clauses, IsEmpty()) << "'" << blank << "'";
  }
}

TEST(ParseFilterTest, ClausesJoinedByAndInOrder) {
  ASSERT_OK_AND_ASSIGN(const Filter filter,
                       ParseFilter("metrics.auc > 0.9 AND params.model = 'logreg' and "
                                   "attributes.status != \"FAILED\" AnD tags.team LIKE 'ml%'"));
  EXPECT_THAT(filter.clauses,
              ElementsAre(C(Metric("auc"), Comparator::kGreater, {0.9}),
                          C(Param("model"), Comparator::kEqual, {std::string("logreg")}),
                          C(Attr("status", Attribute::kStatus), Comparator::kNotEqual,
                            {std::string("FAILED")}),
                          C(Tag("team"), Comparator::kLike, {std::string("ml%")})));
}

TEST(ParseFilterTest, SpacesAreOptionalAroundComparators) {
  EXPECT_EQ(OnlyClause("metrics.auc>=0.5"), C(Metric("auc"), Comparator::kGreaterOrEqual, {0.5}));
  EXPECT_EQ(OnlyClause("  params.a='b'  "), C(Param("a"), Comparator::kEqual, {std::string("b")}));
  EXPECT_EQ(OnlyClause("metrics.a\n<\t-1"), C(Metric("a"), Comparator::kLess, {-1.0}));
}

TEST(ParseFilterTest, EveryTypeAliasIgnoringCase) {
  for (absl::string_view t : {"metrics", "metric", "METRICS", "Metric"}) {
    EXPECT_EQ(OnlyClause(absl::StrCat(t, ".x = 1")).lhs, Metric("x")) << t;
  }
  for (absl::string_view t : {"params", "param", "parameters", "PARAMS"}) {
    EXPECT_EQ(OnlyClause(absl::StrCat(t, ".x = '1'")).lhs, Param("x")) << t;
  }
  for (absl::string_view t : {"tags", "tag", "Tags"}) {
    EXPECT_EQ(OnlyClause(absl::StrCat(t, ".x = '1'")).lhs, Tag("x")) << t;
  }
  for (absl::string_view t : {"attributes", "attribute", "attr", "run", "ATTR"}) {
    EXPECT_EQ(OnlyClause(absl::StrCat(t, ".status = 'RUNNING'")).lhs,
              Attr("status", Attribute::kStatus))
        << t;
  }
}

TEST(ParseFilterTest, AttributesAndTheirAliasesAreCanonical) {
  EXPECT_EQ(OnlyClause("attributes.run_name = 'a'").lhs, Attr("run_name", Attribute::kRunName));
  EXPECT_EQ(OnlyClause("attributes.name = 'a'").lhs, Attr("run_name", Attribute::kRunName));
  EXPECT_EQ(OnlyClause("attributes.run_id = 'a'").lhs, Attr("run_id", Attribute::kRunId));
  EXPECT_EQ(OnlyClause("attributes.id = 'a'").lhs, Attr("run_id", Attribute::kRunId));
  EXPECT_EQ(OnlyClause("attributes.experiment = 'a'").lhs,
            Attr("experiment", Attribute::kExperiment));
  EXPECT_EQ(OnlyClause("attributes.start_time >= 1700000000000"),
            C(Attr("start_time", Attribute::kStartTime), Comparator::kGreaterOrEqual,
              {int64_t{1700000000000}}));
  EXPECT_EQ(OnlyClause("attributes.end_time < -5"),
            C(Attr("end_time", Attribute::kEndTime), Comparator::kLess, {int64_t{-5}}));
  EXPECT_EQ(OnlyClause("run.end_time = +7"),
            C(Attr("end_time", Attribute::kEndTime), Comparator::kEqual, {int64_t{7}}));
}

TEST(ParseFilterTest, KeysPlainBackquotedOrDoubleQuoted) {
  EXPECT_EQ(OnlyClause("tags.mlflow.source-name = 'x'").lhs, Tag("mlflow.source-name"));
  EXPECT_EQ(OnlyClause("metrics.1st_epoch = 1").lhs, Metric("1st_epoch"));
  EXPECT_EQ(OnlyClause("metrics.`f1 score` = 1").lhs, Metric("f1 score"));
  EXPECT_EQ(OnlyClause("metrics.\"f1 score\" = 1").lhs, Metric("f1 score"));
  EXPECT_EQ(OnlyClause("params.`a \"quoted\" 'name'` = 'x'").lhs, Param("a \"quoted\" 'name'"));
  EXPECT_EQ(OnlyClause("params.\"it's\" = 'x'").lhs, Param("it's"));
  EXPECT_EQ(OnlyClause("tags.`train/loss=1 AND x` = 'x'").lhs, Tag("train/loss=1 AND x"));
  EXPECT_EQ(OnlyClause("attributes.`status` = 'x'").lhs, Attr("status", Attribute::kStatus));
  EXPECT_EQ(OnlyClause(absl::StrCat("metrics.", std::string(250, 'k'), " = 1")).lhs,
            Metric(std::string(250, 'k')));
}

TEST(ParseFilterTest, EveryComparator) {
  EXPECT_EQ(OnlyClause("metrics.a = 1").op, Comparator::kEqual);
  EXPECT_EQ(OnlyClause("metrics.a != 1").op, Comparator::kNotEqual);
  EXPECT_EQ(OnlyClause("metrics.a < 1").op, Comparator::kLess);
  EXPECT_EQ(OnlyClause("metrics.a <= 1").op, Comparator::kLessOrEqual);
  EXPECT_EQ(OnlyClause("metrics.a > 1").op, Comparator::kGreater);
  EXPECT_EQ(OnlyClause("metrics.a >= 1").op, Comparator::kGreaterOrEqual);
  EXPECT_EQ(OnlyClause("params.a LIKE 'x%'").op, Comparator::kLike);
  EXPECT_EQ(OnlyClause("params.a like 'x%'").op, Comparator::kLike);
  EXPECT_EQ(OnlyClause("tags.a ILIKE '%X'").op, Comparator::kILike);
  EXPECT_EQ(OnlyClause("tags.a iLike '%X'").op, Comparator::kILike);
  EXPECT_EQ(OnlyClause("params.a != 'x'").op, Comparator::kNotEqual);
}

TEST(ParseFilterTest, InAndNotInOnStringAttributes) {
  EXPECT_EQ(OnlyClause("attributes.run_id IN ('a', \"b\",'c')"),
            C(Attr("run_id", Attribute::kRunId), Comparator::kIn,
              {std::string("a"), std::string("b"), std::string("c")}));
  EXPECT_EQ(OnlyClause("attributes.status not  in('FAILED')"),
            C(Attr("status", Attribute::kStatus), Comparator::kNotIn, {std::string("FAILED")}));
  EXPECT_EQ(OnlyClause("run.name NOT\nIN ( 'x' )"),
            C(Attr("run_name", Attribute::kRunName), Comparator::kNotIn, {std::string("x")}));
}

TEST(ParseFilterTest, Numbers) {
  const std::vector<std::pair<std::string, double>> cases = {
      {"0", 0.0},      {"-1", -1.0},
      {"+2.5", 2.5},   {".5", 0.5},
      {"1.", 1.0},     {"1e3", 1e3},
      {"1E-3", 1e-3},  {"-2.5e+2", -250},
      {"0.9000", 0.9}, {"123456789012", 123456789012.0}};
  for (const auto& [text, value] : cases) {
    EXPECT_EQ(OnlyClause(absl::StrCat("metrics.m = ", text)),
              C(Metric("m"), Comparator::kEqual, {value}))
        << text;
  }
}

TEST(ParseFilterTest, StringsHaveNoEscapes) {
  EXPECT_EQ(OnlyClause("params.a = \"it's\"").values[0], Value(std::string("it's")));
  EXPECT_EQ(OnlyClause("params.a = 'say \"hi\"'").values[0], Value(std::string("say \"hi\"")));
  EXPECT_EQ(OnlyClause("params.a = 'back\\slash'").values[0], Value(std::string("back\\slash")));
  EXPECT_EQ(OnlyClause("params.a = ''").values[0], Value(std::string("")));
  EXPECT_EQ(OnlyClause("params.a = '0.1'").values[0], Value(std::string("0.1")));
  EXPECT_EQ(OnlyClause("params.a = 'caf\xc3\xa9'").values[0], Value(std::string("caf\xc3\xa9")));
  const std::string longest(6000, 'v');
  EXPECT_EQ(OnlyClause(absl::StrCat("tags.a = '", longest, "'")).values[0], Value(longest));
}

TEST(ParseFilterTest, SqlInAValueIsJustAString) {
  ASSERT_OK_AND_ASSIGN(
      const Filter filter,
      ParseFilter("params.x = '; DROP TABLE runs; --' AND tags.y = \"' OR 1=1 --\""));
  EXPECT_THAT(filter.clauses,
              ElementsAre(C(Param("x"), Comparator::kEqual, {std::string("; DROP TABLE runs; --")}),
                          C(Tag("y"), Comparator::kEqual, {std::string("' OR 1=1 --")})));
}

TEST(ParseFilterTest, KeywordsInsideStringsAndKeysAreNotKeywords) {
  ASSERT_OK_AND_ASSIGN(const Filter filter,
                       ParseFilter("params.and = 'a AND b' AND tags.`or` = 'OR'"));
  EXPECT_THAT(filter.clauses,
              ElementsAre(C(Param("and"), Comparator::kEqual, {std::string("a AND b")}),
                          C(Tag("or"), Comparator::kEqual, {std::string("OR")})));
}

TEST(ParseOrderByTest, BlankIsNoKeys) {
  ASSERT_OK_AND_ASSIGN(const std::vector<OrderKey> keys, ParseOrderBy(" "));
  EXPECT_THAT(keys, IsEmpty());
  ASSERT_OK_AND_ASSIGN(const std::vector<OrderKey> none, ParseOrderBy(std::vector<std::string>{}));
  EXPECT_THAT(none, IsEmpty());
}

TEST(ParseOrderByTest, KeysWithDirectionsDefaultingToAscending) {
  ASSERT_OK_AND_ASSIGN(
      const std::vector<OrderKey> keys,
      ParseOrderBy("metrics.auc DESC, params.lr,tags.`a b` asc , attributes.start_time desc"));
  EXPECT_THAT(keys, ElementsAre(OrderKey{Metric("auc"), false}, OrderKey{Param("lr"), true},
                                OrderKey{Tag("a b"), true},
                                OrderKey{Attr("start_time", Attribute::kStartTime), false}));
}

TEST(ParseOrderByTest, MlflowListForm) {
  ASSERT_OK_AND_ASSIGN(const std::vector<OrderKey> keys,
                       ParseOrderBy(std::vector<std::string>{"metrics.auc DESC", "run.name",
                                                             "tags.t ASC, params.p"}));
  EXPECT_THAT(keys, ElementsAre(OrderKey{Metric("auc"), false},
                                OrderKey{Attr("run_name", Attribute::kRunName), true},
                                OrderKey{Tag("t"), true}, OrderKey{Param("p"), true}));
}

TEST(ParseOrderByTest, SameKeyOfDifferentTypesIsNotADuplicate) {
  ASSERT_OK_AND_ASSIGN(const std::vector<OrderKey> keys,
                       ParseOrderBy("metrics.x, params.x, tags.x"));
  EXPECT_EQ(keys.size(), 3u);
}

}  // namespace
}  // namespace track
}  // namespace mlops
