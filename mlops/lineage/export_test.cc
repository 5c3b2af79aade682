// Tests of ToDot and ToJson on hand-built subgraphs.
#include "mlops/lineage/export.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "mlops/lineage/lineage.pb.h"

namespace mlops {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kDigestA[] = "0123456789abcdef0123456789abcdef";
constexpr char kDigestB[] = "fedcba9876543210fedcba9876543210";

Event MakeEvent(int64_t execution_id, const std::string& digest, Event::Kind kind,
                const std::string& name) {
  Event e;
  e.set_execution_id(execution_id);
  e.set_digest(digest);
  e.set_kind(kind);
  e.set_name(name);
  return e;
}

ArtifactRef MakeRef(const std::string& name, const std::string& digest) {
  ArtifactRef r;
  r.set_name(name);
  r.set_digest(digest);
  r.set_type_name("table");
  r.set_size(123);
  return r;
}

// Five executions covering every DOT fill (computed, cache hit by flag and by status,
// failed + nondeterministic, running), two artifacts, four events; names that need escaping.
Subgraph SmallGraph() {
  Subgraph g;
  Execution* load = g.add_executions();
  load->set_id(1);
  load->set_step_name("load");
  load->set_step_version("1");
  load->set_status(Execution::SUCCEEDED);

  Execution* train = g.add_executions();
  train->set_id(2);
  train->set_step_name("tr\"ain\\\nx");  // a quote, a backslash and a newline
  train->set_status(Execution::CACHED);
  train->set_cache_hit(true);

  Execution* evaluate = g.add_executions();
  evaluate->set_id(3);
  evaluate->set_step_name("evaluate");
  evaluate->set_step_version("2");
  evaluate->set_status(Execution::FAILED);
  evaluate->set_nondeterministic(true);

  Execution* cached = g.add_executions();
  cached->set_id(5);
  cached->set_step_name("cached_only");
  cached->set_status(Execution::CACHED);  // cache_hit not set

  Execution* serve = g.add_executions();
  serve->set_id(40);
  serve->set_step_name("serve");
  serve->set_status(Execution::RUNNING);

  Artifact* a = g.add_artifacts();
  a->set_digest(kDigestA);
  a->set_type_name("table");
  a->set_label("train.csv");
  Artifact* b = g.add_artifacts();
  b->set_digest(kDigestB);
  b->set_label("my \"model\"");  // no type name

  *g.add_events() = MakeEvent(1, kDigestA, Event::OUTPUT, "0");
  *g.add_events() = MakeEvent(2, kDigestA, Event::INPUT, "data");
  *g.add_events() = MakeEvent(2, kDigestB, Event::OUTPUT, "out\"1");
  *g.add_events() = MakeEvent(3, kDigestB, Event::INPUT, "m");
  return g;
}

constexpr char kHeader[] =
    "digraph lineage {\n"
    "  rankdir=LR;\n"
    "  node [fontname=\"Helvetica\", fontsize=10];\n"
    "  edge [fontname=\"Helvetica\", fontsize=9];\n";

TEST(ToDotTest, SmallGraphExactly) {
  const std::string expected = std::string(kHeader) +
      "  \"e1\" [shape=box, style=filled, fillcolor=\"#d6eaf8\", label=\"load #1 v1\"];\n"
      "  \"e2\" [shape=box, style=filled, fillcolor=\"#e8f8f5\", "
      "label=\"tr\\\"ain\\\\\\nx #2\\ncache hit\"];\n"
      "  \"e3\" [shape=box, style=filled, fillcolor=\"#f5b7b1\", "
      "label=\"evaluate #3 v2\\nfailed\\nNONDETERMINISTIC\"];\n"
      "  \"e5\" [shape=box, style=filled, fillcolor=\"#e8f8f5\", "
      "label=\"cached_only #5\\ncache hit\"];\n"
      "  \"e40\" [shape=box, style=filled, fillcolor=\"#fcf3cf\", label=\"serve #40\\nrunning\"];\n"
      "  \"a0123456789abcdef0123456789abcdef\" [shape=ellipse, "
      "label=\"table\\ntrain.csv\\n0123456789ab\"];\n"
      "  \"afedcba9876543210fedcba9876543210\" [shape=ellipse, "
      "label=\"value\\nmy \\\"model\\\"\\nfedcba987654\"];\n"
      "  \"e1\" -> \"a0123456789abcdef0123456789abcdef\" [label=\"0\"];\n"
      "  \"a0123456789abcdef0123456789abcdef\" -> \"e2\" [label=\"data\"];\n"
      "  \"e2\" -> \"afedcba9876543210fedcba9876543210\" [label=\"out\\\"1\"];\n"
      "  \"afedcba9876543210fedcba9876543210\" -> \"e3\" [label=\"m\"];\n"
      "}\n";
  EXPECT_EQ(ToDot(SmallGraph()), expected);
}

TEST(ToDotTest, EmptyGraph) { EXPECT_EQ(ToDot(Subgraph()), std::string(kHeader) + "}\n"); }

TEST(ToDotTest, IsDeterministic) {
  const Subgraph g = SmallGraph();
  EXPECT_EQ(ToDot(g), ToDot(g));
  Subgraph copy;
  copy.ParseFromString(g.SerializeAsString());
  EXPECT_EQ(ToDot(copy), ToDot(g));
}

// Whatever the names contain, every statement stays on one line inside its quotes: no raw
// newline, every quote inside a string escaped, every backslash doubled (or an escape).
TEST(ToDotTest, EscapesEveryNameField) {
  const std::string nasty = "a\"b\\c\nd\\\"e\\";
  Subgraph g;
  Execution* e = g.add_executions();
  e->set_id(7);
  e->set_step_name(nasty);
  e->set_step_version(nasty);
  Artifact* a = g.add_artifacts();
  a->set_digest(kDigestA);
  a->set_type_name(nasty);
  a->set_label(nasty);
  *g.add_events() = MakeEvent(7, kDigestA, Event::INPUT, nasty);
  const std::string dot = ToDot(g);
  const std::string escaped = "a\\\"b\\\\c\\nd\\\\\\\"e\\\\";
  EXPECT_THAT(dot, HasSubstr("label=\"" + escaped + " #7 v" + escaped + "\"]"));
  EXPECT_THAT(dot, HasSubstr("label=\"" + escaped + "\\n" + escaped + "\\n0123456789ab\"]"));
  EXPECT_THAT(dot, HasSubstr("-> \"e7\" [label=\"" + escaped + "\"];\n"));

  // Line by line: each line is a whole statement whose quotes balance.
  const std::vector<std::string> lines = absl::StrSplit(dot, '\n');
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(lines.back(), "");
  for (size_t i = 1; i + 2 < lines.size(); ++i) {
    const std::string& line = lines[i];
    EXPECT_EQ(line.back(), ';') << line;
    bool in_string = false;
    for (size_t j = 0; j < line.size(); ++j) {
      if (in_string && line[j] == '\\') {
        ++j;  // an escape: skip the escaped character
      } else if (line[j] == '"') {
        in_string = !in_string;
      }
    }
    EXPECT_FALSE(in_string) << "unbalanced quotes: " << line;
  }
}

TEST(ToDotTest, MarksCacheHitsAndFailures) {
  const std::string dot = ToDot(SmallGraph());
  EXPECT_THAT(dot, HasSubstr("\"e2\" [shape=box, style=filled, fillcolor=\"#e8f8f5\""));
  EXPECT_THAT(dot, HasSubstr("#2\\ncache hit\"]"));
  EXPECT_THAT(dot, HasSubstr("\"e5\" [shape=box, style=filled, fillcolor=\"#e8f8f5\""));
  EXPECT_THAT(dot, HasSubstr("\"e3\" [shape=box, style=filled, fillcolor=\"#f5b7b1\""));
  EXPECT_THAT(dot, HasSubstr("\\nfailed"));
  EXPECT_THAT(dot, HasSubstr("\\nNONDETERMINISTIC"));
  EXPECT_THAT(dot, HasSubstr("\"e1\" [shape=box, style=filled, fillcolor=\"#d6eaf8\""));
  EXPECT_THAT(dot, Not(HasSubstr("load #1 v1\\n")));
}

// ---------------------------------------------------------------------------------------
// JSON.

Subgraph FullGraph() {
  Subgraph g = SmallGraph();
  Execution* e = g.mutable_executions(0);
  e->set_id((int64_t{1} << 53) + 1);  // not exactly representable as a double
  e->set_run_id(9);
  e->set_action_key(kDigestB);
  *e->add_inputs() = MakeRef("file", kDigestA);
  *e->add_outputs() = MakeRef("0", kDigestA);
  e->mutable_outputs(0)->set_label("train.csv");
  e->mutable_outputs(0)->set_uri("/data/train.csv");
  *e->add_expected_outputs() = MakeRef("0", kDigestB);
  e->mutable_start_time()->set_seconds(1700000000);
  e->mutable_end_time()->set_seconds(1700000001);
  e->mutable_end_time()->set_nanos(500000000);
  e->set_error_message("line 1\nline \"2\" \\ \u00e9\u6a21\u578b");
  (*e->mutable_params())["lr"] = "0.01";
  (*e->mutable_params())["name with \"quotes\""] = "x";
  (*e->mutable_metrics())["loss"] = 0.25;
  (*e->mutable_metrics())["big"] = -1.5e300;
  g.mutable_artifacts(0)->set_size(int64_t{1} << 40);
  g.mutable_artifacts(0)->set_uri("s3://bucket/train.csv");
  return g;
}

TEST(ToJsonTest, RoundTrips) {
  for (const Subgraph& g : {FullGraph(), SmallGraph(), Subgraph()}) {
    absl::StatusOr<std::string> json = ToJson(g);
    ASSERT_TRUE(json.ok()) << json.status();
    Subgraph back;
    const auto status = google::protobuf::util::JsonStringToMessage(*json, &back);
    ASSERT_TRUE(status.ok()) << status.ToString() << "\n" << *json;
    std::string diff;
    MessageDifferencer differencer;
    differencer.ReportDifferencesToString(&diff);
    EXPECT_TRUE(differencer.Compare(g, back)) << diff << "\n" << *json;
  }
}

TEST(ToJsonTest, IsValidJsonWithTheThreeLists) {
  absl::StatusOr<std::string> json = ToJson(FullGraph());
  ASSERT_TRUE(json.ok()) << json.status();
  // Parsed as generic JSON, not as a Subgraph.
  google::protobuf::Struct generic;
  const auto status = google::protobuf::util::JsonStringToMessage(*json, &generic);
  ASSERT_TRUE(status.ok()) << status.ToString() << "\n" << *json;
  std::set<std::string> keys;
  for (const auto& [key, value] : generic.fields()) keys.insert(key);
  EXPECT_THAT(keys, ::testing::ElementsAre("artifacts", "events", "executions"));
  EXPECT_EQ(generic.fields().at("executions").list_value().values_size(), 5);
  EXPECT_EQ(generic.fields().at("artifacts").list_value().values_size(), 2);
  EXPECT_EQ(generic.fields().at("events").list_value().values_size(), 4);
}

TEST(ToJsonTest, UsesProtoFieldNamesAndCanonicalMapping) {
  absl::StatusOr<std::string> json = ToJson(FullGraph());
  ASSERT_TRUE(json.ok()) << json.status();
  for (const char* name : {"\"step_name\"", "\"step_version\"", "\"run_id\"", "\"action_key\"",
                           "\"cache_hit\"", "\"start_time\"", "\"end_time\"",
                           "\"error_message\"", "\"expected_outputs\"", "\"type_name\"",
                           "\"execution_id\""}) {
    EXPECT_THAT(*json, HasSubstr(name));
  }
  for (const char* camel : {"stepName", "runId", "cacheHit", "typeName", "executionId",
                            "expectedOutputs", "startTime"}) {
    EXPECT_THAT(*json, Not(HasSubstr(camel)));
  }
  // 64-bit integers are strings; timestamps RFC 3339; enums by name.
  EXPECT_THAT(*json, HasSubstr("\"id\":\"9007199254740993\""));
  EXPECT_THAT(*json, HasSubstr("\"size\":\"1099511627776\""));
  EXPECT_THAT(*json, HasSubstr("\"start_time\":\"2023-11-14T22:13:20Z\""));
  EXPECT_THAT(*json, HasSubstr("\"end_time\":\"2023-11-14T22:13:21.500Z\""));
  EXPECT_THAT(*json, HasSubstr("\"status\":\"CACHED\""));
  EXPECT_THAT(*json, HasSubstr("\"kind\":\"OUTPUT\""));
  // Fields at their default value are printed too.
  EXPECT_THAT(*json, HasSubstr("\"nondeterministic\":false"));
  EXPECT_THAT(*json, HasSubstr("\"uri\":\"\""));
}

TEST(ToJsonTest, MapEntriesAreInKeyOrderWhateverTheInsertionOrder) {
  // Params and metrics are protobuf maps, iterated in hash order; the JSON must not be.
  Subgraph forward, backward;
  Execution* f = forward.add_executions();
  Execution* b = backward.add_executions();
  for (int i = 0; i < 50; ++i) {
    (*f->mutable_params())[absl::StrCat("k", 100 + i)] = absl::StrCat(i);
    (*b->mutable_params())[absl::StrCat("k", 149 - i)] = absl::StrCat(49 - i);
    (*f->mutable_metrics())[absl::StrCat("m", 100 + i)] = i;
    (*b->mutable_metrics())[absl::StrCat("m", 149 - i)] = 49 - i;
  }
  absl::StatusOr<std::string> a = ToJson(forward);
  absl::StatusOr<std::string> c = ToJson(backward);
  ASSERT_TRUE(a.ok() && c.ok());
  EXPECT_EQ(*a, *c);
  size_t last = 0;
  for (int i = 0; i < 50; ++i) {
    const size_t at = a->find(absl::StrCat("\"k", 100 + i, "\""));
    ASSERT_NE(at, std::string::npos) << i;
    EXPECT_GT(at, last) << "param k" << 100 + i << " is out of key order";
    last = at;
  }
}

TEST(ToJsonTest, EmptyGraph) {
  absl::StatusOr<std::string> json = ToJson(Subgraph());
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(*json, "{\"executions\":[],\"artifacts\":[],\"events\":[]}");
}

}  // namespace
}  // namespace mlops
