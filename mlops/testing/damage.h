// Damaging SQLite database files, for the tests of recovery: overwriting pages with
// garbage, truncating, zeroing the header; and finding the pages of a table (through
// SQLite's dbstat table, independently of the code under test). Plain POSIX and the SQLite
// C API; a failing system call aborts the test binary (check_sys.h), a missing page fails
// the test.
//
// Example:
//   const std::vector<int64_t> leaves = test::LeafPages(path, "executions");
//   test::OverwritePage(path, leaves[leaves.size() / 2]);
//
// Thread safety: the functions may be called from several threads on different files.
#ifndef MLOPS_TESTING_DAMAGE_H_
#define MLOPS_TESTING_DAMAGE_H_

#include <cstdint>
#include <string>
#include <vector>

namespace mlops {
namespace test {

// SQLite's page size in the library's databases (the default).
constexpr int64_t kPageSize = 4096;

// The page numbers (1-based, as SQLite counts) of the leaf pages of table or index `name`
// in the database at `path`, in key order. Fails the test (and returns none) if it cannot
// be read. REQUIRES: no WAL frames hold pages of it (the database is at rest).
std::vector<int64_t> LeafPages(const std::string& path, const std::string& name);

// The number of pages of the file at `path` (its size over kPageSize, rounded down).
int64_t PageCount(const std::string& path);

// Overwrites page `page` (1-based) of the file at `path` with kPageSize bytes of garbage
// drawn from `seed`.
void OverwritePage(const std::string& path, int64_t page, uint32_t seed = 1);

// Truncates the file at `path` to `size` bytes.
void TruncateTo(const std::string& path, int64_t size);

// Overwrites the first 100 bytes (SQLite's database header) of the file at `path` with
// zeros.
void ZeroHeader(const std::string& path);

}  // namespace test
}  // namespace mlops

#endif  // MLOPS_TESTING_DAMAGE_H_
