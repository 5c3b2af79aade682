// Four processes open one workspace directory at the same moment and call the same step on
// the same inputs at the same moment: all succeed, agree on the value, its digest and the
// step's seed, and the lineage afterwards holds four runs.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "mlops/codec/codec.h"
#include "mlops/core/context.h"
#include "mlops/core/step.h"
#include "mlops/core/stored.h"
#include "mlops/core/workspace.h"
#include "mlops/lineage/lineage.pb.h"
#include "mlops/lineage/lineage_store.h"
#include "mlops/lineage/sqlite_lineage_store.h"
#include "mlops/core/workspace_layout.h"

namespace mlops {
namespace {

namespace fs = std::filesystem;

constexpr int kProcesses = 4;

// The step every process calls: slow enough that the calls overlap, and a function of its
// inputs and seed only.
std::vector<double> Simulate(Context& ctx, const std::string& name, int n) {
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::mt19937_64 rng(ctx.seed());
  std::vector<double> out(static_cast<size_t>(n));
  for (double& d : out) d = static_cast<double>(rng() % 1000000) / 1000.0 + name.size();
  ctx.LogParam("n", n);
  ctx.LogMetric("first", out.empty() ? 0.0 : out[0]);
  return out;
}

const auto kSimulate = MakeStep("simulate", 1, &Simulate);

struct ChildReport {
  bool ok = false;
  std::string digest;
  int64_t size = 0;
  uint64_t seed = 0;
  int64_t run_id = 0;
  double sum = 0;
  std::string error;
};

bool ReadAll(int fd, std::string* out) {
  char buf[4096];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    out->append(buf, static_cast<size_t>(n));
  }
}

void WriteAll(int fd, const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    const ssize_t n = ::write(fd, s.data() + done, s.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

// Blocks until `fd` reaches end of file (every writer closed it).
void WaitForClose(int fd) {
  std::string ignored;
  ReadAll(fd, &ignored);
}

// The child: waits at the first gate, opens the workspace, reports that it is ready, waits
// at the second gate, calls the step, and reports one line on `out`.
[[noreturn]] void Child(const std::string& dir, int open_gate, int call_gate, int ready, int out) {
  WaitForClose(open_gate);
  std::string line;
  {
    absl::StatusOr<std::unique_ptr<Workspace>> ws = Workspace::Open(dir);
    WriteAll(ready, "r");
    ::close(ready);
    WaitForClose(call_gate);
    if (!ws.ok()) {
      line = absl::StrCat("error open: ", ws.status().ToString());
    } else {
      uint64_t seed = 0;
      const auto seed_step =
          MakeStep("seed", 1, [](Context& ctx, const std::string&, int) { return ctx.seed(); });
      absl::StatusOr<Stored<std::vector<double>>> r =
          (*ws)->Call(kSimulate, std::string("shared"), 5000);
      absl::StatusOr<Stored<uint64_t>> s = (*ws)->Call(seed_step, std::string("shared"), 5000);
      if (s.ok()) seed = **s;
      if (!r.ok()) {
        line = absl::StrCat("error call: ", r.status().ToString());
      } else if (!s.ok()) {
        line = absl::StrCat("error seed: ", s.status().ToString());
      } else {
        double sum = 0;
        for (double d : r->value()) sum += d;
        line = absl::StrCat("ok ", r->digest().ToHex(), " ", r->size(), " ", seed, " ",
                            (*ws)->run_id(), " ", absl::StrFormat("%.17g", sum));
      }
    }
  }  // the Workspace ends its run here
  WriteAll(out, line + "\n");
  ::close(out);
  std::fflush(nullptr);
  ::_exit(0);
}

ChildReport Parse(const std::string& text) {
  ChildReport r;
  std::vector<std::string> parts = absl::StrSplit(text, ' ', absl::SkipEmpty());
  if (parts.size() == 6 && parts[0] == "ok") {
    r.ok = true;
    r.digest = parts[1];
    r.ok = absl::SimpleAtoi(parts[2], &r.size) && absl::SimpleAtoi(parts[3], &r.seed) &&
           absl::SimpleAtoi(parts[4], &r.run_id) && absl::SimpleAtod(parts[5], &r.sum);
  }
  if (!r.ok) r.error = text.empty() ? "(no report)" : text;
  return r;
}

TEST(WorkspaceMultiprocessTest, FourProcessesShareOneWorkspace) {
  const std::string dir = ::testing::TempDir() + "/multiprocess_ws";
  fs::remove_all(dir);  // the processes create it, concurrently

  int open_gate[2], call_gate[2], ready[2];
  ASSERT_EQ(::pipe(open_gate), 0);
  ASSERT_EQ(::pipe(call_gate), 0);
  ASSERT_EQ(::pipe(ready), 0);
  std::vector<pid_t> pids;
  std::vector<int> outs;
  for (int i = 0; i < kProcesses; ++i) {
    int out[2];
    ASSERT_EQ(::pipe(out), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(open_gate[1]);
      ::close(call_gate[1]);
      ::close(ready[0]);
      ::close(out[0]);
      for (int fd : outs) ::close(fd);
      Child(dir, open_gate[0], call_gate[0], ready[1], out[1]);
    }
    ::close(out[1]);
    pids.push_back(pid);
    outs.push_back(out[0]);
  }
  ::close(open_gate[0]);
  ::close(call_gate[0]);
  ::close(ready[1]);
  // Everyone opens at once...
  ::close(open_gate[1]);
  std::string readies;
  ReadAll(ready[0], &readies);  // EOF once every child has opened (or died)
  ::close(ready[0]);
  EXPECT_EQ(readies.size(), static_cast<size_t>(kProcesses));
  // ...and calls at once.
  ::close(call_gate[1]);

  std::vector<ChildReport> reports;
  for (int i = 0; i < kProcesses; ++i) {
    std::string text;
    ReadAll(outs[static_cast<size_t>(i)], &text);
    ::close(outs[static_cast<size_t>(i)]);
    while (!text.empty() && text.back() == '\n') text.pop_back();
    reports.push_back(Parse(text));
    int status = 0;
    ASSERT_EQ(::waitpid(pids[static_cast<size_t>(i)], &status, 0), pids[static_cast<size_t>(i)]);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child " << i << " " << status;
  }

  // All succeeded and agree.
  for (int i = 0; i < kProcesses; ++i) {
    const ChildReport& r = reports[static_cast<size_t>(i)];
    ASSERT_TRUE(r.ok) << "child " << i << ": " << r.error;
    EXPECT_EQ(r.digest, reports[0].digest) << "child " << i;
    EXPECT_EQ(r.size, reports[0].size) << "child " << i;
    EXPECT_EQ(r.seed, reports[0].seed) << "child " << i;
    EXPECT_EQ(r.sum, reports[0].sum) << "child " << i;
  }
  std::vector<int64_t> run_ids;
  for (const ChildReport& r : reports) run_ids.push_back(r.run_id);
  std::sort(run_ids.begin(), run_ids.end());
  EXPECT_EQ(std::unique(run_ids.begin(), run_ids.end()), run_ids.end()) << "run ids repeat";

  // This process computes the same value, seed and digest (it is not in the cache's way:
  // a read-only call must find it).
  uint64_t my_seed = 0;
  {
    absl::StatusOr<std::unique_ptr<Workspace>> ws = Workspace::Open(dir);
    ASSERT_TRUE(ws.ok()) << ws.status();
    absl::StatusOr<Stored<std::vector<double>>> cached = (*ws)->Call(
        CallOptions{CacheMode::kReadOnly}, kSimulate, std::string("shared"), 5000);
    ASSERT_TRUE(cached.ok()) << cached.status();
    EXPECT_EQ(cached->digest().ToHex(), reports[0].digest);
    EXPECT_EQ(cached->size(), reports[0].size);
    EXPECT_EQ(cached->digest(), Hash(cached->value()));
    absl::StatusOr<std::unique_ptr<Workspace>> mem = Workspace::InMemory();
    ASSERT_TRUE(mem.ok()) << mem.status();
    absl::StatusOr<Stored<std::vector<double>>> fresh =
        (*mem)->Call(kSimulate, std::string("shared"), 5000);
    ASSERT_TRUE(fresh.ok()) << fresh.status();
    EXPECT_EQ(fresh->digest().ToHex(), reports[0].digest);
    const auto seed_step =
        MakeStep("seed", 1, [](Context& ctx, const std::string&, int) { return ctx.seed(); });
    absl::StatusOr<Stored<uint64_t>> s = (*mem)->Call(seed_step, std::string("shared"), 5000);
    ASSERT_TRUE(s.ok()) << s.status();
    my_seed = **s;
  }
  EXPECT_EQ(my_seed, reports[0].seed) << "the seed differs between processes";

  // The lineage: four runs from the children (plus the one above), each SUCCEEDED, each
  // with its executions of `simulate` (computed or cached, all with the same output) and
  // `seed`.
  absl::StatusOr<std::unique_ptr<SqliteLineageStore>> db =
      SqliteLineageStore::Open(WorkspaceLayout(dir).lineage_db());
  ASSERT_TRUE(db.ok()) << db.status();
  for (int64_t id : run_ids) {
    absl::StatusOr<mlops::Run> run = (*db)->GetRun(id);
    ASSERT_TRUE(run.ok()) << run.status();
    EXPECT_EQ(run->status(), mlops::Run::SUCCEEDED) << id;
    absl::StatusOr<std::vector<Execution>> execs = (*db)->ExecutionsOfRun(id);
    ASSERT_TRUE(execs.ok()) << execs.status();
    ASSERT_EQ(execs->size(), 2u) << "run " << id;
    const Execution& sim = (*execs)[0];
    EXPECT_EQ(sim.step_name(), "simulate");
    EXPECT_TRUE(sim.status() == Execution::SUCCEEDED || sim.status() == Execution::CACHED)
        << sim.DebugString();
    ASSERT_EQ(sim.outputs_size(), 1);
    EXPECT_EQ(sim.outputs(0).digest(), reports[0].digest);
    EXPECT_EQ(sim.params().at("n"), "5000");
  }
  absl::StatusOr<Page<mlops::Run>> runs = (*db)->FindRuns({});
  ASSERT_TRUE(runs.ok()) << runs.status();
  EXPECT_EQ(runs->items.size(), static_cast<size_t>(kProcesses + 1));
  // Every execution of the step: one per child run (this process's read-only call is not
  // recorded), all SUCCEEDED or CACHED, none FAILED or left RUNNING.
  absl::StatusOr<Page<Execution>> sims = (*db)->ExecutionsOfStep("simulate");
  ASSERT_TRUE(sims.ok()) << sims.status();
  EXPECT_EQ(sims->items.size(), static_cast<size_t>(kProcesses));
  int computed = 0;
  for (const Execution& e : sims->items) {
    EXPECT_NE(e.status(), Execution::FAILED) << e.DebugString();
    EXPECT_NE(e.status(), Execution::RUNNING) << e.DebugString();
    if (e.status() == Execution::SUCCEEDED) ++computed;
  }
  EXPECT_GE(computed, 1);
}

}  // namespace
}  // namespace mlops
