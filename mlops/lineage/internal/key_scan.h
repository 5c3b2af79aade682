// Internal: reading a table of a damaged SQLite database by its integer key with SQLite's
// own queries, stepping over what cannot be read (for salvage.h).
//
// A scan reads rows in key order ("WHERE id > ? ORDER BY id") until a read fails on
// damage. Then, past the last key read: if a seek to the next key still works, that one
// row is damaged (say its overflow pages): it is looked up alone and skipped if it fails.
// If seeks fail too (a leaf or interior page is unreadable), seeks to keys further on are
// tried at doubling distances until one reaches a page again, and a binary search finds
// the lowest key from which they do; the keys skipped, if no more than kLookupRange, are
// each looked up alone (a lookup reaches any page still linked from the tree above it);
// the scan goes on from there. So the rows on every page SQLite can still reach survive,
// and a damaged page costs about the rows on it. Keys must be positive.
//
// Thread safety: not thread-safe; used by one salvage on its own connection.
#ifndef MLOPS_LINEAGE_INTERNAL_KEY_SCAN_H_
#define MLOPS_LINEAGE_INTERNAL_KEY_SCAN_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "mlops/base/internal/sqlite.h"

namespace mlops {
namespace lineage_internal {

class KeyScan {
 public:
  // Skipped key ranges up to this long are looked up key by key.
  static constexpr int64_t kLookupRange = 4096;
  // What is done with each row read: `q` is positioned on it (the columns asked for).
  using RowFn = std::function<absl::Status(sqlite::Statement& q)>;

  // Prepares the scan of `columns` (the first of which is the key, `id`) of `table` in
  // `db`, which must outlive this. An error if the table cannot be read at all (missing,
  // or the schema damaged: sqlite::IsDamage).
  absl::Status Prepare(sqlite::Db& db, const std::string& table, const std::string& columns);

  // Calls `row` on every row that reads, in key order. Returns whether no damage was met;
  // errors other than damage, and those `row` returns, end the scan.
  absl::StatusOr<bool> Run(const RowFn& row);

 private:
  // Whether a seek to the first key above `after` reads (damage: false); if so, `*found`
  // and `*key` say what it found.
  absl::StatusOr<bool> Seek(int64_t after, int64_t* key, bool* found);
  // Looks up one key, calling `row` if it reads; damage skips it.
  absl::Status Lookup(int64_t key, const RowFn& row);
  // After a scan past `*after` met damage: reads what it can past it and moves `*after`
  // to where the scan can go on. False if nothing past it can be reached.
  absl::StatusOr<bool> StepOver(int64_t* after, const RowFn& row);

  std::unique_ptr<sqlite::Statement> scan_, seek_, lookup_;
};

// Scans `columns` of `table` in `from` (KeyScan) into `row`, clearing `*complete` if
// damage was met. A table that cannot be prepared has nothing to read; that clears
// `*complete` too, unless the table is `optional` and merely missing.
absl::Status ScanTable(sqlite::Db& from, const std::string& table, const std::string& columns,
                       bool optional, bool* complete, const KeyScan::RowFn& row);

}  // namespace lineage_internal
}  // namespace mlops

#endif  // MLOPS_LINEAGE_INTERNAL_KEY_SCAN_H_
