#include "mlops/base/file_io.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/testing/bytes.h"
#include "mlops/testing/check_sys.h"
#include "mlops/testing/files.h"
#include "mlops/testing/unprivileged.h"

namespace mlops {
namespace {

using ::mlops::test::ListDir;
using ::mlops::test::Pattern;
using ::mlops::test::RunWithoutDacOverride;
using ::mlops::test::Slurp;
using ::mlops::test::Spit;
using ::mlops::test::Unprivileged;
using ::testing::HasSubstr;

bool IsOpenFd(int fd) { return ::fcntl(fd, F_GETFD) != -1 || errno != EBADF; }

// A fresh directory for each test, removed after it.
class FileIoTest : public test::TempDirTest {};

// ---------------------------------------------------------------------------------------
// PosixError

TEST(PosixErrorTest, MapsErrnoToCodeAndNamesOpAndPath) {
  struct Case {
    int error;
    absl::StatusCode code;
  };
  for (const Case& c : {Case{ENOENT, absl::StatusCode::kNotFound},
                        Case{EACCES, absl::StatusCode::kPermissionDenied},
                        Case{ENOSPC, absl::StatusCode::kResourceExhausted}}) {
    const absl::Status s = PosixError(c.error, "open", "/data/train.csv");
    EXPECT_EQ(s.code(), c.code) << "errno " << c.error << ": " << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr("open")) << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr("/data/train.csv")) << s;
  }
  const absl::Status rename = PosixError(EACCES, "rename to", "out/model.bin");
  EXPECT_EQ(rename.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(rename.message()), HasSubstr("rename to"));
  EXPECT_THAT(std::string(rename.message()), HasSubstr("out/model.bin"));
}

TEST_F(FileIoTest, PosixErrorFromRealFailedOpen) {
  const std::string missing = Path("no_such_file");
  ASSERT_EQ(::open(missing.c_str(), O_RDONLY | O_CLOEXEC), -1);
  const absl::Status s = PosixError(errno, "open", missing);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr(missing));
}

// ---------------------------------------------------------------------------------------
// ScopedFd

// A non-blocking pipe: reading the read end gives EOF (0) once every write end is closed and
// EAGAIN while one is still open, so it tells whether a ScopedFd closed the write end.
struct Pipe {
  Pipe() {
    int fds[2];
    CHECK_SYS(::pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0);
    read_end = fds[0];
    write_end = fds[1];
  }
  ~Pipe() {
    ::close(read_end);
    if (!write_end_owned_elsewhere) ::close(write_end);
  }
  bool WriteEndClosed() const {
    char c;
    const ssize_t n = ::read(read_end, &c, 1);
    return n == 0;
  }
  int read_end = -1;
  int write_end = -1;
  bool write_end_owned_elsewhere = true;  // by default a ScopedFd under test closes it
};

TEST(ScopedFdTest, DefaultIsInvalid) {
  ScopedFd fd;
  EXPECT_FALSE(fd.valid());
  EXPECT_EQ(fd.get(), -1);
  EXPECT_EQ(fd.release(), -1);
}

TEST(ScopedFdTest, ClosesOnDestruction) {
  Pipe p;
  {
    ScopedFd fd(p.write_end);
    EXPECT_TRUE(fd.valid());
    EXPECT_EQ(fd.get(), p.write_end);
    EXPECT_FALSE(p.WriteEndClosed());
  }
  EXPECT_TRUE(p.WriteEndClosed());
  EXPECT_FALSE(IsOpenFd(p.write_end));
}

TEST(ScopedFdTest, MoveConstructionTransfersOwnership) {
  Pipe p;
  {
    ScopedFd outer;
    {
      ScopedFd inner(p.write_end);
      outer = ScopedFd(std::move(inner));
      EXPECT_FALSE(inner.valid());  // NOLINT(bugprone-use-after-move): documented state
      EXPECT_EQ(outer.get(), p.write_end);
    }
    // `inner` is gone; it must not have closed the descriptor it gave away.
    EXPECT_FALSE(p.WriteEndClosed());
    EXPECT_TRUE(IsOpenFd(p.write_end));
  }
  EXPECT_TRUE(p.WriteEndClosed());
}

TEST(ScopedFdTest, MoveAssignmentClosesThePreviousFd) {
  Pipe first;
  Pipe second;
  {
    ScopedFd a(first.write_end);
    ScopedFd b(second.write_end);
    a = std::move(b);
    EXPECT_TRUE(first.WriteEndClosed()) << "the fd `a` held before the move was not closed";
    EXPECT_FALSE(second.WriteEndClosed());
    EXPECT_EQ(a.get(), second.write_end);
    EXPECT_FALSE(b.valid());  // NOLINT(bugprone-use-after-move): documented state
  }
  EXPECT_TRUE(second.WriteEndClosed());
}

TEST(ScopedFdTest, SelfMoveAssignmentKeepsTheFd) {
  Pipe p;
  {
    ScopedFd fd(p.write_end);
    ScopedFd& alias = fd;
    fd = std::move(alias);
    EXPECT_EQ(fd.get(), p.write_end);
    EXPECT_FALSE(p.WriteEndClosed());
  }
  EXPECT_TRUE(p.WriteEndClosed());
}

TEST(ScopedFdTest, ReleaseGivesUpOwnershipWithoutClosing) {
  Pipe p;
  int released = -1;
  {
    ScopedFd fd(p.write_end);
    released = fd.release();
    EXPECT_FALSE(fd.valid());
  }
  EXPECT_EQ(released, p.write_end);
  EXPECT_FALSE(p.WriteEndClosed());
  EXPECT_TRUE(IsOpenFd(released));
  p.write_end_owned_elsewhere = false;  // the Pipe closes it
}

// ---------------------------------------------------------------------------------------
// WriteAll / ReadFile

TEST_F(FileIoTest, WriteAllThenReadFileRoundTrips) {
  std::string with_nuls("a\0b\0\0c\n", 7);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"empty", ""},
      {"one", "x"},
      {"nuls", with_nuls},
      {"just_over_64k", Pattern(64 * 1024 + 1, 1)},
      {"five_mib", Pattern(5 << 20, 2)},
  };
  for (const auto& [name, data] : cases) {
    const std::string path = Path(name);
    {
      ScopedFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
      ASSERT_TRUE(fd.valid()) << std::strerror(errno);
      const absl::Status s = WriteAll(fd.get(), data, path);
      ASSERT_TRUE(s.ok()) << name << ": " << s;
    }
    struct stat st;
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(static_cast<size_t>(st.st_size), data.size()) << name;
    EXPECT_TRUE(Slurp(path) == data) << name << ": bytes on disk differ";

    absl::StatusOr<std::string> read = ReadFile(path);
    ASSERT_TRUE(read.ok()) << name << ": " << read.status();
    EXPECT_EQ(read->size(), data.size()) << name;
    EXPECT_TRUE(*read == data) << name << ": ReadFile returned different bytes";
  }
}

TEST_F(FileIoTest, WriteAllThroughAPipeDeliversEveryByte) {
  const std::string data = Pattern(3 << 20, 3);  // far more than a pipe buffer holds
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  std::string received;
  std::thread reader([&] {
    char buf[4096];  // small reads, so the writer sees many partial drains
    ssize_t n;
    while ((n = ::read(fds[0], buf, sizeof(buf))) > 0) received.append(buf, n);
    ::close(fds[0]);
  });
  absl::Status s;
  {
    ScopedFd w(fds[1]);
    s = WriteAll(w.get(), data, "pipe:test");
  }
  reader.join();
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(received.size(), data.size());
  EXPECT_TRUE(received == data);
}

TEST_F(FileIoTest, WriteAllErrorNamesThePath) {
  const std::string path = Path("readonly");
  Spit(path, "old");
  ScopedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(fd.valid());
  const absl::Status s = WriteAll(fd.get(), "new", path);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), HasSubstr("write"));
  EXPECT_THAT(std::string(s.message()), HasSubstr(path));
  EXPECT_EQ(Slurp(path), "old");
}

TEST(WriteAllTest, FullDeviceIsResourceExhausted) {
  ScopedFd fd(::open("/dev/full", O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) GTEST_SKIP() << "/dev/full is not available: " << std::strerror(errno);
  const absl::Status s = WriteAll(fd.get(), "data", "/dev/full");
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("/dev/full"));
}

TEST_F(FileIoTest, ReadFileOfMissingFileIsNotFound) {
  for (const std::string& path : {Path("missing"), Path("no_dir/missing")}) {
    absl::StatusOr<std::string> read = ReadFile(path);
    EXPECT_EQ(read.status().code(), absl::StatusCode::kNotFound) << read.status();
    EXPECT_THAT(std::string(read.status().message()), HasSubstr(path));
  }
}

TEST_F(FileIoTest, ReadFileOfUnreadableFileIsPermissionDenied) {
  const std::string path = Path("secret");
  Spit(path, "secret bytes");
  ASSERT_EQ(::chmod(path.c_str(), 0), 0);
  absl::StatusOr<std::string> read = std::string();
  const Unprivileged run = RunWithoutDacOverride(dir_, [&] { read = ReadFile(path); });
  if (!run.denied) GTEST_SKIP() << run.why;
  EXPECT_EQ(read.status().code(), absl::StatusCode::kPermissionDenied) << read.status();
  EXPECT_THAT(std::string(read.status().message()), HasSubstr(path));
}

// ---------------------------------------------------------------------------------------
// WriteFileAtomically

TEST_F(FileIoTest, WriteFileAtomicallyCreatesTheFile) {
  const std::string path = Path("out.bin");
  const std::string data = Pattern(100000, 4);
  const absl::Status s = WriteFileAtomically(path, data);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_TRUE(Slurp(path) == data);
  EXPECT_EQ(ListDir(dir_), std::vector<std::string>{"out.bin"});  // no *.tmp.* left
}

TEST_F(FileIoTest, WriteFileAtomicallyReplacesContent) {
  const std::string path = Path("out.txt");
  Spit(path, Pattern(10000, 5));
  // A reader that opened the old file keeps seeing the whole old file: the new content
  // arrives as a new file renamed into place, not by rewriting the old one.
  ScopedFd old_reader(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(old_reader.valid());

  for (bool sync : {false, true}) {
    const std::string data = sync ? "short, synced" : "short";
    const absl::Status s = WriteFileAtomically(path, data, sync);
    ASSERT_TRUE(s.ok()) << s;
    EXPECT_EQ(Slurp(path), data) << "no stale bytes of the longer old content may remain";
    EXPECT_EQ(ListDir(dir_), std::vector<std::string>{"out.txt"});
  }
  const absl::Status empty = WriteFileAtomically(path, "");
  ASSERT_TRUE(empty.ok()) << empty;
  EXPECT_EQ(Slurp(path), "");
  EXPECT_EQ(ListDir(dir_), std::vector<std::string>{"out.txt"});

  std::string old;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(old_reader.get(), buf, sizeof(buf))) > 0) old.append(buf, n);
  EXPECT_TRUE(old == Pattern(10000, 5)) << "the old file was modified in place";
}

TEST_F(FileIoTest, WriteFileAtomicallyIntoMissingDirectoryFailsAndLeavesNothing) {
  const std::string path = Path("missing_dir/out.txt");
  const absl::Status s = WriteFileAtomically(path, "data");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr(path));
  EXPECT_TRUE(ListDir(dir_).empty());
}

TEST_F(FileIoTest, WriteFileAtomicallyOverDirectoryFailsAndLeavesNoTemporary) {
  const std::string target = Path("a_dir");
  ASSERT_EQ(::mkdir(target.c_str(), 0755), 0);
  Spit(target + "/inside", "keep me");
  const absl::Status s = WriteFileAtomically(target, "data");
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), HasSubstr(target));
  EXPECT_EQ(ListDir(dir_), std::vector<std::string>{"a_dir"}) << "a temporary was left behind";
  EXPECT_EQ(ListDir(target), std::vector<std::string>{"inside"});
  EXPECT_EQ(Slurp(target + "/inside"), "keep me");
}

TEST_F(FileIoTest, WriteFileAtomicallyFromManyThreadsLeavesOneWholeVersion) {
  const std::string path = Path("shared.bin");
  constexpr int kThreads = 8;
  constexpr int kWritesPerThread = 20;
  std::vector<std::string> versions;
  for (int t = 0; t < kThreads; ++t) versions.push_back(Pattern(20000 + t, 100 + t));
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kWritesPerThread; ++i) {
        if (!WriteFileAtomically(path, versions[t]).ok()) failures.fetch_add(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  const std::string final_content = Slurp(path);
  EXPECT_NE(std::find(versions.begin(), versions.end(), final_content), versions.end())
      << "the file holds a torn or mixed write of " << final_content.size() << " bytes";
  EXPECT_EQ(ListDir(dir_), std::vector<std::string>{"shared.bin"});
}

}  // namespace
}  // namespace mlops
