// Four processes log into one workspace at once: each its own run in one experiment, a
// step whose metric series has 20,000 points, 500 points of the run's own series logged one
// call at a time, params and tags. Afterwards every point is there, in order, exact, and
// each run's values are its own.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/core/context.h"
#include "mlops/core/step.h"
#include "mlops/core/workspace.h"
#include "mlops/lineage/lineage.pb.h"
#include "mlops/lineage/sqlite_lineage_store.h"
#include "mlops/lineage/tracking.h"
#include "mlops/testing/files.h"

namespace mlops {
namespace {

constexpr int kProcesses = 4;
constexpr int kStepPoints = 20000;
constexpr int kRunPoints = 500;

double StepValue(int process, int i) { return process * 1e6 + i * 0.5; }
double RunValue(int process, int i) { return -(process * 1e6 + i); }

const auto kTrain = MakeStep("train", 1, [](Context& ctx, int process) {
  for (int i = 0; i < kStepPoints; ++i) ctx.LogMetric("loss", StepValue(process, i), i);
  ctx.LogParam("process", process);
  return process;
});

// The child's work; returns its exit code.
int Child(const std::string& dir, int process, int gate) {
  char go;
  if (::read(gate, &go, 1) != 0) return 10;  // blocks until the parent closes the pipe
  WorkspaceOptions options;
  options.experiment = "multi";
  options.run_name = absl::StrCat("proc-", process);
  absl::StatusOr<std::unique_ptr<Workspace>> ws = Workspace::Open(dir, options);
  if (!ws.ok()) return 11;
  if (!(*ws)->Call(kTrain, process).ok()) return 12;
  for (int i = 0; i < kRunPoints; ++i) {
    if (!(*ws)->LogMetric("own", RunValue(process, i), i).ok()) return 13;
  }
  if (!(*ws)->LogParam("seed", process * 7).ok()) return 14;
  if (!(*ws)->SetTag("who", absl::StrCat("p", process)).ok()) return 15;
  return (*ws)->Flush().ok() ? 0 : 16;
}

TEST(TrackingMultiprocessTest, FourProcessesLogAndEveryPointIsThere) {
  const std::string dir = test::FreshDir();
  int gate[2];
  ASSERT_EQ(::pipe(gate), 0);
  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(gate[1]);
      ::_exit(Child(dir, p, gate[0]));
    }
    children.push_back(pid);
  }
  ::close(gate[0]);
  ::close(gate[1]);  // all go
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status)) << status;
    EXPECT_EQ(WEXITSTATUS(status), 0);
  }

  SqliteLineageOptions read_only;
  read_only.read_only = true;
  absl::StatusOr<std::unique_ptr<SqliteLineageStore>> store =
      SqliteLineageStore::Open(dir + "/lineage.db", read_only);
  ASSERT_TRUE(store.ok()) << store.status();
  absl::StatusOr<Page<mlops::Run>> runs = (*store)->FindRuns({});
  ASSERT_TRUE(runs.ok()) << runs.status();
  ASSERT_EQ(runs->items.size(), static_cast<size_t>(kProcesses));
  std::vector<bool> seen(kProcesses, false);
  for (const mlops::Run& run : runs->items) {
    EXPECT_EQ(run.experiment(), "multi");
    ASSERT_EQ(run.name().rfind("proc-", 0), 0u) << run.name();
    const int p = run.name().back() - '0';
    ASSERT_TRUE(p >= 0 && p < kProcesses && !seen[p]) << run.name();
    seen[p] = true;

    absl::StatusOr<std::vector<MetricPoint>> own =
        (*store)->MetricSeries(MetricOwner::OfRun(run.id()), "own");
    ASSERT_TRUE(own.ok()) << own.status();
    ASSERT_EQ(own->size(), static_cast<size_t>(kRunPoints));
    for (int i = 0; i < kRunPoints; ++i) {
      ASSERT_EQ((*own)[i].step, i);
      ASSERT_EQ((*own)[i].value, RunValue(p, i));
    }
    absl::StatusOr<std::vector<Execution>> execs = (*store)->ExecutionsOfRun(run.id());
    ASSERT_TRUE(execs.ok()) << execs.status();
    ASSERT_EQ(execs->size(), 1u);
    absl::StatusOr<std::vector<MetricPoint>> loss = (*store)->MetricSeries(
        MetricOwner::OfExecution(run.id(), (*execs)[0].id()), "loss");
    ASSERT_TRUE(loss.ok()) << loss.status();
    ASSERT_EQ(loss->size(), static_cast<size_t>(kStepPoints));
    for (int i = 0; i < kStepPoints; ++i) {
      ASSERT_EQ((*loss)[i].step, i);
      ASSERT_EQ((*loss)[i].value, StepValue(p, i));
    }
    absl::StatusOr<RunValues> values = (*store)->GetRunValues(run.id());
    ASSERT_TRUE(values.ok()) << values.status();
    EXPECT_EQ(values->params.at("seed"), absl::StrCat(p * 7));
    EXPECT_EQ(values->params.at("process"), absl::StrCat(p));
    EXPECT_EQ(values->tags.at("who"), absl::StrCat("p", p));
    EXPECT_EQ(values->metrics.at("loss").value, StepValue(p, kStepPoints - 1));
    EXPECT_EQ(values->metrics.at("own").value, RunValue(p, kRunPoints - 1));
  }
}

}  // namespace
}  // namespace mlops
