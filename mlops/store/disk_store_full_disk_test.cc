// DiskStore on a full disk (a 256 KiB tmpfs in a private mount namespace of a child
// process): RESOURCE_EXHAUSTED naming the path, no entry and no temporary file left.
#include "mlops/store/disk_store.h"

#include <errno.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/hash/digest.h"
#include "mlops/store/content_store.h"
#include "mlops/testing/bytes.h"
#include "mlops/testing/check_sys.h"
#include "mlops/testing/files.h"

namespace mlops {
namespace {

using ::mlops::test::FreshDir;
using ::mlops::test::ListDir;
using ::mlops::test::Pattern;
using ::testing::IsEmpty;

constexpr size_t kMiB = 1024 * 1024;

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

}  // namespace
}  // namespace mlops
