// DigestFile and FileDigester::File on single files: digests across read-chunk boundaries,
// known answers from xxh128sum, and the errors for missing, unreadable and special files.
#include "mlops/hash/file_digest.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/hash/digest.h"
#include "mlops/hash/file_digest_testing.h"
#include "mlops/testing/bytes.h"
#include "mlops/testing/check_sys.h"
#include "mlops/testing/files.h"
#include "mlops/testing/unprivileged.h"

namespace mlops {
namespace {

using ::mlops::test::CallWithFifoWatchdog;
using ::mlops::test::Mod251;
using ::mlops::test::Pattern;
using ::mlops::test::RunWithoutDacOverride;
using ::mlops::test::Unprivileged;
using ::testing::HasSubstr;

constexpr size_t kMiB = size_t{1} << 20;

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

// ---------------------------------------------------------------------------------------
// DigestFile and FileDigester::File: content and errors.

class DigestFileTest : public test::TempDirTest {};

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

}  // namespace
}  // namespace mlops
