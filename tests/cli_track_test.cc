// The experiment-tracking commands of the `mlops` command line end to end: `experiments`,
// `compare`, `metrics` (text, csv, json, and svg drawn by the real gnuplot), and the
// experiment, name, tags, params and metrics that `runs` and `show run:N` now print.
//
// The workspace is a lineage.db written through SqliteLineageStore, so every value is
// known and the outputs are checked exactly (in UTC: TZ=UTC for the local times).
//
// Argument: the mlops binary (a runfiles path).
#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/lineage/sqlite_lineage_store.h"
#include "mlops/testing/files.h"
#include "mlops/testing/lineage_records.h"
#include "tests/cli_testing.h"

namespace mlops {
namespace {

using test::Field;
using test::H;
using test::kT0;
using test::List;
using test::ParseJson;
using test::Ref;
using test::Result;
using ::testing::HasSubstr;
using ::testing::Not;

std::string g_mlops;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

absl::Time At(int64_t seconds) { return absl::FromUnixSeconds(kT0 + seconds); }

// Fails the test (and returns false) unless `s` is OK.
bool Ok(const absl::Status& s) {
  EXPECT_TRUE(s.ok()) << s;
  return s.ok();
}

class CliTrackTest : public ::testing::Test {
 protected:
  // The workspace the read-only tests share:
  //   run 1 "baseline" (mnist): lr 0.1, epochs 10, tag team=vision, its own loss series
  //     0.9, 0.5, NaN; split reads csv1, train logs acc 0.75 as a single value.
  //   run 2 "wide" (mnist): lr 0.01, epochs 10, loss +inf, 0.4, 0.3; split reads csv2;
  //     train logs a val_loss series 0.7, 0.6; another compiler, uncommitted changes.
  //   run 3 (default experiment): eval, nothing logged.
  static void SetUpTestSuite() {
    workspace_ = new std::string(test::MakeTempDir("cli_track") + "/ws");
    ASSERT_EQ(::mkdir(workspace_->c_str(), 0755), 0);
    std::unique_ptr<SqliteLineageStore> store = test::OpenStore(*workspace_ + "/lineage.db");
    ASSERT_NE(store, nullptr);

    mlops::Run r1 = test::MakeRun("train", kT0);
    r1.set_experiment("mnist");
    r1.set_name("baseline");
    Environment* env = r1.mutable_environment();
    env->set_compiler("g++ 12");
    env->set_os("Linux");
    env->set_cpu("x86");
    (*env->mutable_library_versions())["protobuf"] = "3.21";
    env->set_source_revision(std::string(40, '1'));
    env->set_source_state(Environment::SOURCE_CLEAN);
    absl::StatusOr<int64_t> run1 = store->BeginRun(r1);
    ASSERT_TRUE(Ok(run1.status()));
    ASSERT_TRUE(Ok(store->SetRunTag(*run1, "team", "vision")));
    ASSERT_TRUE(Ok(store->LogRunParam(*run1, "lr", "0.1")));
    ASSERT_TRUE(Ok(store->LogRunParam(*run1, "epochs", "10")));
    ASSERT_TRUE(Ok(store->LogMetricPoints(MetricOwner::OfRun(*run1), "loss",
                                          {{0, 0.9, At(1)}, {1, 0.5, At(2)}, {2, kNaN, At(3)}})));
    ASSERT_TRUE(Ok(store
                       ->RecordExecution(test::Exec(*run1, "split", {Ref("data", "csv1")},
                                                    {Ref("0", "train1")}, false, kT0 + 1))
                       .status()));
    Execution train1 = test::Exec(*run1, "train", {Ref("train", "train1"), Ref("seed", "seed1")},
                                  {Ref("0", "model1")}, false, kT0 + 2);
    (*train1.mutable_metrics())["acc"] = 0.75;
    ASSERT_TRUE(Ok(store->RecordExecution(train1).status()));

    mlops::Run r2 = r1;
    r2.set_name("wide");
    *r2.mutable_start_time() = test::Ts(kT0 + 100);
    *r2.mutable_end_time() = test::Ts(kT0 + 105);
    r2.mutable_environment()->set_compiler("g++ 13");
    r2.mutable_environment()->set_source_revision(std::string(40, '2'));
    r2.mutable_environment()->set_source_state(Environment::SOURCE_MODIFIED);
    absl::StatusOr<int64_t> run2 = store->BeginRun(r2);
    ASSERT_TRUE(Ok(run2.status()));
    ASSERT_TRUE(Ok(store->LogRunParam(*run2, "lr", "0.01")));
    ASSERT_TRUE(Ok(store->LogRunParam(*run2, "epochs", "10")));
    ASSERT_TRUE(
        Ok(store->LogMetricPoints(MetricOwner::OfRun(*run2), "loss",
                                  {{0, kInf, At(101)}, {1, 0.4, At(102)}, {2, 0.3, At(103)}})));
    ASSERT_TRUE(Ok(store
                       ->RecordExecution(test::Exec(*run2, "split", {Ref("data", "csv2")},
                                                    {Ref("0", "train2")}, false, kT0 + 101))
                       .status()));
    absl::StatusOr<int64_t> train2 = store->RecordExecution(
        test::Exec(*run2, "train", {Ref("train", "train2"), Ref("seed", "seed1")},
                   {Ref("0", "model2")}, false, kT0 + 102));
    ASSERT_TRUE(Ok(train2.status()));
    ASSERT_TRUE(Ok(store->LogMetricPoints(MetricOwner::OfExecution(*run2, *train2), "val_loss",
                                          {{0, 0.7, At(102)}, {1, 0.6, At(103)}})));

    ASSERT_TRUE(Ok(store->BeginRun(test::MakeRun("eval", kT0 + 200)).status()));
    ASSERT_TRUE(Ok(store->Flush()));
    ASSERT_EQ(*run1, 1);
    ASSERT_EQ(*run2, 2);
    ASSERT_EQ(*train2, 4);
  }

  static Result Mlops(std::vector<std::string> args, std::vector<std::string> env = {}) {
    args.insert(args.begin(), {"--workspace", *workspace_});
    env.push_back("TZ=UTC");
    return test::Spawn(g_mlops, args, env);
  }
  // The output of a command that succeeds.
  static std::string Out(const std::vector<std::string>& args) {
    const Result r = Mlops(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    return r.out;
  }

  static std::string* workspace_;
};

std::string* CliTrackTest::workspace_ = nullptr;

TEST_F(CliTrackTest, ExperimentsListsEachWithItsRunsAndLastStart) {
  EXPECT_EQ(Out({"experiments"}),
            "EXPERIMENT  RUNS  LAST START\n"
            "default        1  2023-11-14 22:16:40\n"
            "mnist          2  2023-11-14 22:15:00\n");
  EXPECT_EQ(Out({"experiments", "--json"}), R"({
  "experiments": [
    {
      "id": 1,
      "name": "default",
      "runs": 1,
      "last_start": "2023-11-14T22:16:40.000000Z"
    },
    {
      "id": 2,
      "name": "mnist",
      "runs": 2,
      "last_start": "2023-11-14T22:15:00.000000Z"
    }
  ]
}
)");
}

TEST_F(CliTrackTest, RunsShowExperimentAndName) {
  // HITS stays the last column.
  EXPECT_EQ(Out({"runs"}),
            "ID  PROGRAM  EXPERIMENT  NAME      START                DURATION  STATUS     "
            "EXECUTIONS  HITS\n"
            " 3  eval     default     eval-3    2023-11-14 22:16:40     5.00s  SUCCEEDED     "
            "      0     0\n"
            " 2  train    mnist       wide      2023-11-14 22:15:00     5.00s  SUCCEEDED     "
            "      2     0\n"
            " 1  train    mnist       baseline  2023-11-14 22:13:20     5.00s  SUCCEEDED     "
            "      2     0\n");
  // JSON only adds: the old fields are there as they were.
  const google::protobuf::Struct runs = ParseJson(Out({"runs", "--json"}));
  const google::protobuf::ListValue& list = List(Field(runs, "runs"));
  ASSERT_EQ(list.values_size(), 3);
  EXPECT_EQ(Field(list.values(0), "experiment").string_value(), "default");
  EXPECT_EQ(Field(list.values(0), "name").string_value(), "eval-3");
  EXPECT_EQ(Field(list.values(2), "experiment").string_value(), "mnist");
  EXPECT_EQ(Field(list.values(2), "name").string_value(), "baseline");
  EXPECT_EQ(Field(list.values(2), "program").string_value(), "train");
  EXPECT_EQ(Field(list.values(2), "executions").number_value(), 2);
  EXPECT_EQ(Field(list.values(2), "hits").number_value(), 0);
  EXPECT_EQ(Field(list.values(2), "start_time").string_value(), "2023-11-14T22:13:20.000000Z");
}

TEST_F(CliTrackTest, ShowRunListsTagsParamsAndMetrics) {
  EXPECT_EQ(Out({"show", "run:1"}),
            "run         1\n"
            "program     train\n"
            "experiment  mnist\n"
            "name        baseline\n"
            "args        --flag\n"
            "status      SUCCEEDED\n"
            "start       2023-11-14 22:13:20\n"
            "end         2023-11-14 22:13:25\n"
            "duration    5.00s\n"
            "host        host\n"
            "user        user\n"
            "executions  2 (0 from the cache, 0 failed)\n"
            "compiler    g++ 12\n"
            "os          Linux\n"
            "cpu         x86\n"
            "source      1111111111111111111111111111111111111111\n"
            "\n"
            "tags, params and metrics:\n"
            "  tag     team    vision\n"
            "  param   epochs  10\n"
            "  param   lr      0.1\n"
            "  metric  acc     0.75 (step 0, exec 2)\n"
            "  metric  loss    nan (step 2)\n"
            "\n"
            "ID  RUN  STEP   VERSION  STATUS     HIT  DURATION  OUTPUTS\n"
            " 1    1  split  1        SUCCEEDED  -       1.00s  " +
                H("train1").substr(0, 12) +
                "\n"
                " 2    1  train  1        SUCCEEDED  -       1.00s  " +
                H("model1").substr(0, 12) + "\n");
  // A run that logged nothing has no such section.
  EXPECT_THAT(Out({"show", "run:3"}), Not(HasSubstr("tags, params and metrics")));

  const google::protobuf::Struct shown = ParseJson(Out({"show", "run:2", "--json"}));
  const google::protobuf::Value& run = Field(shown, "run");
  EXPECT_EQ(Field(run, "experiment").string_value(), "mnist");
  EXPECT_EQ(Field(run, "name").string_value(), "wide");
  EXPECT_EQ(Field(Field(run, "environment"), "compiler").string_value(), "g++ 13");
  EXPECT_EQ(Field(run, "tags").struct_value().fields_size(), 0);
  EXPECT_EQ(Field(Field(run, "params"), "lr").string_value(), "0.01");
  EXPECT_EQ(Field(Field(run, "params"), "epochs").string_value(), "10");
  const google::protobuf::Value& loss = Field(Field(run, "metrics"), "loss");
  EXPECT_EQ(Field(loss, "value").number_value(), 0.3);
  EXPECT_EQ(Field(loss, "step").number_value(), 2);
  EXPECT_EQ(Field(loss, "time").string_value(), "2023-11-14T22:15:03.000000Z");
  EXPECT_EQ(Field(loss, "execution_id").number_value(), 0);
  EXPECT_EQ(Field(Field(Field(run, "metrics"), "val_loss"), "execution_id").number_value(), 4);
  EXPECT_EQ(List(Field(shown, "executions")).values_size(), 2);
  // NaN, which JSON lacks, is the string "NaN".
  EXPECT_EQ(
      Field(Field(Field(ParseJson(Out({"show", "run:1", "--json"})), "run"), "metrics"), "loss")
          .struct_value()
          .fields()
          .at("value")
          .string_value(),
      "NaN");
}

TEST_F(CliTrackTest, CompareRunsSideBySide) {
  const std::string header =
      "              run 1           run 2\n"
      "experiment    mnist           mnist\n"
      "name          baseline        wide\n"
      "program       train           train\n"
      "status        SUCCEEDED       SUCCEEDED\n"
      "source        111111111111    222222222222 (uncommitted changes)\n"
      "params:\n";
  const std::string rest =
      "metrics:\n"
      "  acc         0.75            -\n"
      "  loss        nan [0.5, 0.9]  0.3 [0.3, inf]\n"
      "  val_loss    -               0.6 [0.6, 0.7]\n"
      "inputs:\n"
      "  split.data  " +
      H("csv1").substr(0, 12) + "    " + H("csv2").substr(0, 12) +
      "\n"
      "  train.seed  " +
      H("seed1").substr(0, 12) + "    " + H("seed1").substr(0, 12) +
      "\n"
      "environment:\n"
      "  compiler    g++ 12          g++ 13\n";
  EXPECT_EQ(Out({"compare", "1", "run:2"}), header + "  lr          0.1             0.01\n" + rest);
  EXPECT_EQ(
      Out({"compare", "1", "2", "--all-params"}),
      header + "  epochs      10              10\n  lr          0.1             0.01\n" + rest);
  // The same run twice: nothing differs.
  EXPECT_EQ(Out({"compare", "1", "1"}),
            "              run 1           run 1\n"
            "experiment    mnist           mnist\n"
            "name          baseline        baseline\n"
            "program       train           train\n"
            "status        SUCCEEDED       SUCCEEDED\n"
            "source        111111111111    111111111111\n"
            "params:       (none differ)\n"
            "metrics:\n"
            "  acc         0.75            0.75\n"
            "  loss        nan [0.5, 0.9]  nan [0.5, 0.9]\n"
            "inputs:\n"
            "  split.data  " +
                H("csv1").substr(0, 12) + "    " + H("csv1").substr(0, 12) +
                "\n"
                "  train.seed  " +
                H("seed1").substr(0, 12) + "    " + H("seed1").substr(0, 12) +
                "\n"
                "environment:  (none differs)\n");
}

TEST_F(CliTrackTest, CompareAnExecutionWithARun) {
  EXPECT_EQ(Out({"compare", "exec:4", "run:1"}),
            "              exec 4                              run 1\n"
            "run           2                                   1\n"
            "step          train                               -\n"
            "experiment    mnist                               mnist\n"
            "name          wide                                baseline\n"
            "program       train                               train\n"
            "status        SUCCEEDED                           SUCCEEDED\n"
            "source        222222222222 (uncommitted changes)  111111111111\n"
            "params:\n"
            "  epochs      -                                   10\n"
            "  lr          -                                   0.1\n"
            "metrics:\n"
            "  acc         -                                   0.75\n"
            "  loss        -                                   nan [0.5, 0.9]\n"
            "  val_loss    0.6 [0.6, 0.7]                      -\n"
            "inputs:\n"
            "  seed        " +
                H("seed1").substr(0, 12) +
                "                        -\n"
                "  split.data  -                                   " +
                H("csv1").substr(0, 12) +
                "\n"
                "  train       " +
                H("train2").substr(0, 12) +
                "                        -\n"
                "  train.seed  -                                   " +
                H("seed1").substr(0, 12) +
                "\n"
                "environment:\n"
                "  compiler    g++ 13                              g++ 12\n");
  EXPECT_EQ(Out({"compare", "exec:4", "run:1", "--json"}),
            absl::StrReplaceAll(
                R"({
  "targets": [
    {
      "target": "exec:4",
      "kind": "execution",
      "id": 4,
      "run_id": 2,
      "step": "train",
      "experiment": "mnist",
      "name": "wide",
      "program": "train",
      "status": "SUCCEEDED",
      "source_revision": "2222222222222222222222222222222222222222",
      "source_modified": true
    },
    {
      "target": "run:1",
      "kind": "run",
      "id": 1,
      "run_id": 1,
      "step": "",
      "experiment": "mnist",
      "name": "baseline",
      "program": "train",
      "status": "SUCCEEDED",
      "source_revision": "1111111111111111111111111111111111111111",
      "source_modified": false
    }
  ],
  "all_params": false,
  "params": [
    {
      "name": "epochs",
      "differs": true,
      "values": [
        null,
        "10"
      ]
    },
    {
      "name": "lr",
      "differs": true,
      "values": [
        null,
        "0.1"
      ]
    }
  ],
  "metrics": [
    {
      "name": "acc",
      "differs": true,
      "values": [
        null,
        {
          "last": 0.75,
          "last_step": 0,
          "min": 0.75,
          "max": 0.75,
          "points": 1
        }
      ]
    },
    {
      "name": "loss",
      "differs": true,
      "values": [
        null,
        {
          "last": "NaN",
          "last_step": 2,
          "min": 0.5,
          "max": 0.9,
          "points": 3
        }
      ]
    },
    {
      "name": "val_loss",
      "differs": true,
      "values": [
        {
          "last": 0.6,
          "last_step": 1,
          "min": 0.6,
          "max": 0.7,
          "points": 2
        },
        null
      ]
    }
  ],
  "inputs": [
    {
      "name": "seed",
      "differs": true,
      "values": [
        "{seed1}",
        null
      ]
    },
    {
      "name": "split.data",
      "differs": true,
      "values": [
        null,
        "{csv1}"
      ]
    },
    {
      "name": "train",
      "differs": true,
      "values": [
        "{train2}",
        null
      ]
    },
    {
      "name": "train.seed",
      "differs": true,
      "values": [
        null,
        "{seed1}"
      ]
    }
  ],
  "environment": [
    {
      "name": "compiler",
      "differs": true,
      "values": [
        "g++ 13",
        "g++ 12"
      ]
    }
  ]
}
)",
                {{"{seed1}", H("seed1")}, {"{csv1}", H("csv1")}, {"{train2}", H("train2")}}));
}

TEST_F(CliTrackTest, MetricsAsTextCsvAndJson) {
  EXPECT_EQ(Out({"metrics", "1", "run:2"}),
            "TARGET  METRIC    STEP  VALUE  TIME\n"
            "run:1   acc          0   0.75  2023-11-14 22:13:23\n"
            "run:1   loss         0    0.9  2023-11-14 22:13:21\n"
            "run:1   loss         1    0.5  2023-11-14 22:13:22\n"
            "run:1   loss         2    nan  2023-11-14 22:13:23\n"
            "run:2   loss         0    inf  2023-11-14 22:15:01\n"
            "run:2   loss         1    0.4  2023-11-14 22:15:02\n"
            "run:2   loss         2    0.3  2023-11-14 22:15:03\n"
            "run:2   val_loss     0    0.7  2023-11-14 22:15:02\n"
            "run:2   val_loss     1    0.6  2023-11-14 22:15:03\n");
  // Names pick metrics; a target without one (run 1 has no val_loss) shows none of it.
  EXPECT_EQ(Out({"metrics", "run:1", "exec:4", "val_loss", "acc", "--format", "csv"}),
            "target,metric,step,value,time\n"
            "run:1,acc,0,0.75,2023-11-14T22:13:23.000000Z\n"
            "exec:4,val_loss,0,0.7,2023-11-14T22:15:02.000000Z\n"
            "exec:4,val_loss,1,0.6,2023-11-14T22:15:03.000000Z\n");
  EXPECT_EQ(Out({"metrics", "2", "loss", "--format", "csv"}),
            "target,metric,step,value,time\n"
            "run:2,loss,0,inf,2023-11-14T22:15:01.000000Z\n"
            "run:2,loss,1,0.4,2023-11-14T22:15:02.000000Z\n"
            "run:2,loss,2,0.3,2023-11-14T22:15:03.000000Z\n");
  const std::string json = R"({
  "series": [
    {
      "target": "run:1",
      "kind": "run",
      "id": 1,
      "metric": "loss",
      "points": [
        {
          "step": 0,
          "value": 0.9,
          "time": "2023-11-14T22:13:21.000000Z"
        },
        {
          "step": 1,
          "value": 0.5,
          "time": "2023-11-14T22:13:22.000000Z"
        },
        {
          "step": 2,
          "value": "NaN",
          "time": "2023-11-14T22:13:23.000000Z"
        }
      ]
    }
  ]
}
)";
  EXPECT_EQ(Out({"metrics", "1", "loss", "--json"}), json);
  EXPECT_EQ(Out({"metrics", "1", "loss", "--format", "json"}), json);
  EXPECT_EQ(Out({"metrics", "3"}), "no metrics recorded for run:3\n");
  EXPECT_EQ(Out({"metrics", "3", "--format", "csv"}), "target,metric,step,value,time\n");

  const std::string file = test::MakeTempDir("cli_track_out") + "/loss.csv";
  EXPECT_EQ(Out({"metrics", "2", "loss", "--format", "csv", "--output", file}), "");
  EXPECT_EQ(test::Slurp(file), Out({"metrics", "2", "loss", "--format", "csv"}));
}

TEST_F(CliTrackTest, MetricsSvgIsALineChartDrawnByGnuplot) {
  const std::string file = test::MakeTempDir("cli_track_svg") + "/metrics.svg";
  const Result r = Mlops({"metrics", "1", "2", "--format", "svg", "--output", file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  // Run 1's NaN and run 2's +inf loss cannot be drawn: said on stderr.
  EXPECT_EQ(r.err,
            "mlops metrics: note: 2 NaN or infinite points are not drawn (the text, csv and "
            "json formats show them)\n");
  const std::string svg = test::Slurp(file);
  EXPECT_THAT(svg, HasSubstr("<svg"));
  EXPECT_THAT(svg, HasSubstr("</svg>"));
  // One panel per metric: x is "step", y the metric; the legend names the targets.
  for (const char* text : {"step", "acc", "loss", "val_loss", "run 1", "run 2"}) {
    EXPECT_THAT(svg, HasSubstr(absl::StrCat("<text>", text, "</text>"))) << text;
  }
  // To stdout without --output; an execution is "exec N" in the legend.
  const Result exec = Mlops({"metrics", "exec:4", "--format", "svg"});
  ASSERT_EQ(exec.exit_code, 0) << exec.err;
  EXPECT_EQ(exec.err, "");
  EXPECT_THAT(exec.out, HasSubstr("<svg"));
  EXPECT_THAT(exec.out, HasSubstr("<text>exec 4</text>"));
  EXPECT_THAT(exec.out, HasSubstr("<text>val_loss</text>"));
  EXPECT_THAT(exec.out, Not(HasSubstr("<text>loss</text>")));
}

TEST_F(CliTrackTest, MetricsSvgWithoutGnuplotSaysHowToInstallIt) {
  const Result r = Mlops({"metrics", "1", "--format", "svg"}, {"PATH=/nonexistent-for-mlops-test"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            "mlops metrics: gnuplot is not installed; install it with: sudo apt-get install "
            "gnuplot-nox\n");
}

TEST_F(CliTrackTest, BadUsageIsExitCodeTwo) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"experiments", "extra"},
           {"experiments", "--all"},
           {"compare", "1"},
           {"compare", "1", "abc"},
           {"compare", "1", "run:x"},
           {"compare", "1", "2", "--bogus"},
           {"metrics"},
           {"metrics", "loss"},
           {"metrics", "run:0"},
           {"metrics", "exec:x", "loss"},
           {"metrics", "1", "--format", "png"},
           {"metrics", "1", "--json", "--format", "csv"},
           {"metrics", "1", "metric:"},
       }) {
    const Result r = Mlops(args);
    EXPECT_EQ(r.exit_code, 2) << absl::StrJoin(args, " ") << "\n" << r.err;
    EXPECT_THAT(r.err, HasSubstr("usage: mlops " + args[0])) << absl::StrJoin(args, " ");
  }
}

TEST_F(CliTrackTest, MissingTargetsAndMetricsAreErrorsNamingThem) {
  const auto failure = [](const std::vector<std::string>& args) {
    const Result r = Mlops(args);
    EXPECT_EQ(r.exit_code, 1) << absl::StrJoin(args, " ") << "\n" << r.err;
    return r.err;
  };
  EXPECT_THAT(failure({"compare", "1", "99"}), HasSubstr("no run with id 99"));
  EXPECT_THAT(failure({"compare", "1", "exec:99"}), HasSubstr("no execution with id 99"));
  EXPECT_THAT(failure({"metrics", "1", "exec:99"}), HasSubstr("no execution with id 99"));
  EXPECT_EQ(failure({"metrics", "1", "exec:4", "nosuch"}),
            "mlops metrics: no metric \"nosuch\" in run:1, exec:4\n");
  EXPECT_EQ(failure({"metrics", "3", "--format", "svg"}),
            "mlops metrics: nothing to draw: no metrics recorded for run:3\n");
}

// Metric names are user text: in the gnuplot script they are quoted so that gnuplot
// expands nothing in them (no `command`, no @macro, no backslash escapes), and in CSV
// quoted as RFC 4180 says.
TEST(CliTrackNamesTest, UserTextReachesGnuplotAndCsvOnlyAsText) {
  const std::string root = test::MakeTempDir("cli_track_names");
  const std::string ws = root + "/ws";
  ASSERT_EQ(::mkdir(ws.c_str(), 0755), 0);
  // The commands would create $TEST_TMPDIR/PWNED (the shell gnuplot would start for
  // `...` expands the variable), where this test can look.
  const char* tmp = std::getenv("TEST_TMPDIR");
  ASSERT_NE(tmp, nullptr);
  const std::string marker = absl::StrCat(tmp, "/PWNED");
  const std::string command = "touch \"$TEST_TMPDIR/PWNED\"";
  const std::string name =
      absl::StrCat("it's \"q\" \\n `", command, "` $(", command, ") @x <&>,\nnext");
  {
    std::unique_ptr<SqliteLineageStore> store = test::OpenStore(ws + "/lineage.db");
    ASSERT_NE(store, nullptr);
    absl::StatusOr<int64_t> run = store->BeginRun(test::MakeRun("train", kT0));
    ASSERT_TRUE(Ok(run.status()));
    ASSERT_TRUE(Ok(store->LogMetricPoints(MetricOwner::OfRun(*run), name,
                                          {{0, 1.5, At(1)}, {1, 2.5, At(2)}})));
    ASSERT_TRUE(Ok(store->LogMetricPoints(MetricOwner::OfRun(*run), "42", {{0, 7, At(3)}})));
  }
  const auto mlops = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--workspace", ws});
    return test::Spawn(g_mlops, args, {"TZ=UTC"});
  };
  const Result svg = mlops({"metrics", "1", "--format", "svg"});
  ASSERT_EQ(svg.exit_code, 0) << svg.err;
  EXPECT_FALSE(test::Exists(marker)) << "gnuplot ran a command from a metric name";
  // The line break became a space; gnuplot escapes < and & for XML itself.
  EXPECT_THAT(svg.out, HasSubstr(absl::StrCat("<text>it's \"q\" \\n `", command, "` $(",
                                              command, ") @x &lt;&amp;>, next</text>")));
  EXPECT_THAT(svg.out, HasSubstr("<text>42</text>"));

  // metric:NAME names a metric that looks like an id.
  const Result csv = mlops({"metrics", "1", "metric:42", "--format", "csv"});
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  EXPECT_EQ(csv.out, "target,metric,step,value,time\nrun:1,42,0,7,2023-11-14T22:13:23.000000Z\n");
  const Result all = mlops({"metrics", "1", "--format", "csv"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  const std::string quoted =
      absl::StrCat("\"", absl::StrReplaceAll(name, {{"\"", "\"\""}}), "\"");
  EXPECT_EQ(all.out, absl::StrCat("target,metric,step,value,time\n"
                                  "run:1,42,0,7,2023-11-14T22:13:23.000000Z\n"
                                  "run:1,",
                                  quoted,
                                  ",0,1.5,2023-11-14T22:13:21.000000Z\n"
                                  "run:1,",
                                  quoted, ",1,2.5,2023-11-14T22:13:22.000000Z\n"));
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
