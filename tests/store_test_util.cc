#include "tests/store_test_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace mlops {
namespace testing {

std::string ValueId::ToString() const { return absl::StrCat(round, "/", index); }

uint64_t Mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

namespace {

uint64_t SeedOf(const ValueId& id) {
  return Mix64((static_cast<uint64_t>(id.round) << 32) | id.index);
}

void PutLe32(uint32_t v, unsigned char* out) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<unsigned char>(v >> (8 * i));
}

uint32_t GetLe32(const unsigned char* in) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(in[i]) << (8 * i);
  return v;
}

}  // namespace

void FillValue(const ValueId& id, size_t offset, char* out, size_t n) {
  unsigned char header[kValueHeaderBytes];
  PutLe32(id.round, header);
  PutLe32(id.index, header + 4);
  const uint64_t seed = SeedOf(id);
  size_t p = offset;
  const size_t end = offset + n;
  while (p < end && p < kValueHeaderBytes) *out++ = static_cast<char>(header[p++]);
  while (p < end) {
    // Payload byte q (= p - header) is byte q % 8 of word q / 8.
    const size_t q = p - kValueHeaderBytes;
    const uint64_t word = Mix64(seed + q / 8 + 1);
    unsigned char bytes[8];
    for (int i = 0; i < 8; ++i) bytes[i] = static_cast<unsigned char>(word >> (8 * i));
    const size_t from = q % 8;
    const size_t take = std::min<size_t>(8 - from, end - p);
    std::memcpy(out, bytes + from, take);
    out += take;
    p += take;
  }
}

std::string MakeValue(const ValueId& id, size_t size) {
  std::string s(size, '\0');
  FillValue(id, 0, &s[0], size);
  return s;
}

bool ParseValueHeader(absl::string_view bytes, ValueId* id) {
  if (bytes.size() < kValueHeaderBytes) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  id->round = GetLe32(p);
  id->index = GetLe32(p + 4);
  return true;
}

bool ValueMatches(const ValueId& id, size_t size, absl::string_view bytes) {
  if (bytes.size() != size) return false;
  constexpr size_t kChunk = 64 * 1024;
  std::string buf(kChunk, '\0');
  for (size_t off = 0; off < size; off += kChunk) {
    const size_t n = std::min(kChunk, size - off);
    FillValue(id, off, &buf[0], n);
    if (std::memcmp(buf.data(), bytes.data() + off, n) != 0) return false;
  }
  return true;
}

std::vector<std::string> ListNames(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return names;
  while (struct dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
      names.emplace_back(e->d_name);
    }
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

int AgeFiles(const std::string& dir, int seconds_ago) {
  int changed = 0;
  struct timespec times[2];
  times[0].tv_sec = ::time(nullptr) - seconds_ago;
  times[0].tv_nsec = 0;
  times[1] = times[0];
  for (const std::string& name : ListNames(dir)) {
    const std::string path = absl::StrCat(dir, "/", name);
    if (::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) == 0) ++changed;
  }
  return changed;
}

bool RemoveTree(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return errno == ENOENT;
  if (S_ISDIR(st.st_mode)) {
    bool ok = true;
    for (const std::string& name : ListNames(path)) {
      ok = RemoveTree(absl::StrCat(path, "/", name)) && ok;
    }
    return ::rmdir(path.c_str()) == 0 && ok;
  }
  return ::unlink(path.c_str()) == 0;
}

std::string FreshTestDir(const std::string& name) {
  const char* tmp = ::getenv("TEST_TMPDIR");
  const std::string base = (tmp != nullptr && *tmp != '\0') ? tmp : "/tmp";
  const std::string dir = absl::StrCat(base, "/", name);
  RemoveTree(dir);
  ::mkdir(dir.c_str(), 0755);
  return dir;
}

std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status)) return absl::StrCat("exited with code ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return absl::StrCat("killed by signal ", WTERMSIG(status), " (", ::strsignal(WTERMSIG(status)),
                        ")");
  }
  return absl::StrCat("wait status ", status);
}

pid_t ChildProcesses::ForkChild() {
  // Flush stdio so buffered output is not written twice (by parent and child).
  ::fflush(stdout);
  ::fflush(stderr);
  return ::fork();
}

void ChildProcesses::ExitChild(int code) {
  ::fflush(stdout);
  ::fflush(stderr);
  ::_exit(code);
}

void ChildProcesses::Forget(pid_t pid) {
  pids_.erase(std::remove(pids_.begin(), pids_.end(), pid), pids_.end());
}

bool ChildProcesses::Wait(pid_t pid, int* status, double timeout_seconds) {
  struct timespec start;
  ::clock_gettime(CLOCK_MONOTONIC, &start);
  while (true) {
    const pid_t r = ::waitpid(pid, status, WNOHANG);
    if (r == pid) {
      Forget(pid);
      return true;
    }
    if (r < 0 && errno != EINTR) {
      Forget(pid);
      *status = -1;
      return true;
    }
    struct timespec now;
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    const double elapsed =
        static_cast<double>(now.tv_sec - start.tv_sec) + 1e-9 * (now.tv_nsec - start.tv_nsec);
    if (elapsed > timeout_seconds) {
      KillAndWait(pid, status);
      return false;
    }
    ::usleep(2000);
  }
}

void ChildProcesses::KillAndWait(pid_t pid, int* status) {
  ::kill(pid, SIGKILL);
  while (::waitpid(pid, status, 0) < 0 && errno == EINTR) {
  }
  Forget(pid);
}

void ChildProcesses::KillAll() {
  while (!pids_.empty()) {
    int status = 0;
    KillAndWait(pids_.back(), &status);
  }
}

}  // namespace testing
}  // namespace mlops
