// Unit tests of the command line's plain functions: argument parsing, sizes, ids and digest
// prefixes, metric series and their gnuplot chart, the JSON writer, the lineage tree, the
// pin list, store usage and garbage collection reports.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/hash/digest.h"
#include "mlops/lineage/lineage.pb.h"
#include "mlops/store/memory_store.h"
#include "tools/args.h"
#include "tools/cli_workspace.h"
#include "tools/ids.h"
#include "tools/json_writer.h"
#include "tools/lineage_tree.h"
#include "tools/metric_chart.h"
#include "tools/metric_series.h"
#include "tools/process.h"
#include "tools/records.h"
#include "tools/store_usage.h"
#include "tools/units.h"

namespace mlops {
namespace cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// --- args ---

TEST(ParseArgsTest, FlagsInEveryFormAndPositionals) {
  absl::StatusOr<Args> a = ParseArgs({"x", "--depth", "2", "--format=dot", "--json", "--", "--y"},
                                     {{"depth", true}, {"format", true}, {"json", false}});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_THAT(a->positional, ElementsAre("x", "--y"));
  EXPECT_EQ(a->value("depth"), "2");
  EXPECT_EQ(a->value("format"), "dot");
  EXPECT_TRUE(a->has("json"));
  EXPECT_EQ(a->value("missing", "fallback"), "fallback");
}

TEST(ParseArgsTest, BadFlagsAreUsageErrorsNamingThem) {
  const std::vector<FlagSpec> spec = {{"depth", true}, {"json", false}};
  for (const auto& [argv, expected] :
       std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--nope"}, "--nope"}, {{"--depth"}, "--depth"}, {{"--json=1"}, "--json"}}) {
    absl::StatusOr<Args> a = ParseArgs(argv, spec);
    ASSERT_FALSE(a.ok());
    EXPECT_TRUE(IsUsageError(a.status()));
    EXPECT_THAT(std::string(a.status().message()), HasSubstr(expected));
  }
  EXPECT_FALSE(IsUsageError(absl::InvalidArgumentError("a library error")));
}

TEST(ParseCountTest, AcceptsOnlyNonNegativeIntegers) {
  EXPECT_EQ(*ParseCount("0", "--n"), 0);
  EXPECT_EQ(*ParseCount("42", "--n"), 42);
  // A count too large for int64 is as good as unlimited (e.g. --depth 99999999999999999999).
  EXPECT_EQ(*ParseCount("99999999999999999999", "--n"), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(*ParseCount("9223372036854775807", "--n"), std::numeric_limits<int64_t>::max());
  for (const char* bad : {"", "-1", "+1", "1.5", "x", " 1", "1 ", "1e3", "-99999999999999999999"}) {
    absl::StatusOr<int64_t> n = ParseCount(bad, "--n");
    EXPECT_FALSE(n.ok()) << bad;
    EXPECT_TRUE(IsUsageError(n.status())) << bad;
  }
}

// --- units ---

TEST(ParseSizeTest, UnitsAndFractions) {
  EXPECT_EQ(*ParseSize("1024"), 1024);
  EXPECT_EQ(*ParseSize("0"), 0);
  EXPECT_EQ(*ParseSize("12B"), 12);
  EXPECT_EQ(*ParseSize("500M"), 500LL << 20);
  EXPECT_EQ(*ParseSize("10G"), 10LL << 30);
  EXPECT_EQ(*ParseSize("10g"), 10LL << 30);
  EXPECT_EQ(*ParseSize("1.5GiB"), 3LL << 29);
  EXPECT_EQ(*ParseSize("1.5KiB"), 1536);
  EXPECT_EQ(*ParseSize("2KB"), 2000);
  EXPECT_EQ(*ParseSize("3GB"), 3000000000LL);
  EXPECT_EQ(*ParseSize("1T"), 1LL << 40);
  EXPECT_EQ(*ParseSize("0.5B"), 0);
  EXPECT_EQ(*ParseSize("1e3"), 1000);
  EXPECT_EQ(*ParseSize("2.5E+3K"), 2560000);
  EXPECT_EQ(*ParseSize("1e-1K"), 102);
}

TEST(ParseSizeTest, RejectsWhatIsNotASize) {
  for (const char* bad : {"", "G", "-1", "-1G", "1.2.3", ".", "10X", "10 G", "1e", "1e+",
                          "e3", "99999999999T", "nan", "inf", " 10"}) {
    absl::StatusOr<int64_t> n = ParseSize(bad);
    ASSERT_FALSE(n.ok()) << bad;
    EXPECT_TRUE(absl::IsInvalidArgument(n.status()));
    EXPECT_THAT(std::string(n.status().message()), HasSubstr(std::string("\"") + bad + "\""));
  }
}

// Past 2^63 - 1 bytes, however written, says so (1e400 was "unknown unit \"e400\"").
TEST(ParseSizeTest, TooLargeSaysSo) {
  for (const char* big : {"1e400", "99999999999T", "9223372036854775808"}) {
    absl::StatusOr<int64_t> n = ParseSize(big);
    ASSERT_FALSE(n.ok()) << big;
    EXPECT_THAT(std::string(n.status().message()), HasSubstr("too large")) << big;
  }
}

TEST(FormatTest, BytesDurationsTimes) {
  EXPECT_EQ(FormatBytes(0), "0 B");
  EXPECT_EQ(FormatBytes(1023), "1023 B");
  EXPECT_EQ(FormatBytes(1536), "1.5 KiB");
  EXPECT_EQ(FormatBytes(5LL << 20), "5.0 MiB");
  EXPECT_EQ(FormatBytes(3LL << 30), "3.0 GiB");
  EXPECT_EQ(HumanDuration(absl::Microseconds(850)), "850us");
  EXPECT_EQ(HumanDuration(absl::Microseconds(12300)), "12.3ms");
  EXPECT_EQ(HumanDuration(absl::Milliseconds(4210)), "4.21s");
  EXPECT_EQ(HumanDuration(absl::Seconds(187)), "3m07s");
  EXPECT_EQ(HumanDuration(absl::Minutes(125)), "2h05m");
  EXPECT_EQ(HumanDuration(-absl::Seconds(1)), "-");
  EXPECT_EQ(FormatUtcTime(absl::FromUnixMicros(1700000000123456)),
            "2023-11-14T22:13:20.123456Z");
  EXPECT_EQ(FormatUtcTime(absl::UnixEpoch()), "");
  EXPECT_EQ(FormatLocalTime(absl::UnixEpoch()), "-");
}

// --- ids ---

const Digest kA = *Digest::FromHex("a1b20000000000000000000000000001");
const Digest kB = *Digest::FromHex("a1b30000000000000000000000000002");

TEST(ResolveDigestPrefixTest, UniqueAmbiguousUnknownMalformed) {
  const std::vector<Digest> candidates = {kA, kB, kA};
  EXPECT_EQ(*ResolveDigestPrefix("a1b2", candidates), kA);
  EXPECT_EQ(*ResolveDigestPrefix("A1B3", candidates), kB);
  EXPECT_EQ(*ResolveDigestPrefix(kA.ToHex(), candidates), kA);

  absl::StatusOr<Digest> d = ResolveDigestPrefix("a1", candidates);
  ASSERT_FALSE(d.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(d.status()));
  EXPECT_THAT(std::string(d.status().message()), HasSubstr("\"a1\" is ambiguous"));
  EXPECT_THAT(std::string(d.status().message()), HasSubstr(kB.ToHex()));
  EXPECT_THAT(std::string(d.status().message()), HasSubstr(": 2 digests match"));
  // Candidates that are a cut listing: the count is a lower bound, and says so.
  d = ResolveDigestPrefix("a1", candidates, /*candidates_cut=*/true);
  EXPECT_THAT(std::string(d.status().message()), HasSubstr("at least 2 digests match"));

  d = ResolveDigestPrefix("ff", candidates);
  ASSERT_FALSE(d.ok());
  EXPECT_TRUE(absl::IsNotFound(d.status()));
  EXPECT_THAT(std::string(d.status().message()), HasSubstr("\"ff\""));

  for (const std::string& bad : {std::string(""), std::string("xyz"), std::string(33, 'a')}) {
    d = ResolveDigestPrefix(bad, candidates);
    ASSERT_FALSE(d.ok());
    EXPECT_TRUE(IsUsageError(d.status())) << bad;
  }
}

TEST(ParseTargetTest, FormDecidesTheKind) {
  EXPECT_EQ(ParseTarget("run:12")->kind, Target::kRun);
  EXPECT_EQ(ParseTarget("run:12")->id, 12);
  EXPECT_EQ(ParseTarget("exec:34")->kind, Target::kExecution);
  EXPECT_EQ(ParseTarget("execution:34")->id, 34);
  EXPECT_EQ(ParseTarget("34")->kind, Target::kRunOrExecution);
  EXPECT_EQ(ParseTarget("85d3AF")->kind, Target::kDigest);
  EXPECT_EQ(ParseTarget("85d3AF")->prefix, "85d3af");
  EXPECT_EQ(ParseTarget("digest:8512")->kind, Target::kDigest);
  EXPECT_EQ(ParseTarget("digest:8512")->prefix, "8512");
  for (const char* bad : {"run:", "run:x", "run:0", "exec:-1", "0", "xyz", "digest:",
                          "digest:zz", "run:99999999999999999999"}) {
    absl::StatusOr<Target> t = ParseTarget(bad);
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_TRUE(IsUsageError(t.status())) << bad;
    EXPECT_THAT(std::string(t.status().message()), HasSubstr(bad));
  }
}

TEST(ParseRunOrExecutionTest, ABareNumberIsARunAndDigestsAreRefused) {
  EXPECT_EQ(ParseRunOrExecution("12")->kind, Target::kRun);
  EXPECT_EQ(ParseRunOrExecution("12")->id, 12);
  EXPECT_EQ(ParseRunOrExecution("run:3")->kind, Target::kRun);
  EXPECT_EQ(ParseRunOrExecution("exec:4")->kind, Target::kExecution);
  EXPECT_EQ(ParseRunOrExecution("execution:4")->id, 4);
  for (const char* bad : {"abc", "digest:12", "run:x", "exec:", "0", "", "run:-1"}) {
    absl::StatusOr<Target> t = ParseRunOrExecution(bad);
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_TRUE(IsUsageError(t.status())) << bad;
    EXPECT_THAT(std::string(t.status().message()), HasSubstr(absl::StrCat("\"", bad, "\"")));
  }
  EXPECT_TRUE(IsIdForm("42"));
  EXPECT_TRUE(IsIdForm("run:x"));  // the form of an id, if not a valid one
  EXPECT_TRUE(IsIdForm("exec:"));
  EXPECT_FALSE(IsIdForm("loss"));
  EXPECT_FALSE(IsIdForm("4a"));
  EXPECT_FALSE(IsIdForm(""));
}

// --- metric series ---

TEST(ParseMetricsArgsTest, IdsAreTargetsTheRestNames) {
  absl::StatusOr<MetricsArgs> a =
      ParseMetricsArgs({"3", "exec:4", "loss", "metric:7", "loss", "run:3", "val acc"});
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_EQ(a->targets.size(), 2u);  // run 3 once
  EXPECT_EQ(TargetName(a->targets[0]), "run:3");
  EXPECT_EQ(TargetName(a->targets[1]), "exec:4");
  EXPECT_EQ(TargetLabel(a->targets[1]), "exec 4");
  EXPECT_THAT(a->names, ElementsAre("loss", "7", "val acc"));
  for (const std::vector<std::string>& bad : std::vector<std::vector<std::string>>{
           {}, {"loss"}, {"run:x", "loss"}, {"1", "metric:"}, {"exec:0"}}) {
    absl::StatusOr<MetricsArgs> b = ParseMetricsArgs(bad);
    EXPECT_FALSE(b.ok()) << absl::StrJoin(bad, " ");
    EXPECT_TRUE(IsUsageError(b.status())) << absl::StrJoin(bad, " ");
  }
}

TEST(MetricValueTest, NonFiniteValuesHaveNamesInTextAndStringsInJson) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(FormatMetricValue(0.1), "0.1");
  EXPECT_EQ(FormatMetricValue(1e20), "1e+20");
  EXPECT_EQ(FormatMetricValue(-2), "-2");
  EXPECT_EQ(FormatMetricValue(nan), "nan");
  EXPECT_EQ(FormatMetricValue(-nan), "nan");
  EXPECT_EQ(FormatMetricValue(inf), "inf");
  EXPECT_EQ(FormatMetricValue(-inf), "-inf");
  JsonWriter w;
  w.BeginArray();
  for (double v : {0.25, nan, inf, -inf}) WriteMetricValueJson(w, v);
  w.EndArray();
  EXPECT_EQ(w.str(), "[\n  0.25,\n  \"NaN\",\n  \"Infinity\",\n  \"-Infinity\"\n]\n");
}

TEST(CsvFieldTest, QuotedOnlyWhenNeeded) {
  EXPECT_EQ(CsvField("loss"), "loss");
  EXPECT_EQ(CsvField("a b'c"), "a b'c");
  EXPECT_EQ(CsvField("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvField("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(CsvField("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(CsvField(""), "");
}

TEST(GnuplotQuoteTest, SingleQuotesDoubledControlCharactersBlanked) {
  EXPECT_EQ(GnuplotQuote("loss"), "'loss'");
  EXPECT_EQ(GnuplotQuote("it's"), "'it''s'");
  EXPECT_EQ(GnuplotQuote("a\nb\tc\x7f"), "'a b c '");
  // Nothing else is special inside single quotes.
  EXPECT_EQ(GnuplotQuote("\\n \"x\" `ls` @m $v"), "'\\n \"x\" `ls` @m $v'");
}

TEST(MakeGnuplotChartTest, APanelPerMetricALinePerTargetInStepOrder) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const absl::Time t = absl::FromUnixSeconds(1700000000);
  Target run;
  run.kind = Target::kRun;
  run.id = 3;
  Target exec;
  exec.kind = Target::kExecution;
  exec.id = 7;
  const GnuplotChart chart = MakeGnuplotChart({
      {run, "loss", {{1, 0.5, t}, {0, 0.9, t}, {2, nan, t}}},
      {run, "acc", {{0, 0.25, t}}},
      {exec, "loss", {{0, 1e20, t}}},
      {exec, "acc", {{0, nan, t}}},  // no point left: no line
  });
  EXPECT_EQ(chart.panels, 2);
  EXPECT_EQ(chart.skipped_points, 2);
  EXPECT_EQ(chart.script,
            "set terminal svg size 900,720 noenhanced dynamic background '#ffffff'\n"
            "$D1 << EOD\n0 0.9\n1 0.5\nEOD\n"
            "$D2 << EOD\n0 0.25\nEOD\n"
            "$D3 << EOD\n0 1e+20\nEOD\n"
            "set multiplot layout 2,1\n"
            "set key outside right top\nset grid\nset xlabel 'step'\n"
            "set ylabel 'acc'\n"
            "plot $D2 using 1:2 with linespoints title 'run 3'\n"
            "set ylabel 'loss'\n"
            "plot $D1 using 1:2 with linespoints title 'run 3', "
            "$D3 using 1:2 with linespoints title 'exec 7'\n"
            "unset multiplot\n");

  const GnuplotChart nothing = MakeGnuplotChart({{run, "loss", {{0, nan, t}}}});
  EXPECT_EQ(nothing.panels, 0);
  EXPECT_EQ(nothing.skipped_points, 1);
  EXPECT_EQ(nothing.script, "");
}

// --- JSON ---

TEST(JsonWriterTest, NestedValuesIndentedAndEscaped) {
  JsonWriter w;
  w.BeginObject();
  w.Key("s").String("a\"b\\c\n\x01");
  w.Key("i").Int(-3);
  w.Key("d").Double(0.1);
  w.Key("nan").Double(std::nan(""));
  w.Key("b").Bool(true);
  w.Key("n").Null();
  w.Key("empty").BeginArray().EndArray();
  w.Key("list").BeginArray().Int(1).BeginObject().EndObject().EndArray();
  w.EndObject();
  EXPECT_EQ(w.str(),
            "{\n"
            "  \"s\": \"a\\\"b\\\\c\\n\\u0001\",\n"
            "  \"i\": -3,\n"
            "  \"d\": 0.1,\n"
            "  \"nan\": null,\n"
            "  \"b\": true,\n"
            "  \"n\": null,\n"
            "  \"empty\": [],\n"
            "  \"list\": [\n"
            "    1,\n"
            "    {}\n"
            "  ]\n"
            "}\n");
}

TEST(JsonWriterTest, ValidUtf8PassesUnchanged) {
  for (const char* valid : {
           "caf\xC3\xA9",                 // U+00E9, 2 bytes
           "\xE2\x82\xAC 5",              // U+20AC, 3 bytes
           "\xED\x9F\xBF \xEE\x80\x80",   // U+D7FF and U+E000, either side of the surrogates
           "\xEF\xBF\xBF",                // U+FFFF
           "\xF0\x9F\x98\x80",            // U+1F600, 4 bytes
           "\xF4\x8F\xBF\xBF",            // U+10FFFF, the last code point
       }) {
    EXPECT_EQ(JsonWriter::Quote(valid), absl::StrCat("\"", valid, "\"")) << valid;
  }
}

TEST(JsonWriterTest, InvalidUtf8BecomesReplacementCharacters) {
  // One \ufffd per maximal ill-formed subpart (as Python's bytes.decode(errors="replace")).
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"\xC0\xAF", R"(\ufffd\ufffd)"},                          // overlong "/", 2 bytes
      {"\xC1\xBF", R"(\ufffd\ufffd)"},                          // overlong, C1 lead
      {"\xE0\x80\xAF", R"(\ufffd\ufffd\ufffd)"},                // overlong, 3 bytes
      {"\xF0\x80\x80\xAF", R"(\ufffd\ufffd\ufffd\ufffd)"},      // overlong, 4 bytes
      {"\xED\xA0\x80", R"(\ufffd\ufffd\ufffd)"},                // surrogate U+D800
      {"\xED\xBF\xBF", R"(\ufffd\ufffd\ufffd)"},                // surrogate U+DFFF
      {"\xF4\x90\x80\x80", R"(\ufffd\ufffd\ufffd\ufffd)"},      // past U+10FFFF
      {"a\xC3", R"(a\ufffd)"},                                  // truncated at the end
      {"a\xE2\x82", R"(a\ufffd)"},
      {"a\xF0\x9F\x98", R"(a\ufffd)"},
      {"\xE2\x82z", R"(\ufffdz)"},                              // truncated, then ASCII
      {"\xF0\x9F\xC3\xA9", "\\ufffd\xC3\xA9"},                  // truncated, then valid
      {"x\x80y", R"(x\ufffdy)"},                                // lone continuation byte
      {"\xBF\xBF", R"(\ufffd\ufffd)"},
      {"\xFF", R"(\ufffd)"},
      {"\xFE\xF5", R"(\ufffd\ufffd)"},
      {std::string("\xC3\x00", 2), R"(\ufffd\u0000)"},          // control characters still
      {"\xC3\n", R"(\ufffd\n)"},                                // escaped after one
  };
  for (const auto& [in, want] : cases) {
    EXPECT_EQ(JsonWriter::Quote(in), absl::StrCat("\"", want, "\"")) << absl::CEscape(in);
  }
  JsonWriter w;
  w.BeginArray().String("\xFF").EndArray();
  EXPECT_EQ(w.str(), "[\n  \"\\ufffd\"\n]\n");
}

// --- tables ---

TEST(FormatTableTest, NumbersRightTextLeftNoTrailingBlanks) {
  const std::vector<std::vector<std::string>> rows = {
      {"ID", "STEP", "ENTRIES", "SIZE"},
      {"7", "standardize", "12", "1.5 KiB"},
      {"12", "x", "3", "999 B"},
      {"5", "short row"},
  };
  const std::vector<Align> align = {Align::kRight, Align::kLeft, Align::kRight, Align::kRight};
  EXPECT_EQ(FormatTable(rows, align),
            "ID  STEP         ENTRIES     SIZE\n"
            " 7  standardize       12  1.5 KiB\n"
            "12  x                  3    999 B\n"
            " 5  short row\n");
  // Without alignments every column is left-aligned, the last one unpadded.
  EXPECT_EQ(FormatTable({{"a", "bb"}, {"ccc", "d"}}), "a    bb\nccc  d\n");
}

// --- pins ---

TEST(PinsTest, RoundTripSortedAndTolerantOfComments) {
  absl::StatusOr<absl::btree_set<Digest>> pins = ParsePins(
      "# pinned by hand\n\n" + kB.ToHex() + "\n  " + kA.ToHex() + "  \n" + kB.ToHex(), "p");
  ASSERT_TRUE(pins.ok()) << pins.status();
  EXPECT_THAT(*pins, ElementsAre(kA, kB));
  EXPECT_EQ(FormatPins(*pins), kA.ToHex() + "\n" + kB.ToHex() + "\n");
  EXPECT_EQ(*ParsePins(FormatPins(*pins), "p"), *pins);
}

TEST(PinsTest, ABadLineIsDataLossNamingTheLine) {
  absl::StatusOr<absl::btree_set<Digest>> pins =
      ParsePins(kA.ToHex() + "\nnot-a-digest\n", "/ws/pins");
  ASSERT_FALSE(pins.ok());
  EXPECT_TRUE(absl::IsDataLoss(pins.status()));
  EXPECT_THAT(std::string(pins.status().message()), HasSubstr("/ws/pins:2"));
}

// --- store usage and gc ---

TEST(UsageByStepTest, SumsByStepLargestFirstWithUnknownBucket) {
  const Digest a = Digest::Of("a"), b = Digest::Of("b"), c = Digest::Of("c"),
               d = Digest::Of("d");
  const std::vector<StoreEntry> entries = {
      {a, 10, absl::Now()}, {b, 100, absl::Now()}, {c, 5, absl::Now()}, {d, 7, absl::Now()}};
  const absl::flat_hash_map<Digest, std::string> step_of = {
      {a, "load"}, {b, "train"}, {c, "load"}};
  const std::vector<StepUsage> usage = UsageByStep(entries, step_of);
  ASSERT_EQ(usage.size(), 3u);
  EXPECT_EQ(usage[0].step, "train");
  EXPECT_EQ(usage[0].bytes, 100);
  EXPECT_EQ(usage[1].step, "load");
  EXPECT_EQ(usage[1].entries, 2);
  EXPECT_EQ(usage[1].bytes, 15);
  EXPECT_EQ(usage[2].step, kUnknownStep);
  EXPECT_EQ(usage[2].bytes, 7);
}

TEST(CollectGarbageTest, DryRunReportsWhatTheRealRunEvicts) {
  MemoryStore store;
  std::vector<Digest> digests;
  for (int i = 0; i < 6; ++i) digests.push_back(*store.Put(std::string(100, 'a' + i)));
  const absl::btree_set<Digest> pins = {digests[0], digests[3]};

  absl::StatusOr<GcReport> dry = CollectGarbage(store, 250, pins, /*dry_run=*/true);
  ASSERT_TRUE(dry.ok()) << dry.status();
  EXPECT_EQ(store.Stats()->entries, 6);  // nothing deleted
  EXPECT_EQ(dry->result.bytes_before, 600);
  EXPECT_EQ(dry->result.entries_evicted, 4);
  EXPECT_EQ(dry->result.bytes_freed, 400);
  ASSERT_EQ(dry->evicted.size(), 4u);
  for (const StoreEntry& e : dry->evicted) {
    EXPECT_FALSE(pins.contains(e.digest));
    EXPECT_EQ(e.size, 100);
  }

  absl::StatusOr<GcReport> real = CollectGarbage(store, 250, pins, /*dry_run=*/false);
  ASSERT_TRUE(real.ok()) << real.status();
  EXPECT_EQ(real->result.entries_evicted, dry->result.entries_evicted);
  EXPECT_EQ(real->result.bytes_freed, dry->result.bytes_freed);
  std::vector<Digest> dry_digests, real_digests;
  for (const StoreEntry& e : dry->evicted) dry_digests.push_back(e.digest);
  for (const StoreEntry& e : real->evicted) real_digests.push_back(e.digest);
  EXPECT_EQ(dry_digests, real_digests);
  EXPECT_EQ(store.Stats()->entries, 2);
  EXPECT_EQ(store.Stats()->bytes, 200);
  for (const Digest& d : pins) EXPECT_TRUE(*store.Contains(d));
}

// --- process ---

TEST(ProcessTest, RunsAProgramWithInputAndReportsFailure) {
  std::optional<std::string> cat = FindOnPath("cat");
  ASSERT_TRUE(cat.has_value());
  absl::StatusOr<std::string> out = RunProgram(*cat, {}, "some bytes\n");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, "some bytes\n");
  std::optional<std::string> sh = FindOnPath("sh");
  ASSERT_TRUE(sh.has_value());
  out = RunProgram(*sh, {"-c", "echo broken >&2; exit 3"}, "");
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(std::string(out.status().message()), HasSubstr("status 3: broken"));
  EXPECT_FALSE(FindOnPath("no-such-program-mlops").has_value());
}

// --- lineage tree ---

// A chain: execution i reads artifact i-1 and outputs artifact i (execution 1 reads
// artifact 0, which nothing made).
Subgraph Chain(int n) {
  Subgraph g;
  const auto hex = [](int i) { return Digest(7, static_cast<uint64_t>(i)).ToHex(); };
  for (int i = 0; i <= n; ++i) {
    Artifact* a = g.add_artifacts();
    a->set_digest(hex(i));
    a->set_type_name("T");
    a->set_size(8);
  }
  for (int i = 1; i <= n; ++i) {
    Execution* e = g.add_executions();
    e->set_id(i);
    e->set_run_id(1);
    e->set_step_name("step");
    e->set_status(Execution::SUCCEEDED);
    Event* in = g.add_events();
    in->set_execution_id(i);
    in->set_digest(hex(i - 1));
    in->set_kind(Event::INPUT);
    in->set_name("prev");
    Event* out = g.add_events();
    out->set_execution_id(i);
    out->set_digest(hex(i));
    out->set_kind(Event::OUTPUT);
    out->set_name("output");
  }
  return g;
}

TEST(LineageTreeTest, ShallowTreeIsIndentedByLevel) {
  const Subgraph g = Chain(2);
  EXPECT_EQ(LineageTreeFromArtifact(g, /*upstream=*/true, Digest(7, 2).ToHex()),
            absl::StrCat(Digest(7, 2).ToHex().substr(0, 12), "  T  8 B\n",
                         "└─ step #2  (run 1, succeeded)\n",
                         "   └─ prev: ", Digest(7, 1).ToHex().substr(0, 12), "  T  8 B\n",
                         "      └─ step #1  (run 1, succeeded)\n",
                         "         └─ prev: ", Digest(7, 0).ToHex().substr(0, 12),
                         "  T  8 B\n"));
  EXPECT_EQ(LineageTreeFromExecution(g, /*upstream=*/false, 1),
            absl::StrCat("step #1  (run 1, succeeded)\n",
                         "└─ output: ", Digest(7, 1).ToHex().substr(0, 12), "  T  8 B\n",
                         "   └─ step #2  (run 1, succeeded)\n",
                         "      └─ output: ", Digest(7, 2).ToHex().substr(0, 12),
                         "  T  8 B\n"));
}

// A lineage as deep as a long training loop: was a recursion that overflowed the stack, and
// an indentation that made the text quadratic in the depth (gigabytes at 20,000 levels).
TEST(LineageTreeTest, DeepChainIsLinearAndShowsTheLevel) {
  constexpr int kDepth = 100000;
  const Subgraph g = Chain(kDepth);
  const std::string tree = LineageTreeFromArtifact(g, true, Digest(7, kDepth).ToHex());
  const std::vector<absl::string_view> lines = absl::StrSplit(tree, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u * kDepth + 1);
  size_t longest = 0;
  for (absl::string_view l : lines) longest = std::max(longest, l.size());
  EXPECT_LT(longest, 200u);
  // The last line: the chain's first artifact, 2 * kDepth levels down.
  EXPECT_EQ(lines.back(), absl::StrCat("[", 2 * kDepth, "] ", std::string(32 * 3, ' '),
                                       "└─ prev: ", Digest(7, 0).ToHex().substr(0, 12),
                                       "  T  8 B"));
}

}  // namespace
}  // namespace cli
}  // namespace mlops
