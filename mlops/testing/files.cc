#include "mlops/testing/files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "mlops/testing/check_sys.h"

namespace mlops {
namespace test {

std::string MakeTempDir(const std::string& stem) {
  const char* base = std::getenv("TEST_TMPDIR");
  const std::string root = base != nullptr && *base != '\0' ? base : "/tmp";
  std::string tmpl = absl::StrCat(root, "/", stem, ".XXXXXX");
  CHECK_SYS(::mkdtemp(&tmpl[0]) != nullptr);
  return tmpl;
}

std::string FreshDir() {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name =
      info != nullptr ? absl::StrCat(info->test_suite_name(), ".", info->name()) : "test";
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      c = '_';
    }
  }
  return MakeTempDir(name);
}

void Spit(const std::string& path, const std::string& data) {
  FILE* f = std::fopen(path.c_str(), "wb");
  CHECK_SYS(f != nullptr);
  CHECK_SYS(std::fwrite(data.data(), 1, data.size(), f) == data.size());
  CHECK_SYS(std::fclose(f) == 0);
}

std::string Slurp(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  CHECK_SYS(f != nullptr);
  std::string out;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  CHECK_SYS(!std::ferror(f));
  std::fclose(f);
  return out;
}

void SetAge(const std::string& path, time_t seconds_ago) {
  struct timespec ts[2];
  ts[0].tv_sec = ts[1].tv_sec = ::time(nullptr) - seconds_ago;
  ts[0].tv_nsec = ts[1].tv_nsec = 0;
  CHECK_SYS(::utimensat(AT_FDCWD, path.c_str(), ts, 0) == 0);
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  CHECK_SYS(d != nullptr);
  while (struct dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

bool IsDir(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

void WriteTree(const std::string& dir,
               const std::vector<std::pair<std::string, std::string>>& files,
               std::vector<std::string>* paths) {
  for (const auto& [rel, content] : files) {
    const std::string path = dir + "/" + rel;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    Spit(path, content);
    if (paths != nullptr) paths->push_back(path);
  }
}

void TempDirTest::SetUp() { dir_ = FreshDir(); }

void TempDirTest::TearDown() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string TempDirTest::Path(const std::string& rel) const { return dir_ + "/" + rel; }

std::string TempDirTest::Write(const std::string& rel, const std::string& content) const {
  WriteTree(dir_, {{rel, content}});
  return Path(rel);
}

}  // namespace test
}  // namespace mlops

