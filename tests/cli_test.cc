// End-to-end tests of the `mlops` command line: the quickstart runs (twice) into a fresh
// workspace, then the CLI runs against it as a user would, and its --json output is parsed
// and checked.
//
// A cc_test rather than a shell script: JSON is parsed with protobuf's own JSON parser (into
// google.protobuf.Struct, already a dependency), with no python3 or jq to install, and the
// CSV's digest is computed with mlops::DigestFile (the same value xxh128sum prints; see
// examples/digest).
//
// Arguments: the quickstart binary and the mlops binary (runfiles paths).
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/hash/digest.h"
#include "mlops/hash/file_digest.h"
#include "mlops/testing/files.h"
#include "mlops/core/workspace_layout.h"
#include "tests/cli_testing.h"

namespace mlops {
namespace {

using ::google::protobuf::ListValue;
using ::google::protobuf::Struct;
using ::google::protobuf::Value;
using ::google::protobuf::util::MessageDifferencer;
using ::testing::HasSubstr;
using ::testing::Not;

std::string g_quickstart;
std::string g_mlops;
constexpr char kCsv[] = "examples/data/breast_cancer.csv";

using test::Field;
using test::List;
using test::ParseJson;
using test::Result;
using test::Spawn;

class CliTest : public ::testing::Test {
 protected:
  // One workspace with two quickstart runs, shared by the read-only tests.
  static void SetUpTestSuite() {
    workspace_ = new std::string(test::MakeTempDir("cli_ws") + "/ws");
    RunQuickstart(*workspace_);
    RunQuickstart(*workspace_);
  }

  static void RunQuickstart(const std::string& ws, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"--workspace=" + ws};
    args.insert(args.end(), extra.begin(), extra.end());
    const Result r = Spawn(g_quickstart, args);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  }

  // Runs the CLI against the shared workspace.
  static Result Mlops(std::vector<std::string> args, const std::vector<std::string>& env = {}) {
    args.insert(args.begin(), {"--workspace", *workspace_});
    return Spawn(g_mlops, args, env);
  }
  static Result MlopsIn(const std::string& ws, std::vector<std::string> args) {
    args.insert(args.begin(), {"--workspace", ws});
    return Spawn(g_mlops, args);
  }

  // The JSON a successful command prints.
  static Struct Json(const std::vector<std::string>& args) {
    const Result r = Mlops(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return ParseJson(r.out);
  }

  // The digest of the model (train's output) in the newest run.
  static std::string ModelDigest() {
    const Struct runs = Json({"runs", "--json"});
    const int64_t newest = static_cast<int64_t>(
        Field(List(Field(runs, "runs")).values(0), "id").number_value());
    const Struct run = Json({"show", absl::StrCat("run:", newest), "--json"});
    for (const Value& e : List(Field(run, "executions")).values()) {
      if (Field(e, "step").string_value() == "train") {
        return Field(List(Field(e, "outputs")).values(0), "digest").string_value();
      }
    }
    ADD_FAILURE() << "no train execution";
    return "";
  }

  static std::string* workspace_;
};

std::string* CliTest::workspace_ = nullptr;

TEST_F(CliTest, RunsListsBothRunsAndTheSecondIsAllHits) {
  const Struct runs = Json({"runs", "--json"});
  const ListValue& list = List(Field(runs, "runs"));
  ASSERT_EQ(list.values_size(), 2);
  const Value& second = list.values(0);  // newest first
  const Value& first = list.values(1);
  EXPECT_GT(Field(second, "id").number_value(), Field(first, "id").number_value());
  for (const Value* run : {&first, &second}) {
    EXPECT_EQ(Field(*run, "program").string_value(), "quickstart");
    EXPECT_EQ(Field(*run, "status").string_value(), "SUCCEEDED");
    EXPECT_EQ(Field(*run, "executions").number_value(), 5);
  }
  EXPECT_EQ(Field(first, "hits").number_value(), 0);
  EXPECT_EQ(Field(second, "hits").number_value(), 5);

  // The second run's executions, one by one: all answered from the cache.
  const Struct shown = Json(
      {"show", absl::StrCat("run:", Field(second, "id").number_value()), "--json"});
  EXPECT_EQ(Field(shown, "kind").string_value(), "run");
  const ListValue& execs = List(Field(shown, "executions"));
  ASSERT_EQ(execs.values_size(), 5);
  for (const Value& e : execs.values()) {
    EXPECT_TRUE(Field(e, "cache_hit").bool_value()) << Field(e, "step").string_value();
    EXPECT_EQ(Field(e, "status").string_value(), "CACHED");
  }

  // Human output: a header and one line per run.
  const Result text = Mlops({"runs"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("PROGRAM"));
  EXPECT_THAT(text.out, HasSubstr("quickstart"));
  // Numbers are right-aligned: each count ends where its header ends.
  const std::vector<std::string> lines = absl::StrSplit(text.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u) << text.out;
  const size_t executions_end = lines[0].find("EXECUTIONS") + std::strlen("EXECUTIONS");
  ASSERT_TRUE(absl::EndsWith(lines[0], "HITS")) << text.out;
  for (size_t i = 1; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i].substr(executions_end - 2, 3), " 5 ") << text.out;
    EXPECT_EQ(lines[i].size(), lines[0].size()) << text.out;  // HITS, the last column
  }
  EXPECT_TRUE(absl::EndsWith(lines[1], " 5")) << text.out;  // newest first: all hits
  EXPECT_TRUE(absl::EndsWith(lines[2], " 0")) << text.out;
  // du's entry counts and sizes too: its last column, SIZE, ends every line at one place.
  const Result du = Mlops({"du"});
  ASSERT_EQ(du.exit_code, 0) << du.err;
  const std::vector<std::string> du_lines = absl::StrSplit(du.out, '\n', absl::SkipEmpty());
  ASSERT_GE(du_lines.size(), 3u) << du.out;
  for (const std::string& line : du_lines) {
    EXPECT_EQ(line.size(), du_lines[0].size()) << du.out;
  }
  EXPECT_TRUE(absl::EndsWith(du_lines[0], " SIZE")) << du.out;

  // --limit 0 is no limit (as max_results 0 is in the library).
  EXPECT_EQ(List(Field(Json({"runs", "--limit", "0", "--json"}), "runs")).values_size(), 2);
  const Result other = Mlops({"runs", "--program", "nosuch"});
  ASSERT_EQ(other.exit_code, 0) << other.err;
  EXPECT_THAT(other.out, HasSubstr("no runs of program \"nosuch\""));
  // A limit past int64 is no limit.
  EXPECT_EQ(List(Field(Json({"runs", "--limit", "99999999999999999999", "--json"}), "runs"))
                .values_size(),
            2);
}

TEST_F(CliTest, WorkspaceFromTheEnvironment) {
  const Result r = Spawn(g_mlops, {"runs", "--json"}, {"MLOPS_WORKSPACE=" + *workspace_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(List(Field(ParseJson(r.out), "runs")).values_size(), 2);
}

TEST_F(CliTest, LineageOfTheModelReachesTheCsv) {
  absl::StatusOr<Digest> csv = DigestFile(kCsv);
  ASSERT_TRUE(csv.ok()) << csv.status();
  const std::string model = ModelDigest();
  ASSERT_EQ(model.size(), 32u);
  // By a unique prefix.
  const Struct graph =
      Json({"lineage", model.substr(0, 10), "--upstream", "--format", "json"});
  std::set<std::string> digests;
  for (const Value& a : List(Field(graph, "artifacts")).values()) {
    digests.insert(Field(a, "digest").string_value());
  }
  EXPECT_TRUE(digests.count(csv->ToHex())) << "the CSV " << csv->ToHex() << " is not upstream";
  EXPECT_TRUE(digests.count(model));
  std::set<std::string> steps;
  for (const Value& e : List(Field(graph, "executions")).values()) {
    steps.insert(Field(e, "step_name").string_value());
  }
  EXPECT_EQ(steps, (std::set<std::string>{"load", "standardize", "split", "train"}));

  // --json is --format json, as in every other listing (and may repeat it). Compared as
  // parsed values: protobuf's JSON writes map entries (params) in no fixed order.
  const Struct by_format = Json({"lineage", model, "--format", "json"});
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"lineage", model, "--json"}, {"lineage", "--json", model, "--format=json"}}) {
    EXPECT_TRUE(MessageDifferencer::Equals(Json(args), by_format)) << absl::StrJoin(args, " ");
  }

  // One hop only: train and nothing further up.
  const Struct near = Json({"lineage", model, "--depth", "1", "--format", "json"});
  ASSERT_EQ(List(Field(near, "executions")).values_size(), 1);

  // Text and DOT name the CSV too.
  const Result text = Mlops({"lineage", model});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr(csv->ShortHex()));
  EXPECT_THAT(text.out, HasSubstr("breast_cancer.csv"));
  const Result dot = Mlops({"lineage", model, "--format", "dot"});
  ASSERT_EQ(dot.exit_code, 0) << dot.err;
  EXPECT_THAT(dot.out, HasSubstr("digraph"));

  // Downstream of the CSV reaches the model.
  const Struct down = Json({"lineage", csv->ToHex(), "--downstream", "--format", "json"});
  bool found = false;
  for (const Value& a : List(Field(down, "artifacts")).values()) {
    found = found || Field(a, "digest").string_value() == model;
  }
  EXPECT_TRUE(found);
}

TEST_F(CliTest, SvgThroughGraphvizOrSaysHowToInstallIt) {
  const std::string model = ModelDigest();
  // Without dot on PATH: a clear message and exit code 1.
  const Result missing =
      Mlops({"lineage", model, "--format", "svg"}, {"PATH=/nonexistent-for-mlops-test"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("Graphviz's dot is not installed; install it with: "
                                     "sudo apt-get install graphviz"));
  EXPECT_TRUE(missing.out.empty());

  if (Spawn("/bin/sh", {"-c", "command -v dot"}).exit_code != 0) {
    std::printf("NOTE: Graphviz's dot is not on PATH; the real SVG check is skipped "
                "(./setup.sh installs it)\n");
    return;
  }
  const Result svg = Mlops({"lineage", model, "--format", "svg"});
  ASSERT_EQ(svg.exit_code, 0) << svg.err;
  EXPECT_THAT(svg.out, HasSubstr("<svg"));
  EXPECT_THAT(svg.out, HasSubstr("train #"));
  const std::string file = test::MakeTempDir("cli_svg") + "/lineage.svg";
  const Result to_file = Mlops({"lineage", model, "--format", "svg", "--output", file});
  ASSERT_EQ(to_file.exit_code, 0) << to_file.err;
  EXPECT_EQ(test::Slurp(file), svg.out);
}

TEST_F(CliTest, CatReturnsBytesWithTheDigest) {
  const std::string model = ModelDigest();
  const Result r = Mlops({"cat", model.substr(0, 8)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Digest::Of(r.out).ToHex(), model);
}

TEST_F(CliTest, ShowExecutionAndDigest) {
  const std::string model = ModelDigest();
  const Struct d = Json({"show", model.substr(0, 12), "--json"});
  EXPECT_EQ(Field(d, "kind").string_value(), "digest");
  EXPECT_EQ(Field(d, "digest").string_value(), model);
  EXPECT_TRUE(Field(d, "stored").bool_value());
  EXPECT_EQ(Field(Field(d, "artifact"), "type_name").string_value(), "Model");
  // Computed in run 1, a cache hit in run 2.
  const ListValue& producers = List(Field(d, "producers"));
  ASSERT_EQ(producers.values_size(), 2);
  const int64_t train = static_cast<int64_t>(Field(producers.values(0), "id").number_value());
  const Struct e = Json({"show", absl::StrCat("exec:", train), "--json"});
  EXPECT_EQ(Field(Field(e, "execution"), "step").string_value(), "train");
  EXPECT_EQ(Field(Field(Field(e, "execution"), "params"), "epochs").string_value(), "300");

  // A whole digest is looked up, not matched against a listing of the store: the CSV is
  // in the lineage only; a made-up digest is in neither.
  absl::StatusOr<Digest> csv = DigestFile(kCsv);
  ASSERT_TRUE(csv.ok()) << csv.status();
  const Struct c = Json({"show", absl::AsciiStrToUpper(csv->ToHex()), "--json"});
  EXPECT_EQ(Field(c, "digest").string_value(), csv->ToHex());
  EXPECT_FALSE(Field(c, "stored").bool_value());
  const Result none = Mlops({"cat", "0123456789abcdef0123456789abcdef"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_THAT(none.err, HasSubstr("no digest starts with \"0123456789abcdef0123456789abcdef\""));
}

TEST_F(CliTest, DiffOfIdenticalRunsAndOfANewHyperparameter) {
  const std::string ws = test::MakeTempDir("cli_diff") + "/ws";
  RunQuickstart(ws);
  RunQuickstart(ws);
  RunQuickstart(ws, {"--epochs=50"});
  const Struct runs = ParseJson(MlopsIn(ws, {"runs", "--json"}).out);
  const ListValue& list = List(Field(runs, "runs"));
  ASSERT_EQ(list.values_size(), 3);
  const auto id = [&](int i) {
    return absl::StrCat(static_cast<int64_t>(Field(list.values(i), "id").number_value()));
  };
  // Runs 1 and 2 do the same; run 3 retrains with another epoch count.
  Result r = MlopsIn(ws, {"diff", id(2), id(1), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Struct same = ParseJson(r.out);
  for (const Value& s : List(Field(same, "steps")).values()) {
    EXPECT_EQ(Field(s, "state").string_value(), "same") << Field(s, "step").string_value();
  }
  r = MlopsIn(ws, {"diff", id(1), id(0), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, const Value*> by_step;
  const Struct diff = ParseJson(r.out);
  for (const Value& s : List(Field(diff, "steps")).values()) {
    by_step[Field(s, "step").string_value()] = &s;
  }
  ASSERT_EQ(by_step.size(), 5u);
  for (const char* same : {"load", "standardize", "split"}) {
    EXPECT_EQ(Field(*by_step[same], "state").string_value(), "same") << same;
  }
  const Value& train = *by_step["train"];
  EXPECT_EQ(Field(train, "state").string_value(), "changed");
  EXPECT_EQ(List(Field(train, "outputs_changed")).values_size(), 1);
  EXPECT_EQ(List(Field(train, "inputs_changed")).values_size(), 1);  // the params
  const ListValue& params = List(Field(train, "params_changed"));
  ASSERT_EQ(params.values_size(), 1);
  EXPECT_EQ(Field(params.values(0), "name").string_value(), "epochs");
  EXPECT_EQ(Field(params.values(0), "a").string_value(), "300");
  EXPECT_EQ(Field(params.values(0), "b").string_value(), "50");
  EXPECT_EQ(Field(*by_step["evaluate"], "state").string_value(), "changed");
  const Result text = MlopsIn(ws, {"diff", id(1), id(0)});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("train param epochs: 300 -> 50"));
}

// Every file and directory under `root` (defined below).
std::map<std::string, std::string> Listing(const std::string& root, const std::string& rel = "");

TEST_F(CliTest, GcFreesWhatItSaysAndKeepsPins) {
  const std::string ws = test::MakeTempDir("cli_gc") + "/ws";
  RunQuickstart(ws);
  const auto json = [&](const std::vector<std::string>& args) {
    const Result r = MlopsIn(ws, args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return ParseJson(r.out);
  };
  const auto total_bytes = [&] {
    return static_cast<int64_t>(Field(Field(json({"du", "--json"}), "total"), "bytes")
                                    .number_value());
  };
  const int64_t before = total_bytes();
  ASSERT_GT(before, 0);
  // du's steps add up to its total, with every quickstart step there.
  std::set<std::string> steps;
  int64_t sum = 0;
  const Struct du = json({"du", "--json"});
  for (const Value& s : List(Field(du, "steps")).values()) {
    steps.insert(Field(s, "step").string_value());
    sum += static_cast<int64_t>(Field(s, "bytes").number_value());
  }
  EXPECT_EQ(sum, before);
  EXPECT_EQ(steps, (std::set<std::string>{"load", "standardize", "split", "train", "evaluate"}));

  // Pin the model and load's output (the oldest entry, first in line for eviction).
  const Struct run = json({"show", "run:1", "--json"});
  std::map<std::string, std::string> output_of;
  std::map<std::string, int64_t> size_of;
  for (const Value& e : List(Field(run, "executions")).values()) {
    const Value& out = List(Field(e, "outputs")).values(0);
    output_of[Field(e, "step").string_value()] = Field(out, "digest").string_value();
    size_of[Field(e, "step").string_value()] =
        static_cast<int64_t>(Field(out, "size").number_value());
  }
  const std::string model = output_of["train"], loaded = output_of["load"];
  // pin, unpin and gc write the pin list and the store, never lineage (not even WAL files).
  const auto lineage_files = [&] {
    std::map<std::string, std::string> files;
    for (const auto& [path, what] : Listing(ws)) {
      if (absl::StartsWith(path, "lineage.db")) files[path] = what;
    }
    return files;
  };
  const std::map<std::string, std::string> lineage_before = lineage_files();
  Result r = MlopsIn(ws, {"pin", model.substr(0, 10), loaded});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string pins_file = test::Slurp(WorkspaceLayout(ws).pins());
  EXPECT_EQ(pins_file, std::min(model, loaded) + "\n" + std::max(model, loaded) + "\n");
  const Struct pins = json({"pins", "--json"});
  ASSERT_EQ(List(Field(pins, "pins")).values_size(), 2);

  // A dry run reports and deletes nothing.
  const Struct dry = json({"gc", "--max-size", "1K", "--dry-run", "--json"});
  EXPECT_TRUE(Field(dry, "dry_run").bool_value());
  EXPECT_GT(Field(dry, "bytes_freed").number_value(), 0);
  EXPECT_EQ(total_bytes(), before);

  const Struct gc = json({"gc", "--max-size", "1K", "--json"});
  EXPECT_FALSE(Field(gc, "dry_run").bool_value());
  const int64_t freed = static_cast<int64_t>(Field(gc, "bytes_freed").number_value());
  EXPECT_EQ(freed, static_cast<int64_t>(Field(dry, "bytes_freed").number_value()));
  EXPECT_EQ(static_cast<int64_t>(Field(gc, "bytes_before").number_value()), before);
  const int64_t after = total_bytes();
  EXPECT_EQ(after, before - freed);
  EXPECT_EQ(static_cast<int64_t>(Field(gc, "bytes_after").number_value()), after);
  // Only the pins are left (they exceed 1K: the store stays over the limit).
  EXPECT_EQ(after, size_of["train"] + size_of["load"]);
  EXPECT_EQ(Field(gc, "pinned_kept").number_value(), 2);
  for (const Value& e : List(Field(gc, "evicted")).values()) {
    EXPECT_NE(Field(e, "digest").string_value(), model);
    EXPECT_NE(Field(e, "digest").string_value(), loaded);
  }
  r = MlopsIn(ws, {"cat", model});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Digest::Of(r.out).ToHex(), model);
  // An evicted value is gone, and says so.
  r = MlopsIn(ws, {"cat", output_of["evaluate"]});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr(output_of["evaluate"]));
  EXPECT_THAT(r.err, HasSubstr("not in the store"));

  // Unpinned, the model goes too.
  r = MlopsIn(ws, {"unpin", model.substr(0, 6)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(test::Slurp(WorkspaceLayout(ws).pins()), loaded + "\n");
  json({"gc", "--max-size", "0", "--json"});
  EXPECT_EQ(total_bytes(), size_of["load"]);
  EXPECT_EQ(lineage_files(), lineage_before);

  // After gc, the quickstart recomputes what was evicted and succeeds.
  RunQuickstart(ws);
}

TEST_F(CliTest, BadUsageExitsTwoWithUsage) {
  const std::vector<std::vector<std::string>> bad = {
      {},
      {"frobnicate"},
      {"runs", "--bogus"},
      {"runs", "--limit", "-3"},
      {"show"},
      {"show", "a", "b"},
      {"show", "not-an-id"},
      {"show", "run:x"},
      {"lineage", "abc", "--format", "png"},
      {"lineage", "abc", "--upstream", "--downstream"},
      {"lineage", "abc", "--depth"},
      {"lineage", "abc", "--json", "--format", "dot"},
      {"lineage", "abc", "--format=text", "--json"},
      {"lineage", "run:1"},
      {"diff", "1"},
      {"diff", "1", "abc"},
      {"gc"},
      {"gc", "--max-size", "10X"},
      {"gc", "--max-size", "-1G"},
      {"cat", "xyz"},
      {"du", "extra"},
  };
  for (const auto& args : bad) {
    const Result r = Mlops(args);
    EXPECT_EQ(r.exit_code, 2) << absl::StrJoin(args, " ") << "\n" << r.err;
    EXPECT_THAT(r.err, HasSubstr("usage:")) << absl::StrJoin(args, " ");
    EXPECT_TRUE(r.out.empty()) << absl::StrJoin(args, " ");
  }
  const Result clash = Mlops({"lineage", "abc", "--json", "--format", "dot"});
  EXPECT_THAT(clash.err, HasSubstr("--json is --format json; it cannot go with --format dot"));
  EXPECT_THAT(Mlops({"lineage", "--help"}).out, HasSubstr("--json is --format json"));
  const Result help = Mlops({"gc", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, HasSubstr("--max-size SIZE"));
  // `help COMMAND` is that command's help, not the list of all.
  const Result help_gc = Spawn(g_mlops, {"help", "gc"});
  EXPECT_EQ(help_gc.exit_code, 0);
  EXPECT_EQ(help_gc.out, help.out);
  const Result help_bogus = Spawn(g_mlops, {"help", "frobnicate"});
  EXPECT_EQ(help_bogus.exit_code, 2);
  EXPECT_THAT(help_bogus.err, HasSubstr("unknown command \"frobnicate\""));
  // An empty --workspace is bad usage, not silently the default workspace.
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--workspace", "", "runs"}, {"runs", "--workspace="}}) {
    const Result empty = Spawn(g_mlops, args);
    EXPECT_EQ(empty.exit_code, 2) << absl::StrJoin(args, " ");
    EXPECT_THAT(empty.err, HasSubstr("--workspace needs a directory"));
  }
  const Result main_help = Spawn(g_mlops, {"--help"});
  EXPECT_EQ(main_help.exit_code, 0);
  for (const char* command : {"runs", "show", "lineage", "diff", "du", "gc", "cat", "pin"}) {
    EXPECT_THAT(main_help.out, HasSubstr(absl::StrCat("mlops ", command))) << command;
  }
}

TEST_F(CliTest, UnknownAndAmbiguousIdsExitOneNamingThem) {
  // (An all-digit argument of show is an id; digest: makes it a digest prefix.)
  Result r = Mlops({"show", "digest:000000000000"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("no digest starts with \"000000000000\""));
  r = Mlops({"cat", "000000000000"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("\"000000000000\""));
  r = Mlops({"lineage", "fedcba9876543210"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("\"fedcba9876543210\""));
  r = Mlops({"show", "run:999999"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("999999"));
  r = Mlops({"lineage", "exec:999999"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("999999"));
  r = Mlops({"diff", "1", "999999"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("999999"));

  // A bare 2 is both run 2 and execution 2.
  r = Mlops({"show", "2"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("ambiguous"));
  EXPECT_THAT(r.err, HasSubstr("say run:2 or exec:2"));  // both ways out

  // A one-character prefix shared by two of the workspace's digests.
  const Struct graph = Json({"lineage", ModelDigest(), "--format", "json"});
  std::map<char, int> first_chars;
  char shared = 0;
  for (const Value& a : List(Field(graph, "artifacts")).values()) {
    const char c = Field(a, "digest").string_value()[0];
    if (++first_chars[c] == 2) shared = c;
  }
  ASSERT_NE(shared, 0) << "no two digests share a first character";
  r = Mlops({"show", std::string(1, shared)});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr(absl::StrCat("digest prefix \"", std::string(1, shared),
                                            "\" is ambiguous")));
}

TEST_F(CliTest, AMissingWorkspaceIsAnErrorAndIsNotCreated) {
  const std::string missing = test::MakeTempDir("cli_missing") + "/nothing-here";
  const Result r = Spawn(g_mlops, {"--workspace", missing, "runs"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr(missing));
  struct stat st;
  EXPECT_NE(stat(missing.c_str(), &st), 0) << "the CLI created " << missing;
}

// Every file and directory under `root` (relative path → type, size, mtime in ns, mode).
std::map<std::string, std::string> Listing(const std::string& root, const std::string& rel) {
  std::map<std::string, std::string> out;
  const std::string dir = rel.empty() ? root : root + "/" + rel;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) {
    ADD_FAILURE() << "opendir " << dir << ": " << std::strerror(errno);
    return out;
  }
  while (const dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    const std::string path = rel.empty() ? name : rel + "/" + name;
    struct stat st;
    if (lstat((root + "/" + path).c_str(), &st) != 0) continue;
    out[path] = absl::StrCat(S_ISDIR(st.st_mode) ? "dir " : "file ", st.st_size, " ",
                             st.st_mtim.tv_sec, ".", st.st_mtim.tv_nsec, " ",
                             st.st_mode & 07777);
    if (S_ISDIR(st.st_mode)) {
      for (auto& [p, v] : Listing(root, path)) out[p] = v;
    }
  }
  closedir(d);
  return out;
}

// Runs `program` with `args` as user and group `id` (REQUIRES: root), like Spawn.
Result SpawnAs(uid_t id, const std::string& program, const std::vector<std::string>& args) {
  const std::string dir = test::MakeTempDir("cli_run_as");
  const std::string out_path = dir + "/out", err_path = dir + "/err";
  std::vector<std::string> argv_s = {program};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_s) argv.push_back(&a[0]);
  argv.push_back(nullptr);
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0 || err < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) _exit(120);
    if (setgroups(0, nullptr) != 0 || setgid(id) != 0 || setuid(id) != 0) _exit(121);
    execv(program.c_str(), argv.data());
    _exit(122);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  Result r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = test::Slurp(out_path);
  r.err = test::Slurp(err_path);
  return r;
}

// The commands that only read, against `ws`: each must succeed. `spawn` runs the CLI.
template <typename SpawnFn>
void RunReadingCommands(const std::string& ws, const std::string& model, SpawnFn spawn) {
  const std::vector<std::vector<std::string>> commands = {
      {"runs"}, {"runs", "--json"}, {"show", "run:1"}, {"show", "exec:1", "--json"},
      {"show", model.substr(0, 10)}, {"lineage", model.substr(0, 10)},
      {"lineage", model.substr(0, 10), "--format", "json"}, {"diff", "1", "2"}, {"du"},
      {"du", "--json"}, {"cat", model.substr(0, 10)}, {"pins"}};
  for (std::vector<std::string> args : commands) {
    const std::string line = absl::StrJoin(args, " ");
    args.insert(args.begin(), {"--workspace", ws});
    const Result r = spawn(args);
    EXPECT_EQ(r.exit_code, 0) << line << ": " << r.err;
    EXPECT_FALSE(r.out.empty()) << line;
  }
}

// The reading commands change nothing in the workspace: no file is created, written,
// removed or touched (the store's values are aged first, so that a read that refreshed
// their last access would show), and no -wal or -shm file appears next to lineage.db.
TEST_F(CliTest, ReadingCommandsLeaveTheWorkspaceUnchanged) {
  const std::string ws = test::MakeTempDir("cli_readonly") + "/ws";
  const Result copied = Spawn("/bin/cp", {"-a", *workspace_, ws});
  ASSERT_EQ(copied.exit_code, 0) << copied.err;
  for (const auto& [path, what] : Listing(ws)) {
    if (absl::StartsWith(path, "store/cas/") && absl::StartsWith(what, "file ")) {
      test::SetAge(ws + "/" + path, 3600);
    }
  }
  const std::string model = ModelDigest();
  const std::map<std::string, std::string> before = Listing(ws);
  ASSERT_EQ(before.count("lineage.db-wal"), 0u) << "the workspace is not at rest";
  RunReadingCommands(ws, model, [](const std::vector<std::string>& args) {
    return Spawn(g_mlops, args);
  });
  EXPECT_EQ(Listing(ws), before);
}

// As a user who may not write the workspace (nobody, when the test runs as root): the
// reading commands work on a read-only copy, and `gc` fails without changing it.
TEST_F(CliTest, ReadingCommandsWorkWithoutWritePermission) {
  if (geteuid() != 0) {
    GTEST_SKIP() << "needs root to run the CLI as user nobody (65534); running as uid "
                 << geteuid();
  }
  // Under /tmp: nobody may not enter the test's own temporary directory under /root.
  char tmpl[] = "/tmp/mlops_cli_readonly.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string top = tmpl;
  ASSERT_EQ(chmod(top.c_str(), 0755), 0);
  const std::string ws = top + "/ws";
  const std::string mlops = top + "/mlops";
  // (The binary is a runfiles symlink into /root: copy the file itself.)
  using Args = std::vector<std::string>;
  for (const Args& cp : {Args{"-a", *workspace_, ws}, Args{"-L", g_mlops, mlops}}) {
    const Result r = Spawn("/bin/cp", cp);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  ASSERT_EQ(chmod(mlops.c_str(), 0755), 0);
  const Result locked = Spawn("/bin/chmod", {"-R", "a-w", ws});
  ASSERT_EQ(locked.exit_code, 0) << locked.err;
  const std::string model = ModelDigest();
  const std::map<std::string, std::string> before = Listing(ws);
  RunReadingCommands(ws, model, [&mlops](const std::vector<std::string>& args) {
    return SpawnAs(65534, mlops, args);
  });
  const Result gc = SpawnAs(65534, mlops, {"--workspace", ws, "gc", "--max-size", "0"});
  EXPECT_EQ(gc.exit_code, 1) << gc.out;
  EXPECT_EQ(Listing(ws), before);
  const Result removed = Spawn("/bin/rm", {"-rf", top});
  EXPECT_EQ(removed.exit_code, 0) << removed.err;
}

// A lineage.db that is empty (or not SQLite) is an error naming it, and stays untouched:
// opening it as a lineage store would have written a schema into it and listed no runs.
// One that cannot be looked at is not reported as missing.
TEST_F(CliTest, ABrokenLineageDbIsNamedAndNotWritten) {
  const std::string ws = test::MakeTempDir("cli_broken_db");
  const std::string db = WorkspaceLayout(ws).lineage_db();
  test::Spit(db, "");
  Result r = MlopsIn(ws, {"runs"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr(db + " is not an mlops lineage database (it is empty)"));
  EXPECT_EQ(test::Slurp(db), "");
  EXPECT_TRUE(r.out.empty());

  test::Spit(db, std::string(4096, '\x5a'));
  r = MlopsIn(ws, {"du"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr(db + " is not an mlops lineage database (it is not an SQLite"));

  ASSERT_EQ(unlink(db.c_str()), 0);
  ASSERT_EQ(symlink("lineage.db", db.c_str()), 0);  // a loop: stat fails with ELOOP
  r = MlopsIn(ws, {"runs"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr(db));
  EXPECT_THAT(r.err, Not(HasSubstr("has no lineage.db")));
}

}  // namespace
}  // namespace mlops

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s QUICKSTART MLOPS\n", argv[0]);
    return 2;
  }
  mlops::g_quickstart = argv[1];
  mlops::g_mlops = argv[2];
  return RUN_ALL_TESTS();
}
