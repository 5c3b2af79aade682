// Several processes share one SqliteLineageStore database file: writers record chained
// executions at the same time (with default batching) while a reader queries; afterwards
// every record must be there. A writer SIGKILLed mid-way must leave only whole executions
// behind.
#include <google/protobuf/util/message_differencer.h>
#include <sqlite3.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <new>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "mlops/hash/digest.h"
#include "mlops/lineage/lineage.pb.h"
#include "mlops/lineage/lineage_store.h"
#include "mlops/lineage/sqlite_lineage_store.h"

namespace mlops {
namespace {

constexpr int kWriters = 4;
constexpr int kPerWriter = 2000;
constexpr int kShared = 10;        // inputs every writer reads
constexpr int kCommonEvery = 100;  // every 100th execution also outputs a value all writers output
constexpr char kProgram[] = "mp_writer";

// ---------------------------------------------------------------------------------------
// Processes.

// State shared by the parent and its children (an anonymous shared mapping).
struct Shared {
  std::atomic<int> go;
  std::atomic<int> writers_done;
  std::atomic<int> progress[16];
};

Shared* MapShared() {
  void* p = mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                 -1, 0);
  if (p == MAP_FAILED) {
    std::perror("mmap");
    std::abort();
  }
  return new (p) Shared();
}

// Forked children; whatever remains running when this goes away is killed and reaped.
class Children {
 public:
  ~Children() {
    for (pid_t pid : pids_) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }

  template <typename Body>
  pid_t Spawn(Body body) {
    std::fflush(nullptr);
    const pid_t pid = fork();
    if (pid == 0) {
      int code = 3;
      try {
        code = body();
      } catch (...) {
        code = 4;
      }
      std::fflush(nullptr);
      _exit(code);
    }
    if (pid > 0) pids_.push_back(pid);
    return pid;
  }

  // The child's wait status, or -1 if it did not end within `timeout` (it is then killed).
  int Wait(pid_t pid, std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (true) {
      const pid_t r = waitpid(pid, &status, WNOHANG);
      if (r == pid) break;
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        status = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    Forget(pid);
    return status;
  }

  int KillAndWait(pid_t pid) {
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    Forget(pid);
    return status;
  }

 private:
  void Forget(pid_t pid) {
    for (size_t i = 0; i < pids_.size(); ++i) {
      if (pids_[i] == pid) {
        pids_.erase(pids_.begin() + static_cast<long>(i));
        return;
      }
    }
  }
  std::vector<pid_t> pids_;
};

std::string Describe(int status) {
  if (status == -1) return "timed out";
  if (WIFEXITED(status)) return absl::StrCat("exited ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return absl::StrCat("killed by signal ", WTERMSIG(status));
  return absl::StrCat("status ", status);
}

// ---------------------------------------------------------------------------------------
// The records.

std::string ChainValue(int writer, int i) { return absl::StrCat("w", writer, "_v", i); }
std::string SharedValue(int i) { return absl::StrCat("shared_", i % kShared); }
std::string CommonValue(int i) { return absl::StrCat("common_", i / kCommonEvery); }

ArtifactRef Ref(const std::string& name, const std::string& value) {
  ArtifactRef r;
  r.set_name(name);
  r.set_digest(Digest::Of(value).ToHex());
  r.set_type_name("blob");
  r.set_size(static_cast<int64_t>(value.size()));
  return r;
}

// Execution i of `writer`: reads its chain value i and a shared value, writes chain value
// i + 1 (and, every kCommonEvery-th time, a value every writer writes).
Execution WriterExecution(int writer, int64_t run_id, int i) {
  Execution e;
  e.set_run_id(run_id);
  e.set_step_name("chain");
  e.set_step_version("1");
  e.set_action_key(Digest::Of(absl::StrCat("key ", writer, " ", i)).ToHex());
  *e.add_inputs() = Ref("prev", ChainValue(writer, i));
  *e.add_inputs() = Ref("shared", SharedValue(i));
  *e.add_outputs() = Ref("0", ChainValue(writer, i + 1));
  if (i % kCommonEvery == 0) *e.add_outputs() = Ref("common", CommonValue(i));
  e.set_status(Execution::SUCCEEDED);
  e.mutable_start_time()->set_seconds(1700000000 + i);
  e.mutable_end_time()->set_seconds(1700000000 + i);
  (*e.mutable_params())["writer"] = absl::StrCat(writer);
  (*e.mutable_params())["seq"] = absl::StrCat(i);
  return e;
}

// A writer process: records `count` executions (or until killed), then flushes. Returns the
// exit code.
int RunWriter(const std::string& path, Shared* shared, int writer, int count) {
  while (shared->go.load() == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
  absl::StatusOr<std::unique_ptr<SqliteLineageStore>> store = SqliteLineageStore::Open(path);
  if (!store.ok()) {
    std::fprintf(stderr, "writer %d: Open: %s\n", writer, store.status().ToString().c_str());
    return 10;
  }
  mlops::Run run;
  run.set_program(kProgram);
  run.add_args(absl::StrCat(writer));
  run.mutable_start_time()->set_seconds(1700000000 + writer);
  run.set_status(mlops::Run::RUNNING);
  absl::StatusOr<int64_t> run_id = (*store)->BeginRun(run);
  if (!run_id.ok()) {
    std::fprintf(stderr, "writer %d: BeginRun: %s\n", writer, run_id.status().ToString().c_str());
    return 11;
  }
  for (int i = 0; i < count; ++i) {
    absl::StatusOr<int64_t> id = (*store)->RecordExecution(WriterExecution(writer, *run_id, i));
    if (!id.ok()) {
      std::fprintf(stderr, "writer %d: RecordExecution %d: %s\n", writer, i,
                   id.status().ToString().c_str());
      return 12;
    }
    shared->progress[writer].store(i + 1);
  }
  absl::Status s = (*store)->Flush();
  if (!s.ok()) {
    std::fprintf(stderr, "writer %d: Flush: %s\n", writer, s.ToString().c_str());
    return 13;
  }
  run.set_id(*run_id);
  run.set_status(mlops::Run::SUCCEEDED);
  s = (*store)->UpdateRun(run);
  if (!s.ok()) {
    std::fprintf(stderr, "writer %d: UpdateRun: %s\n", writer, s.ToString().c_str());
    return 14;
  }
  store->reset();
  shared->writers_done.fetch_add(1);
  return 0;
}

// A reader process: queries in a loop until every writer is done.
int RunReader(const std::string& path, Shared* shared) {
  while (shared->go.load() == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
  absl::StatusOr<std::unique_ptr<SqliteLineageStore>> store = SqliteLineageStore::Open(path);
  if (!store.ok()) {
    std::fprintf(stderr, "reader: Open: %s\n", store.status().ToString().c_str());
    return 20;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  int rounds = 0;
  while (shared->writers_done.load() < kWriters || rounds < 3) {
    if (std::chrono::steady_clock::now() > deadline) {
      std::fprintf(stderr, "reader: writers not done after 60 s\n");
      return 21;
    }
    ++rounds;
    RunFilter filter;
    filter.program = kProgram;
    absl::StatusOr<Page<mlops::Run>> runs = (*store)->FindRuns(filter);
    if (!runs.ok() || runs->items.size() > static_cast<size_t>(kWriters)) {
      std::fprintf(stderr, "reader: FindRuns: %s\n", runs.status().ToString().c_str());
      return 22;
    }
    PageRequest latest_eight;
    latest_eight.max_results = 8;
    absl::StatusOr<Page<Execution>> latest = (*store)->ExecutionsOfStep("chain", latest_eight);
    if (!latest.ok()) {
      std::fprintf(stderr, "reader: ExecutionsOfStep: %s\n", latest.status().ToString().c_str());
      return 23;
    }
    for (const Execution& e : latest->items) {
      ClosureOptions options;
      options.max_hops = 50;
      absl::StatusOr<Subgraph> up = (*store)->Upstream(LineageNode::OfExecution(e.id()), options);
      if (!up.ok() || up->executions_size() > 51 || up->executions_size() < 1) {
        std::fprintf(stderr, "reader: Upstream of %lld: %s\n", static_cast<long long>(e.id()),
                     up.status().ToString().c_str());
        return 24;
      }
    }
    absl::StatusOr<Subgraph> up = (*store)->Upstream(LineageNode::Of(Digest::Of(SharedValue(0))));
    if (!up.ok() && up.status().code() != absl::StatusCode::kNotFound) {
      std::fprintf(stderr, "reader: Upstream of shared: %s\n", up.status().ToString().c_str());
      return 25;
    }
  }
  return 0;
}

// ---------------------------------------------------------------------------------------
// Checks on the finished database.

std::string TestTmpDir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr ? dir : "/tmp";
}

std::string FreshPath(const std::string& name) {
  const std::string path = absl::StrCat(TestTmpDir(), "/", name);
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  return path;
}

void CreateDb(const std::string& path) {
  absl::StatusOr<std::unique_ptr<SqliteLineageStore>> store = SqliteLineageStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status();
}

// The run of `writer` (its args hold the writer's number).
int64_t RunOf(SqliteLineageStore& store, int writer) {
  RunFilter filter;
  filter.program = kProgram;
  absl::StatusOr<Page<mlops::Run>> runs = store.FindRuns(filter);
  EXPECT_TRUE(runs.ok()) << runs.status();
  if (!runs.ok()) return -1;
  for (const mlops::Run& r : runs->items) {
    if (r.args_size() == 1 && r.args(0) == absl::StrCat(writer)) return r.id();
  }
  ADD_FAILURE() << "no run for writer " << writer;
  return -1;
}

// Checks that every execution of `run_id` is whole: its events are exactly its inputs and
// outputs. Returns the executions (in id order).
std::vector<Execution> CheckWholeExecutions(SqliteLineageStore& store, int64_t run_id,
                                            int writer) {
  absl::StatusOr<std::vector<Execution>> executions = store.ExecutionsOfRun(run_id);
  EXPECT_TRUE(executions.ok()) << executions.status();
  if (!executions.ok()) return {};
  for (size_t i = 0; i < executions->size(); ++i) {
    const Execution& e = (*executions)[i];
    // The proto is the one recorded (apart from the id and run id the store assigned).
    Execution expected = WriterExecution(writer, run_id, static_cast<int>(i));
    expected.set_id(e.id());
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(e, expected))
        << "writer " << writer << " execution " << i << " (id " << e.id() << "):\n"
        << e.DebugString() << "expected:\n" << expected.DebugString();
    // Its events are all there, and no others.
    ClosureOptions just_this;
    just_this.max_hops = 0;
    absl::StatusOr<Subgraph> g = store.Upstream(LineageNode::OfExecution(e.id()), just_this);
    EXPECT_TRUE(g.ok()) << g.status();
    if (!g.ok()) continue;
    std::set<std::tuple<std::string, int, std::string>> want, got;
    for (const ArtifactRef& r : e.inputs()) want.insert({r.digest(), Event::INPUT, r.name()});
    for (const ArtifactRef& r : e.outputs()) want.insert({r.digest(), Event::OUTPUT, r.name()});
    for (const Event& ev : g->events()) {
      EXPECT_EQ(ev.execution_id(), e.id());
      got.insert({ev.digest(), ev.kind(), ev.name()});
    }
    EXPECT_EQ(got, want) << "writer " << writer << " execution " << i << " (id " << e.id()
                         << ") is not whole";
    EXPECT_EQ(g->artifacts_size(), static_cast<int>(want.size()));
    EXPECT_EQ(g->executions_size(), 1);
  }
  return *executions;
}

// Checks, with plain SQL, that no event or artifact outlives its execution.
void CheckNoOrphans(const std::string& path) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  const auto count = [&](const char* sql) -> int64_t {
    sqlite3_stmt* stmt = nullptr;
    int64_t n = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      n = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
    return n;
  };
  EXPECT_EQ(count("SELECT count(*) FROM events WHERE execution_id NOT IN "
                  "(SELECT id FROM executions)"),
            0);
  EXPECT_EQ(count("SELECT count(*) FROM events WHERE artifact_id NOT IN (SELECT id FROM artifacts)"),
            0);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "ok");
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

// Full checks of a writer that finished: all kPerWriter executions, chained.
void CheckCompleteWriter(SqliteLineageStore& store, int writer, std::set<int64_t>* all_ids) {
  SCOPED_TRACE(absl::StrCat("writer ", writer));
  const int64_t run_id = RunOf(store, writer);
  ASSERT_GT(run_id, 0);
  absl::StatusOr<mlops::Run> run = store.GetRun(run_id);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->status(), mlops::Run::SUCCEEDED);
  const std::vector<Execution> executions = CheckWholeExecutions(store, run_id, writer);
  ASSERT_EQ(executions.size(), static_cast<size_t>(kPerWriter));
  for (const Execution& e : executions) {
    EXPECT_TRUE(all_ids->insert(e.id()).second) << "duplicate id " << e.id();
  }
  absl::StatusOr<Subgraph> up =
      store.Upstream(LineageNode::Of(Digest::Of(ChainValue(writer, kPerWriter))));
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_EQ(up->executions_size(), kPerWriter);
  for (const Execution& e : up->executions()) EXPECT_EQ(e.run_id(), run_id);
  EXPECT_EQ(up->artifacts_size(), kPerWriter + 1 + kShared + kPerWriter / kCommonEvery);
  EXPECT_EQ(up->events_size(), 3 * kPerWriter + kPerWriter / kCommonEvery);
  absl::StatusOr<Subgraph> down =
      store.Downstream(LineageNode::Of(Digest::Of(ChainValue(writer, 0))));
  ASSERT_TRUE(down.ok()) << down.status();
  EXPECT_EQ(down->executions_size(), kPerWriter);
}

// ---------------------------------------------------------------------------------------
// Tests.

TEST(LineageMultiprocessTest, ConcurrentWritersAndReader) {
  const std::string path = FreshPath("concurrent.db");
  ASSERT_NO_FATAL_FAILURE(CreateDb(path));
  Shared* shared = MapShared();
  Children children;
  std::vector<pid_t> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.push_back(children.Spawn([&, w] { return RunWriter(path, shared, w, kPerWriter); }));
    ASSERT_GT(writers.back(), 0);
  }
  const pid_t reader = children.Spawn([&] { return RunReader(path, shared); });
  ASSERT_GT(reader, 0);
  shared->go.store(1);
  for (int w = 0; w < kWriters; ++w) {
    const int status = children.Wait(writers[w], std::chrono::seconds(120));
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "writer " << w << " " << Describe(status);
  }
  const int status = children.Wait(reader, std::chrono::seconds(120));
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "reader " << Describe(status);

  absl::StatusOr<std::unique_ptr<SqliteLineageStore>> store = SqliteLineageStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status();
  std::set<int64_t> all_ids;
  for (int w = 0; w < kWriters; ++w) CheckCompleteWriter(**store, w, &all_ids);
  EXPECT_EQ(all_ids.size(), static_cast<size_t>(kWriters * kPerWriter));
  absl::StatusOr<Page<Execution>> chain = (*store)->ExecutionsOfStep("chain");
  ASSERT_TRUE(chain.ok()) << chain.status();
  EXPECT_EQ(chain->items.size(), static_cast<size_t>(kWriters * kPerWriter));

  // Values written or read by every writer.
  for (int k = 0; k < kPerWriter / kCommonEvery; ++k) {
    absl::StatusOr<std::vector<Execution>> producers =
        (*store)->Producers(Digest::Of(CommonValue(k * kCommonEvery)));
    ASSERT_TRUE(producers.ok()) << producers.status();
    ASSERT_EQ(producers->size(), static_cast<size_t>(kWriters)) << CommonValue(k * kCommonEvery);
    std::set<std::string> by;
    for (const Execution& e : *producers) by.insert(e.params().at("writer"));
    EXPECT_EQ(by.size(), static_cast<size_t>(kWriters));
    for (size_t i = 1; i < producers->size(); ++i) {
      EXPECT_LT((*producers)[i - 1].id(), (*producers)[i].id());
    }
  }
  for (int s = 0; s < kShared; ++s) {
    absl::StatusOr<std::vector<Execution>> consumers =
        (*store)->Consumers(Digest::Of(SharedValue(s)));
    ASSERT_TRUE(consumers.ok()) << consumers.status();
    EXPECT_EQ(consumers->size(), static_cast<size_t>(kWriters * kPerWriter / kShared));
  }
  store->reset();
  CheckNoOrphans(path);
}

// Several processes open a database file that does not exist yet at the same moment: each
// must find (or create) a lineage database, none may take the others' fresh schema for
// another application's.
TEST(LineageMultiprocessTest, ConcurrentCreationOfOneDatabase) {
  constexpr int kProcesses = 6;
  constexpr int kEach = 50;
  for (int round = 0; round < 10; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    const std::string path = FreshPath(absl::StrCat("created_", round, ".db"));
    Shared* shared = MapShared();
    Children children;
    std::vector<pid_t> pids;
    for (int w = 0; w < kProcesses; ++w) {
      pids.push_back(children.Spawn([&, w] { return RunWriter(path, shared, w, kEach); }));
    }
    shared->go.store(1);
    for (int w = 0; w < kProcesses; ++w) {
      const int status = children.Wait(pids[w], std::chrono::seconds(60));
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
          << "process " << w << " " << Describe(status);
    }
    absl::StatusOr<std::unique_ptr<SqliteLineageStore>> store = SqliteLineageStore::Open(path);
    ASSERT_TRUE(store.ok()) << store.status();
    absl::StatusOr<Page<Execution>> all = (*store)->ExecutionsOfStep("chain");
    ASSERT_TRUE(all.ok()) << all.status();
    EXPECT_EQ(all->items.size(), static_cast<size_t>(kProcesses * kEach));
    std::set<int64_t> ids;
    for (const Execution& e : all->items) ids.insert(e.id());
    EXPECT_EQ(ids.size(), all->items.size());
  }
}

// The number of executions of `writer`'s run that another connection sees committed
// (0 while the run does not exist yet). Opens and closes its own store.
int CommittedOf(const std::string& path, int writer) {
  absl::StatusOr<std::unique_ptr<SqliteLineageStore>> store = SqliteLineageStore::Open(path);
  if (!store.ok()) return -1;
  RunFilter filter;
  filter.program = kProgram;
  absl::StatusOr<Page<mlops::Run>> runs = (*store)->FindRuns(filter);
  if (!runs.ok()) return -1;
  for (const mlops::Run& r : runs->items) {
    if (r.args_size() == 1 && r.args(0) == absl::StrCat(writer)) {
      absl::StatusOr<std::vector<Execution>> executions = (*store)->ExecutionsOfRun(r.id());
      return executions.ok() ? static_cast<int>(executions->size()) : -1;
    }
  }
  return 0;
}

TEST(LineageMultiprocessTest, KilledWriterLeavesOnlyWholeExecutions) {
  const std::string path = FreshPath("killed.db");
  ASSERT_NO_FATAL_FAILURE(CreateDb(path));
  Shared* shared = MapShared();
  Children children;
  constexpr int kNormal = 3;
  // Victims: writer 3 is killed while writers 0-2 work; writers 4 and 5 alone, later. Each
  // is killed once another connection sees at least kKillAfter[v] of its executions
  // committed, while it goes on recording (it would record a million).
  constexpr int kFirstVictim = kNormal;
  constexpr int kVictims = 3;
  constexpr int kKillAfter[kVictims] = {1500, 1234, 2600};
  constexpr int kForever = 1000000;

  std::vector<pid_t> normal;
  for (int w = 0; w < kNormal; ++w) {
    normal.push_back(children.Spawn([&, w] { return RunWriter(path, shared, w, kPerWriter); }));
  }
  std::vector<int> seen_committed(kVictims, 0);
  for (int v = 0; v < kVictims; ++v) {
    const int writer = kFirstVictim + v;
    const pid_t victim =
        children.Spawn([&, writer] { return RunWriter(path, shared, writer, kForever); });
    ASSERT_GT(victim, 0);
    shared->go.store(1);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      seen_committed[v] = CommittedOf(path, writer);
      ASSERT_GE(seen_committed[v], 0) << "cannot read the database while victim " << writer
                                      << " writes";
      if (seen_committed[v] >= kKillAfter[v]) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_GE(seen_committed[v], kKillAfter[v]) << "victim " << writer << " stalled";
    const int status = children.KillAndWait(victim);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "victim " << writer << " " << Describe(status);
    if (v == 0) {
      for (int w = 0; w < kNormal; ++w) {
        const int s = children.Wait(normal[w], std::chrono::seconds(120));
        ASSERT_TRUE(WIFEXITED(s) && WEXITSTATUS(s) == 0) << "writer " << w << " " << Describe(s);
      }
    }
  }

  absl::StatusOr<std::unique_ptr<SqliteLineageStore>> store = SqliteLineageStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status();
  std::set<int64_t> all_ids;
  for (int w = 0; w < kNormal; ++w) CheckCompleteWriter(**store, w, &all_ids);
  for (int v = 0; v < kVictims; ++v) {
    const int writer = kFirstVictim + v;
    SCOPED_TRACE(absl::StrCat("victim ", writer));
    const int64_t run_id = RunOf(**store, writer);
    ASSERT_GT(run_id, 0);
    // Whole executions only, and (as batches commit in order) a prefix of what was recorded:
    // CheckWholeExecutions compares execution i with the i-th recorded.
    const std::vector<Execution> executions = CheckWholeExecutions(**store, run_id, writer);
    const int recorded = shared->progress[writer].load();
    EXPECT_LE(executions.size(), static_cast<size_t>(recorded) + 1);
    // What another connection saw committed before the kill is still there.
    EXPECT_GE(executions.size(), static_cast<size_t>(seen_committed[v]))
        << recorded << " recorded";
    for (const Execution& e : executions) {
      EXPECT_TRUE(all_ids.insert(e.id()).second) << "duplicate id " << e.id();
    }
    // The chain that is there is whole.
    if (!executions.empty()) {
      const int n = static_cast<int>(executions.size());
      absl::StatusOr<Subgraph> up =
          (*store)->Upstream(LineageNode::Of(Digest::Of(ChainValue(writer, n))));
      ASSERT_TRUE(up.ok()) << up.status();
      EXPECT_EQ(up->executions_size(), n);
    }
  }
  // The database still takes records, with fresh ids.
  absl::StatusOr<int64_t> id = (*store)->RecordExecution(WriterExecution(99, 0, 0));
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(all_ids.count(*id), 0u);
  EXPECT_TRUE((*store)->Flush().ok());
  store->reset();
  CheckNoOrphans(path);
}

}  // namespace
}  // namespace mlops
