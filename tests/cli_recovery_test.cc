// The `mlops` command line and a damaged lineage.db (issue 13, item 2): before recovery the
// reading commands fail, say how to recover, and change nothing (they open the lineage
// read-only); after a program has opened the workspace (and so recovered it), `runs` notes
// the recovery and `show run:N` lists the one run N made, in text and in --json (the schema
// of tools/README.md).
//
// Arguments: the mlops binary (runfiles path).
#include <google/protobuf/struct.pb.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/core/step.h"
#include "mlops/core/workspace.h"
#include "mlops/core/workspace_layout.h"
#include "mlops/testing/damage.h"
#include "mlops/testing/files.h"
#include "mlops/testing/workspace.h"
#include "tests/cli_testing.h"

namespace mlops {
namespace {

using ::google::protobuf::Struct;
using ::google::protobuf::Value;
using ::testing::HasSubstr;

std::string g_mlops;
constexpr int kCalls = 300;

const auto kTwice = MakeStep("cli_recovery.twice", 1, [](int64_t x) { return 2 * x; });

// Runs the mlops binary with `args`.
test::Result Mlops(const std::vector<std::string>& args) { return test::Spawn(g_mlops, args); }

Struct Json(const std::string& text) { return test::ParseJson(text); }

// A workspace in a fresh directory whose one run made kCalls calls; returns its directory.
std::string MakeWorkspace() {
  const std::string dir = test::FreshDir();
  auto ws = test::OpenWorkspace(dir);
  EXPECT_NE(ws, nullptr);
  for (int64_t i = 0; ws != nullptr && i < kCalls; ++i) EXPECT_TRUE(ws->Call(kTwice, i).ok());
  return dir;
}

// Before a program recovers it, the commands fail, say what to do, and change nothing.
TEST(CliRecoveryTest, ReadingCommandsOnADamagedLineageSayHowToRecoverAndChangeNothing) {
  const std::string zeroed = MakeWorkspace();
  test::ZeroHeader(WorkspaceLayout(zeroed).lineage_db());
  const std::string middle = MakeWorkspace();
  const std::string db = WorkspaceLayout(middle).lineage_db();
  const std::vector<int64_t> leaves = test::LeafPages(db, "executions");
  ASSERT_GE(leaves.size(), 4u);
  test::OverwritePage(db, leaves[leaves.size() / 2]);

  for (const auto& [dir, command] :
       std::vector<std::pair<std::string, std::string>>{{zeroed, "runs"}, {middle, "show"}}) {
    SCOPED_TRACE(dir);
    const std::vector<std::string> names = test::ListDir(dir);
    const std::string bytes = test::Slurp(WorkspaceLayout(dir).lineage_db());
    const test::Result r = command == "runs" ? Mlops({"--workspace", dir, "runs"})
                                       : Mlops({"--workspace", dir, "show", "run:1"});
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_THAT(r.err, HasSubstr(WorkspaceLayout(dir).lineage_db()));
    EXPECT_THAT(r.err, HasSubstr("read-write to recover it")) << r.err;
    EXPECT_EQ(test::ListDir(dir), names);
    EXPECT_TRUE(test::Slurp(WorkspaceLayout(dir).lineage_db()) == bytes);
  }
}

// After a program opened the workspace (recovering it), runs and show report the recovery.
TEST(CliRecoveryTest, RunsAndShowReportTheRecovery) {
  const std::string dir = MakeWorkspace();
  test::ZeroHeader(WorkspaceLayout(dir).lineage_db());
  int64_t run = 0;
  {
    ::testing::internal::CaptureStderr();  // the library says it once; not checked here
    auto ws = test::OpenWorkspace(dir);
    ::testing::internal::GetCapturedStderr();
    ASSERT_NE(ws, nullptr);
    run = ws->run_id();
    ASSERT_TRUE(ws->Call(kTwice, int64_t{1}).ok());
  }

  test::Result r = Mlops({"--workspace", dir, "runs"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(absl::StrCat(
                         "note: the lineage database was found damaged and recovered at ")));
  EXPECT_THAT(r.out, HasSubstr(absl::StrCat("by run ", run, ": the damaged file is kept as ",
                                            WorkspaceLayout(dir).lineage_db(), ".damaged-")));
  EXPECT_THAT(r.out, HasSubstr(absl::StrCat("1 runs, ", kCalls, " executions and ",
                                            2 * kCalls, " events were salvaged")));

  r = Mlops({"--workspace", dir, "runs", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Struct runs = Json(r.out);
  ASSERT_EQ(runs.fields().at("runs").list_value().values_size(), 2);
  const auto& recoveries = runs.fields().at("recoveries").list_value();
  ASSERT_EQ(recoveries.values_size(), 1);
  const auto& f = recoveries.values(0).struct_value().fields();
  EXPECT_EQ(f.at("id").number_value(), 1);
  EXPECT_EQ(f.at("run_id").number_value(), run);
  EXPECT_EQ(f.at("pid").kind_case(), Value::kNumberValue);
  EXPECT_THAT(f.at("damaged_path").string_value(),
              HasSubstr(WorkspaceLayout(dir).lineage_db() + ".damaged-"));
  EXPECT_THAT(f.at("reason").string_value(), HasSubstr("not a database"));
  EXPECT_EQ(f.at("runs").number_value(), 1);
  EXPECT_EQ(f.at("runs_recreated").number_value(), 0);
  EXPECT_EQ(f.at("executions").number_value(), kCalls);
  EXPECT_EQ(f.at("events").number_value(), 2 * kCalls);
  EXPECT_TRUE(f.at("complete").bool_value());
  EXPECT_EQ(f.at("method").string_value(), "sql, header rewritten");
  EXPECT_EQ(f.at("time").kind_case(), Value::kStringValue);

  r = Mlops({"--workspace", dir, "show", absl::StrCat("run:", run)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, ::testing::ContainsRegex("\nrecovered +the lineage database was found damaged"));
  r = Mlops({"--workspace", dir, "show", absl::StrCat("run:", run), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Struct shown = Json(r.out);
  ASSERT_EQ(shown.fields().at("recoveries").list_value().values_size(), 1);
  EXPECT_EQ(shown.fields().at("executions").list_value().values_size(), 1);
  // The run that did not recover it lists none.
  r = Mlops({"--workspace", dir, "show", "run:1", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Json(r.out).fields().at("recoveries").list_value().values_size(), 0);
  EXPECT_EQ(Json(r.out).fields().at("executions").list_value().values_size(), kCalls);
}

}  // namespace
}  // namespace mlops

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s MLOPS_BINARY\n", argv[0]);
    return 2;
  }
  mlops::g_mlops = argv[1];
  return RUN_ALL_TESTS();
}
