#include "mlops/testing/damage.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <random>

#include "gtest/gtest.h"
#include "mlops/testing/check_sys.h"

namespace mlops {
namespace test {

std::vector<int64_t> LeafPages(const std::string& path, const std::string& name) {
  std::vector<int64_t> pages;
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* q = nullptr;
  if (rc == SQLITE_OK) {
    // dbstat's path names each page by its place in the b-tree ("/000/01a/"): in key order.
    rc = sqlite3_prepare_v2(db,
                            "SELECT pageno FROM dbstat WHERE name = ?1 AND pagetype = 'leaf' "
                            "ORDER BY path",
                            -1, &q, nullptr);
  }
  if (rc == SQLITE_OK) {
    sqlite3_bind_text(q, 1, name.c_str(), -1, SQLITE_TRANSIENT);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) pages.push_back(sqlite3_column_int64(q, 0));
  }
  if (rc != SQLITE_DONE) {
    ADD_FAILURE() << "cannot list the pages of " << name << " in " << path << ": "
                  << sqlite3_errmsg(db);
  }
  sqlite3_finalize(q);
  sqlite3_close(db);
  return pages;
}

int64_t PageCount(const std::string& path) {
  struct stat st;
  CHECK_SYS(::stat(path.c_str(), &st) == 0);
  return st.st_size / kPageSize;
}

void OverwritePage(const std::string& path, int64_t page, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string garbage(kPageSize, '\0');
  for (char& c : garbage) c = static_cast<char>(rng() & 0xff);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  CHECK_SYS(fd >= 0);
  CHECK_SYS(::pwrite(fd, garbage.data(), garbage.size(), (page - 1) * kPageSize) ==
            static_cast<ssize_t>(garbage.size()));
  CHECK_SYS(::close(fd) == 0);
}

void TruncateTo(const std::string& path, int64_t size) {
  CHECK_SYS(::truncate(path.c_str(), size) == 0);
}

void ZeroHeader(const std::string& path) {
  const std::string zeros(100, '\0');
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  CHECK_SYS(fd >= 0);
  CHECK_SYS(::pwrite(fd, zeros.data(), zeros.size(), 0) == 100);
  CHECK_SYS(::close(fd) == 0);
}

}  // namespace test
}  // namespace mlops
