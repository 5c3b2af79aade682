// `mlops runs` with --experiment, --filter, --order-by and --columns, and `mlops search
// --step`, end to end: exact tables and JSON from a hand-built lineage.db, paging to the
// end, and a malformed filter as bad usage (exit 2) with the caret message.
//
// Argument: the mlops binary (a runfiles path).
#include <sys/stat.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/lineage/lineage.pb.h"
#include "mlops/lineage/sqlite_lineage_store.h"
#include "mlops/testing/files.h"
#include "mlops/testing/lineage_records.h"
#include "tests/cli_testing.h"

namespace mlops {
namespace {

using test::Field;
using test::kT0;
using test::List;
using test::ParseJson;
using test::Ref;
using test::Result;
using ::testing::HasSubstr;

std::string g_mlops;

class CliSearchTest : public ::testing::Test {
 protected:
  // Runs 1-4 in "sweep" (lr 0.3, 0.1, 0.03, 0.01; auc 0.91, 0.97, 0.95, 0.80; tag team=a
  // for runs 1 and 2), run 5 in "default". Each sweep run has one computing train
  // execution logging lr and auc; run 5 has a cache hit of run 2's.
  static void SetUpTestSuite() {
    workspace_ = new std::string(test::MakeTempDir("cli_search") + "/ws");
    ASSERT_EQ(::mkdir(workspace_->c_str(), 0755), 0);
    std::unique_ptr<SqliteLineageStore> store = test::OpenStore(*workspace_ + "/lineage.db");
    ASSERT_NE(store, nullptr);
    const char* lrs[] = {"0.3", "0.1", "0.03", "0.01"};
    const double aucs[] = {0.91, 0.97, 0.95, 0.80};
    Execution second;
    for (int i = 0; i < 4; ++i) {
      mlops::Run r = test::MakeRun("train", kT0 + 10 * i);
      r.set_experiment("sweep");
      r.set_name(absl::StrCat("lr-", lrs[i]));
      absl::StatusOr<int64_t> run = store->BeginRun(r);
      ASSERT_TRUE(run.ok()) << run.status();
      Execution e = test::Computed(*run, "train", absl::StrCat("a", i), {Ref("data", "d")},
                                   {Ref("model", absl::StrCat("m", i))}, kT0 + 10 * i);
      (*e.mutable_params())["lr"] = lrs[i];
      (*e.mutable_metrics())["auc"] = aucs[i];
      absl::StatusOr<int64_t> id = store->RecordExecution(e);
      ASSERT_TRUE(id.ok()) << id.status();
      e.set_id(*id);
      if (i == 1) second = e;
      if (i < 2) {
        ASSERT_TRUE(store->SetRunTag(*run, "team", "a").ok());
      }
    }
    absl::StatusOr<int64_t> other = store->BeginRun(test::MakeRun("eval", kT0 + 100));
    ASSERT_TRUE(other.ok());
    ASSERT_TRUE(store->RecordExecution(test::HitOf(second, *other, kT0 + 100)).ok());
    ASSERT_TRUE(store->Flush().ok());
  }
  static void TearDownTestSuite() { delete workspace_; }

  Result Mlops(std::vector<std::string> args) {
    args.insert(args.begin(), {"--workspace", *workspace_});
    return test::Spawn(g_mlops, args, {"TZ=UTC"});
  }

  static std::string* workspace_;
};

std::string* CliSearchTest::workspace_ = nullptr;

TEST_F(CliSearchTest, RunsOfAnExperimentBestFirstWithColumns) {
  const Result r = Mlops({"runs", "--experiment", "sweep", "--order-by", "metrics.auc DESC",
                          "--columns", "params.lr,metrics.auc,tags.team"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "ID  EXPERIMENT  NAME     START                DURATION  STATUS     params.lr  "
            "metrics.auc  tags.team\n"
            " 2  sweep       lr-0.1   2023-11-14 22:13:30     5.00s  SUCCEEDED  0.1               0.97  a\n"
            " 3  sweep       lr-0.03  2023-11-14 22:13:40     5.00s  SUCCEEDED  0.03              0.95\n"
            " 1  sweep       lr-0.3   2023-11-14 22:13:20     5.00s  SUCCEEDED  0.3               0.91  a\n"
            " 4  sweep       lr-0.01  2023-11-14 22:13:50     5.00s  SUCCEEDED  0.01               0.8\n");
}

TEST_F(CliSearchTest, AFilterOnMetricsParamsTagsAndAttributes) {
  Result r = Mlops({"runs", "--filter",
                    "metrics.auc > 0.9 AND tags.team = 'a' AND attributes.status = 'SUCCEEDED'",
                    "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const google::protobuf::Struct json = ParseJson(r.out);
  const google::protobuf::ListValue& runs = List(Field(json, "runs"));
  ASSERT_EQ(runs.values_size(), 2);
  EXPECT_EQ(Field(runs.values(0), "id").number_value(), 2);  // newest first
  EXPECT_EQ(Field(runs.values(1), "id").number_value(), 1);
  EXPECT_EQ(Field(Field(runs.values(0), "params"), "lr").string_value(), "0.1");
  EXPECT_EQ(Field(json, "next_page_token").string_value(), "");
  // Params are strings: 0.10 is not 0.1.
  r = Mlops({"runs", "--filter", "params.lr = '0.10'"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "no runs match\n");
  // A hit's run has the values of what it reused.
  r = Mlops({"runs", "--filter", "params.lr = '0.1'", "--columns", "metrics.auc"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\n 5  default"));
  EXPECT_THAT(r.out, HasSubstr("\n 2  sweep"));
}

TEST_F(CliSearchTest, PagesToTheEnd) {
  std::vector<int> ids;
  std::string token;
  for (int page = 0; page < 10; ++page) {
    std::vector<std::string> args = {"runs", "--order-by", "metrics.auc", "--limit", "2",
                                     "--json"};
    if (!token.empty()) args.insert(args.end(), {"--page-token", token});
    const Result r = Mlops(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const google::protobuf::Struct json = ParseJson(r.out);
    for (const auto& run : List(Field(json, "runs")).values()) {
      ids.push_back(static_cast<int>(Field(run, "id").number_value()));
    }
    token = Field(json, "next_page_token").string_value();
    if (token.empty()) break;
  }
  // Ascending auc; run 5's (0.97, from its hit, logged later) after run 2's.
  EXPECT_THAT(ids, ::testing::ElementsAre(4, 1, 3, 5, 2));
}

TEST_F(CliSearchTest, SearchListsTheStepsComputingExecutions) {
  const Result r = Mlops({"search", "--step", "train", "--filter", "metrics.auc >= 0.95",
                          "--order-by", "metrics.auc DESC"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "EXEC  RUN  EXPERIMENT  RUN NAME  START                STATUS     params.lr  "
            "metrics.auc\n"
            "   2    2  sweep       lr-0.1    2023-11-14 22:13:30  SUCCEEDED  0.1               0.97\n"
            "   3    3  sweep       lr-0.03   2023-11-14 22:13:40  SUCCEEDED  0.03              0.95\n");
}

TEST_F(CliSearchTest, BadFiltersAreBadUsageWithACaret) {
  Result r = Mlops({"runs", "--filter", "metrics.auc >> 1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("invalid filter"));
  EXPECT_THAT(r.err, HasSubstr("  metrics.auc >> 1\n"));
  EXPECT_THAT(r.err, HasSubstr("\n               ^\n"));  // under the second '>' 
  r = Mlops({"search", "--step", "train", "--filter", "foo.x = 1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("^"));
  r = Mlops({"search", "--filter", "metrics.auc > 1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--step"));
  r = Mlops({"runs", "--columns", "auc"});
  EXPECT_EQ(r.exit_code, 2);
  r = Mlops({"runs", "--program", "train", "--filter", "metrics.auc > 1"});
  EXPECT_EQ(r.exit_code, 2);
  // SQL in a value is a string that matches nothing.
  r = Mlops({"runs", "--filter", "params.lr = '; DROP TABLE runs; --'"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "no runs match\n");
  EXPECT_EQ(Mlops({"runs", "--limit", "0"}).exit_code, 0);
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
