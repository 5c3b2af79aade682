// DiskStore-specific tests: the directory layout, reopening, Open's errors, temporary files
// of crashed writers, a full disk, durability options, and damage to the layout. The
// ContentStore contract itself is tested for every store in content_store_test.cc.
#include "mlops/store/disk_store.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/hash/digest.h"
#include "mlops/store/content_store.h"
#include "mlops/testing/files.h"
#include "mlops/testing/status_matchers.h"

namespace mlops {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::testing::StartsWith;
using ::mlops::test::FreshDir;
using ::mlops::test::StatusIs;
using ::mlops::test::ListDir;
using ::mlops::test::SetAge;
using ::mlops::test::Slurp;
using ::mlops::test::Spit;

// Aborts the test binary when a system call used to *set up* a test fails; such a failure is
// an environment problem, not a finding about the code under test.
#define CHECK_SYS(expr)                                                         \
  do {                                                                          \
    if (!(expr)) {                                                              \
      std::fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #expr, \
                   std::strerror(errno));                                       \
      std::abort();                                                             \
    }                                                                           \
  } while (0)

constexpr size_t kKiB = 1024;
constexpr size_t kMiB = 1024 * 1024;
constexpr absl::string_view kFormat = "mlops-disk-store 1\n";

std::string Pattern(size_t n, uint64_t seed) {
  std::string s(n, '\0');
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < n; ++i) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    s[i] = static_cast<char>(x >> 56);
  }
  return s;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

bool IsDir(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

time_t MtimeOf(const std::string& path) {
  struct stat st;
  CHECK_SYS(::stat(path.c_str(), &st) == 0);
  return st.st_mtim.tv_sec;
}

::testing::AssertionResult SameBytes(absl::string_view actual, absl::string_view expected) {
  if (actual == expected) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "bytes differ: actual size " << actual.size()
                                       << ", expected size " << expected.size();
}

absl::StatusOr<std::unique_ptr<DiskStore>> OpenStore(const std::string& dir,
                                                     DiskStoreOptions options = {}) {
  return DiskStore::Open(dir, options);
}

std::string ShardOf(const Digest& d) { return d.ToHex().substr(0, 2); }

// ---------------------------------------------------------------------------------------
// Layout and reopening.

TEST(DiskStoreTest, OpenCreatesTheLayout) {
  const std::string dir = FreshDir() + "/a/b/store";  // missing parents too
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> store, OpenStore(dir));
  EXPECT_EQ(store->dir(), dir);
  EXPECT_EQ(Slurp(dir + "/FORMAT"), kFormat);
  EXPECT_TRUE(IsDir(dir + "/tmp"));
  EXPECT_TRUE(IsDir(dir + "/quarantine"));
  EXPECT_THAT(ListDir(dir + "/tmp"), IsEmpty());
  EXPECT_THAT(ListDir(dir + "/quarantine"), IsEmpty());
  std::vector<std::string> expected_shards;
  for (int i = 0; i < 256; ++i) {
    char shard[3];
    std::snprintf(shard, sizeof(shard), "%02x", i);
    expected_shards.push_back(shard);
    EXPECT_TRUE(IsDir(dir + "/cas/" + shard)) << shard;
  }
  EXPECT_EQ(ListDir(dir + "/cas"), expected_shards);
  EXPECT_THAT(ListDir(dir), ElementsAre("FORMAT", "cas", "quarantine", "tmp"));

  // Values go where PathOf says.
  ASSERT_OK_AND_ASSIGN(const Digest d, store->Put("layout"));
  EXPECT_EQ(store->PathOf(d), absl::StrCat(dir, "/cas/", ShardOf(d), "/", d.ToHex()));
  EXPECT_EQ(Slurp(store->PathOf(d)), "layout");
}

TEST(DiskStoreTest, OpenStripsTrailingSlashes) {
  const std::string dir = FreshDir() + "/store";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> store, OpenStore(dir + "//"));
  EXPECT_EQ(store->dir(), dir);
  EXPECT_THAT(store->PathOf(Digest::Of("x")), StartsWith(dir + "/cas/"));
}

TEST(DiskStoreTest, OpenOfEmptyPathIsInvalidArgument) {
  EXPECT_THAT(OpenStore(""), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(DiskStoreTest, ReopenSeesOldEntries) {
  const std::string dir = FreshDir() + "/store";
  std::map<Digest, std::string> values;
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> store, OpenStore(dir));
    for (const size_t size : {size_t{0}, size_t{10}, 64 * kKiB, 300 * kKiB}) {
      const std::string bytes = Pattern(size, size + 1);
      ASSERT_OK_AND_ASSIGN(const Digest d, store->Put(bytes));
      values[d] = bytes;
    }
  }
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> store, OpenStore(dir));
  EXPECT_EQ(Slurp(dir + "/FORMAT"), kFormat);
  ASSERT_OK_AND_ASSIGN(const StoreStats stats, store->Stats());
  EXPECT_EQ(stats.entries, 4);
  EXPECT_EQ(stats.bytes, 10 + 364 * static_cast<int64_t>(kKiB));
  for (const auto& [d, bytes] : values) {
    ASSERT_OK_AND_ASSIGN(const Blob blob, store->Get(d));
    EXPECT_TRUE(SameBytes(blob.view(), bytes));
  }
}

TEST(DiskStoreTest, TwoOpenInstancesShareTheDirectory) {
  const std::string dir = FreshDir() + "/store";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> one, OpenStore(dir));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> two, OpenStore(dir));
  ASSERT_OK_AND_ASSIGN(const Digest d, one->Put("shared"));
  ASSERT_OK_AND_ASSIGN(const Blob blob, two->Get(d));
  EXPECT_EQ(blob.view(), "shared");
  ASSERT_OK(two->Delete(d));
  ASSERT_OK_AND_ASSIGN(const bool present, one->Contains(d));
  EXPECT_FALSE(present);
}

// Two DiskStore objects on one directory in one process, each with a writer open at the
// same time: each writer needs its own temporary file.
TEST(DiskStoreTest, TwoInstancesInOneProcessCanWriteAtTheSameTime) {
  const std::string dir = FreshDir() + "/store";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> one, OpenStore(dir));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> two, OpenStore(dir));
  absl::StatusOr<std::unique_ptr<BlobWriter>> w1, w2;
  // Both writers are created within one second of the clock (retried if a second boundary
  // falls between them), which is when their temporary files are named alike.
  for (int attempt = 0; attempt < 10; ++attempt) {
    const time_t before = ::time(nullptr);
    w1 = one->NewWriter();
    w2 = two->NewWriter();
    if (::time(nullptr) == before) break;
  }
  ASSERT_TRUE(w1.ok()) << w1.status();
  ASSERT_TRUE(w2.ok()) << "second instance's NewWriter: " << w2.status();
  ASSERT_OK((*w1)->Append("from one"));
  ASSERT_OK((*w2)->Append("from two"));
  ASSERT_OK_AND_ASSIGN(const Digest d1, (*w1)->Commit());
  ASSERT_OK_AND_ASSIGN(const Digest d2, (*w2)->Commit());
  ASSERT_OK_AND_ASSIGN(const Blob b1, two->Get(d1));
  ASSERT_OK_AND_ASSIGN(const Blob b2, one->Get(d2));
  EXPECT_EQ(b1.view(), "from one");
  EXPECT_EQ(b2.view(), "from two");
}

// ---------------------------------------------------------------------------------------
// Open's errors.

TEST(DiskStoreTest, OpenOnARegularFileIsFailedPrecondition) {
  const std::string file = FreshDir() + "/a-file";
  Spit(file, "not a directory");
  absl::StatusOr<std::unique_ptr<DiskStore>> store = OpenStore(file);
  EXPECT_THAT(store, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(std::string(store.status().message()), HasSubstr(file));
  EXPECT_EQ(Slurp(file), "not a directory");  // untouched
}

TEST(DiskStoreTest, OpenUnderARegularFileIsFailedPrecondition) {
  const std::string file = FreshDir() + "/a-file";
  Spit(file, "not a directory");
  for (const std::string& dir : {file + "/store", file + "/deeper/store"}) {
    absl::StatusOr<std::unique_ptr<DiskStore>> store = OpenStore(dir);
    EXPECT_THAT(store, StatusIs(absl::StatusCode::kFailedPrecondition)) << dir;
    EXPECT_THAT(std::string(store.status().message()), HasSubstr(file)) << dir;
  }
}

TEST(DiskStoreTest, OpenWithAnotherFormatIsFailedPrecondition) {
  for (const std::string& format :
       {std::string("mlops-disk-store 2\n"), std::string("mlops-disk-store 1"),
        std::string(""), std::string("something else entirely\n")}) {
    SCOPED_TRACE(absl::StrCat("FORMAT \"", format, "\""));
    const std::string dir = FreshDir() + "/store";
    Digest d;
    {
      ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> store, OpenStore(dir));
      ASSERT_OK_AND_ASSIGN(d, store->Put("old entry"));
    }
    Spit(dir + "/FORMAT", format);
    absl::StatusOr<std::unique_ptr<DiskStore>> store = OpenStore(dir);
    EXPECT_THAT(store, StatusIs(absl::StatusCode::kFailedPrecondition));
    EXPECT_THAT(std::string(store.status().message()), HasSubstr(dir + "/FORMAT"));
    EXPECT_EQ(Slurp(dir + "/FORMAT"), format);  // not rewritten
    EXPECT_TRUE(Exists(absl::StrCat(dir, "/cas/", ShardOf(d), "/", d.ToHex())));
  }
}

TEST(DiskStoreTest, OpenWithALayoutDirectoryThatIsAFileIsFailedPrecondition) {
  for (const char* part : {"tmp", "cas", "quarantine"}) {
    SCOPED_TRACE(part);
    const std::string dir = FreshDir() + "/store";
    CHECK_SYS(::mkdir(dir.c_str(), 0755) == 0);
    Spit(absl::StrCat(dir, "/", part), "a file");
    absl::StatusOr<std::unique_ptr<DiskStore>> store = OpenStore(dir);
    EXPECT_THAT(store, StatusIs(absl::StatusCode::kFailedPrecondition));
    EXPECT_THAT(std::string(store.status().message()), HasSubstr(absl::StrCat(dir, "/", part)));
  }
}

TEST(DiskStoreTest, OpenOfAnUnwritableDirectoryIsPermissionDenied) {
  if (::geteuid() == 0) {
    GTEST_SKIP() << "running as root, for whom directory permissions do not deny access; "
                    "the PERMISSION_DENIED path cannot be exercised";
  }
  const std::string parent = FreshDir();
  const std::string existing = parent + "/existing";
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> store, OpenStore(existing));
  }
  CHECK_SYS(::chmod(existing.c_str(), 0555) == 0);
  CHECK_SYS(::chmod(parent.c_str(), 0555) == 0);
  absl::StatusOr<std::unique_ptr<DiskStore>> store = OpenStore(existing);
  EXPECT_THAT(store, StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(std::string(store.status().message()), HasSubstr(existing));
  const std::string missing = parent + "/missing";
  store = OpenStore(missing);
  EXPECT_THAT(store, StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(std::string(store.status().message()), HasSubstr(missing));
  CHECK_SYS(::chmod(parent.c_str(), 0755) == 0);
  CHECK_SYS(::chmod(existing.c_str(), 0755) == 0);
}

// ---------------------------------------------------------------------------------------
// Temporary files of crashed writers.

TEST(DiskStoreTest, OpenRemovesOldUnlockedTempFiles) {
  const std::string dir = FreshDir() + "/store";
  { ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> store, OpenStore(dir)); }
  const std::string tmp = dir + "/tmp";
  for (const char* name : {"12345.0.1700000000", "12345.1.1700000000", "junk"}) {
    Spit(absl::StrCat(tmp, "/", name), Pattern(5000, 1));
    SetAge(absl::StrCat(tmp, "/", name), 3600);
  }
  ASSERT_THAT(ListDir(tmp), SizeIs(3));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> store, OpenStore(dir));
  EXPECT_THAT(ListDir(tmp), IsEmpty());
  ASSERT_OK_AND_ASSIGN(const StoreStats stats, store->Stats());
  EXPECT_EQ(stats.entries, 0);
}

TEST(DiskStoreTest, OpenKeepsAnOldTempFileThatIsLocked) {
  const std::string dir = FreshDir() + "/store";
  { ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> store, OpenStore(dir)); }
  const std::string locked = dir + "/tmp/999.0.1700000000";
  Spit(locked, "a live writer's bytes");
  const int fd = ::open(locked.c_str(), O_RDWR | O_CLOEXEC);
  CHECK_SYS(fd >= 0);
  CHECK_SYS(::flock(fd, LOCK_EX) == 0);
  SetAge(locked, 3600);
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> store, OpenStore(dir));
    EXPECT_TRUE(Exists(locked)) << "a locked temporary file was removed";
  }
  // Once its writer is gone, the next Open removes it.
  CHECK_SYS(::close(fd) == 0);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> store, OpenStore(dir));
  EXPECT_FALSE(Exists(locked));
}

TEST(DiskStoreTest, OpenKeepsYoungUnlockedTempFiles) {
  const std::string dir = FreshDir() + "/store";
  { ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> store, OpenStore(dir)); }
  const std::string young = dir + "/tmp/1.0.1";
  const std::string five = dir + "/tmp/1.1.1";
  Spit(young, "just created");
  Spit(five, "five seconds old");
  SetAge(five, 5);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> store, OpenStore(dir));
  EXPECT_TRUE(Exists(young));
  EXPECT_TRUE(Exists(five));
}

TEST(DiskStoreTest, OpenKeepsTheTempFileOfALiveWriterEvenIfOld) {
  const std::string dir = FreshDir() + "/store";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> store, OpenStore(dir));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<BlobWriter> w, store->NewWriter());
  ASSERT_OK(w->Append("first half, "));
  const std::vector<std::string> temps = ListDir(dir + "/tmp");
  ASSERT_THAT(temps, SizeIs(1));
  SetAge(dir + "/tmp/" + temps[0], 3600);  // a slow writer
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> other, OpenStore(dir));
    EXPECT_THAT(ListDir(dir + "/tmp"), ElementsAre(temps[0]));
  }
  ASSERT_OK(w->Append("second half"));
  ASSERT_OK_AND_ASSIGN(const Digest d, w->Commit());
  EXPECT_EQ(d, Digest::Of("first half, second half"));
  ASSERT_OK_AND_ASSIGN(const Blob blob, store->Get(d));
  EXPECT_EQ(blob.view(), "first half, second half");
  EXPECT_THAT(ListDir(dir + "/tmp"), IsEmpty());
}

// ---------------------------------------------------------------------------------------
// A full disk, on a small tmpfs mounted in a private mount namespace of a child process.

constexpr int kChildSkip = 77;

// Runs in the child. Returns an exit code: 0 success, kChildSkip when the environment does
// not permit the test, anything else a failure; `why` says what happened.
int FullDiskChild(const std::string& mnt, std::string* why) {
  if (::unshare(CLONE_NEWNS) != 0) {
    *why = absl::StrCat("unshare(CLONE_NEWNS): ", std::strerror(errno));
    return errno == EPERM ? kChildSkip : 2;
  }
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    *why = absl::StrCat("mount(MS_REC|MS_PRIVATE): ", std::strerror(errno));
    return errno == EPERM || errno == EACCES ? kChildSkip : 3;
  }
  if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=256k") != 0) {
    *why = absl::StrCat("mount tmpfs on ", mnt, ": ", std::strerror(errno));
    return errno == EPERM || errno == EACCES ? kChildSkip : 4;
  }
  const std::string dir = mnt + "/store";
  absl::StatusOr<std::unique_ptr<DiskStore>> store = DiskStore::Open(dir);
  if (!store.ok()) {
    *why = absl::StrCat("Open on the tmpfs: ", store.status().ToString());
    return 5;
  }
  const std::string big = Pattern(1 * kMiB, 77);
  absl::StatusOr<Digest> put = (*store)->Put(big);
  if (put.status().code() != absl::StatusCode::kResourceExhausted) {
    *why = absl::StrCat("Put of 1 MiB on a 256 KiB tmpfs: expected RESOURCE_EXHAUSTED, got ",
                        put.status().ToString());
    return 6;
  }
  if (!absl::StrContains(put.status().message(), dir)) {
    *why = absl::StrCat("the error does not name the path ", dir, ": ", put.status().ToString());
    return 7;
  }
  if (!ListDir(dir + "/tmp").empty()) {
    *why = absl::StrCat("a temporary file was left after the failed Put: ",
                        ListDir(dir + "/tmp")[0]);
    return 8;
  }
  absl::StatusOr<bool> present = (*store)->Contains(Digest::Of(big));
  absl::StatusOr<StoreStats> stats = (*store)->Stats();
  if (!present.ok() || *present || !stats.ok() || stats->entries != 0) {
    *why = "the failed Put left a visible entry";
    return 9;
  }

  // The same through a writer: the error is sticky, Commit fails, nothing is left.
  {
    absl::StatusOr<std::unique_ptr<BlobWriter>> w = (*store)->NewWriter();
    if (!w.ok()) {
      *why = absl::StrCat("NewWriter: ", w.status().ToString());
      return 10;
    }
    const absl::Status first = (*w)->Append(big);
    const absl::Status second = (*w)->Append("x");
    const absl::StatusOr<Digest> commit = (*w)->Commit();
    if (first.code() != absl::StatusCode::kResourceExhausted || second != first ||
        commit.status() != first) {
      *why = absl::StrCat("writer on a full disk: Append ", first.ToString(), "; Append again ",
                          second.ToString(), "; Commit ", commit.status().ToString());
      return 11;
    }
  }
  if (!ListDir(dir + "/tmp").empty()) {
    *why = "a temporary file was left by the failed writer";
    return 12;
  }

  // Space is available again: a small value is stored.
  absl::StatusOr<Digest> small = (*store)->Put("small value");
  if (!small.ok()) {
    *why = absl::StrCat("a small Put after the failure: ", small.status().ToString());
    return 13;
  }
  absl::StatusOr<Blob> blob = (*store)->Get(*small);
  if (!blob.ok() || blob->view() != "small value") {
    *why = absl::StrCat("reading the small value back: ", blob.status().ToString());
    return 14;
  }
  return 0;
}

TEST(DiskStoreTest, FullDiskIsResourceExhaustedAndLeavesNothing) {
  const std::string mnt = FreshDir();
  int pipefd[2];
  CHECK_SYS(::pipe(pipefd) == 0);
  const pid_t pid = ::fork();
  CHECK_SYS(pid >= 0);
  if (pid == 0) {
    ::close(pipefd[0]);
    std::string why;
    const int code = FullDiskChild(mnt, &why);
    const char* p = why.data();
    size_t left = why.size();
    while (left > 0) {
      const ssize_t n = ::write(pipefd[1], p, left);
      if (n <= 0) break;
      p += n;
      left -= static_cast<size_t>(n);
    }
    ::_exit(code);
  }
  ::close(pipefd[1]);
  std::string why;
  char buf[512];
  ssize_t n;
  while ((n = ::read(pipefd[0], buf, sizeof(buf))) > 0) why.append(buf, static_cast<size_t>(n));
  ::close(pipefd[0]);
  int status = 0;
  CHECK_SYS(::waitpid(pid, &status, 0) == pid);
  ASSERT_TRUE(WIFEXITED(status)) << "child died abnormally, status " << status;
  if (WEXITSTATUS(status) == kChildSkip) {
    GTEST_SKIP() << "cannot mount a tmpfs in a private mount namespace: " << why;
  }
  EXPECT_EQ(WEXITSTATUS(status), 0) << why;
  // The mount lived only in the child's namespace.
  EXPECT_THAT(ListDir(mnt), IsEmpty());
}

// ---------------------------------------------------------------------------------------
// Options.

TEST(DiskStoreTest, DurabilityOptionsRoundTrip) {
  for (const Durability durability :
       {Durability::kNone, Durability::kSyncFile, Durability::kSyncFileAndDirectory}) {
    SCOPED_TRACE(static_cast<int>(durability));
    const std::string dir = FreshDir() + "/store";
    DiskStoreOptions options;
    options.durability = durability;
    std::map<Digest, std::string> values;
    {
      ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> store, OpenStore(dir, options));
      for (const size_t size : {size_t{0}, size_t{100}, 1 * kMiB}) {
        const std::string bytes = Pattern(size, size + 3);
        ASSERT_OK_AND_ASSIGN(const Digest d, store->Put(bytes));
        values[d] = bytes;
      }
      ASSERT_OK_AND_ASSIGN(std::unique_ptr<BlobWriter> w, store->NewWriter());
      ASSERT_OK(w->Append("streamed "));
      ASSERT_OK(w->Append("value"));
      ASSERT_OK_AND_ASSIGN(const Digest d, w->Commit());
      values[d] = "streamed value";
      for (const auto& [digest, bytes] : values) {
        ASSERT_OK_AND_ASSIGN(const Blob blob, store->Get(digest));
        EXPECT_TRUE(SameBytes(blob.view(), bytes));
      }
    }
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> store, OpenStore(dir, options));
    for (const auto& [digest, bytes] : values) {
      ASSERT_OK_AND_ASSIGN(const Blob blob, store->Get(digest));
      EXPECT_TRUE(SameBytes(blob.view(), bytes));
    }
    EXPECT_THAT(ListDir(dir + "/tmp"), IsEmpty());
  }
}

TEST(DiskStoreTest, MapThresholdOptionDecidesWhatIsMapped) {
  const std::string dir = FreshDir() + "/store";
  DiskStoreOptions options;
  options.map_threshold = 16;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> store, OpenStore(dir, options));
  for (const size_t size : {size_t{0}, size_t{15}, size_t{16}, size_t{5000}}) {
    const std::string bytes = Pattern(size, size + 9);
    ASSERT_OK_AND_ASSIGN(const Digest d, store->Put(bytes));
    ASSERT_OK_AND_ASSIGN(const Blob blob, store->Get(d));
    EXPECT_TRUE(SameBytes(blob.view(), bytes)) << size;
    EXPECT_EQ(blob.is_mapped(), size >= 16) << size;
  }
}

// ---------------------------------------------------------------------------------------
// Last access.

TEST(DiskStoreTest, GetRefreshesAnOldMtimeButNotARecentOne) {
  const std::string dir = FreshDir() + "/store";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> store, OpenStore(dir));
  ASSERT_OK_AND_ASSIGN(const Digest old_d, store->Put("read long ago"));
  ASSERT_OK_AND_ASSIGN(const Digest recent_d, store->Put("read recently"));
  SetAge(store->PathOf(old_d), 3600);
  SetAge(store->PathOf(recent_d), 30);
  const time_t recent_mtime = MtimeOf(store->PathOf(recent_d));
  const time_t before = ::time(nullptr);
  ASSERT_TRUE(store->Get(old_d).ok());
  ASSERT_TRUE(store->Get(recent_d).ok());
  EXPECT_GE(MtimeOf(store->PathOf(old_d)), before);
  EXPECT_EQ(MtimeOf(store->PathOf(recent_d)), recent_mtime);
  // List reports the mtime as the last access.
  ASSERT_OK_AND_ASSIGN(const std::vector<StoreEntry> list, store->List());
  ASSERT_THAT(list, SizeIs(2));
  for (const StoreEntry& e : list) {
    EXPECT_EQ(absl::ToUnixSeconds(e.last_access), MtimeOf(store->PathOf(e.digest)));
  }
}

// ---------------------------------------------------------------------------------------
// Damage to the layout.

TEST(DiskStoreTest, ARemovedShardDirectoryIsRecreatedByPut) {
  const std::string dir = FreshDir() + "/store";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> store, OpenStore(dir));
  // Two values in different shards: one for Put, one for a writer.
  const std::string a = Pattern(100, 1);
  std::string b;
  for (uint64_t seed = 2; b.empty() || ShardOf(Digest::Of(b)) == ShardOf(Digest::Of(a));
       ++seed) {
    b = Pattern(100 * kKiB, seed);
  }
  for (const std::string* bytes : {&a, static_cast<const std::string*>(&b)}) {
    const std::string shard = absl::StrCat(dir, "/cas/", ShardOf(Digest::Of(*bytes)));
    CHECK_SYS(::rmdir(shard.c_str()) == 0);
  }

  ASSERT_OK_AND_ASSIGN(const Digest da, store->Put(a));
  EXPECT_TRUE(IsDir(absl::StrCat(dir, "/cas/", ShardOf(da))));
  ASSERT_OK_AND_ASSIGN(const Blob blob_a, store->Get(da));
  EXPECT_TRUE(SameBytes(blob_a.view(), a));

  ASSERT_OK_AND_ASSIGN(std::unique_ptr<BlobWriter> w, store->NewWriter());
  ASSERT_OK(w->Append(b));
  ASSERT_OK_AND_ASSIGN(const Digest db, w->Commit());
  EXPECT_TRUE(IsDir(absl::StrCat(dir, "/cas/", ShardOf(db))));
  ASSERT_OK_AND_ASSIGN(const Blob blob_b, store->Get(db));
  EXPECT_TRUE(SameBytes(blob_b.view(), b));
  EXPECT_THAT(ListDir(dir + "/tmp"), IsEmpty());
}

TEST(DiskStoreTest, StrayFilesInAShardAreIgnoredByList) {
  const std::string dir = FreshDir() + "/store";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> store, OpenStore(dir));
  ASSERT_OK_AND_ASSIGN(const Digest d, store->Put("the only entry"));
  const std::string shard = absl::StrCat(dir, "/cas/", ShardOf(d));
  const std::string hex = d.ToHex();
  const std::vector<std::string> strays = {
      shard + "/README", shard + "/" + hex.substr(0, 31), shard + "/" + hex + ".tmp",
      shard + "/" + hex.substr(0, 31) + "g", dir + "/cas/ab/.hidden"};
  for (const std::string& p : strays) Spit(p, "stray");
  CHECK_SYS(::mkdir((dir + "/cas/notes").c_str(), 0755) == 0);  // a non-shard directory
  Spit(dir + "/cas/notes/readme.txt", "stray");

  ASSERT_OK_AND_ASSIGN(const std::vector<StoreEntry> list, store->List());
  ASSERT_THAT(list, SizeIs(1));
  EXPECT_EQ(list[0].digest, d);
  EXPECT_EQ(list[0].size, 14);
  ASSERT_OK_AND_ASSIGN(const StoreStats stats, store->Stats());
  EXPECT_EQ(stats.entries, 1);
  EXPECT_EQ(stats.bytes, 14);
  // Garbage collection evicts entries only; the strays stay.
  ASSERT_OK_AND_ASSIGN(const GcResult gc, store->CollectGarbage(0, {}));
  EXPECT_EQ(gc.entries_evicted, 1);
  for (const std::string& p : strays) EXPECT_TRUE(Exists(p)) << p;
}

// A stray regular file directly in cas/ (next to the shard directories), e.g. a README or
// an editor's backup file, is not an entry and must not break List.
TEST(DiskStoreTest, StrayFileDirectlyInCasIsIgnoredByList) {
  const std::string dir = FreshDir() + "/store";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> store, OpenStore(dir));
  ASSERT_OK_AND_ASSIGN(const Digest d, store->Put("the only entry"));
  Spit(dir + "/cas/README", "stray");

  absl::StatusOr<std::vector<StoreEntry>> list = store->List();
  ASSERT_TRUE(list.ok()) << "List with a stray file cas/README: " << list.status();
  ASSERT_THAT(*list, SizeIs(1));
  EXPECT_EQ((*list)[0].digest, d);
  absl::StatusOr<StoreStats> stats = store->Stats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->entries, 1);
  absl::StatusOr<GcResult> gc = store->CollectGarbage(0, {});
  ASSERT_TRUE(gc.ok()) << gc.status();
  EXPECT_EQ(gc->entries_evicted, 1);
}

TEST(DiskStoreTest, EachQuarantinedCopyIsKept) {
  const std::string dir = FreshDir() + "/store";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> store, OpenStore(dir));
  const std::string bytes = Pattern(1000, 5);
  for (int round = 0; round < 2; ++round) {
    ASSERT_OK_AND_ASSIGN(const Digest d, store->Put(bytes));
    CHECK_SYS(::truncate(store->PathOf(d).c_str(), 100 + round) == 0);
    EXPECT_THAT(store->Get(d), StatusIs(absl::StatusCode::kDataLoss));
  }
  const std::vector<std::string> quarantine = ListDir(dir + "/quarantine");
  ASSERT_THAT(quarantine, SizeIs(2));
  std::vector<size_t> sizes;
  for (const std::string& name : quarantine) {
    EXPECT_THAT(name, StartsWith(Digest::Of(bytes).ToHex()));
    sizes.push_back(Slurp(dir + "/quarantine/" + name).size());
  }
  std::sort(sizes.begin(), sizes.end());
  EXPECT_THAT(sizes, ElementsAre(100u, 101u));
}

// ---------------------------------------------------------------------------------------
// Read-only.

absl::StatusOr<std::unique_ptr<DiskStore>> OpenReadOnly(const std::string& dir) {
  DiskStoreOptions options;
  options.read_only = true;
  return DiskStore::Open(dir, options);
}

TEST(DiskStoreReadOnlyTest, AMissingStoreIsNotFoundAndNothingIsCreated) {
  const std::string parent = FreshDir();
  EXPECT_THAT(OpenReadOnly(parent + "/store"), StatusIs(absl::StatusCode::kNotFound));
  CHECK_SYS(::mkdir((parent + "/empty").c_str(), 0755) == 0);
  EXPECT_THAT(OpenReadOnly(parent + "/empty"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(ListDir(parent), ElementsAre("empty"));
  EXPECT_THAT(ListDir(parent + "/empty"), IsEmpty());
}

TEST(DiskStoreReadOnlyTest, ReadsWithoutTouchingQuarantiningOrRemovingTemps) {
  const std::string dir = FreshDir() + "/store";
  Digest good, bad;
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> store, OpenStore(dir));
    ASSERT_OK_AND_ASSIGN(good, store->Put("read long ago"));
    ASSERT_OK_AND_ASSIGN(bad, store->Put(Pattern(1000, 7)));
    SetAge(store->PathOf(good), 3600);
    CHECK_SYS(::truncate(store->PathOf(bad).c_str(), 100) == 0);
  }
  const std::string temp = dir + "/tmp/12345.0.1700000000";
  Spit(temp, "left by a crashed writer");
  SetAge(temp, 3600);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DiskStore> store, OpenReadOnly(dir));
  const time_t mtime = MtimeOf(store->PathOf(good));
  ASSERT_OK_AND_ASSIGN(Blob blob, store->Get(good));
  EXPECT_EQ(blob.view(), "read long ago");
  EXPECT_EQ(MtimeOf(store->PathOf(good)), mtime);  // last access not refreshed
  EXPECT_THAT(store->Get(bad), StatusIs(absl::StatusCode::kDataLoss));
  struct stat st;
  EXPECT_EQ(::stat(store->PathOf(bad).c_str(), &st), 0);  // not moved
  EXPECT_THAT(ListDir(dir + "/quarantine"), IsEmpty());
  EXPECT_THAT(ListDir(dir + "/tmp"), ElementsAre("12345.0.1700000000"));
  ASSERT_OK_AND_ASSIGN(const std::vector<StoreEntry> list, store->List());
  EXPECT_THAT(list, SizeIs(2));
  EXPECT_TRUE(*store->Contains(good));
  // Writes fail.
  EXPECT_THAT(store->Put("new"), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(store->NewWriter(), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(store->Delete(good), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_TRUE(*store->Contains(good));
}

}  // namespace
}  // namespace mlops
