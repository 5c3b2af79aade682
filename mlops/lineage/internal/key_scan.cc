#include "mlops/lineage/internal/key_scan.h"

#include <limits>

#include "absl/strings/str_cat.h"

namespace mlops {
namespace lineage_internal {

absl::Status KeyScan::Prepare(sqlite::Db& db, const std::string& table,
                              const std::string& columns) {
  return db.PrepareAll({
      {&scan_,
       absl::StrCat("SELECT ", columns, " FROM ", table, " WHERE id > ?1 ORDER BY id").c_str()},
      {&seek_,
       absl::StrCat("SELECT id FROM ", table, " WHERE id > ?1 ORDER BY id LIMIT 1").c_str()},
      {&lookup_, absl::StrCat("SELECT ", columns, " FROM ", table, " WHERE id = ?1").c_str()},
  });
}

absl::StatusOr<bool> KeyScan::Run(const RowFn& row) {
  int64_t after = 0;
  bool complete = true;
  while (true) {
    bool damaged = false;
    {
      sqlite::ResetOnExit reset(*scan_);
      scan_->Bind(1, after);
      while (true) {
        absl::StatusOr<bool> more = scan_->Step();
        if (!more.ok()) {
          if (!sqlite::IsDamage(more.status())) return more.status();
          damaged = true;
          break;
        }
        if (!*more) break;
        after = scan_->Int(0);
        absl::Status s = row(*scan_);
        if (!s.ok()) return s;
      }
    }
    if (!damaged) return complete;
    complete = false;
    absl::StatusOr<bool> more = StepOver(&after, row);
    if (!more.ok()) return more.status();
    if (!*more) return complete;
  }
}

absl::StatusOr<bool> KeyScan::Seek(int64_t after, int64_t* key, bool* found) {
  sqlite::ResetOnExit reset(*seek_);
  seek_->Bind(1, after);
  absl::StatusOr<bool> row = seek_->Step();
  if (!row.ok()) {
    if (sqlite::IsDamage(row.status())) return false;
    return row.status();
  }
  *found = *row;
  if (*row) *key = seek_->Int(0);
  return true;
}

absl::Status KeyScan::Lookup(int64_t key, const RowFn& row) {
  sqlite::ResetOnExit reset(*lookup_);
  lookup_->Bind(1, key);
  absl::StatusOr<bool> found = lookup_->Step();
  if (!found.ok()) return sqlite::IsDamage(found.status()) ? absl::OkStatus() : found.status();
  return *found ? row(*lookup_) : absl::OkStatus();
}

absl::StatusOr<bool> KeyScan::StepOver(int64_t* after, const RowFn& row) {
  int64_t key = 0;
  bool found = false;
  absl::StatusOr<bool> reads = Seek(*after, &key, &found);
  if (!reads.ok()) return reads.status();
  if (*reads) {  // the page is reachable: the row itself is damaged (or the next one)
    if (!found) return false;
    absl::Status s = Lookup(key, row);
    if (!s.ok()) return s;
    *after = key;
    return true;
  }
  // An unreachable page: find the lowest key from which seeks reach pages again.
  int64_t low = *after;  // a seek past `low` fails; past `high`, it works
  int64_t high = *after;
  for (int64_t step = 1;; step *= 2) {
    if (step > std::numeric_limits<int64_t>::max() / 4 - *after) return false;
    high = *after + step;
    reads = Seek(high, &key, &found);
    if (!reads.ok()) return reads.status();
    if (*reads) break;
    low = high;
  }
  while (high - low > 1) {
    const int64_t mid = low + (high - low) / 2;
    reads = Seek(mid, &key, &found);
    if (!reads.ok()) return reads.status();
    (*reads ? high : low) = mid;
  }
  // Keys in the skipped range may still be on pages a lookup reaches.
  if (high - *after <= kLookupRange) {
    for (int64_t k = *after + 1; k <= high; ++k) {
      absl::Status s = Lookup(k, row);
      if (!s.ok()) return s;
    }
  }
  *after = high;
  return true;
}

absl::Status ScanTable(sqlite::Db& from, const std::string& table, const std::string& columns,
                       bool optional, bool* complete, const KeyScan::RowFn& row) {
  KeyScan scan;
  absl::Status s = scan.Prepare(from, table, columns);
  if (!s.ok()) {
    if (!optional || sqlite::IsDamage(s)) *complete = false;
    return absl::OkStatus();
  }
  absl::StatusOr<bool> whole = scan.Run(row);
  if (!whole.ok()) return whole.status();
  if (!*whole) *complete = false;
  return absl::OkStatus();
}

}  // namespace lineage_internal
}  // namespace mlops
