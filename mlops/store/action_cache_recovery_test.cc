// ActionCache on disk when records.db is damaged or replaced while in use: by another
// process that recovered it first, by a header or page overwritten under a running
// process, by truncation, by damage several threads meet at once, and by several
// processes opening a garbage database together. In every case: no crash, no record
// written into a file nobody reads, at most one database moved aside per damaged file,
// and a cache that works afterwards. (From the review of the SQLite record store.)
#include <fcntl.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "mlops/store/action_cache.h"
#include "mlops/testing/files.h"

namespace mlops {
namespace {

struct Env {
  std::string ac;
  Env() : ac(test::FreshDir() + "/ac") {}
  std::unique_ptr<ActionCache> Open() {
    auto c = ActionCache::OpenOnDisk(ac);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? *std::move(c) : nullptr;
  }
  ActionResult Result(const std::string& tag) {
    ActionResult r;
    OutputRef* out = r.add_outputs();
    out->set_name("o");
    out->set_digest(Digest::Of(tag).ToHex());
    out->set_size(static_cast<int64_t>(tag.size()));
    return r;
  }
};

// The number of databases moved aside in `ac`.
int MovedAside(const std::string& ac) {
  int aside = 0;
  for (const std::string& n : test::ListDir(ac)) {
    aside += n.find(".corrupt.") != std::string::npos && n.find("-wal") == std::string::npos &&
             n.find("-shm") == std::string::npos;
  }
  return aside;
}

// A lookup's status is one the Workspace can take: a hit, a miss, or damage (once).
bool Acceptable(const absl::Status& s) {
  return s.ok() || absl::IsNotFound(s) || absl::IsDataLoss(s);
}

// Another process found damage and moved records.db aside (as a recovery does); this
// process's writer must follow the path to the new file, not write into the moved one.
TEST(ActionCacheRecoveryTest, WriterFollowsTheFileAnotherProcessPutInPlace) {
  Env env;
  auto a = env.Open();
  ASSERT_TRUE(a->Put(Digest::Of("k1"), env.Result("v1")).ok());
  const std::string db = env.ac + "/records.db", aside = db + ".corrupt.other";
  for (const char* s : {"", "-wal", "-shm"}) {
    ASSERT_EQ(::rename((db + s).c_str(), (aside + s).c_str()), 0) << s;
  }
  auto b = env.Open();  // the other process starts anew
  const absl::Status put = a->Put(Digest::Of("k2"), env.Result("v2"));
  EXPECT_TRUE(put.ok()) << put;
  auto got_b = b->Get(Digest::Of("k2"));
  EXPECT_TRUE(got_b.ok()) << "other process: " << got_b.status();
  auto c = env.Open();
  auto got_c = c->Get(Digest::Of("k2"));
  EXPECT_TRUE(got_c.ok()) << "a later open: " << got_c.status();
}

// A header overwritten after Open: new reader connections fail "not a database", which is
// damage like any other: moved aside, and the cache works again.
TEST(ActionCacheRecoveryTest, HeaderDamagedAfterOpenIsRecovered) {
  Env env;
  {
    auto a = env.Open();
    for (int i = 0; i < 10; ++i) {
      ASSERT_TRUE(a->Put(Digest::Of(absl::StrCat(i)), env.Result(absl::StrCat(i))).ok());
    }
  }  // checkpointed
  auto a = env.Open();
  const int fd = ::open((env.ac + "/records.db").c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "garbage garbage!", 16), 16);
  ::close(fd);
  auto first = a->Get(Digest::Of("1"));
  EXPECT_TRUE(Acceptable(first.status())) << first.status();
  for (int i = 0; i < 3; ++i) {
    auto got = a->Get(Digest::Of("1"));
    EXPECT_TRUE(got.ok() || absl::IsNotFound(got.status())) << "lookup " << i << ": "
                                                             << got.status();
  }
  EXPECT_LE(MovedAside(env.ac), 1);
  ASSERT_TRUE(a->Put(Digest::Of("new"), env.Result("new")).ok());
  EXPECT_TRUE(a->Get(Digest::Of("new")).ok());
  auto later = env.Open();
  EXPECT_TRUE(later->Get(Digest::Of("new")).ok());
}

// records.db truncated by something else while a reader has it open: damage, not a fault
// (readers do not map the file: a mapping past the new end would be SIGBUS).
TEST(ActionCacheRecoveryTest, TruncatedDatabaseIsDamageNotAFault) {
  Env env;
  auto a = env.Open();
  for (int i = 0; i < 3000; ++i) {
    ASSERT_TRUE(a->Put(Digest::Of(absl::StrCat(i)), env.Result(absl::StrCat(i))).ok());
  }
  a.reset();  // checkpointed: a later process's view
  a = env.Open();
  ASSERT_TRUE(a->Put(Digest::Of("one more"), env.Result("one more")).ok());  // a WAL frame
  ASSERT_TRUE(a->Get(Digest::Of("2999")).ok());  // a pooled reader has the file open
  ASSERT_EQ(::truncate((env.ac + "/records.db").c_str(), 8192), 0);
  for (int i = 0; i < 3000; i += 100) {
    auto g = a->Get(Digest::Of(absl::StrCat(i)));
    EXPECT_TRUE(Acceptable(g.status())) << "lookup " << i << ": " << g.status();
  }
  EXPECT_LE(MovedAside(env.ac), 1);
  ASSERT_TRUE(a->Put(Digest::Of("after"), env.Result("after")).ok());
  EXPECT_TRUE(a->Get(Digest::Of("after")).ok());
}

// Damage met by several lookups at once is moved aside once: a later recovery must not move
// the new, healthy database aside too.
TEST(ActionCacheRecoveryTest, DamageMetByConcurrentLookupsIsMovedAsideOnce) {
  Env env;
  std::vector<Digest> keys;
  {
    auto a = env.Open();
    for (int i = 0; i < 50; ++i) {
      keys.push_back(Digest::Of(absl::StrCat("page ", i)));
      ASSERT_TRUE(a->Put(keys.back(), env.Result(absl::StrCat("page ", i))).ok());
    }
  }
  const std::string db = env.ac + "/records.db";
  std::string bytes = test::Slurp(db);
  for (int i = 4096; i < 4096 + 100; ++i) bytes[i] = '\xff';  // page 2 (page size 4096)
  test::Spit(db, bytes);
  auto a = env.Open();
  constexpr int kThreads = 8;
  std::atomic<int> ready{0};
  std::atomic<int> data_loss{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ++ready;
      while (ready.load() < kThreads) {}
      auto g = a->Get(keys[t]);
      if (absl::IsDataLoss(g.status())) ++data_loss;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(MovedAside(env.ac), 1) << data_loss.load() << " lookups failed DATA_LOSS";
  ASSERT_TRUE(a->Put(Digest::Of("after"), env.Result("after")).ok());
  EXPECT_TRUE(a->Get(Digest::Of("after")).ok());
}

// Several processes open a records.db that is garbage at the same moment (e.g. workers
// started together after a crash); each stores one record and exits cleanly. None fails,
// none's record is lost, and the garbage is moved aside once.
TEST(ActionCacheRecoveryTest, ConcurrentOpensOfAGarbageDatabaseLoseNothing) {
  int lost_rounds = 0, lost_total = 0;
  for (int round = 0; round < 20; ++round) {
    Env env;
    {
      auto c = env.Open();
      ASSERT_NE(c, nullptr);
    }
    for (const char* s : {"", "-wal", "-shm"}) ::unlink((env.ac + "/records.db" + s).c_str());
    test::Spit(env.ac + "/records.db", std::string(8192, 'g'));
    constexpr int kProcs = 6;
    int go[2];
    ASSERT_EQ(::pipe(go), 0);
    std::vector<pid_t> pids;
    for (int p = 0; p < kProcs; ++p) {
      const pid_t pid = ::fork();
      if (pid == 0) {
        ::close(go[1]);
        char c;
        if (::read(go[0], &c, 1) != 0) _exit(5);
        auto cache = ActionCache::OpenOnDisk(env.ac);
        if (!cache.ok()) { fprintf(stderr, "open: %s\n", cache.status().ToString().c_str()); _exit(6); }
        ActionResult r;
        r.set_execution_id(absl::StrCat(p));
        if (!(*cache)->Put(Digest::Of(absl::StrCat("proc ", p)), r).ok()) _exit(7);
        if (!(*cache)->Get(Digest::Of(absl::StrCat("proc ", p))).ok()) _exit(8);
        _exit(0);
      }
      pids.push_back(pid);
    }
    ::close(go[0]);
    ::close(go[1]);  // all start at once
    int failed = 0;
    for (pid_t pid : pids) {
      int st = 0;
      ::waitpid(pid, &st, 0);
      if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) ++failed;
    }
    auto c = env.Open();
    int lost = 0;
    for (int p = 0; p < kProcs; ++p) lost += !c->Get(Digest::Of(absl::StrCat("proc ", p))).ok();
    int aside = 0;
    aside = MovedAside(env.ac);
    EXPECT_EQ(failed, 0) << "round " << round;
    EXPECT_EQ(aside, 1) << "round " << round;
    lost_total += lost;
    lost_rounds += lost > 0;
  }
  EXPECT_EQ(lost_total, 0) << "in " << lost_rounds << " rounds";
}

}  // namespace
}  // namespace mlops
