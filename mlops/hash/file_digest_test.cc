#include "mlops/hash/file_digest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <future>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/hash/digest.h"
#include "mlops/testing/files.h"

namespace mlops {
namespace {

using ::mlops::test::FreshDir;
using ::mlops::test::ListDir;
using ::mlops::test::MakeTempDir;
using ::mlops::test::Slurp;
using ::mlops::test::Spit;
using ::testing::HasSubstr;

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

constexpr size_t kMiB = size_t{1} << 20;

// ---------------------------------------------------------------------------------------
// Helpers, independent of the code under test.

// Deterministic pseudo-random bytes (a 64-bit LCG): a dropped, repeated or reordered read
// chunk changes the content, unlike with a short repeating pattern.
std::string Pattern(size_t n, uint64_t seed) {
  std::string s(n, '\0');
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < n; ++i) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    s[i] = static_cast<char>(x >> 56);
  }
  return s;
}

// Bytes i % 251, as written by: python3 -c 'import sys; sys.stdout.buffer.write(bytes(i % 251
// for i in range(N)))'.
std::string Mod251(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i % 251);
  return s;
}

// Overwrites bytes of an existing file without changing its size or inode.
void OverwriteInPlace(const std::string& path, off_t offset, const std::string& bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  CHECK_SYS(fd >= 0);
  CHECK_SYS(::pwrite(fd, bytes.data(), bytes.size(), offset) == static_cast<ssize_t>(bytes.size()));
  CHECK_SYS(::close(fd) == 0);
}

int64_t Nanos(const struct timespec& ts) {
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

int64_t NowNs() {
  struct timespec ts;
  CHECK_SYS(::clock_gettime(CLOCK_REALTIME, &ts) == 0);
  return Nanos(ts);
}

// Sleeps until every file in `paths` was last changed (mtime and ctime) more than a second
// ago, so that FileDigester will cache it. ctime cannot be set into the past, so waiting is
// the only honest way; the tests that need it share a single wait (see AgedFilesTest).
void WaitUntilOutsideRacyWindow(const std::vector<std::string>& paths) {
  int64_t newest = 0;
  for (const std::string& p : paths) {
    struct stat st;
    CHECK_SYS(::stat(p.c_str(), &st) == 0);
    newest = std::max({newest, Nanos(st.st_mtim), Nanos(st.st_ctim)});
  }
  const int64_t target = newest + 1'000'000'000 + 50'000'000;  // 1 s window + 50 ms margin
  for (int64_t now = NowNs(); now < target; now = NowNs()) {
    std::this_thread::sleep_for(std::chrono::nanoseconds(target - now));
  }
}

std::string U64Le(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}

// The canonical 16 bytes of a digest, built by hand: big-endian high, then big-endian low.
std::string CanonicalBytes(const Digest& d) {
  std::string out(16, '\0');
  for (int i = 0; i < 8; ++i) {
    out[i] = static_cast<char>((d.high() >> (56 - 8 * i)) & 0xff);
    out[8 + i] = static_cast<char>((d.low() >> (56 - 8 * i)) & 0xff);
  }
  return out;
}

// The bytes file_digest.h documents for a directory: u64 LE count, then per file u64 LE path
// length, path bytes, 16 canonical digest bytes. `files` must already be in the expected
// (bytewise) order; the helper does not sort, so the tests state the order themselves.
std::string DirectoryListingBytes(const std::vector<std::pair<std::string, Digest>>& files) {
  std::string out = U64Le(files.size());
  for (const auto& [rel, digest] : files) {
    out += U64Le(rel.size());
    out += rel;
    out += CanonicalBytes(digest);
  }
  return out;
}

Digest ExpectedDirectoryDigest(const std::vector<std::pair<std::string, Digest>>& files) {
  return Digest::Of(DirectoryListingBytes(files));
}

// (relative path, content) → (relative path, digest), sorted bytewise by path.
std::vector<std::pair<std::string, Digest>> SortedListing(
    const std::vector<std::pair<std::string, std::string>>& files) {
  std::vector<std::pair<std::string, Digest>> out;
  for (const auto& [rel, content] : files) out.emplace_back(rel, Digest::Of(content));
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::lexicographical_compare(
        a.first.begin(), a.first.end(), b.first.begin(), b.first.end(), [](char x, char y) {
          return static_cast<unsigned char>(x) < static_cast<unsigned char>(y);
        });
  });
  return out;
}

// Outcome of running code on a thread without the capabilities that let root ignore file
// permissions.
struct Unprivileged {
  bool denied = false;  // a mode-000 probe file really could not be opened
  std::string why;      // when !denied: the reason
};

// Runs `fn` on a fresh thread whose effective capability set lacks CAP_DAC_OVERRIDE and
// CAP_DAC_READ_SEARCH (the raw capset system call changes only the calling thread, so the
// rest of the process keeps them). This makes mode 000 deny reading even when the tests run
// as root. Before calling `fn` it checks that a mode-000 file in `probe_dir` really cannot
// be opened; if it can, `fn` is not run and `denied` is false.
Unprivileged RunWithoutDacOverride(const std::string& probe_dir, const std::function<void()>& fn) {
  const std::string probe = probe_dir + "/permission_probe";
  Spit(probe, "x");
  CHECK_SYS(::chmod(probe.c_str(), 0) == 0);
  Unprivileged out;
  std::thread t([&] {
    __user_cap_header_struct header;
    header.version = _LINUX_CAPABILITY_VERSION_3;
    header.pid = 0;
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
    std::memset(data, 0, sizeof(data));
    if (::syscall(SYS_capget, &header, data) != 0) {
      out.why = absl::StrCat("capget failed: ", std::strerror(errno));
      return;
    }
    for (int cap : {CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH}) {
      data[CAP_TO_INDEX(cap)].effective &= ~CAP_TO_MASK(cap);
    }
    if (::syscall(SYS_capset, &header, data) != 0) {
      out.why = absl::StrCat("capset failed: ", std::strerror(errno));
      return;
    }
    const int fd = ::open(probe.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      ::close(fd);
      out.why = absl::StrCat("a mode-000 file can still be opened (euid ", ::geteuid(),
                             "); permission denial cannot be produced here");
      return;
    }
    out.denied = true;
    fn();
  });
  t.join();
  ::unlink(probe.c_str());
  return out;
}

// Runs `call`, which may open the FIFO `fifo`; if it has not returned after 10 s the test
// fails and the FIFO is opened for writing and closed so that a blocked reader gets EOF and
// the test can finish instead of hanging until the Bazel timeout.
absl::StatusOr<Digest> CallWithFifoWatchdog(const std::string& fifo,
                                            std::function<absl::StatusOr<Digest>()> call) {
  std::future<absl::StatusOr<Digest>> result = std::async(std::launch::async, std::move(call));
  if (result.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    ADD_FAILURE() << "still blocked on the FIFO " << fifo << " after 10 s";
    const int w = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (w >= 0) ::close(w);
  }
  return result.get();
}

// Creates a Unix-domain socket file `name` in `dir`. sun_path is limited to 108 bytes and
// $TEST_TMPDIR can be longer, so it binds a relative name after a temporary chdir.
void MakeSocketFile(const std::string& dir, const std::string& name) {
  const int cwd = ::open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  CHECK_SYS(cwd >= 0);
  CHECK_SYS(::chdir(dir.c_str()) == 0);
  const int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  CHECK_SYS(s >= 0);
  struct sockaddr_un addr;
  std::memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  CHECK_SYS(name.size() < sizeof(addr.sun_path));
  std::memcpy(addr.sun_path, name.data(), name.size());
  CHECK_SYS(::bind(s, reinterpret_cast<const struct sockaddr*>(&addr), sizeof(addr)) == 0);
  ::close(s);  // the socket file stays on disk
  CHECK_SYS(::fchdir(cwd) == 0);
  ::close(cwd);
}

void WriteTree(const std::string& dir,
               const std::vector<std::pair<std::string, std::string>>& files,
               std::vector<std::string>* paths = nullptr) {
  for (const auto& [rel, content] : files) {
    const std::string path = dir + "/" + rel;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    Spit(path, content);
    if (paths != nullptr) paths->push_back(path);
  }
}

// A fresh, empty temporary directory under $TEST_TMPDIR for each test.
class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshDir();
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string Path(const std::string& rel) const { return dir_ + "/" + rel; }
  // Writes `content` to `rel` (creating parent directories) and returns the full path.
  std::string Write(const std::string& rel, const std::string& content) const {
    WriteTree(dir_, {{rel, content}});
    return Path(rel);
  }

  std::string dir_;
};

// Calls File() on every file and Directory() on `dir` from 8 threads at once; every result
// must equal the digest computed from the known contents.
void ExpectConcurrentCallsAgree(FileDigester& digester, const std::string& dir,
                                const std::vector<std::pair<std::string, std::string>>& files) {
  std::vector<std::pair<std::string, Digest>> expected_files;
  for (const auto& [rel, content] : files) {
    expected_files.emplace_back(dir + "/" + rel, Digest::Of(content));
  }
  const Digest expected_dir = ExpectedDirectoryDigest(SortedListing(files));
  const FileDigester::Stats before = digester.stats();

  constexpr int kThreads = 8;
  constexpr int kRounds = 10;
  std::atomic<int> start{0};
  std::atomic<int> wrong{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.fetch_add(1);
      while (start.load() < kThreads) std::this_thread::yield();  // maximise overlap
      for (int round = 0; round < kRounds; ++round) {
        // Threads walk the files in different orders.
        for (size_t i = 0; i < expected_files.size(); ++i) {
          const auto& [path, want] = expected_files[(i + t) % expected_files.size()];
          absl::StatusOr<Digest> got = digester.File(path);
          if (!got.ok()) {
            errors.fetch_add(1);
          } else if (*got != want) {
            wrong.fetch_add(1);
          }
        }
        absl::StatusOr<Digest> got = digester.Directory(dir);
        if (!got.ok()) {
          errors.fetch_add(1);
        } else if (*got != expected_dir) {
          wrong.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(wrong.load(), 0);
  // Every successful File() (direct or from Directory()) is either a hit or a read.
  const FileDigester::Stats after = digester.stats();
  const int64_t calls = int64_t{kThreads} * kRounds * 2 * static_cast<int64_t>(files.size());
  EXPECT_EQ((after.cache_hits - before.cache_hits) + (after.files_read - before.files_read), calls);
}

// ---------------------------------------------------------------------------------------
// DigestFile and FileDigester::File: content and errors.

class DigestFileTest : public TempDirTest {};

TEST_F(DigestFileTest, EqualsDigestOfTheSameBytesAcrossReadChunkBoundaries) {
  FileDigester digester;
  int64_t total = 0;
  for (size_t size : {size_t{0}, size_t{1}, kMiB - 1, kMiB, kMiB + 1, 3 * kMiB + 17}) {
    const std::string content = Pattern(size, size);
    const std::string path = Write(absl::StrCat("f", size), content);
    const Digest want = Digest::Of(content);

    absl::StatusOr<Digest> got = DigestFile(path);
    ASSERT_TRUE(got.ok()) << size << ": " << got.status();
    EXPECT_EQ(*got, want) << "DigestFile of a " << size << "-byte file";

    absl::StatusOr<Digest> cached = digester.File(path);
    ASSERT_TRUE(cached.ok()) << size << ": " << cached.status();
    EXPECT_EQ(*cached, want) << "FileDigester::File of a " << size << "-byte file";
    total += static_cast<int64_t>(size);
  }
  EXPECT_EQ(digester.stats().files_read, 6);
  EXPECT_EQ(digester.stats().bytes_read, total);
}

// Literals printed by `xxh128sum FILE` (xxhash 0.8.1) for files with exactly these bytes.
TEST_F(DigestFileTest, KnownAnswersFromXxh128sum) {
  struct Case {
    std::string name;
    std::string content;
    const char* hex;
  };
  const std::vector<Case> cases = {
      // printf 'mlops: a file is named by its content.\n' > k1; xxh128sum k1
      {"text", "mlops: a file is named by its content.\n", "e05dec0ba302f0a381f5e59efdbf680e"},
      // printf hello > h; xxh128sum h
      {"hello", "hello", "b5e9c1ad071b3e7fc779cfaa5e523818"},
      // Mod251(1 MiB), exactly one read chunk.
      {"mod251_1mib", Mod251(kMiB), "53738d98098cabba6e0d7ac36b8c10ff"},
      // Mod251(3 MiB + 17), four read chunks, the last partial.
      {"mod251_3mib17", Mod251(3 * kMiB + 17), "a8d2aaa87f9b2799fb45fcd49e8371b7"},
  };
  FileDigester digester;
  for (const Case& c : cases) {
    const std::string path = Write(c.name, c.content);
    absl::StatusOr<Digest> got = DigestFile(path);
    ASSERT_TRUE(got.ok()) << c.name << ": " << got.status();
    EXPECT_EQ(got->ToHex(), c.hex) << c.name;
    absl::StatusOr<Digest> via_digester = digester.File(path);
    ASSERT_TRUE(via_digester.ok()) << c.name << ": " << via_digester.status();
    EXPECT_EQ(via_digester->ToHex(), c.hex) << c.name;
  }
}

TEST_F(DigestFileTest, SameBytesAtTwoPathsHaveOneDigest) {
  const std::string a = Write("a", "same bytes");
  const std::string b = Write("sub/b", "same bytes");
  const std::string c = Write("c", "same bytez");
  EXPECT_EQ(*DigestFile(a), *DigestFile(b));
  EXPECT_NE(*DigestFile(a), *DigestFile(c));
}

TEST_F(DigestFileTest, MissingFileIsNotFound) {
  FileDigester digester;
  for (const std::string& path :
       {Path("missing"), Path("missing_dir/file"), Path("missing_dir/deeper/file")}) {
    const absl::Status a = DigestFile(path).status();
    EXPECT_EQ(a.code(), absl::StatusCode::kNotFound) << a;
    EXPECT_THAT(std::string(a.message()), HasSubstr(path));
    const absl::Status b = digester.File(path).status();
    EXPECT_EQ(b.code(), absl::StatusCode::kNotFound) << b;
    EXPECT_THAT(std::string(b.message()), HasSubstr(path));
  }
}

TEST_F(DigestFileTest, DirectoryIsInvalidArgument) {
  const std::string path = Path("a_dir");
  ASSERT_EQ(::mkdir(path.c_str(), 0755), 0);
  FileDigester digester;
  for (const absl::Status& s : {DigestFile(path).status(), digester.File(path).status()}) {
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr(path));
  }
}

TEST_F(DigestFileTest, FifoIsInvalidArgumentAndDoesNotBlock) {
  const std::string path = Path("fifo");
  ASSERT_EQ(::mkfifo(path.c_str(), 0644), 0);
  FileDigester digester;
  const absl::Status a = CallWithFifoWatchdog(path, [&] { return DigestFile(path); }).status();
  EXPECT_EQ(a.code(), absl::StatusCode::kInvalidArgument) << a;
  EXPECT_THAT(std::string(a.message()), HasSubstr(path));
  const absl::Status b = CallWithFifoWatchdog(path, [&] { return digester.File(path); }).status();
  EXPECT_EQ(b.code(), absl::StatusCode::kInvalidArgument) << b;
  EXPECT_THAT(std::string(b.message()), HasSubstr(path));
}

TEST(DigestFileDeviceTest, CharacterDeviceIsInvalidArgument) {
  struct stat st;
  if (::stat("/dev/null", &st) != 0 || !S_ISCHR(st.st_mode)) {
    GTEST_SKIP() << "/dev/null is not a character device here";
  }
  const absl::Status s = DigestFile("/dev/null").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("/dev/null"));
}

// file_digest.h: "INVALID_ARGUMENT  it is not a regular file (a directory, FIFO, socket,
// device)". open(2) of a socket file fails with ENXIO, which the code passes to PosixError
// (→ NOT_FOUND, "No such device or address") before it ever checks the file type.
TEST_F(DigestFileTest, SocketIsInvalidArgument) {
  MakeSocketFile(dir_, "sock");
  const std::string path = Path("sock");
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  ASSERT_TRUE(S_ISSOCK(st.st_mode));
  FileDigester digester;
  const absl::Status a = DigestFile(path).status();
  EXPECT_EQ(a.code(), absl::StatusCode::kInvalidArgument) << a;
  EXPECT_THAT(std::string(a.message()), HasSubstr(path));
  const absl::Status b = digester.File(path).status();
  EXPECT_EQ(b.code(), absl::StatusCode::kInvalidArgument) << b;
  EXPECT_THAT(std::string(b.message()), HasSubstr(path));
}

// chmod 000 does not stop root, so the calls run on a thread without CAP_DAC_OVERRIDE /
// CAP_DAC_READ_SEARCH (see RunWithoutDacOverride); the test is skipped, not faked, if the
// denial still cannot be produced.
TEST_F(DigestFileTest, UnreadableFileIsPermissionDenied) {
  const std::string file = Write("secret", "secret bytes");
  ASSERT_EQ(::chmod(file.c_str(), 0), 0);
  const std::string locked_dir = Path("locked");
  const std::string in_locked_dir = Write("locked/inner", "inner bytes");
  ASSERT_EQ(::chmod(locked_dir.c_str(), 0), 0);

  FileDigester digester;
  std::vector<std::pair<std::string, absl::Status>> results;
  const Unprivileged run = RunWithoutDacOverride(dir_, [&] {
    for (const std::string& path : {file, in_locked_dir}) {
      results.emplace_back("DigestFile(" + path + ")", DigestFile(path).status());
      results.emplace_back("File(" + path + ")", digester.File(path).status());
    }
  });
  ASSERT_EQ(::chmod(locked_dir.c_str(), 0755), 0);
  if (!run.denied) GTEST_SKIP() << run.why;
  ASSERT_EQ(results.size(), 4u);
  for (const auto& [call, status] : results) {
    EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied) << call << ": " << status;
  }
  EXPECT_THAT(std::string(results[0].second.message()), HasSubstr(file));
  EXPECT_THAT(std::string(results[1].second.message()), HasSubstr(file));
  EXPECT_THAT(std::string(results[2].second.message()), HasSubstr(in_locked_dir));
  EXPECT_THAT(std::string(results[3].second.message()), HasSubstr(in_locked_dir));
  EXPECT_EQ(digester.stats().files_read, 0);
  EXPECT_EQ(digester.size(), 0u);
}

TEST_F(DigestFileTest, PathThroughARegularFileIsAnErrorNamingThePath) {
  Write("plain", "x");
  const std::string path = Path("plain/child");
  FileDigester digester;
  for (const absl::Status& s : {DigestFile(path).status(), digester.File(path).status()}) {
    EXPECT_FALSE(s.ok());
    EXPECT_THAT(std::string(s.message()), HasSubstr(path));
  }
}

// ---------------------------------------------------------------------------------------
// FileDigester on freshly written files (inside the racy window): never cached.

class FileDigesterTest : public TempDirTest {};

TEST_F(FileDigesterTest, FreshlyWrittenFileIsReadEveryTime) {
  const std::string content = Pattern(5000, 1);
  const std::string path = Write("fresh", content);
  FileDigester digester;
  for (int i = 1; i <= 3; ++i) {
    absl::StatusOr<Digest> got = digester.File(path);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, Digest::Of(content));
    EXPECT_EQ(digester.stats().files_read, i);
    EXPECT_EQ(digester.stats().cache_hits, 0);
    EXPECT_EQ(digester.stats().bytes_read, 5000 * i);
  }
  EXPECT_EQ(digester.size(), 0u);
}

// An mtime in the past is not enough: the change time (which cannot be set back) is fresh.
TEST_F(FileDigesterTest, OldMtimeWithFreshCtimeIsNotCached) {
  const std::string path = Write("backdated", "backdated content");
  struct timespec times[2];
  times[0].tv_sec = ::time(nullptr) - 3600;
  times[0].tv_nsec = 0;
  times[1] = times[0];
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
  FileDigester digester;
  ASSERT_TRUE(digester.File(path).ok());
  ASSERT_TRUE(digester.File(path).ok());
  EXPECT_EQ(digester.stats().files_read, 2);
  EXPECT_EQ(digester.stats().cache_hits, 0);
  EXPECT_EQ(digester.size(), 0u);
}

TEST_F(FileDigesterTest, ConcurrentCallsOnFreshFilesAgree) {
  const std::vector<std::pair<std::string, std::string>> files = {
      {"a.bin", Pattern(70000, 1)}, {"b.bin", Pattern(10, 2)}, {"sub/c.bin", Pattern(kMiB + 3, 3)}};
  const std::string tree = Path("tree");
  WriteTree(tree, files);
  FileDigester digester;
  ExpectConcurrentCallsAgree(digester, tree, files);
}

TEST_F(FileDigesterTest, LoadOfMissingFileIsOkAndLoadsNothing) {
  FileDigester digester;
  for (const std::string& path : {Path("no_cache"), Path("no_dir/no_cache")}) {
    const absl::Status s = digester.Load(path);
    EXPECT_TRUE(s.ok()) << s;
    EXPECT_EQ(digester.size(), 0u);
  }
}

TEST_F(FileDigesterTest, EmptyCacheSavesAndLoads) {
  FileDigester digester;
  const std::string cache = Path("cache");
  const absl::Status saved = digester.Save(cache);
  ASSERT_TRUE(saved.ok()) << saved;
  EXPECT_EQ(ListDir(dir_), std::vector<std::string>{"cache"});
  FileDigester fresh;
  const absl::Status loaded = fresh.Load(cache);
  EXPECT_TRUE(loaded.ok()) << loaded;
  EXPECT_EQ(fresh.size(), 0u);
}

TEST_F(FileDigesterTest, SaveIntoMissingDirectoryFailsNamingThePath) {
  FileDigester digester;
  const std::string cache = Path("missing_dir/cache");
  const absl::Status s = digester.Save(cache);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr(cache));
  EXPECT_TRUE(ListDir(dir_).empty());
}

// ---------------------------------------------------------------------------------------
// FileDigester's stat cache on files older than the racy window.
//
// A file is only cached once both its mtime and its ctime are more than 1 s old, and ctime
// cannot be set into the past. So that the suite waits once rather than once per test,
// SetUpTestSuite writes a separate, fresh directory for every test of this suite (named after
// the test, under $TEST_TMPDIR) and then waits ~1.05 s. No two tests share a directory.

class AgedFilesTest : public ::testing::Test {
 protected:
  static std::vector<std::pair<std::string, std::string>> Files() {
    return {{"a.bin", Pattern(4096, 11)},
            {"b.bin", Pattern(1000, 12)},
            {"sub/c.txt", "ccc\n"},
            {"sub/deeper/d.bin", Pattern(kMiB + 1, 13)}};
  }
  static std::string Content(const std::string& rel) {
    for (const auto& [r, content] : Files()) {
      if (r == rel) return content;
    }
    std::abort();
  }

  static void SetUpTestSuite() {
    root_ = MakeTempDir("AgedFilesTest");
    const ::testing::TestSuite* suite = ::testing::UnitTest::GetInstance()->current_test_suite();
    CHECK_SYS(suite != nullptr);
    std::vector<std::string> paths;
    for (int i = 0; i < suite->total_test_count(); ++i) {
      WriteTree(root_ + "/" + suite->GetTestInfo(i)->name(), Files(), &paths);
    }
    WaitUntilOutsideRacyWindow(paths);
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
  void SetUp() override {
    dir_ = root_ + "/" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    struct stat st;
    ASSERT_EQ(::stat(dir_.c_str(), &st), 0) << dir_;
  }
  std::string Path(const std::string& rel) const { return dir_ + "/" + rel; }

  static inline std::string root_;
  std::string dir_;
};

TEST_F(AgedFilesTest, UnchangedFileIsACacheHit) {
  const std::string path = Path("a.bin");
  FileDigester digester;
  absl::StatusOr<Digest> first = digester.File(path);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, Digest::Of(Content("a.bin")));
  EXPECT_EQ(digester.stats().files_read, 1);
  EXPECT_EQ(digester.stats().cache_hits, 0);
  EXPECT_EQ(digester.stats().bytes_read, 4096);
  EXPECT_EQ(digester.size(), 1u);

  for (int i = 1; i <= 2; ++i) {
    absl::StatusOr<Digest> again = digester.File(path);
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(*again, *first);
    EXPECT_EQ(digester.stats().cache_hits, i);
    EXPECT_EQ(digester.stats().files_read, 1);
    EXPECT_EQ(digester.stats().bytes_read, 4096);
  }
}

TEST_F(AgedFilesTest, SameSizeEditInPlaceGivesNewDigestAndIsReadWhileRacy) {
  const std::string path = Path("a.bin");
  FileDigester digester;
  ASSERT_TRUE(digester.File(path).ok());
  ASSERT_TRUE(digester.File(path).ok());
  ASSERT_EQ(digester.stats().cache_hits, 1);

  std::string edited = Content("a.bin");
  edited.replace(2000, 5, "EDIT!");
  ASSERT_NE(edited, Content("a.bin"));
  OverwriteInPlace(path, 2000, "EDIT!");
  ASSERT_EQ(Slurp(path), edited);

  // Now within the racy window: every call reads the file again.
  for (int i = 1; i <= 3; ++i) {
    absl::StatusOr<Digest> got = digester.File(path);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, Digest::Of(edited));
    EXPECT_EQ(digester.stats().files_read, 1 + i);
    EXPECT_EQ(digester.stats().cache_hits, 1);
  }
  EXPECT_EQ(digester.size(), 0u) << "a racy file must not stay in the cache";
}

// Tools such as `cp -p` or `rsync -t` restore the old mtime after writing new bytes of the
// same size; only ctime then shows the change.
TEST_F(AgedFilesTest, EditWithRestoredMtimeIsStillDetected) {
  const std::string path = Path("b.bin");
  FileDigester digester;
  ASSERT_TRUE(digester.File(path).ok());
  ASSERT_EQ(digester.size(), 1u);
  struct stat before;
  ASSERT_EQ(::stat(path.c_str(), &before), 0);

  std::string edited = Content("b.bin");
  edited[0] = static_cast<char>(edited[0] ^ 0x5a);
  OverwriteInPlace(path, 0, edited.substr(0, 1));
  const struct timespec times[2] = {before.st_atim, before.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
  struct stat after;
  ASSERT_EQ(::stat(path.c_str(), &after), 0);
  ASSERT_EQ(Nanos(after.st_mtim), Nanos(before.st_mtim));
  ASSERT_EQ(after.st_size, before.st_size);
  ASSERT_EQ(after.st_ino, before.st_ino);

  absl::StatusOr<Digest> got = digester.File(path);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, Digest::Of(edited));
  EXPECT_EQ(digester.stats().cache_hits, 0);
  EXPECT_EQ(digester.stats().files_read, 2);
}

TEST_F(AgedFilesTest, ReplacingByRenameGivesNewDigest) {
  const std::string path = Path("a.bin");
  FileDigester digester;
  ASSERT_TRUE(digester.File(path).ok());
  ASSERT_TRUE(digester.File(path).ok());
  ASSERT_EQ(digester.stats().cache_hits, 1);

  const std::string replacement = Pattern(4096, 99);  // same size, different bytes
  const std::string staged = Path("a.bin.new");
  Spit(staged, replacement);
  ASSERT_EQ(::rename(staged.c_str(), path.c_str()), 0);

  absl::StatusOr<Digest> got = digester.File(path);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, Digest::Of(replacement));
  EXPECT_NE(*got, Digest::Of(Content("a.bin")));
  EXPECT_EQ(digester.stats().files_read, 2);
  EXPECT_EQ(digester.stats().cache_hits, 1);
}

TEST_F(AgedFilesTest, SaveLoadRoundTripGivesCacheHitsWithoutReading) {
  const std::vector<std::string> rels = {"a.bin", "b.bin", "sub/c.txt"};
  const std::string cache = Path("stat.cache");
  {
    FileDigester first;
    for (const std::string& rel : rels) ASSERT_TRUE(first.File(Path(rel)).ok());
    ASSERT_EQ(first.size(), 3u);
    const absl::Status saved = first.Save(cache);
    ASSERT_TRUE(saved.ok()) << saved;
  }
  std::vector<std::string> leftovers = ListDir(dir_);
  EXPECT_EQ(leftovers, (std::vector<std::string>{"a.bin", "b.bin", "stat.cache", "sub"}))
      << "Save left a temporary file behind";

  FileDigester second;
  const absl::Status loaded = second.Load(cache);
  ASSERT_TRUE(loaded.ok()) << loaded;
  EXPECT_EQ(second.size(), 3u);
  for (const std::string& rel : rels) {
    absl::StatusOr<Digest> got = second.File(Path(rel));
    ASSERT_TRUE(got.ok()) << rel << ": " << got.status();
    EXPECT_EQ(*got, Digest::Of(Content(rel))) << rel;
  }
  EXPECT_EQ(second.stats().cache_hits, 3);
  EXPECT_EQ(second.stats().files_read, 0);
  EXPECT_EQ(second.stats().bytes_read, 0);

  // Loading again adds nothing new.
  ASSERT_TRUE(second.Load(cache).ok());
  EXPECT_EQ(second.size(), 3u);

  // A loaded entry is not trusted once the file changed.
  std::string edited = Content("b.bin");
  edited[10] = static_cast<char>(edited[10] ^ 1);
  OverwriteInPlace(Path("b.bin"), 10, edited.substr(10, 1));
  absl::StatusOr<Digest> got = second.File(Path("b.bin"));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, Digest::Of(edited));
  EXPECT_EQ(second.stats().files_read, 1);

  // A file not in the saved cache is read.
  ASSERT_TRUE(second.File(Path("sub/deeper/d.bin")).ok());
  EXPECT_EQ(second.stats().files_read, 2);
}

TEST_F(AgedFilesTest, LoadOfCorruptCacheIsDataLossAndLoadsNothing) {
  const std::string cache = Path("stat.cache");
  {
    FileDigester first;
    ASSERT_TRUE(first.File(Path("a.bin")).ok());
    ASSERT_TRUE(first.File(Path("b.bin")).ok());
    ASSERT_EQ(first.size(), 2u);
    ASSERT_TRUE(first.Save(cache).ok());
  }
  const std::string valid = Slurp(cache);
  {
    FileDigester check;  // the file as saved is accepted
    ASSERT_TRUE(check.Load(cache).ok());
    ASSERT_EQ(check.size(), 2u);
  }

  std::vector<std::pair<std::string, std::string>> variants;  // (description, bytes)
  for (size_t i = 0; i < valid.size(); ++i) {
    std::string bytes = valid;
    bytes[i] = static_cast<char>(bytes[i] ^ 0x01);
    variants.emplace_back(absl::StrCat("byte ", i, " flipped"), bytes);
  }
  for (size_t n = 0; n < valid.size(); ++n) {
    variants.emplace_back(absl::StrCat("truncated to ", n, " bytes"), valid.substr(0, n));
  }
  variants.emplace_back("one trailing byte", valid + '\0');
  variants.emplace_back("garbage", Pattern(valid.size(), 7));
  variants.emplace_back("garbage, 4 KiB", Pattern(4096, 8));
  variants.emplace_back("wrong magic", "NOTCACHE" + valid.substr(8));
  variants.emplace_back("text", "this is not a stat cache\n");

  const std::string corrupt = Path("corrupt.cache");
  std::vector<std::string> failures;
  for (const auto& [what, bytes] : variants) {
    Spit(corrupt, bytes);
    FileDigester digester;
    const absl::Status s = digester.Load(corrupt);
    if (s.code() != absl::StatusCode::kDataLoss ||
        std::string(s.message()).find(corrupt) == std::string::npos || digester.size() != 0) {
      failures.push_back(
          absl::StrCat(what, ": ", s.ToString(), ", ", digester.size(), " entries loaded"));
    }
  }
  EXPECT_TRUE(failures.empty()) << failures.size() << " of " << variants.size()
                                << " corrupt files were not rejected; first: "
                                << (failures.empty() ? std::string() : failures[0]);

  // A failed Load leaves earlier entries alone and adds none.
  FileDigester digester;
  ASSERT_TRUE(digester.Load(cache).ok());
  Spit(corrupt, valid.substr(0, valid.size() - 1));
  EXPECT_EQ(digester.Load(corrupt).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(digester.size(), 2u);
  ASSERT_TRUE(digester.File(Path("a.bin")).ok());
  EXPECT_EQ(digester.stats().cache_hits, 1);
  EXPECT_EQ(digester.stats().files_read, 0);
}

TEST_F(AgedFilesTest, DirectoryUsesTheCacheOnTheSecondCall) {
  const Digest want = ExpectedDirectoryDigest(SortedListing(Files()));
  FileDigester digester;
  absl::StatusOr<Digest> first = digester.Directory(dir_);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, want);
  EXPECT_EQ(digester.stats().files_read, 4);
  EXPECT_EQ(digester.stats().cache_hits, 0);
  absl::StatusOr<Digest> second = digester.Directory(dir_);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(*second, want);
  EXPECT_EQ(digester.stats().files_read, 4);
  EXPECT_EQ(digester.stats().cache_hits, 4);
}

TEST_F(AgedFilesTest, ConcurrentFileAndDirectoryCallsAgree) {
  FileDigester digester;
  ExpectConcurrentCallsAgree(digester, dir_, Files());
  // Every file is old enough to be cached, so after the first reads the rest are hits.
  EXPECT_GE(digester.stats().files_read, 4);
  EXPECT_GT(digester.stats().cache_hits, 0);
  EXPECT_EQ(digester.size(), 4u);
}

// ---------------------------------------------------------------------------------------
// FileDigester::Directory

class DirectoryTest : public TempDirTest {
 protected:
  absl::StatusOr<Digest> DigestOf(const std::string& dir) { return FileDigester().Directory(dir); }
};

TEST(CanonicalBytesTest, HandBuiltBytesMatchDigestToBytes) {
  for (const Digest& d :
       {Digest::Of("hello"), Digest(0x0102030405060708ull, 0x090a0b0c0d0e0f10ull)}) {
    unsigned char bytes[Digest::kBytes];
    d.ToBytes(bytes);
    EXPECT_EQ(CanonicalBytes(d), std::string(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
  }
}

TEST_F(DirectoryTest, MatchesTheDocumentedEncoding) {
  const std::string tree = Path("tree");
  // Created in no particular order.
  WriteTree(tree, {{"z", "zed"},
                   {"a/y/deep.bin", Pattern(3000, 1)},
                   {"b.txt", "bee\n"},
                   {"\xc3\xa9.txt", "e acute"},
                   {"a0", ""},
                   {"a/x.txt", "ex"},
                   {"A", "capital"},
                   {"a.txt", "a dot txt"}});
  // Bytewise order of the full relative paths: 'A' 0x41 < 'a' 0x61; then after "a":
  // '.' 0x2e < '/' 0x2f < '0' 0x30; 'x' < 'y'; and 0xc3 sorts after every ASCII byte.
  // clang-format off
  const std::vector<std::pair<std::string, Digest>> listing = {
      {"A", Digest::Of("capital")},
      {"a.txt", Digest::Of("a dot txt")},
      {"a/x.txt", Digest::Of("ex")},
      {"a/y/deep.bin", Digest::Of(Pattern(3000, 1))},
      {"a0", Digest::Of("")},
      {"b.txt", Digest::Of("bee\n")},
      {"z", Digest::Of("zed")},
      {"\xc3\xa9.txt", Digest::Of("e acute")},
  };
  // clang-format on
  // Spell out the start of the encoding to pin the layout: count 8, then "A" (length 1).
  const std::string bytes = DirectoryListingBytes(listing);
  EXPECT_EQ(bytes.substr(0, 17), std::string("\x08\0\0\0\0\0\0\0\x01\0\0\0\0\0\0\0A", 17));
  EXPECT_EQ(bytes.size(), size_t{8 + 8 * (8 + 16) + (1 + 5 + 7 + 12 + 2 + 5 + 1 + 6)});

  absl::StatusOr<Digest> got = DigestOf(tree);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, Digest::Of(bytes));
  // A trailing slash names the same directory.
  absl::StatusOr<Digest> slash = DigestOf(tree + "/");
  ASSERT_TRUE(slash.ok()) << slash.status();
  EXPECT_EQ(*slash, Digest::Of(bytes));
}

TEST_F(DirectoryTest, EmptyDirectoryIsTheEmptyList) {
  const std::string tree = Path("tree");
  ASSERT_EQ(::mkdir(tree.c_str(), 0755), 0);
  absl::StatusOr<Digest> got = DigestOf(tree);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, Digest::Of(std::string(8, '\0')));
}

TEST_F(DirectoryTest, CreationOrderDoesNotMatter) {
  std::vector<std::pair<std::string, std::string>> files;
  for (int i = 0; i < 30; ++i) {
    files.emplace_back(absl::StrFormat("d%d/f%02d", i % 4, i), Pattern(100 + i, i));
  }
  WriteTree(Path("forward"), files);
  std::reverse(files.begin(), files.end());
  WriteTree(Path("backward"), files);
  absl::StatusOr<Digest> forward = DigestOf(Path("forward"));
  absl::StatusOr<Digest> backward = DigestOf(Path("backward"));
  ASSERT_TRUE(forward.ok()) << forward.status();
  ASSERT_TRUE(backward.ok()) << backward.status();
  EXPECT_EQ(*forward, *backward);
  EXPECT_EQ(*forward, ExpectedDirectoryDigest(SortedListing(files)));
}

TEST_F(DirectoryTest, EmptySubdirectoriesDoNotContribute) {
  const std::string tree = Path("tree");
  WriteTree(tree, {{"x", "x"}, {"sub/y", "y"}});
  absl::StatusOr<Digest> before = DigestOf(tree);
  ASSERT_TRUE(before.ok()) << before.status();
  std::filesystem::create_directories(tree + "/empty");
  std::filesystem::create_directories(tree + "/sub/empty/nested/deeper");
  absl::StatusOr<Digest> after = DigestOf(tree);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(*before, *after);
  EXPECT_EQ(*after, ExpectedDirectoryDigest({{"sub/y", Digest::Of("y")}, {"x", Digest::Of("x")}}));
}

TEST_F(DirectoryTest, RenamingOrMovingAFileChangesTheDigest) {
  const std::string tree = Path("tree");
  WriteTree(tree, {{"one", "1"}, {"two", "2"}});
  absl::StatusOr<Digest> original = DigestOf(tree);
  ASSERT_TRUE(original.ok()) << original.status();

  ASSERT_EQ(::rename((tree + "/two").c_str(), (tree + "/deux").c_str()), 0);
  absl::StatusOr<Digest> renamed = DigestOf(tree);
  ASSERT_TRUE(renamed.ok()) << renamed.status();
  EXPECT_NE(*renamed, *original);
  EXPECT_EQ(*renamed,
            ExpectedDirectoryDigest({{"deux", Digest::Of("2")}, {"one", Digest::Of("1")}}));

  ASSERT_EQ(::mkdir((tree + "/sub").c_str(), 0755), 0);
  ASSERT_EQ(::rename((tree + "/deux").c_str(), (tree + "/sub/deux").c_str()), 0);
  absl::StatusOr<Digest> moved = DigestOf(tree);
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_NE(*moved, *renamed);
  EXPECT_EQ(*moved,
            ExpectedDirectoryDigest({{"one", Digest::Of("1")}, {"sub/deux", Digest::Of("2")}}));
}

TEST_F(DirectoryTest, EditingAFileChangesTheDigest) {
  const std::string tree = Path("tree");
  WriteTree(tree, {{"f", "before"}});
  absl::StatusOr<Digest> before = DigestOf(tree);
  ASSERT_TRUE(before.ok());
  Spit(tree + "/f", "after!");
  absl::StatusOr<Digest> after = DigestOf(tree);
  ASSERT_TRUE(after.ok());
  EXPECT_NE(*before, *after);
  EXPECT_EQ(*after, ExpectedDirectoryDigest({{"f", Digest::Of("after!")}}));
}

// Enough files that the encoded list (~100 KB) is fed to the hasher in several pieces.
TEST_F(DirectoryTest, ManyFilesInNestedDirectories) {
  std::vector<std::pair<std::string, std::string>> files;
  for (int d = 0; d < 40; ++d) {
    for (int f = 0; f < 40; ++f) {
      files.emplace_back(absl::StrFormat("dir_%02d/nested/file_%03d_with_a_longer_name", d, f),
                         absl::StrCat("content ", d, "/", f));
    }
  }
  const std::string tree = Path("tree");
  WriteTree(tree, files);
  const std::vector<std::pair<std::string, Digest>> listing = SortedListing(files);
  ASSERT_GT(DirectoryListingBytes(listing).size(), size_t{1} << 16);
  absl::StatusOr<Digest> got = DigestOf(tree);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, ExpectedDirectoryDigest(listing));
}

TEST_F(DirectoryTest, SymlinkToFileIsFollowed) {
  Write("outside/target.txt", "target content");
  const std::string tree = Path("tree");
  WriteTree(tree, {{"real.txt", "real"}});
  ASSERT_EQ(::symlink("../outside/target.txt", (tree + "/link.txt").c_str()), 0);
  absl::StatusOr<Digest> got = DigestOf(tree);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, ExpectedDirectoryDigest({{"link.txt", Digest::Of("target content")},
                                           {"real.txt", Digest::Of("real")}}));
}

TEST_F(DirectoryTest, SymlinkToDirectoryIsFollowed) {
  WriteTree(Path("other"), {{"f1", "one"}, {"sub/f2", "two"}});
  const std::string tree = Path("tree");
  WriteTree(tree, {{"own", "own"}});
  ASSERT_EQ(::symlink("../other", (tree + "/linked").c_str()), 0);
  const Digest want = ExpectedDirectoryDigest({{"linked/f1", Digest::Of("one")},
                                               {"linked/sub/f2", Digest::Of("two")},
                                               {"own", Digest::Of("own")}});
  absl::StatusOr<Digest> got = DigestOf(tree);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, want);
  // The root itself may be a symlink to a directory.
  ASSERT_EQ(::symlink("tree", Path("tree_link").c_str()), 0);
  absl::StatusOr<Digest> via_link = DigestOf(Path("tree_link"));
  ASSERT_TRUE(via_link.ok()) << via_link.status();
  EXPECT_EQ(*via_link, want);
}

TEST_F(DirectoryTest, SymlinkToParentIsACycle) {
  const std::string tree = Path("tree");
  WriteTree(tree, {{"f", "f"}});
  ASSERT_EQ(::symlink("..", (tree + "/link").c_str()), 0);  // back above the root
  const absl::Status s = DigestOf(tree).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr(tree));
}

TEST_F(DirectoryTest, SymlinkToAnAncestorInsideTheTreeIsACycle) {
  const std::string tree = Path("tree");
  WriteTree(tree, {{"f", "f"}, {"sub/g", "g"}});
  ASSERT_EQ(::symlink("..", (tree + "/sub/up").c_str()), 0);  // sub/up → tree
  const absl::Status s = DigestOf(tree).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr(tree));
}

// file_digest.h: Directory() gives "INVALID_ARGUMENT when ... a symbolic-link cycle is
// found". A link that resolves to itself (or two links to each other) is a cycle too, but
// stat(2) reports it as ELOOP, which PosixError turns into UNKNOWN.
TEST_F(DirectoryTest, SymlinkLoopIsInvalidArgument) {
  const std::string self_tree = Path("self");
  WriteTree(self_tree, {{"f", "f"}});
  ASSERT_EQ(::symlink("loop", (self_tree + "/loop").c_str()), 0);
  const absl::Status self = DigestOf(self_tree).status();
  EXPECT_EQ(self.code(), absl::StatusCode::kInvalidArgument) << self;
  EXPECT_THAT(std::string(self.message()), HasSubstr(self_tree));

  const std::string pair_tree = Path("pair");
  WriteTree(pair_tree, {{"f", "f"}});
  ASSERT_EQ(::symlink("b", (pair_tree + "/a").c_str()), 0);
  ASSERT_EQ(::symlink("a", (pair_tree + "/b").c_str()), 0);
  const absl::Status pair = DigestOf(pair_tree).status();
  EXPECT_EQ(pair.code(), absl::StatusCode::kInvalidArgument) << pair;
  EXPECT_THAT(std::string(pair.message()), HasSubstr(pair_tree));
}

TEST_F(DirectoryTest, NonDirectoryIsInvalidArgument) {
  const std::string file = Write("plain", "not a directory");
  const absl::Status s = DigestOf(file).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr(file));
}

TEST_F(DirectoryTest, MissingDirectoryIsNotFound) {
  for (const std::string& path : {Path("missing"), Path("missing/deeper")}) {
    const absl::Status s = DigestOf(path).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr(path));
  }
}

TEST_F(DirectoryTest, FifoInsideIsInvalidArgumentAndDoesNotBlock) {
  const std::string tree = Path("tree");
  WriteTree(tree, {{"f", "f"}});
  const std::string fifo = tree + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  const absl::Status s = CallWithFifoWatchdog(fifo, [&] { return DigestOf(tree); }).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr(fifo));
}

TEST_F(DirectoryTest, UnreadableFileInsideIsPermissionDenied) {
  const std::string tree = Path("tree");
  WriteTree(tree, {{"ok", "ok"}, {"sub/secret", "secret"}});
  ASSERT_EQ(::chmod((tree + "/sub/secret").c_str(), 0), 0);
  absl::Status s;
  const Unprivileged run = RunWithoutDacOverride(dir_, [&] { s = DigestOf(tree).status(); });
  if (!run.denied) GTEST_SKIP() << run.why;
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr(tree + "/sub/secret"));
}

}  // namespace
}  // namespace mlops
