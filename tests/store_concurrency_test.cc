// Many processes sharing one DiskStore (and one on-disk ActionCache) directory at the same
// time. Eight forked children start together (they even create the store concurrently) and
// put and get overlapping values in their own shuffled orders; in one variant two of them
// collect garbage meanwhile. Every Get that returns OK must return exactly the expected
// bytes; Put must never fail; no Get may return DATA_LOSS. Children report failures on
// stderr and through their exit code; the parent asserts that every child exited 0 and then
// checks the directory itself.

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <new>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "mlops/hash/digest.h"
#include "mlops/store/action_cache.h"
#include "mlops/store/action_result.pb.h"
#include "mlops/store/disk_store.h"
#include "tests/store_test_util.h"

namespace mlops {
namespace {

using ::mlops::testing::ChildProcesses;
using ::mlops::testing::DescribeWaitStatus;
using ::mlops::testing::ListNames;
using ::mlops::testing::MakeValue;
using ::mlops::testing::Mix64;
using ::mlops::testing::ValueId;

constexpr int kProcesses = 8;
constexpr int kValues = 200;
constexpr int kPasses = 3;
constexpr size_t kLargeSize = 256 * 1024;
constexpr int64_t kGcLimit = 2 << 20;
constexpr int kPinned = 10;  // values 0..9 are pinned by the garbage collectors
constexpr double kChildTimeoutSeconds = 240;

// --- Test values -------------------------------------------------------------------------

struct TestValue {
  ValueId id;
  std::string bytes;
  Digest digest;
  bool large = false;
};

// `n` values: with `with_large`, every fourth one ~256 KiB (read through mmap); the rest
// 10..2009 bytes (read into the heap).
std::vector<TestValue> MakeValues(uint32_t tag, int n, bool with_large = true) {
  std::vector<TestValue> values(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    TestValue& v = values[static_cast<size_t>(i)];
    v.id = ValueId{tag, static_cast<uint32_t>(i)};
    v.large = with_large && i % 4 == 0;
    const uint64_t h = Mix64((static_cast<uint64_t>(tag) << 32) | static_cast<uint32_t>(i));
    const size_t size = v.large ? kLargeSize + h % 8192 : 10 + h % 2000;
    v.bytes = MakeValue(v.id, size);
    v.digest = Digest::Of(v.bytes);
  }
  return values;
}

// --- Memory shared by the parent and its children -----------------------------------------

struct SharedState {
  std::atomic<int> go{0};
  std::atomic<int> stop{0};
  std::atomic<int> arrivals{0};  // for barriers
  std::atomic<int64_t> puts{0};
  std::atomic<int64_t> streamed_puts{0};
  std::atomic<int64_t> gets_ok{0};
  std::atomic<int64_t> gets_mapped{0};
  std::atomic<int64_t> gets_not_found{0};
  std::atomic<int64_t> held_blobs_checked{0};
  std::atomic<int64_t> gc_runs{0};
  std::atomic<int64_t> gc_evicted{0};
  std::atomic<int64_t> record_puts{0};
  std::atomic<int64_t> record_gets_ok{0};
  std::atomic<int64_t> record_gets_not_found{0};
  std::atomic<int64_t> records_from_other_processes{0};
};
static_assert(std::atomic<int64_t>::is_always_lock_free, "needed across processes");

// A SharedState in an anonymous MAP_SHARED mapping, visible to children forked after it.
class SharedMapping {
 public:
  SharedMapping() {
    void* p = ::mmap(nullptr, sizeof(SharedState), PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED) state_ = new (p) SharedState();
  }
  ~SharedMapping() {
    if (state_ != nullptr) {
      state_->~SharedState();
      ::munmap(state_, sizeof(SharedState));
    }
  }
  SharedMapping(const SharedMapping&) = delete;
  SharedMapping& operator=(const SharedMapping&) = delete;
  SharedState* get() const { return state_; }
  SharedState* operator->() const { return state_; }

 private:
  SharedState* state_ = nullptr;
};

// --- What a child does ----------------------------------------------------------------------

// Collects a child's failures: prints the first few to stderr, counts all.
class ChildFailures {
 public:
  explicit ChildFailures(int process) : process_(process) {}
  void Add(const std::string& message) {
    if (++count_ <= 10) {
      fprintf(stderr, "process %d (pid %d): %s\n", process_, static_cast<int>(::getpid()),
              message.c_str());
    }
  }
  int count() const { return count_; }
  int ExitCode() const { return count_ == 0 ? 0 : 1; }

 private:
  const int process_;
  int count_ = 0;
};

// Waits until the parent says go (so all children start at the same moment).
bool WaitForGo(SharedState* shared) {
  for (int i = 0; i < 600000 && shared->go.load() == 0; ++i) ::usleep(100);
  return shared->go.load() != 0;
}

absl::StatusOr<Digest> PutStreamed(ContentStore* store, absl::string_view bytes,
                                   std::mt19937_64* rng) {
  absl::StatusOr<std::unique_ptr<BlobWriter>> writer = store->NewWriter();
  if (!writer.ok()) return writer.status();
  const size_t max_chunk = bytes.size() > 4096 ? 64 * 1024 : 100;
  for (size_t off = 0; off < bytes.size();) {
    const size_t n = std::min<size_t>(bytes.size() - off, 1 + (*rng)() % max_chunk);
    absl::Status s = (*writer)->Append(bytes.substr(off, n));
    if (!s.ok()) return s;
    off += n;
  }
  return (*writer)->Commit();
}

// Reads values and checks them; holds some of the Blobs for a while and checks them again
// later (a Blob stays valid even if its entry is deleted meanwhile).
class Reader {
 public:
  Reader(const std::vector<TestValue>* values, SharedState* shared, ChildFailures* failures,
         uint64_t seed)
      : values_(*values), shared_(shared), failures_(failures), rng_(seed) {}

  // Gets value `i`. NOT_FOUND is a failure only if `must_exist`.
  void Check(ContentStore* store, int i, bool must_exist, const char* what) {
    const TestValue& v = values_[static_cast<size_t>(i)];
    absl::StatusOr<Blob> blob = store->Get(v.digest);
    if (blob.ok()) {
      shared_->gets_ok.fetch_add(1);
      if (blob->view() != v.bytes) {
        failures_->Add(absl::StrCat("Get(", what, " value ", i, ") returned OK with ",
                                    blob->size(), " bytes that are not the value's ",
                                    v.bytes.size(), " bytes"));
        return;
      }
      if (blob->is_mapped() != v.large) {
        failures_->Add(absl::StrCat("Get(value ", i, " of ", v.bytes.size(), " bytes): ",
                                    "is_mapped() is ", blob->is_mapped(),
                                    " but the map threshold is 64 KiB"));
      }
      if (blob->is_mapped()) shared_->gets_mapped.fetch_add(1);
      if (rng_() % 4 == 0) Hold(i, *std::move(blob));
      return;
    }
    if (absl::IsNotFound(blob.status())) {
      shared_->gets_not_found.fetch_add(1);
      if (must_exist) {
        failures_->Add(absl::StrCat("Get(", what, " value ", i,
                                    ") is NOT_FOUND although it was put and nothing deletes: ",
                                    blob.status().ToString()));
      }
      return;
    }
    failures_->Add(absl::StrCat("Get(", what, " value ", i, "): ", blob.status().ToString()));
  }

  // Checks (and drops) every held Blob.
  void CheckHeld() {
    while (!held_.empty()) CheckOldest();
  }

 private:
  void Hold(int i, Blob blob) {
    held_.emplace_back(i, std::move(blob));
    if (held_.size() > 12) CheckOldest();
  }
  void CheckOldest() {
    const auto& [i, blob] = held_.front();
    if (blob.view() != values_[static_cast<size_t>(i)].bytes) {
      failures_->Add(absl::StrCat("a Blob of value ", i, " held for a while changed its bytes"));
    }
    shared_->held_blobs_checked.fetch_add(1);
    held_.pop_front();
  }

  const std::vector<TestValue>& values_;
  SharedState* const shared_;
  ChildFailures* const failures_;
  std::mt19937_64 rng_;
  std::deque<std::pair<int, Blob>> held_;
};

// Puts every value, in a process-specific order, `kPasses` times, reading its own and other
// values as it goes. With `gc_running`, only pinned values must stay readable.
int RunPutter(int process, const std::string& dir, const std::vector<TestValue>& values,
              SharedState* shared, bool gc_running) {
  ChildFailures failures(process);
  if (!WaitForGo(shared)) return 2;
  std::mt19937_64 rng(1000 + process);
  Reader reader(&values, shared, &failures, 2000 + process);
  std::vector<bool> put(values.size(), false);
  const auto must_exist = [&](int i) {
    return put[static_cast<size_t>(i)] && (!gc_running || i < kPinned);
  };
  for (int pass = 0; pass < kPasses; ++pass) {
    // Every pass opens the store again: the first Opens race to create it, later ones
    // race with other processes' writes (and look for stale temporary files).
    absl::StatusOr<std::unique_ptr<DiskStore>> store = DiskStore::Open(dir);
    if (!store.ok()) {
      failures.Add(absl::StrCat("DiskStore::Open: ", store.status().ToString()));
      return failures.ExitCode();
    }
    std::vector<int> order(values.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
    std::shuffle(order.begin(), order.end(), rng);
    for (const int i : order) {
      const TestValue& v = values[static_cast<size_t>(i)];
      const bool streamed = (i + pass + process) % 3 == 0;
      absl::StatusOr<Digest> d =
          streamed ? PutStreamed(store->get(), v.bytes, &rng) : (*store)->Put(v.bytes);
      if (!d.ok()) {
        failures.Add(absl::StrCat(streamed ? "streamed " : "", "Put of value ", i, ": ",
                                  d.status().ToString()));
        continue;
      }
      shared->puts.fetch_add(1);
      if (streamed) shared->streamed_puts.fetch_add(1);
      if (*d != v.digest) {
        failures.Add(absl::StrCat("Put of value ", i, " returned digest ", d->ToHex(),
                                  ", expected ", v.digest.ToHex()));
        continue;
      }
      put[static_cast<size_t>(i)] = true;
      reader.Check(store->get(), i, must_exist(i), "own");
      if (must_exist(i)) {
        absl::StatusOr<bool> has = (*store)->Contains(v.digest);
        if (!has.ok() || !*has) {
          failures.Add(absl::StrCat("Contains(value ", i, ") after Put: ",
                                    has.ok() ? "false" : has.status().ToString()));
        }
      }
      for (int k = 0; k < 2; ++k) {
        const int j = static_cast<int>(rng() % values.size());
        reader.Check(store->get(), j, must_exist(j), "any");
      }
    }
  }
  reader.CheckHeld();
  return failures.ExitCode();
}

// Collects garbage (down to kGcLimit, keeping the pinned values) until told to stop,
// reading values in between.
int RunCollector(int process, const std::string& dir, const std::vector<TestValue>& values,
                 SharedState* shared) {
  ChildFailures failures(process);
  if (!WaitForGo(shared)) return 2;
  absl::StatusOr<std::unique_ptr<DiskStore>> store = DiskStore::Open(dir);
  if (!store.ok()) {
    failures.Add(absl::StrCat("DiskStore::Open: ", store.status().ToString()));
    return failures.ExitCode();
  }
  absl::flat_hash_set<Digest> pinned;
  for (int i = 0; i < kPinned; ++i) pinned.insert(values[static_cast<size_t>(i)].digest);
  std::mt19937_64 rng(3000 + process);
  Reader reader(&values, shared, &failures, 4000 + process);
  while (true) {
    // Read the stop flag first, so that one more collection runs after the putters ended.
    const bool last = shared->stop.load() != 0;
    absl::StatusOr<GcResult> gc = (*store)->CollectGarbage(kGcLimit, pinned);
    if (!gc.ok()) {
      failures.Add(absl::StrCat("CollectGarbage: ", gc.status().ToString()));
    } else {
      shared->gc_runs.fetch_add(1);
      shared->gc_evicted.fetch_add(gc->entries_evicted);
    }
    for (int k = 0; k < 4; ++k) {
      reader.Check(store->get(), static_cast<int>(rng() % values.size()), false, "any");
    }
    if (last) break;
    ::usleep(static_cast<useconds_t>(rng() % 2000));
  }
  reader.CheckHeld();
  return failures.ExitCode();
}

// Starts the children, lets them go at once, and expects each to exit 0. `putters` are
// waited for first; then `stop` is set and the rest are waited for.
void RunChildren(ChildProcesses* children, SharedState* shared,
                 const std::vector<pid_t>& putters, const std::vector<pid_t>& others) {
  shared->go.store(1);
  for (const std::vector<pid_t>* group : {&putters, &others}) {
    for (const pid_t pid : *group) {
      int status = 0;
      const bool ended = children->Wait(pid, &status, kChildTimeoutSeconds);
      EXPECT_TRUE(ended) << "child " << pid << " did not finish in " << kChildTimeoutSeconds
                         << " s; killed";
      EXPECT_TRUE(ended && WIFEXITED(status) && WEXITSTATUS(status) == 0)
          << "child " << pid << " " << DescribeWaitStatus(status)
          << " (its failures are printed above)";
    }
    shared->stop.store(1);
  }
}

// After all children: every entry reads back and is one of the values; no temporary files
// and nothing quarantined.
void CheckStoreAfterwards(const std::string& dir, const std::vector<TestValue>& values,
                          bool all_present) {
  absl::StatusOr<std::unique_ptr<DiskStore>> store = DiskStore::Open(dir);
  ASSERT_TRUE(store.ok()) << store.status();
  absl::flat_hash_set<Digest> known;
  for (const TestValue& v : values) known.insert(v.digest);
  absl::StatusOr<std::vector<StoreEntry>> entries = (*store)->List();
  ASSERT_TRUE(entries.ok()) << entries.status();
  for (const StoreEntry& e : *entries) {
    EXPECT_TRUE(known.contains(e.digest)) << "unexpected entry " << e.digest;
  }
  int present = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    absl::StatusOr<Blob> blob = (*store)->Get(values[i].digest);
    if (blob.ok()) {
      ++present;
      EXPECT_EQ(blob->view(), values[i].bytes) << "value " << i;
    } else {
      EXPECT_TRUE(absl::IsNotFound(blob.status()) && !all_present)
          << "value " << i << ": " << blob.status();
    }
  }
  if (all_present) {
    EXPECT_EQ(present, static_cast<int>(values.size()));
  }
  EXPECT_EQ(ListNames(dir + "/tmp"), std::vector<std::string>())
      << "temporary files left behind by writers that all finished";
  EXPECT_EQ(ListNames(dir + "/quarantine"), std::vector<std::string>())
      << "entries were quarantined (a Get saw a corrupt value)";
}

void PrintCounters(const char* test, const SharedState& s) {
  printf("%s: %lld puts (%lld streamed), %lld gets OK (%lld mapped), %lld NOT_FOUND, %lld held "
         "Blobs rechecked, %lld garbage collections evicting %lld entries\n",
         test, static_cast<long long>(s.puts.load()),
         static_cast<long long>(s.streamed_puts.load()),
         static_cast<long long>(s.gets_ok.load()), static_cast<long long>(s.gets_mapped.load()),
         static_cast<long long>(s.gets_not_found.load()),
         static_cast<long long>(s.held_blobs_checked.load()),
         static_cast<long long>(s.gc_runs.load()), static_cast<long long>(s.gc_evicted.load()));
}

// --- Tests ----------------------------------------------------------------------------------

TEST(StoreConcurrencyTest, EightProcessesPutAndGetOverlappingValues) {
  const std::string dir = testing::FreshTestDir("putget") + "/store";  // created by children
  const std::vector<TestValue> values = MakeValues(1, kValues);
  SharedMapping shared;
  ASSERT_NE(shared.get(), nullptr);
  ChildProcesses children;
  std::vector<pid_t> putters;
  for (int p = 0; p < kProcesses; ++p) {
    const pid_t pid = children.Spawn(
        [&]() { return RunPutter(p, dir, values, shared.get(), /*gc_running=*/false); });
    ASSERT_GT(pid, 0) << "fork: " << strerror(errno);
    putters.push_back(pid);
  }
  RunChildren(&children, shared.get(), putters, {});
  PrintCounters("put/get", *shared.get());
  EXPECT_EQ(shared->puts.load(), int64_t{kProcesses} * kPasses * kValues);
  EXPECT_GT(shared->streamed_puts.load(), 0);
  EXPECT_GT(shared->gets_mapped.load(), 0);
  EXPECT_GT(shared->gets_ok.load(), shared->gets_mapped.load());  // some read into the heap
  CheckStoreAfterwards(dir, values, /*all_present=*/true);
}

TEST(StoreConcurrencyTest, PutAndGetWhileOtherProcessesCollectGarbage) {
  const std::string dir = testing::FreshTestDir("gc") + "/store";
  const std::vector<TestValue> values = MakeValues(2, kValues);
  ASSERT_TRUE(DiskStore::Open(dir).ok());
  SharedMapping shared;
  ASSERT_NE(shared.get(), nullptr);
  ChildProcesses children;
  std::vector<pid_t> putters, collectors;
  for (int p = 0; p < kProcesses; ++p) {
    const bool collector = p < 2;
    const pid_t pid = children.Spawn([&]() {
      return collector ? RunCollector(p, dir, values, shared.get())
                       : RunPutter(p, dir, values, shared.get(), /*gc_running=*/true);
    });
    ASSERT_GT(pid, 0) << "fork: " << strerror(errno);
    (collector ? collectors : putters).push_back(pid);
  }
  RunChildren(&children, shared.get(), putters, collectors);
  PrintCounters("put/get/gc", *shared.get());
  EXPECT_EQ(shared->puts.load(), int64_t{kProcesses - 2} * kPasses * kValues);
  EXPECT_GT(shared->gc_runs.load(), 0);
  EXPECT_GT(shared->gc_evicted.load(), 0);
  EXPECT_GT(shared->gets_ok.load(), 0);

  // The pinned values were put and never evicted; the last collection left the store within
  // its limit (the pinned values are well under it).
  absl::StatusOr<std::unique_ptr<DiskStore>> store = DiskStore::Open(dir);
  ASSERT_TRUE(store.ok()) << store.status();
  for (int i = 0; i < kPinned; ++i) {
    absl::StatusOr<Blob> blob = (*store)->Get(values[static_cast<size_t>(i)].digest);
    ASSERT_TRUE(blob.ok()) << "pinned value " << i << ": " << blob.status();
    EXPECT_EQ(blob->view(), values[static_cast<size_t>(i)].bytes);
  }
  absl::StatusOr<StoreStats> stats = (*store)->Stats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_LE(stats->bytes, kGcLimit);
  CheckStoreAfterwards(dir, values, /*all_present=*/false);
}

// Two DiskStore instances on one directory in one process (say two components of a
// program, or two threads, each opening the store) write at the same time. Their temporary
// files must not collide: every write must succeed. The same names would collide between two
// processes with the same pid in different pid namespaces (containers sharing a store
// volume); two instances in one process show it deterministically.
TEST(StoreConcurrencyTest, TwoStoreInstancesOnOneDirectoryWriteAtTheSameTime) {
  const std::string dir = testing::FreshTestDir("two_instances") + "/store";
  absl::StatusOr<std::unique_ptr<DiskStore>> a = DiskStore::Open(dir);
  absl::StatusOr<std::unique_ptr<DiskStore>> b = DiskStore::Open(dir);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  const std::vector<TestValue> values = MakeValues(6, 6, /*with_large=*/false);
  // While a streamed write through `a` is in progress, `b` writes. Three rounds, each well
  // within a millisecond, so at least two of them fall within one wall-clock second.
  std::vector<std::unique_ptr<BlobWriter>> in_progress;
  for (int i = 0; i < 3; ++i) {
    const TestValue& va = values[static_cast<size_t>(2 * i)];
    const TestValue& vb = values[static_cast<size_t>(2 * i + 1)];
    absl::StatusOr<std::unique_ptr<BlobWriter>> w = (*a)->NewWriter();
    ASSERT_TRUE(w.ok()) << w.status();
    ASSERT_TRUE((*w)->Append(va.bytes).ok());
    in_progress.push_back(*std::move(w));
    absl::StatusOr<Digest> d = (*b)->Put(vb.bytes);
    EXPECT_TRUE(d.ok()) << "round " << i << ": Put through a second DiskStore instance while "
                        << "the first has a write in progress: " << d.status();
  }
  for (size_t i = 0; i < in_progress.size(); ++i) {
    absl::StatusOr<Digest> d = in_progress[i]->Commit();
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_EQ(*d, values[2 * i].digest);
  }
  for (size_t i = 0; i < values.size(); ++i) {
    absl::StatusOr<Blob> blob = (*a)->Get(values[i].digest);
    EXPECT_TRUE(blob.ok() && blob->view() == values[i].bytes)
        << "value " << i << ": " << blob.status();
  }
  EXPECT_EQ(ListNames(dir + "/tmp"), std::vector<std::string>());
}

// Processes in different pid namespaces (say two containers sharing a cache volume) can have
// the same pid. Two such processes — each pid 1 of its own namespace — write to one store at
// the same time: every write must succeed. (Needs CAP_SYS_ADMIN for CLONE_NEWPID; skipped
// without it.)
constexpr int kCannotUnshare = 77;

// In a child: runs `body` as pid 1 of a new pid namespace and returns its exit code.
template <typename Body>
int RunAsPidOneOfNewNamespace(Body body) {
  if (::unshare(CLONE_NEWPID) != 0) return kCannotUnshare;
  const pid_t pid = ::fork();
  if (pid < 0) return 3;
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // dies with its parent, even when that is killed
    ::fflush(stderr);
    ::_exit(body());
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

TEST(StoreConcurrencyTest, ProcessesWithTheSamePidInTwoPidNamespacesWriteAtTheSameTime) {
  const std::string dir = testing::FreshTestDir("pid_namespaces") + "/store";
  ASSERT_TRUE(DiskStore::Open(dir).ok());
  constexpr int kWriters = 2;
  constexpr int kRounds = 3;
  const std::vector<TestValue> values = MakeValues(7, kWriters * kRounds, /*with_large=*/false);
  SharedMapping shared;
  ASSERT_NE(shared.get(), nullptr);
  // Waits until every writer has arrived at barrier number `step`.
  const auto barrier = [&](int step) {
    shared->arrivals.fetch_add(1);
    for (int i = 0; i < 600000 && shared->arrivals.load() < kWriters * (step + 1); ++i) {
      ::usleep(50);
    }
    return shared->arrivals.load() >= kWriters * (step + 1);
  };
  ChildProcesses children;
  std::vector<pid_t> pids;
  for (int p = 0; p < kWriters; ++p) {
    const pid_t pid = children.Spawn([&]() {
      return RunAsPidOneOfNewNamespace([&]() -> int {
        ChildFailures failures(p);
        if (::getpid() != 1) return 4;
        absl::StatusOr<std::unique_ptr<DiskStore>> store = DiskStore::Open(dir);
        if (!store.ok()) return 5;
        // In each round both processes start a streamed write at the same moment (well
        // within one second for at least two of the three rounds) and keep it open until
        // both have started.
        std::vector<std::pair<int, std::unique_ptr<BlobWriter>>> writers;
        for (int round = 0; round < kRounds; ++round) {
          if (!barrier(2 * round)) return 6;
          const int i = round * kWriters + p;
          absl::StatusOr<std::unique_ptr<BlobWriter>> w = (*store)->NewWriter();
          if (!w.ok()) {
            failures.Add(absl::StrCat("round ", round, ": NewWriter as pid 1 of a pid "
                                      "namespace, while pid 1 of another one writes: ",
                                      w.status().ToString()));
          } else if (!(*w)->Append(values[static_cast<size_t>(i)].bytes).ok()) {
            failures.Add("Append failed");
          } else {
            writers.emplace_back(i, *std::move(w));
          }
          if (!barrier(2 * round + 1)) return 6;
        }
        for (auto& [i, w] : writers) {
          absl::StatusOr<Digest> d = w->Commit();
          if (!d.ok() || *d != values[static_cast<size_t>(i)].digest) {
            failures.Add(absl::StrCat("Commit of value ", i, ": ",
                                      d.ok() ? "wrong digest" : d.status().ToString()));
          }
        }
        return failures.ExitCode();
      });
    });
    ASSERT_GT(pid, 0) << "fork: " << strerror(errno);
    pids.push_back(pid);
  }
  std::vector<int> statuses;
  for (const pid_t pid : pids) {
    int status = 0;
    ASSERT_TRUE(children.Wait(pid, &status, kChildTimeoutSeconds)) << "child timed out";
    statuses.push_back(status);
  }
  for (const int status : statuses) {
    if (WIFEXITED(status) && WEXITSTATUS(status) == kCannotUnshare) {
      GTEST_SKIP() << "cannot create a pid namespace (unshare(CLONE_NEWPID) needs "
                      "CAP_SYS_ADMIN)";
    }
  }
  for (const int status : statuses) {
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "a writer " << DescribeWaitStatus(status) << " (its failures are printed above)";
  }
  absl::StatusOr<std::unique_ptr<DiskStore>> store = DiskStore::Open(dir);
  ASSERT_TRUE(store.ok()) << store.status();
  for (size_t i = 0; i < values.size(); ++i) {
    absl::StatusOr<Blob> blob = (*store)->Get(values[i].digest);
    EXPECT_TRUE(blob.ok() && blob->view() == values[i].bytes)
        << "value " << i << ": " << blob.status();
  }
  EXPECT_EQ(ListNames(dir + "/tmp"), std::vector<std::string>());
}

// --- Action cache ---------------------------------------------------------------------------

constexpr int kKeys = 64;

Digest KeyOf(int k) { return Digest::Of(absl::StrCat("store_concurrency_test key ", k)); }

// Process `p`'s own output for key `k` (every process stores a different result).
const TestValue& OwnOutput(const std::vector<TestValue>& own, int k, int p) {
  return own[static_cast<size_t>(k * kProcesses + p)];
}

ActionResult ResultFor(const std::vector<TestValue>& common, const std::vector<TestValue>& own,
                       int k, int p) {
  ActionResult r;
  const TestValue& c = common[static_cast<size_t>(k)];
  const TestValue& o = OwnOutput(own, k, p);
  OutputRef* out = r.add_outputs();
  out->set_name("common");
  out->set_digest(c.digest.ToHex());
  out->set_size(static_cast<int64_t>(c.bytes.size()));
  out = r.add_outputs();
  out->set_name("own");
  out->set_digest(o.digest.ToHex());
  out->set_size(static_cast<int64_t>(o.bytes.size()));
  r.set_execution_id(absl::StrCat(p));
  r.set_host(absl::StrCat("process-", p));
  r.set_duration_us(k);
  return r;
}

// Whether `r` is exactly the record some process stores for key `k`; sets `*writer`.
bool IsValidRecord(const std::vector<TestValue>& common, const std::vector<TestValue>& own,
                   int k, const ActionResult& r, int* writer) {
  int p = -1;
  if (!absl::SimpleAtoi(r.execution_id(), &p) || p < 0 || p >= kProcesses) return false;
  *writer = p;
  return r.SerializeAsString() == ResultFor(common, own, k, p).SerializeAsString();
}

int RunRecorder(int process, const std::string& store_dir, const std::string& ac_dir,
                const std::vector<TestValue>& common, const std::vector<TestValue>& own,
                SharedState* shared) {
  ChildFailures failures(process);
  if (!WaitForGo(shared)) return 2;
  absl::StatusOr<std::unique_ptr<DiskStore>> store = DiskStore::Open(store_dir);
  if (!store.ok()) {
    failures.Add(absl::StrCat("DiskStore::Open: ", store.status().ToString()));
    return failures.ExitCode();
  }
  std::mt19937_64 rng(5000 + process);
  std::vector<bool> recorded(kKeys, false);
  const auto check_get = [&](ActionCache* cache, int k) {
    absl::StatusOr<ActionResult> r = cache->Get(KeyOf(k));
    if (r.ok()) {
      shared->record_gets_ok.fetch_add(1);
      int writer = -1;
      if (!IsValidRecord(common, own, k, *r, &writer)) {
        failures.Add(absl::StrCat("ActionCache::Get(key ", k, ") returned a record no process "
                                  "wrote: {", r->ShortDebugString(), "}"));
      } else if (writer != process) {
        shared->records_from_other_processes.fetch_add(1);
      }
    } else if (absl::IsNotFound(r.status())) {
      shared->record_gets_not_found.fetch_add(1);
      // Outputs are put before their record and nothing deletes: once this process has
      // stored a record for `k`, some record for `k` is always there.
      if (recorded[static_cast<size_t>(k)]) {
        failures.Add(absl::StrCat("ActionCache::Get(key ", k,
                                  ") is NOT_FOUND after this process stored it: ",
                                  r.status().ToString()));
      }
    } else {
      failures.Add(absl::StrCat("ActionCache::Get(key ", k, "): ", r.status().ToString()));
    }
  };
  for (int pass = 0; pass < kPasses; ++pass) {
    // Every pass opens the cache again (the first time, all processes create it at once).
    absl::StatusOr<std::unique_ptr<ActionCache>> cache =
        ActionCache::OpenOnDisk(ac_dir);
    if (!cache.ok()) {
      failures.Add(absl::StrCat("ActionCache::OpenOnDisk: ", cache.status().ToString()));
      return failures.ExitCode();
    }
    std::vector<int> order(kKeys);
    for (int k = 0; k < kKeys; ++k) order[static_cast<size_t>(k)] = k;
    std::shuffle(order.begin(), order.end(), rng);
    for (const int k : order) {
      for (const TestValue* v : {&common[static_cast<size_t>(k)], &OwnOutput(own, k, process)}) {
        absl::StatusOr<Digest> d = (*store)->Put(v->bytes);
        if (!d.ok() || *d != v->digest) {
          failures.Add(absl::StrCat("Put of an output of key ", k, ": ",
                                    d.ok() ? "wrong digest" : d.status().ToString()));
        }
      }
      absl::Status s = (*cache)->Put(KeyOf(k), ResultFor(common, own, k, process));
      if (!s.ok()) {
        failures.Add(absl::StrCat("ActionCache::Put(key ", k, "): ", s.ToString()));
        continue;
      }
      shared->record_puts.fetch_add(1);
      recorded[static_cast<size_t>(k)] = true;
      check_get(cache->get(), k);
      for (int n = 0; n < 3; ++n) check_get(cache->get(), static_cast<int>(rng() % kKeys));
    }
  }
  return failures.ExitCode();
}

TEST(StoreConcurrencyTest, EightProcessesPutAndGetTheSameActionKeys) {
  const std::string root = testing::FreshTestDir("action_cache");
  const std::string store_dir = root + "/store";
  const std::string ac_dir = root + "/ac";
  const std::vector<TestValue> common = MakeValues(3, kKeys);
  const std::vector<TestValue> own = MakeValues(4, kKeys * kProcesses, /*with_large=*/false);
  SharedMapping shared;
  ASSERT_NE(shared.get(), nullptr);
  ChildProcesses children;
  std::vector<pid_t> pids;
  for (int p = 0; p < kProcesses; ++p) {
    const pid_t pid = children.Spawn(
        [&]() { return RunRecorder(p, store_dir, ac_dir, common, own, shared.get()); });
    ASSERT_GT(pid, 0) << "fork: " << strerror(errno);
    pids.push_back(pid);
  }
  RunChildren(&children, shared.get(), pids, {});
  const SharedState& s = *shared.get();
  printf("action cache: %lld record puts, %lld gets OK (%lld of another process's record), "
         "%lld NOT_FOUND\n",
         static_cast<long long>(s.record_puts.load()),
         static_cast<long long>(s.record_gets_ok.load()),
         static_cast<long long>(s.records_from_other_processes.load()),
         static_cast<long long>(s.record_gets_not_found.load()));
  EXPECT_EQ(s.record_puts.load(), int64_t{kProcesses} * kPasses * kKeys);
  EXPECT_GT(s.records_from_other_processes.load(), 0);

  // Every key is readable afterwards, with one of the records that were written for it.
  absl::StatusOr<std::unique_ptr<DiskStore>> store = DiskStore::Open(store_dir);
  ASSERT_TRUE(store.ok()) << store.status();
  absl::StatusOr<std::unique_ptr<ActionCache>> cache =
      ActionCache::OpenOnDisk(ac_dir);
  ASSERT_TRUE(cache.ok()) << cache.status();
  for (int k = 0; k < kKeys; ++k) {
    absl::StatusOr<ActionResult> r = (*cache)->Get(KeyOf(k));
    ASSERT_TRUE(r.ok()) << "key " << k << ": " << r.status();
    int writer = -1;
    EXPECT_TRUE(IsValidRecord(common, own, k, *r, &writer))
        << "key " << k << ": {" << r->ShortDebugString() << "}";
  }
  EXPECT_EQ(ListNames(store_dir + "/tmp"), std::vector<std::string>());
  EXPECT_EQ(ListNames(store_dir + "/quarantine"), std::vector<std::string>());
}

}  // namespace
}  // namespace mlops
