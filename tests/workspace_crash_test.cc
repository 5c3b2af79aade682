// Crash-safety of a Workspace that writes behind: a child process makes thousands of misses
// (single-output steps and two-output tuple steps) and dies at a random moment — SIGKILLed
// mid-run or after its last call while its writer drains, or leaving through _exit(0)
// right after its last call, skipping the Workspace's destructor. Its queued writes are
// lost; nothing else may be. After every death the parent checks, before anything repairs
// the directory:
//   * every action record on disk reads back intact, its outputs are all in the store (a
//     record is written only after its values), and they are exactly the values the step
//     returns for the record's key;
// then opens the workspace and calls every step again:
//   * every result is the right value (hit or recomputed, never a wrong one);
//   * of the calls the child had finished, at most kMaxPendingEntries results are
//     recomputed (no more than that many wait to be written at once);
//   * Flush() is OK, and afterwards every step's record is on disk and right;
//   * the dead child's temporary files, once aged past the stale-temp rule, are removed by
//     the next Open (younger ones may be kept: a live writer could own them).
// The parent forks only while it has no Workspace (no threads) open.
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "mlops/codec/codec.h"
#include "mlops/core/step.h"
#include "mlops/core/stored.h"
#include "mlops/cache/result_cache.h"
#include "mlops/core/workspace.h"
#include "mlops/hash/digest.h"
#include "mlops/store/action_cache.h"
#include "mlops/store/action_result.pb.h"
#include "mlops/store/disk_store.h"
#include "mlops/testing/files.h"
#include "mlops/core/workspace_layout.h"
#include "tests/store_test_util.h"

namespace mlops {
namespace {

using ::mlops::testing::ChildProcesses;
using ::mlops::testing::DescribeWaitStatus;

constexpr int kSteps = 2000;     // single-output calls per round
constexpr int kPairEvery = 10;   // and a tuple call for every 10th
constexpr int kMaxPendingEntries = ResultCacheOptions::kMaxQueuedResults;
constexpr uint32_t kRandomSeed = 20240612;
constexpr int kGiveUpMillis = 120000;  // a child that makes no progress this long is stuck

// Runs of the steps in this process (the parent counts its recomputations).
int g_value_runs = 0;
int g_pair_runs = 0;

std::string ValueOf(int round, int i) {
  std::string s = absl::StrCat("round ", round, " step ", i, ":");
  const size_t size = 40 + static_cast<size_t>((i * 37 + round * 11) % 300);
  while (s.size() < size) absl::StrAppend(&s, " ", (i + 1) * (s.size() + 7));
  s.resize(size);
  return s;
}
std::tuple<std::string, int64_t> PairOf(int round, int i) {
  return {absl::StrCat("pair ", round, "/", i), int64_t{round} * 1000000 + i};
}

const auto kValue = MakeStep("crash.value", 1, [](int round, int i) {
  ++g_value_runs;
  return ValueOf(round, i);
});
const auto kPair = MakeStep("crash.pair", 1, [](int round, int i) {
  ++g_pair_runs;
  return PairOf(round, i);
});

// The action key of a call of a (int, int) step, as Workspace::Call forms it.
template <typename Output>
Digest KeyOf(const std::string& step, int round, int i) {
  ActionRequest req;
  req.step_name = step;
  req.step_version = 1;
  for (int arg : {round, i}) {
    ActionInput in;
    in.signature = CodecSignature<int>();
    in.digest = Hash(arg);
    req.inputs.push_back(in);
  }
  req.output_signature = CodecSignature<Output>();
  return Workspace::ActionKey(req);
}

// What a record must say: its outputs' encoded values, in order.
using Expected = absl::flat_hash_map<Digest, std::vector<std::string>>;

void AddRound(int round, Expected* expected) {
  for (int i = 0; i < kSteps; ++i) {
    (*expected)[KeyOf<std::tuple<std::string>>("crash.value", round, i)] = {
        Encode(ValueOf(round, i))};
    if (i % kPairEvery == 0) {
      const auto [s, n] = PairOf(round, i);
      (*expected)[KeyOf<std::tuple<std::string, int64_t>>("crash.pair", round, i)] = {
          Encode(s), Encode(n)};
    }
  }
}

// --- The child -------------------------------------------------------------------------

void WriteByte(int fd, char c) {
  while (::write(fd, &c, 1) < 0 && errno == EINTR) {
  }
}

// Reports 'R' once the workspace is open, '.' after each step (its calls returned the right
// values), 'D' after the last. Then, unless `exit_after_last`, waits to be killed.
int RunChild(const std::string& dir, int round, bool exit_after_last, int progress, int hold) {
  absl::StatusOr<std::unique_ptr<Workspace>> ws = Workspace::Open(dir);
  if (!ws.ok()) {
    std::fprintf(stderr, "child: open: %s\n", ws.status().ToString().c_str());
    return 10;
  }
  WriteByte(progress, 'R');
  for (int i = 0; i < kSteps; ++i) {
    absl::StatusOr<Stored<std::string>> v = (*ws)->Call(kValue, round, i);
    if (!v.ok() || **v != ValueOf(round, i)) {
      std::fprintf(stderr, "child: step %d: %s\n", i,
                   v.ok() ? "wrong value" : v.status().ToString().c_str());
      return 11;
    }
    if (i % kPairEvery == 0) {
      auto p = (*ws)->Call(kPair, round, i);
      if (!p.ok() || *std::get<0>(*p) != std::get<0>(PairOf(round, i)) ||
          *std::get<1>(*p) != std::get<1>(PairOf(round, i))) {
        std::fprintf(stderr, "child: pair %d: %s\n", i,
                     p.ok() ? "wrong value" : p.status().ToString().c_str());
        return 12;
      }
    }
    WriteByte(progress, '.');
  }
  if (exit_after_last) ::_exit(0);  // no destructor: whatever is still queued is lost
  WriteByte(progress, 'D');
  char c;
  while (::read(hold, &c, 1) < 0 && errno == EINTR) {
  }
  return 13;  // the parent never lets go: it kills
}

// --- The parent ------------------------------------------------------------------------

// Reads progress bytes until `*count` reaches `target`, or end of file, or a long time
// without progress. Returns false on a read error or timeout.
bool ReadProgress(int fd, int64_t target, int64_t* count) {
  while (*count < target) {
    struct pollfd p = {fd, POLLIN, 0};
    const int r = ::poll(&p, 1, kGiveUpMillis);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    char buf[4096];
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;  // the child is gone
    *count += n;
  }
  return true;
}

// The keys of the records in the action cache database `path` (read through SQLite, so a
// dead writer's WAL is recovered as any later reader would).
std::vector<Digest> RecordKeys(const std::string& path) {
  std::vector<Digest> keys;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << path << ": " << sqlite3_errmsg(db);
    sqlite3_close(db);
    return keys;
  }
  sqlite3_busy_timeout(db, 60000);
  sqlite3_stmt* q = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT key FROM records ORDER BY key", -1, &q, nullptr) !=
      SQLITE_OK) {
    ADD_FAILURE() << path << ": " << sqlite3_errmsg(db);
  } else {
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
      EXPECT_EQ(sqlite3_column_bytes(q, 0), static_cast<int>(Digest::kBytes));
      if (sqlite3_column_bytes(q, 0) != static_cast<int>(Digest::kBytes)) continue;
      keys.push_back(
          Digest::FromBytes(static_cast<const unsigned char*>(sqlite3_column_blob(q, 0))));
    }
    EXPECT_EQ(rc, SQLITE_DONE) << path << ": " << sqlite3_errmsg(db);
  }
  sqlite3_finalize(q);
  sqlite3_close(db);
  return keys;
}

// Every record in <dir>/ac, checked against `expected` (before anything opens a Workspace,
// which would remove a record it finds broken). Returns how many there are.
int64_t CheckRecords(const std::string& dir, const Expected& expected,
                     const std::string& when) {
  DiskStoreOptions read_only;
  read_only.read_only = true;
  absl::StatusOr<std::unique_ptr<DiskStore>> store = DiskStore::Open(WorkspaceLayout(dir).store(), read_only);
  EXPECT_TRUE(store.ok()) << store.status();
  if (!store.ok()) return 0;
  absl::StatusOr<std::unique_ptr<ActionCache>> cache =
      ActionCache::OpenOnDisk(WorkspaceLayout(dir).action_cache());
  EXPECT_TRUE(cache.ok()) << cache.status();
  if (!cache.ok()) return 0;
  int64_t records = 0;
  for (const Digest& key : RecordKeys(WorkspaceLayout(dir).records_db())) {
    const std::string name = key.ToHex();
    ++records;
    auto want = expected.find(key);
    EXPECT_NE(want, expected.end()) << when << ": record " << name << " for no known call";
    if (want == expected.end()) continue;
    // Intact (DATA_LOSS here is a torn record), and every output in the store (a value
    // missing below is a record written before its values).
    absl::StatusOr<ActionResult> result = (*cache)->Get(key);
    EXPECT_TRUE(result.ok()) << when << ": record " << name << ": " << result.status();
    if (!result.ok()) continue;
    EXPECT_EQ(result->outputs_size(), static_cast<int>(want->second.size())) << name;
    for (int o = 0; o < result->outputs_size() &&
                    o < static_cast<int>(want->second.size());
         ++o) {
      const std::string& bytes = want->second[static_cast<size_t>(o)];
      EXPECT_EQ(result->outputs(o).digest(), Digest::Of(bytes).ToHex())
          << when << ": record " << name << " output " << o;
      EXPECT_EQ(result->outputs(o).size(), static_cast<int64_t>(bytes.size()));
      absl::StatusOr<Blob> blob = (*store)->Get(*Digest::FromHex(result->outputs(o).digest()));
      EXPECT_TRUE(blob.ok()) << when << ": record " << name << " output " << o << ": "
                             << blob.status();
      if (blob.ok()) {
        EXPECT_EQ(blob->view(), bytes) << when << ": record " << name;
      }
    }
  }
  return records;
}

// Ages every file in `dir` past any stale-temp rule; returns how many there were.
int AgeAll(const std::string& dir) {
  int n = 0;
  for (const std::string& name : test::ListDir(dir)) {
    test::SetAge(dir + "/" + name, 3600);
    ++n;
  }
  return n;
}

enum class Death { kKilledMidway, kKilledAfterLast, kExitAfterLast };

const char* DeathName(Death d) {
  switch (d) {
    case Death::kKilledMidway: return "killed mid-run";
    case Death::kKilledAfterLast: return "killed after its last call";
    case Death::kExitAfterLast: return "_exit(0) after its last call";
  }
  return "?";
}

TEST(WorkspaceCrashTest, ChildDyingAtRandomMomentsLosesOnlyQueuedWritesNeverValues) {
  const std::string dir = test::FreshDir() + "/ws";
  {
    // Create the workspace up front (and the stores' directories).
    absl::StatusOr<std::unique_ptr<Workspace>> ws = Workspace::Open(dir);
    ASSERT_TRUE(ws.ok()) << ws.status();
  }
  const std::vector<Death> rounds = {Death::kKilledMidway,   Death::kKilledMidway,
                                     Death::kKilledMidway,   Death::kKilledMidway,
                                     Death::kKilledAfterLast, Death::kExitAfterLast,
                                     Death::kKilledMidway,   Death::kExitAfterLast};
  std::mt19937 rng(kRandomSeed);
  ChildProcesses children;
  Expected expected;
  const auto start = std::chrono::steady_clock::now();
  int64_t total_recomputed = 0;
  int64_t total_temps = 0;

  for (int round = 0; round < static_cast<int>(rounds.size()); ++round) {
    const Death death = rounds[static_cast<size_t>(round)];
    AddRound(round, &expected);
    int progress[2], hold[2];
    ASSERT_EQ(::pipe(progress), 0);
    ASSERT_EQ(::pipe(hold), 0);
    const pid_t pid = children.Spawn([&]() -> int {
      ::close(progress[0]);
      ::close(hold[1]);
      return RunChild(dir, round, death == Death::kExitAfterLast, progress[1], hold[0]);
    });
    ::close(progress[1]);
    ::close(hold[0]);
    ASSERT_GT(pid, 0);

    // Progress bytes: 'R', one per step, then 'D' (not sent by an _exit child).
    const int64_t all = kSteps + 2;
    int64_t target = all;
    if (death == Death::kKilledMidway) {
      target = std::uniform_int_distribution<int64_t>(1, kSteps + 1)(rng);
    }
    if (death == Death::kExitAfterLast) target = kSteps + 1;
    int64_t count = 0;
    const bool read_ok = ReadProgress(progress[0], target, &count);
    int status = 0;
    if (death == Death::kExitAfterLast) {
      ASSERT_TRUE(children.Wait(pid, &status, kGiveUpMillis / 1000));
    } else {
      children.KillAndWait(pid, &status);
    }
    ReadProgress(progress[0], all, &count);  // what it reported before it died
    ::close(progress[0]);
    ::close(hold[1]);
    ASSERT_TRUE(read_ok) << "round " << round << ": no progress from the child, which "
                         << DescribeWaitStatus(status);
    if (death == Death::kExitAfterLast) {
      ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
          << "round " << round << ": the child " << DescribeWaitStatus(status);
    } else {
      ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
          << "round " << round << ": the child " << DescribeWaitStatus(status)
          << " (see its stderr above)";
    }
    // Steps the child finished (and reported): 'R' and 'D' are not steps.
    const int finished =
        static_cast<int>(std::min<int64_t>(std::max<int64_t>(count - 1, 0), kSteps));

    // Before anything repairs the directory: every record the child left is whole and right.
    const std::string when = absl::StrCat("round ", round, " (", DeathName(death), ")");
    const int64_t records = CheckRecords(dir, expected, when + ", as the child left it");

    // The child's temporary files: aged, the next Open removes them all.
    const int temps = AgeAll(dir + "/store/tmp");
    total_temps += temps;
    const int values_before = g_value_runs, pairs_before = g_pair_runs;
    int recomputed_finished = 0;
    {
      absl::StatusOr<std::unique_ptr<Workspace>> ws = Workspace::Open(dir);
      ASSERT_TRUE(ws.ok()) << ws.status();
      EXPECT_EQ(test::ListDir(dir + "/store/tmp"), std::vector<std::string>())
          << when << ": Open left temporary files of a dead process that are an hour old";
      for (int i = 0; i < kSteps; ++i) {
        const int runs = g_value_runs + g_pair_runs;
        absl::StatusOr<Stored<std::string>> v = (*ws)->Call(kValue, round, i);
        ASSERT_TRUE(v.ok()) << when << " step " << i << ": " << v.status();
        ASSERT_EQ(**v, ValueOf(round, i)) << when << " step " << i;
        EXPECT_EQ(v->digest(), Hash(ValueOf(round, i)));
        if (i % kPairEvery == 0) {
          auto p = (*ws)->Call(kPair, round, i);
          ASSERT_TRUE(p.ok()) << when << " pair " << i << ": " << p.status();
          ASSERT_EQ(*std::get<0>(*p), std::get<0>(PairOf(round, i))) << when << " pair " << i;
          ASSERT_EQ(*std::get<1>(*p), std::get<1>(PairOf(round, i))) << when << " pair " << i;
        }
        if (i < finished) recomputed_finished += g_value_runs + g_pair_runs - runs;
      }
      // An earlier round's results are all still hits.
      if (round > 0) {
        for (int i = 0; i < kSteps; i += 97) {
          absl::StatusOr<Stored<std::string>> v = (*ws)->Call(kValue, round - 1, i);
          ASSERT_TRUE(v.ok()) << v.status();
          EXPECT_TRUE(v->cached()) << when << ": round " << round - 1 << " step " << i;
          EXPECT_EQ(**v, ValueOf(round - 1, i));
        }
      }
      const absl::Status flushed = (*ws)->Flush();
      EXPECT_TRUE(flushed.ok()) << when << ": " << flushed;
    }
    const int recomputed = g_value_runs - values_before + g_pair_runs - pairs_before;
    total_recomputed += recomputed;
    EXPECT_LE(recomputed_finished, kMaxPendingEntries)
        << when << ": more results of finished calls were lost than can be queued at once";
    if (death == Death::kExitAfterLast) {
      EXPECT_EQ(finished, kSteps) << when;
    }

    // Everything is on disk now, and right.
    const int64_t records_after = CheckRecords(dir, expected, when + ", after the parent");
    EXPECT_EQ(records_after, static_cast<int64_t>(expected.size())) << when;
    std::printf("round %d (%s): child finished %d of %d steps; %lld records on disk, %d "
                "temporary files left; %d results recomputed (%d of finished steps)\n",
                round, DeathName(death), finished, kSteps, static_cast<long long>(records),
                temps, recomputed, recomputed_finished);
    if (::testing::Test::HasFatalFailure()) return;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%zu rounds in %.1f s; %lld results recomputed in all; %lld temporary files "
              "left by dead children\n",
              rounds.size(), seconds, static_cast<long long>(total_recomputed),
              static_cast<long long>(total_temps));
}

}  // namespace
}  // namespace mlops
