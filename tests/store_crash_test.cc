// Crash-safety of DiskStore and the on-disk ActionCache: a writer process is SIGKILLed at
// random moments, hundreds of times, and after every kill the store must hold only whole,
// verifiable values and intact action records, and must still take new writes.
//
// The writer is a forked child of the test (single-threaded parent, so fork is safe). It
// writes deterministic values — small (10..1000 bytes) and large (1..4 MiB), through Put and
// through the streaming NewWriter/Append/Commit path — and an action record for each, and
// reports every write that returned OK through a pipe. The parent then checks, with a fresh
// DiskStore::Open and ActionCache::OpenOnDisk:
//   * every listed entry reads back OK (never DATA_LOSS) and is exactly the value its header
//     names, whose digest is the entry's name;
//   * every value the writer reported as committed is there (a crash never loses a
//     committed write), and values never disappear between rounds;
//   * the action cache's database, <ac>/records.db, passes SQLite's integrity check and is
//     all there is in <ac> (nothing moved aside as corrupt); every record in it (its keys
//     read with SQL, before any Open, through a read-only connection of the test's own, the
//     first to read what the killed writer left in the -wal file) reads back OK (or NOT_FOUND only when the test
//     itself deleted an output), never DATA_LOSS, and names exactly the outputs that were
//     written; every record the writer reported as committed is there, and records that
//     read back once never disappear (unless the test deleted an output they name);
//   * new Puts and records succeed and read back;
// and at the end that temporary files of killed writers, once older than the staleness
// threshold, are removed by Open, and that nothing was ever quarantined.
//
// Two more tests kill a writer inside a transaction of the action cache's database: one
// holding the write lock with uncommitted rows (some already in the WAL), one storing
// batches with PutMany in a loop. Neither may leave a partial row or batch behind, or keep
// the next writer (a fresh process, store_record_writer) from storing a record.

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "mlops/hash/digest.h"
#include "mlops/cache/result_cache.h"
#include "mlops/store/action_cache.h"
#include "mlops/store/action_result.pb.h"
#include "mlops/store/disk_store.h"
#include "tests/store_test_util.h"

namespace mlops {
namespace {

using ::mlops::testing::ChildProcesses;
using ::mlops::testing::DescribeWaitStatus;
using ::mlops::testing::FillValue;
using ::mlops::testing::ListNames;
using ::mlops::testing::MakeValue;
using ::mlops::testing::Mix64;
using ::mlops::testing::ParseValueHeader;
using ::mlops::testing::ValueId;
using ::mlops::testing::ValueMatches;

constexpr int kKills = 200;
// More rounds are run (up to this many) if a slow machine wrote too little in 200.
constexpr int kMaxRounds = 1000;
constexpr int64_t kMinValues = 400;
constexpr int64_t kMinLargeValues = 20;
constexpr int64_t kMinStreamedValues = 100;
constexpr int kMaxKillDelayMicros = 20000;
constexpr uint32_t kRandomSeed = 20240611;
// Index of the first value the parent writes itself in each round (the writer never gets
// this far before it is killed).
constexpr uint32_t kParentIndex = 1000000;
// The test deletes the oldest values when the store grows past these, so that re-reading
// every entry after every kill stays cheap.
constexpr int64_t kMaxLargeBytes = 40 << 20;
constexpr size_t kMaxSmallEntries = 1500;
constexpr int64_t kMiB = 1 << 20;

// --- The writer's schedule: which value is written how -----------------------------------

// Index % 8: 0 small Put, 1 small streamed, 2 small Put, 3 large streamed, 4 small Put,
// 5 small streamed, 6 small Put, 7 large Put.
bool IsLarge(uint32_t index) { return index % 8 == 3 || index % 8 == 7; }
bool IsStreamed(uint32_t index) { return index % 2 == 1; }

uint64_t SeedOf(const ValueId& id) {
  return Mix64((static_cast<uint64_t>(id.round) << 32) ^ id.index ^ 0x5eed5eed5eedULL);
}

size_t ValueSize(const ValueId& id) {
  const uint64_t h = SeedOf(id);
  if (IsLarge(id.index)) return static_cast<size_t>(kMiB + h % (3 * kMiB + 1));  // 1..4 MiB
  return static_cast<size_t>(10 + h % 991);                                     // 10..1000
}

// The action key whose record the writer stores after value `id`.
Digest ActionKey(const ValueId& id) {
  return Digest::Of(absl::StrCat("store_crash_test action ", id.ToString()));
}

// The values the record for `id` names: `id`, and the value before it unless `id` starts a
// group of eight.
std::vector<ValueId> RecordOutputs(const ValueId& id) {
  std::vector<ValueId> out = {id};
  if (id.index % 8 != 0) out.push_back(ValueId{id.round, id.index - 1});
  return out;
}

// Writes values and their action records in the schedule above.
class ScheduleWriter {
 public:
  ScheduleWriter(DiskStore* store, ActionCache* cache) : store_(store), cache_(cache) {}

  // Writes value `id` with the method the schedule gives it; returns its digest.
  absl::StatusOr<Digest> WriteValue(const ValueId& id) {
    const size_t size = ValueSize(id);
    if (!IsStreamed(id.index)) {
      const std::string bytes = MakeValue(id, size);
      absl::StatusOr<Digest> d = store_->Put(bytes);
      if (!d.ok()) return d.status();
      if (*d != Digest::Of(bytes)) {
        return absl::InternalError(absl::StrCat("Put of ", id.ToString(), " returned digest ",
                                                d->ToHex(), ", not that of the bytes"));
      }
      return Remember(id, *d);
    }
    // Streamed: the bytes are generated chunk by chunk while the temporary file is open, so
    // kills land mid-stream often.
    absl::StatusOr<std::unique_ptr<BlobWriter>> writer = store_->NewWriter();
    if (!writer.ok()) return writer.status();
    Hasher hasher;
    const size_t max_chunk = IsLarge(id.index) ? 256 * 1024 : 64;
    std::string buf(max_chunk, '\0');
    uint64_t h = SeedOf(id);
    for (size_t off = 0; off < size;) {
      h = Mix64(h);
      const size_t n = std::min<size_t>(size - off, 1 + h % max_chunk);
      FillValue(id, off, &buf[0], n);
      const absl::string_view chunk(buf.data(), n);
      absl::Status s = (*writer)->Append(chunk);
      if (!s.ok()) return s;
      hasher.Update(chunk);
      off += n;
    }
    absl::StatusOr<Digest> d = (*writer)->Commit();
    if (!d.ok()) return d.status();
    if (*d != hasher.Finish()) {
      return absl::InternalError(absl::StrCat("Commit of ", id.ToString(), " returned digest ",
                                              d->ToHex(), ", not that of the bytes"));
    }
    return Remember(id, *d);
  }

  // Stores the action record for `id` (whose outputs this writer has written).
  absl::Status WriteRecord(const ValueId& id) {
    ActionResult result;
    for (const ValueId& out : RecordOutputs(id)) {
      auto it = digests_.find(out);
      if (it == digests_.end()) {
        return absl::InternalError(absl::StrCat("output ", out.ToString(), " not written"));
      }
      OutputRef* ref = result.add_outputs();
      ref->set_name(out.ToString());
      ref->set_digest(it->second.ToHex());
      ref->set_size(static_cast<int64_t>(ValueSize(out)));
      ref->set_type_name(IsLarge(out.index) ? "large" : "small");
    }
    result.set_execution_id(id.ToString());
    result.set_run_id("store_crash_test");
    result.set_host("localhost");
    result.set_duration_us(id.index);
    return cache_->Put(ActionKey(id), result);
  }

 private:
  Digest Remember(const ValueId& id, const Digest& d) {
    // Only the last two are needed (a record names the value before it).
    digests_[id] = d;
    while (digests_.size() > 2) digests_.erase(digests_.begin());
    return d;
  }

  DiskStore* const store_;
  ActionCache* const cache_;
  std::map<ValueId, Digest> digests_;
};

// --- Writer child -------------------------------------------------------------------------

enum ReportKind : uint32_t { kReady = 1, kValueCommitted = 2, kRecordCommitted = 3 };
struct Report {
  uint32_t kind;
  uint32_t round;
  uint32_t index;
};

void SendReport(int fd, ReportKind kind, const ValueId& id) {
  const Report r{kind, id.round, id.index};
  // <= PIPE_BUF bytes: atomic, so a kill never leaves half a report.
  while (::write(fd, &r, sizeof(r)) < 0 && errno == EINTR) {
  }
}

// The body of a writer child: writes forever (until killed). Returns only on error.
int RunWriter(const std::string& store_dir, const std::string& ac_dir, uint32_t round,
              int report_fd) {
  absl::StatusOr<std::unique_ptr<DiskStore>> store = DiskStore::Open(store_dir);
  if (!store.ok()) {
    fprintf(stderr, "writer %u: DiskStore::Open: %s\n", round, store.status().ToString().c_str());
    return 10;
  }
  absl::StatusOr<std::unique_ptr<ActionCache>> cache =
      ActionCache::OpenOnDisk(ac_dir);
  if (!cache.ok()) {
    fprintf(stderr, "writer %u: ActionCache::OpenOnDisk: %s\n", round,
            cache.status().ToString().c_str());
    return 11;
  }
  SendReport(report_fd, kReady, ValueId{round, 0});
  ScheduleWriter writer(store->get(), cache->get());
  for (uint32_t index = 0; index < kParentIndex; ++index) {
    const ValueId id{round, index};
    absl::StatusOr<Digest> d = writer.WriteValue(id);
    if (!d.ok()) {
      fprintf(stderr, "writer: value %s: %s\n", id.ToString().c_str(),
              d.status().ToString().c_str());
      return 12;
    }
    SendReport(report_fd, kValueCommitted, id);
    absl::Status s = writer.WriteRecord(id);
    if (!s.ok()) {
      fprintf(stderr, "writer: record %s: %s\n", id.ToString().c_str(), s.ToString().c_str());
      return 13;
    }
    SendReport(report_fd, kRecordCommitted, id);
  }
  return 14;  // never gets here in time
}

// Reads reports until EOF (the writer is dead). Returns false on a read error.
bool DrainReports(int fd, std::vector<Report>* reports) {
  std::string bytes;
  char buf[4096];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) break;
    bytes.append(buf, static_cast<size_t>(n));
  }
  for (size_t off = 0; off + sizeof(Report) <= bytes.size(); off += sizeof(Report)) {
    Report r;
    std::memcpy(&r, bytes.data() + off, sizeof(r));
    reports->push_back(r);
  }
  return true;
}

// Waits up to `timeout_ms` for one report; false on timeout or EOF.
bool ReadOneReport(int fd, int timeout_ms, Report* r) {
  struct pollfd p = {fd, POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) <= 0) return false;
  size_t got = 0;
  while (got < sizeof(*r)) {
    const ssize_t n = ::read(fd, reinterpret_cast<char*>(r) + got, sizeof(*r) - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    got += static_cast<size_t>(n);
  }
  return true;
}

// A SQLite connection of the test's own (the C API, independent of the code under test);
// closed when it goes out of scope.
class SqliteConnection {
 public:
  SqliteConnection(const std::string& path, int flags) {
    open_rc_ = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
    // Only to ride out a lock held for a moment: never part of what is tested.
    if (db_ != nullptr) sqlite3_busy_timeout(db_, 60000);
  }
  ~SqliteConnection() { sqlite3_close(db_); }
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;

  bool ok() const { return open_rc_ == SQLITE_OK; }
  sqlite3* get() const { return db_; }
  std::string error() const {
    return db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(open_rc_);
  }

 private:
  sqlite3* db_ = nullptr;
  int open_rc_ = SQLITE_OK;
};

std::string KeyBlob(const Digest& key) {
  unsigned char bytes[Digest::kBytes];
  key.ToBytes(bytes);
  return std::string(reinterpret_cast<const char*>(bytes), sizeof(bytes));
}

// The keys of the on-disk action cache's records: the rows of <ac>/records.db, read through
// a read-only connection of the test's own, opened normally (not immutable), so that it
// reads what a killed writer left in the -wal file as any reader would. Adds to `*problems`
// any other file in <ac> (a temporary or record file, a database moved aside as corrupt),
// a failed integrity check, and a key that is not 16 bytes.
std::vector<Digest> ListActionKeys(const std::string& ac_dir, std::vector<std::string>* problems) {
  for (const std::string& name : ListNames(ac_dir)) {
    if (name != "records.db" && name != "records.db-wal" && name != "records.db-shm" &&
        name != "records.db.lock") {
      problems->push_back(absl::StrCat("unexpected file in the action cache: ", name));
    }
  }
  std::vector<Digest> keys;
  const std::string path = ac_dir + "/records.db";
  SqliteConnection db(path, SQLITE_OPEN_READONLY);
  if (!db.ok()) {
    problems->push_back(absl::StrCat("open ", path, ": ", db.error()));
    return keys;
  }
  const auto query = [&](const char* sql, auto on_row) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db.get(), sql, -1, &stmt, nullptr);
    if (rc == SQLITE_OK) {
      while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) on_row(stmt);
    }
    if (rc != SQLITE_DONE) problems->push_back(absl::StrCat(path, ": ", sql, ": ", db.error()));
    sqlite3_finalize(stmt);
  };
  query("PRAGMA integrity_check", [&](sqlite3_stmt* stmt) {
    const unsigned char* text = sqlite3_column_text(stmt, 0);
    const std::string line = text != nullptr ? reinterpret_cast<const char*>(text) : "(null)";
    if (line != "ok") problems->push_back(absl::StrCat(path, ": integrity_check: ", line));
  });
  query("SELECT key FROM records", [&](sqlite3_stmt* stmt) {
    const void* blob = sqlite3_column_blob(stmt, 0);
    const int n = sqlite3_column_bytes(stmt, 0);
    if (blob != nullptr && n == static_cast<int>(Digest::kBytes)) {
      keys.push_back(Digest::FromBytes(static_cast<const unsigned char*>(blob)));
    } else {
      problems->push_back(absl::StrCat(path, ": a record's key has ", n, " bytes"));
    }
  });
  return keys;
}

bool ParseIdString(const std::string& s, ValueId* id) {
  std::vector<std::string> parts = absl::StrSplit(s, '/');
  return parts.size() == 2 && absl::SimpleAtoi(parts[0], &id->round) &&
         absl::SimpleAtoi(parts[1], &id->index);
}

// --- The parent's bookkeeping and checks ---------------------------------------------------

class CrashChecker {
 public:
  CrashChecker(std::string store_dir, std::string ac_dir)
      : store_dir_(std::move(store_dir)), ac_dir_(std::move(ac_dir)) {}

  // Checks the store after the writer of `round` was killed. `reports` are what it said it
  // committed. Adds gtest failures; returns false if any.
  bool CheckAfterKill(uint32_t round, const std::vector<Report>& reports) {
    const int failures_before = failures_;
    // The records first, before any Open: the test's read-only connection is the first to
    // read what the killed writer left in the database's -wal file.
    std::vector<std::string> problems;
    const std::vector<Digest> keys = ListActionKeys(ac_dir_, &problems);
    for (const std::string& p : problems) Fail(absl::StrCat("round ", round, ": ", p));
    absl::StatusOr<std::unique_ptr<DiskStore>> store = DiskStore::Open(store_dir_);
    if (!store.ok()) return Fail(absl::StrCat("DiskStore::Open: ", store.status().ToString()));
    absl::StatusOr<std::unique_ptr<ActionCache>> cache =
        ActionCache::OpenOnDisk(ac_dir_);
    if (!cache.ok()) {
      return Fail(absl::StrCat("ActionCache::OpenOnDisk: ", cache.status().ToString()));
    }
    CheckValues(store->get(), round, reports);
    CheckRecords(store->get(), cache->get(), keys, round, reports);
    WriteAndReadBack(store->get(), cache->get(), round);
    Prune(store->get());
    return failures_ == failures_before;
  }

  // Lists every entry and reads every one back.
  void CheckValues(DiskStore* store, uint32_t round, const std::vector<Report>& reports) {
    absl::StatusOr<std::vector<StoreEntry>> entries = store->List();
    if (!entries.ok()) {
      Fail(absl::StrCat("List: ", entries.status().ToString()));
      return;
    }
    std::set<ValueId> present;
    for (const StoreEntry& e : *entries) {
      absl::StatusOr<Blob> blob = store->Get(e.digest);
      if (!blob.ok()) {
        // Nothing but this test deletes entries, and only between rounds: a listed entry
        // must read back. DATA_LOSS here means a crash left a corrupt visible entry.
        Fail(absl::StrCat("round ", round, ": Get of listed entry ", e.digest.ToHex(), " (",
                          e.size, " bytes): ", blob.status().ToString()));
        continue;
      }
      ++gets_verified_;
      const absl::string_view bytes = blob->view();
      if (Digest::Of(bytes) != e.digest) {
        Fail(absl::StrCat("round ", round, ": Get of ", e.digest.ToHex(),
                          " returned OK with bytes whose digest is ",
                          Digest::Of(bytes).ToHex()));
        continue;
      }
      if (static_cast<int64_t>(bytes.size()) != e.size) {
        Fail(absl::StrCat("entry ", e.digest.ToHex(), " listed with size ", e.size, " but read ",
                          bytes.size(), " bytes"));
      }
      ValueId id;
      if (!ParseValueHeader(bytes, &id) || id.round > round) {
        Fail(absl::StrCat("entry ", e.digest.ToHex(), " is not a value this test wrote"));
        continue;
      }
      auto it = seen_.find(id);
      if (it == seen_.end()) {
        if (!ValueMatches(id, ValueSize(id), bytes)) {
          Fail(absl::StrCat("entry ", e.digest.ToHex(), " claims to be value ", id.ToString(),
                            " but its ", bytes.size(), " bytes are not that value"));
          continue;
        }
        seen_[id] = e.digest;
        action_keys_[ActionKey(id)] = id;
        ++values_seen_;
        if (IsLarge(id.index)) ++large_values_seen_;
        if (IsStreamed(id.index)) ++streamed_values_seen_;
      } else if (it->second != e.digest) {
        Fail(absl::StrCat("value ", id.ToString(), " stored under two digests"));
        continue;
      }
      if (pruned_.count(id) != 0) {
        Fail(absl::StrCat("value ", id.ToString(), " was deleted but is back"));
      }
      if (!present.insert(id).second) {
        Fail(absl::StrCat("value ", id.ToString(), " listed twice"));
      }
    }
    // A crash never loses a committed write...
    for (const Report& r : reports) {
      const ValueId id{r.round, r.index};
      if (r.kind == kValueCommitted && present.count(id) == 0) {
        Fail(absl::StrCat("round ", round, ": value ", id.ToString(),
                          " was committed (Put/Commit returned OK) but is not in the store "
                          "after the writer was killed"));
      }
    }
    // ...and values never disappear by themselves.
    for (const auto& [id, digest] : seen_) {
      if (pruned_.count(id) == 0 && present.count(id) == 0) {
        Fail(absl::StrCat("round ", round, ": value ", id.ToString(), " (", digest.ToHex(),
                          ") was in the store before and is gone"));
      }
    }
  }

  // Reads every action record (`keys`, listed from the database) back, as a hit: through a
  // result cache, which also checks that its values are stored (without reading them).
  void CheckRecords(DiskStore* store, ActionCache* cache, const std::vector<Digest>& keys,
                    uint32_t round, const std::vector<Report>& reports) {
    ResultCacheOptions no_memory;
    no_memory.memory_bytes = 0;
    ResultCache results(store, cache, no_memory);
    std::set<ValueId> ok_records;
    std::set<ValueId> listed;
    for (const Digest& key : keys) {
      auto known = action_keys_.find(key);
      if (known == action_keys_.end()) {
        Fail(absl::StrCat("round ", round, ": action record ", key.ToHex(),
                          " exists but the value it was written after was never in the store"));
        continue;
      }
      const ValueId id = known->second;
      listed.insert(id);
      bool output_pruned = false;
      for (const ValueId& out : RecordOutputs(id)) output_pruned |= pruned_.count(out) != 0;
      absl::StatusOr<std::shared_ptr<const CachedResult>> hit = results.Lookup(key, false);
      if (absl::IsNotFound(hit.status()) && output_pruned) {
        ++records_missed_for_pruned_output_;
        continue;
      }
      if (!hit.ok()) {
        Fail(absl::StrCat("round ", round, ": ResultCache::Lookup of the record of ",
                          id.ToString(), ": ", hit.status().ToString()));
        continue;
      }
      if (CheckRecord(id, (*hit)->result)) {
        ok_records.insert(id);
        ++records_verified_;
      }
    }
    for (const Report& r : reports) {
      const ValueId id{r.round, r.index};
      if (r.kind == kRecordCommitted && ok_records.count(id) == 0) {
        Fail(absl::StrCat("round ", round, ": record of ", id.ToString(),
                          " was committed (Put returned OK) but does not read back"));
      }
    }
    // ...and records read back before are still there (unless the test deleted an output
    // they name, which makes Get remove them).
    for (auto it = records_ok_.begin(); it != records_ok_.end();) {
      bool output_pruned = false;
      for (const ValueId& out : RecordOutputs(*it)) output_pruned |= pruned_.count(out) != 0;
      if (output_pruned) {
        it = records_ok_.erase(it);
        continue;
      }
      if (listed.count(*it) == 0) {
        Fail(absl::StrCat("round ", round, ": record of ", it->ToString(),
                          " read back before and is gone"));
      }
      ++it;
    }
    records_ok_.insert(ok_records.begin(), ok_records.end());
  }

  bool CheckRecord(const ValueId& id, const ActionResult& result) {
    ValueId named;
    if (!ParseIdString(result.execution_id(), &named) || named != id) {
      return Fail(absl::StrCat("record of ", id.ToString(), " says execution_id \"",
                               result.execution_id(), "\""));
    }
    const std::vector<ValueId> expected = RecordOutputs(id);
    if (result.outputs_size() != static_cast<int>(expected.size())) {
      return Fail(absl::StrCat("record of ", id.ToString(), " has ", result.outputs_size(),
                               " outputs, expected ", expected.size()));
    }
    for (size_t i = 0; i < expected.size(); ++i) {
      const OutputRef& out = result.outputs(static_cast<int>(i));
      auto it = seen_.find(expected[i]);
      if (out.name() != expected[i].ToString() || it == seen_.end() ||
          out.digest() != it->second.ToHex() ||
          out.size() != static_cast<int64_t>(ValueSize(expected[i]))) {
        return Fail(absl::StrCat("record of ", id.ToString(), " output ", i, " is {",
                                 out.ShortDebugString(), "}, expected value ",
                                 expected[i].ToString()));
      }
    }
    return true;
  }

  // A new Put (and streamed write, and record) after the crash succeeds and reads back.
  void WriteAndReadBack(DiskStore* store, ActionCache* cache, uint32_t round) {
    ScheduleWriter writer(store, cache);
    for (uint32_t index = kParentIndex; index < kParentIndex + 4; ++index) {
      const ValueId id{round, index};
      absl::StatusOr<Digest> d = writer.WriteValue(id);
      if (!d.ok()) {
        Fail(absl::StrCat("round ", round, ": write of ", id.ToString(), " after the crash: ",
                          d.status().ToString()));
        return;
      }
      absl::StatusOr<Blob> blob = store->Get(*d);
      if (!blob.ok() || !ValueMatches(id, ValueSize(id), blob->view())) {
        Fail(absl::StrCat("round ", round, ": value ", id.ToString(),
                          " written after the crash does not read back: ",
                          blob.status().ToString()));
        return;
      }
      seen_[id] = *d;
      action_keys_[ActionKey(id)] = id;
      absl::Status s = writer.WriteRecord(id);
      if (!s.ok()) {
        Fail(absl::StrCat("round ", round, ": record of ", id.ToString(), ": ", s.ToString()));
        return;
      }
      absl::StatusOr<ActionResult> result = cache->Get(ActionKey(id));
      if (!result.ok()) {
        Fail(absl::StrCat("round ", round, ": record of ", id.ToString(),
                          " written after the crash does not read back: ",
                          result.status().ToString()));
        return;
      }
      CheckRecord(id, *result);
    }
  }

  // Deletes the oldest values when the store grows past the limits.
  void Prune(DiskStore* store) {
    int64_t large_bytes = 0;
    size_t small_count = 0;
    std::vector<ValueId> large, small;
    for (const auto& [id, digest] : seen_) {
      if (pruned_.count(id) != 0) continue;
      if (IsLarge(id.index)) {
        large.push_back(id);
        large_bytes += static_cast<int64_t>(ValueSize(id));
      } else {
        small.push_back(id);
        ++small_count;
      }
    }
    for (size_t i = 0; i < large.size() && large_bytes > kMaxLargeBytes; ++i) {
      if (Delete(store, large[i])) large_bytes -= static_cast<int64_t>(ValueSize(large[i]));
    }
    for (size_t i = 0; i < small.size() && small_count > kMaxSmallEntries; ++i) {
      if (Delete(store, small[i])) --small_count;
    }
  }

  bool Delete(DiskStore* store, const ValueId& id) {
    absl::Status s = store->Delete(seen_[id]);
    if (!s.ok()) return Fail(absl::StrCat("Delete of ", id.ToString(), ": ", s.ToString()));
    pruned_.insert(id);
    return true;
  }

  bool Fail(const std::string& message) {
    ++failures_;
    if (failures_ <= 30) ADD_FAILURE() << message;
    return false;
  }

  int64_t values_seen() const { return values_seen_; }
  int64_t large_values_seen() const { return large_values_seen_; }
  int64_t streamed_values_seen() const { return streamed_values_seen_; }
  int64_t records_verified() const { return records_verified_; }
  int64_t gets_verified() const { return gets_verified_; }
  int64_t records_missed_for_pruned_output() const { return records_missed_for_pruned_output_; }

 private:
  const std::string store_dir_;
  const std::string ac_dir_;
  std::map<ValueId, Digest> seen_;               // every value ever verified in the store
  absl::flat_hash_map<Digest, ValueId> action_keys_;  // action key -> its value
  std::set<ValueId> pruned_;                     // deleted by this test
  std::set<ValueId> records_ok_;                 // action records that read back OK
  int failures_ = 0;
  int64_t values_seen_ = 0;
  int64_t large_values_seen_ = 0;
  int64_t streamed_values_seen_ = 0;
  int64_t records_verified_ = 0;
  int64_t gets_verified_ = 0;
  int64_t records_missed_for_pruned_output_ = 0;
};

// Starts a writer child for `round` that streams a value into the store and stops (sleeps)
// once part of it is written, reporting kReady. The caller kills or releases it.
struct PausedWriter {
  pid_t pid = -1;
  int report_fd = -1;  // parent's end: kReady, then (after release) the digest
  int release_fd = -1;  // parent's end: write one byte to let the writer commit
};

PausedWriter StartPausedWriter(ChildProcesses* children, const std::string& store_dir,
                               const std::string& first_part, const std::string& second_part) {
  PausedWriter w;
  int report[2], release[2];
  if (::pipe(report) != 0 || ::pipe(release) != 0) return w;
  w.pid = children->Spawn([&]() -> int {
    ::close(report[0]);
    ::close(release[1]);
    absl::StatusOr<std::unique_ptr<DiskStore>> store = DiskStore::Open(store_dir);
    if (!store.ok()) return 20;
    absl::StatusOr<std::unique_ptr<BlobWriter>> writer = (*store)->NewWriter();
    if (!writer.ok()) return 21;
    if (!(*writer)->Append(first_part).ok()) return 22;
    SendReport(report[1], kReady, ValueId{});
    char c;
    while (true) {
      const ssize_t n = ::read(release[0], &c, 1);
      if (n == 1) break;
      if (n == 0) return 23;  // the parent gave up
      if (errno != EINTR) return 24;
    }
    if (!(*writer)->Append(second_part).ok()) return 25;
    absl::StatusOr<Digest> d = (*writer)->Commit();
    if (!d.ok()) {
      fprintf(stderr, "paused writer: Commit: %s\n", d.status().ToString().c_str());
      return 26;
    }
    const std::string hex = d->ToHex();
    if (::write(report[1], hex.data(), hex.size()) != static_cast<ssize_t>(hex.size())) return 27;
    return 0;
  });
  ::close(report[1]);
  ::close(release[0]);
  w.report_fd = report[0];
  w.release_fd = release[1];
  return w;
}

void ClosePausedWriter(PausedWriter* w) {
  if (w->report_fd >= 0) ::close(w->report_fd);
  if (w->release_fd >= 0) ::close(w->release_fd);
  w->report_fd = w->release_fd = -1;
}

// --- Tests ---------------------------------------------------------------------------------

TEST(StoreCrashTest, WriterKilledAtRandomMomentsNeverCorruptsTheStore) {
  const std::string root = testing::FreshTestDir("crash");
  const std::string store_dir = root + "/store";
  const std::string ac_dir = root + "/ac";
  {
    // Create the store (and the action cache) up front, so that kills hit writes only.
    absl::StatusOr<std::unique_ptr<DiskStore>> store = DiskStore::Open(store_dir);
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE(ActionCache::OpenOnDisk(ac_dir).ok());
  }

  const auto start = std::chrono::steady_clock::now();
  ChildProcesses children;
  CrashChecker checker(store_dir, ac_dir);
  std::mt19937 rng(kRandomSeed);
  std::uniform_int_distribution<int> delay_micros(0, kMaxKillDelayMicros);
  int kills = 0;
  int64_t reports_total = 0;
  std::set<std::string> store_temps_seen;
  int kills_leaving_a_wal = 0;

  for (uint32_t round = 0; round < static_cast<uint32_t>(kMaxRounds); ++round) {
    if (kills >= kKills && checker.values_seen() > kMinValues &&
        checker.large_values_seen() > kMinLargeValues &&
        checker.streamed_values_seen() > kMinStreamedValues) {
      break;
    }
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0) << strerror(errno);
    const pid_t pid = children.Spawn([&]() -> int {
      ::close(fds[0]);
      return RunWriter(store_dir, ac_dir, round, fds[1]);
    });
    ::close(fds[1]);
    ASSERT_GT(pid, 0) << "fork: " << strerror(errno);

    Report ready{};
    const bool started = ReadOneReport(fds[0], 60000, &ready);
    if (started) {
      const int delay = delay_micros(rng);
      struct timespec ts = {0, static_cast<long>(delay) * 1000};
      while (::nanosleep(&ts, &ts) != 0 && errno == EINTR) {
      }
    }
    int status = 0;
    children.KillAndWait(pid, &status);
    std::vector<Report> reports;
    const bool drained = DrainReports(fds[0], &reports);
    ::close(fds[0]);
    ASSERT_TRUE(started && ready.kind == kReady)
        << "round " << round << ": the writer did not start; it " << DescribeWaitStatus(status);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "round " << round << ": the writer was expected to be killed, but it "
        << DescribeWaitStatus(status) << " (see its stderr above)";
    ASSERT_TRUE(drained);
    ++kills;
    reports_total += static_cast<int64_t>(reports.size());

    // What the dead writer left: temporary files of the store, and the action cache's WAL,
    // which the next connection recovers (seen before any Open).
    for (const std::string& n : ListNames(store_dir + "/tmp")) store_temps_seen.insert(n);
    struct stat wal;
    if (::stat((ac_dir + "/records.db-wal").c_str(), &wal) == 0 && wal.st_size > 0) {
      ++kills_leaving_a_wal;
    }

    ASSERT_TRUE(checker.CheckAfterKill(round, reports)) << "after kill " << round;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  printf("%d kills in %.1f s; %lld values verified (%lld large, %lld streamed), %lld Gets, "
         "%lld action records verified, %lld records missed after the test deleted an output, "
         "%lld writes reported, %zu temporary files of killed writers seen, %d kills left the "
         "action cache's WAL behind\n",
         kills, seconds, static_cast<long long>(checker.values_seen()),
         static_cast<long long>(checker.large_values_seen()),
         static_cast<long long>(checker.streamed_values_seen()),
         static_cast<long long>(checker.gets_verified()),
         static_cast<long long>(checker.records_verified()),
         static_cast<long long>(checker.records_missed_for_pruned_output()),
         static_cast<long long>(reports_total), store_temps_seen.size(), kills_leaving_a_wal);

  // Not vacuous: many kills, many values of every kind, many records, and kills that hit
  // a streamed write in the middle.
  EXPECT_GE(kills, kKills);
  EXPECT_GT(checker.values_seen(), kMinValues);
  EXPECT_GT(checker.large_values_seen(), kMinLargeValues);
  EXPECT_GT(checker.streamed_values_seen(), kMinStreamedValues);
  EXPECT_GT(checker.records_verified(), kMinValues);
  EXPECT_GT(store_temps_seen.size(), 0u);
  EXPECT_GT(kills_leaving_a_wal, 0);

  // A crash never makes a visible entry corrupt, so nothing was ever quarantined.
  EXPECT_EQ(ListNames(store_dir + "/quarantine"), std::vector<std::string>());

  // Temporary files left by killed writers: once older than the staleness threshold, the
  // next Open removes them. (Make sure there is at least one, from a writer killed
  // mid-stream.)
  {
    PausedWriter w = StartPausedWriter(&children, store_dir, std::string(100000, 'x'), "y");
    ASSERT_GT(w.pid, 0);
    Report ready{};
    const bool started = ReadOneReport(w.report_fd, 60000, &ready);
    int status = 0;
    children.KillAndWait(w.pid, &status);
    ClosePausedWriter(&w);
    ASSERT_TRUE(started) << "paused writer " << DescribeWaitStatus(status);
  }
  EXPECT_GE(ListNames(store_dir + "/tmp").size(), 1u);
  testing::AgeFiles(store_dir + "/tmp", 3600);
  {
    absl::StatusOr<std::unique_ptr<DiskStore>> store = DiskStore::Open(store_dir);
    ASSERT_TRUE(store.ok()) << store.status();
    EXPECT_EQ(ListNames(store_dir + "/tmp"), std::vector<std::string>())
        << "DiskStore::Open left temporary files of dead writers that are an hour old";
  }
}

// The temporary file of a writer that is alive (it holds the lock) survives an Open, however
// old it looks; the writer can still commit, and the value reads back.
TEST(StoreCrashTest, OpenKeepsTheTemporaryFileOfALiveWriter) {
  const std::string store_dir = testing::FreshTestDir("live_writer") + "/store";
  ASSERT_TRUE(DiskStore::Open(store_dir).ok());
  const std::string first(300000, 'a');
  const std::string second = "and the rest";
  ChildProcesses children;
  PausedWriter w = StartPausedWriter(&children, store_dir, first, second);
  ASSERT_GT(w.pid, 0);
  Report ready{};
  ASSERT_TRUE(ReadOneReport(w.report_fd, 60000, &ready));

  const std::vector<std::string> temps = ListNames(store_dir + "/tmp");
  ASSERT_EQ(temps.size(), 1u);
  ASSERT_EQ(testing::AgeFiles(store_dir + "/tmp", 3600), 1);
  {
    absl::StatusOr<std::unique_ptr<DiskStore>> store = DiskStore::Open(store_dir);
    ASSERT_TRUE(store.ok()) << store.status();
  }
  EXPECT_EQ(ListNames(store_dir + "/tmp"), temps)
      << "DiskStore::Open removed the temporary file of a writer that is still writing";

  ASSERT_EQ(::write(w.release_fd, "go", 1), 1);
  int status = 0;
  ASSERT_TRUE(children.Wait(w.pid, &status, 120));
  char hex[Digest::kHexChars];
  const ssize_t n = ::read(w.report_fd, hex, sizeof(hex));
  ClosePausedWriter(&w);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "the writer " << DescribeWaitStatus(status);
  ASSERT_EQ(n, static_cast<ssize_t>(sizeof(hex)));
  absl::StatusOr<Digest> d = Digest::FromHex(absl::string_view(hex, sizeof(hex)));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, Digest::Of(first + second));
  absl::StatusOr<std::unique_ptr<DiskStore>> store = DiskStore::Open(store_dir);
  ASSERT_TRUE(store.ok()) << store.status();
  absl::StatusOr<Blob> blob = (*store)->Get(*d);
  ASSERT_TRUE(blob.ok()) << blob.status();
  EXPECT_EQ(blob->view(), first + second);
  EXPECT_EQ(ListNames(store_dir + "/tmp"), std::vector<std::string>());
}

// --- Writers killed inside a transaction of the action cache's database -------------------

const char* g_record_writer = nullptr;  // path of store_record_writer (argv[1])

// Runs store_record_writer (a fresh process: the next writer after a crash) to store and read
// back a record for `key`; expects it to succeed.
void ExpectNextWriterSucceeds(ChildProcesses* children, const std::string& store_dir,
                              const std::string& ac_dir, const Digest& key) {
  const std::string hex = key.ToHex();
  const pid_t pid = children->Spawn([&]() -> int {
    ::execl(g_record_writer, g_record_writer, store_dir.c_str(), ac_dir.c_str(), hex.c_str(),
            static_cast<char*>(nullptr));
    fprintf(stderr, "exec %s: %s\n", g_record_writer, strerror(errno));
    return 121;
  });
  ASSERT_GT(pid, 0);
  int status = 0;
  ASSERT_TRUE(children->Wait(pid, &status, 300)) << "the next writer did not finish";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "the next writer could not store a record (" << DescribeWaitStatus(status)
      << "; its error is printed above)";
}

// A writer SIGKILLed while it holds the database's write lock, in the middle of a write
// transaction (on records.db directly, through SQLite: rows of its own and a committed record
// overwritten, more than fit its page cache, so that uncommitted pages were already written
// to the WAL), leaves none of it behind: the committed record is intact, no partial row is
// visible, and the next writer (a fresh process) stores and reads back a record.
TEST(StoreCrashTest, WriterKilledInsideAWriteTransactionLeavesNothingAndBlocksNoOne) {
  ASSERT_NE(g_record_writer, nullptr)
      << "pass the path of store_record_writer as the first argument";
  const std::string root = testing::FreshTestDir("killed_in_transaction");
  const std::string store_dir = root + "/store";
  const std::string ac_dir = root + "/ac";
  const std::string db_path = ac_dir + "/records.db";
  const Digest committed_key = ActionKey(ValueId{7, 1});
  ActionResult committed;
  {
    absl::StatusOr<std::unique_ptr<DiskStore>> store = DiskStore::Open(store_dir);
    ASSERT_TRUE(store.ok()) << store.status();
    absl::StatusOr<std::unique_ptr<ActionCache>> cache =
        ActionCache::OpenOnDisk(ac_dir);
    ASSERT_TRUE(cache.ok()) << cache.status();
    absl::StatusOr<Digest> d = (*store)->Put("committed output");
    ASSERT_TRUE(d.ok()) << d.status();
    OutputRef* out = committed.add_outputs();
    out->set_name("out");
    out->set_digest(d->ToHex());
    committed.set_execution_id("committed before the crash");
    ASSERT_TRUE((*cache)->Put(committed_key, committed).ok());
  }  // closed before the fork

  constexpr int kPartialRows = 2000;
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0) << strerror(errno);
  ChildProcesses children;
  const pid_t pid = children.Spawn([&]() -> int {
    ::close(ready[0]);
    SqliteConnection db(db_path, SQLITE_OPEN_READWRITE);
    if (!db.ok()) return 30;
    const auto exec = [&](const std::string& sql) {
      if (sqlite3_exec(db.get(), sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK) return true;
      fprintf(stderr, "killed writer: %s: %s\n", sql.c_str(), db.error().c_str());
      return false;
    };
    if (!exec("PRAGMA cache_size=2") || !exec("BEGIN IMMEDIATE")) return 31;
    sqlite3_stmt* insert = nullptr;
    if (sqlite3_prepare_v2(db.get(),
                           "INSERT OR REPLACE INTO records(key, record) VALUES(?1, randomblob(300))",
                           -1, &insert, nullptr) != SQLITE_OK) {
      return 32;
    }
    for (int i = 0; i <= kPartialRows; ++i) {
      const std::string key =
          KeyBlob(i == kPartialRows ? committed_key : Digest::Of(absl::StrCat("partial ", i)));
      sqlite3_bind_blob(insert, 1, key.data(), static_cast<int>(key.size()), SQLITE_TRANSIENT);
      if (sqlite3_step(insert) != SQLITE_DONE) {
        fprintf(stderr, "killed writer: insert %d: %s\n", i, db.error().c_str());
        return 33;
      }
      sqlite3_reset(insert);
    }
    sqlite3_finalize(insert);
    SendReport(ready[1], kReady, ValueId{});
    while (true) ::pause();  // holding the transaction open, until killed
  });
  ::close(ready[1]);
  ASSERT_GT(pid, 0);
  Report r{};
  const bool started = ReadOneReport(ready[0], 120000, &r);
  struct stat wal;
  const bool wal_written =
      ::stat((db_path + "-wal").c_str(), &wal) == 0 && wal.st_size > 0;
  int status = 0;
  children.KillAndWait(pid, &status);
  ::close(ready[0]);
  ASSERT_TRUE(started) << "the writer did not get into its transaction: it "
                       << DescribeWaitStatus(status);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << DescribeWaitStatus(status);
  // Not vacuous: the kill hit a transaction that had already written uncommitted pages.
  EXPECT_TRUE(wal_written) << "the transaction wrote nothing to " << db_path << "-wal";

  const Digest next_key = ActionKey(ValueId{7, 7});
  ExpectNextWriterSucceeds(&children, store_dir, ac_dir, next_key);

  std::vector<std::string> problems;
  std::vector<Digest> keys = ListActionKeys(ac_dir, &problems);
  EXPECT_EQ(problems, std::vector<std::string>());
  std::sort(keys.begin(), keys.end());
  std::vector<Digest> expected = {committed_key, next_key};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(keys, expected) << "rows of the killed transaction are visible";
  absl::StatusOr<std::unique_ptr<DiskStore>> store = DiskStore::Open(store_dir);
  ASSERT_TRUE(store.ok()) << store.status();
  absl::StatusOr<std::unique_ptr<ActionCache>> cache =
      ActionCache::OpenOnDisk(ac_dir);
  ASSERT_TRUE(cache.ok()) << cache.status();
  absl::StatusOr<ActionResult> got = (*cache)->Get(committed_key);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->SerializeAsString(), committed.SerializeAsString());
  got = (*cache)->Get(next_key);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->execution_id(), "store_record_writer");
}

constexpr int kBatchKills = 40;
constexpr uint32_t kBatchSize = 40;

// The key and execution id of record `i` of batch `batch` of the writer of `round`.
Digest BatchKey(uint32_t round, uint32_t batch, uint32_t i) {
  return Digest::Of(absl::StrCat("store_crash_test batch ", round, "/", batch, "/", i));
}
std::string BatchExecutionId(uint32_t round, uint32_t batch, uint32_t i) {
  return absl::StrCat(round, "/", batch, "/", i);
}

// A writer SIGKILLed at random moments while it stores batches of records with PutMany, one
// commit each: every batch is there whole or not at all, every batch it reported committed
// is there, no other row appears, and the next writer stores a record.
TEST(StoreCrashTest, WriterKilledInAPutManyLoopLeavesWholeBatchesOnly) {
  ASSERT_NE(g_record_writer, nullptr)
      << "pass the path of store_record_writer as the first argument";
  const std::string root = testing::FreshTestDir("killed_in_put_many");
  const std::string store_dir = root + "/store";
  const std::string ac_dir = root + "/ac";
  const std::string output = "the output every batch names";
  Digest output_digest;
  {
    absl::StatusOr<std::unique_ptr<DiskStore>> store = DiskStore::Open(store_dir);
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE(ActionCache::OpenOnDisk(ac_dir).ok());
    absl::StatusOr<Digest> d = (*store)->Put(output);
    ASSERT_TRUE(d.ok()) << d.status();
    output_digest = *d;
  }
  ChildProcesses children;
  std::mt19937 rng(kRandomSeed + 1);
  std::uniform_int_distribution<int> delay_micros(0, kMaxKillDelayMicros);
  int64_t rows_expected = 0;
  int64_t batches_committed = 0;
  for (uint32_t round = 0; round < static_cast<uint32_t>(kBatchKills); ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0) << strerror(errno);
    const pid_t pid = children.Spawn([&]() -> int {
      ::close(fds[0]);
      absl::StatusOr<std::unique_ptr<DiskStore>> store = DiskStore::Open(store_dir);
      if (!store.ok()) return 40;
      absl::StatusOr<std::unique_ptr<ActionCache>> cache =
          ActionCache::OpenOnDisk(ac_dir);
      if (!cache.ok()) return 41;
      std::vector<ActionResult> results(kBatchSize);
      for (uint32_t batch = 0;; ++batch) {
        std::vector<std::pair<Digest, const ActionResult*>> records;
        for (uint32_t i = 0; i < kBatchSize; ++i) {
          ActionResult& r = results[i];
          r.Clear();
          OutputRef* out = r.add_outputs();
          out->set_name("out");
          out->set_digest(output_digest.ToHex());
          r.set_execution_id(BatchExecutionId(round, batch, i));
          records.emplace_back(BatchKey(round, batch, i), &r);
        }
        absl::Status s = (*cache)->PutMany(records);
        if (!s.ok()) {
          fprintf(stderr, "writer: PutMany of batch %u: %s\n", batch, s.ToString().c_str());
          return 42;
        }
        // Ready once the first batch is in, so that every round commits at least one.
        if (batch == 0) SendReport(fds[1], kReady, ValueId{round, 0});
        SendReport(fds[1], kRecordCommitted, ValueId{round, batch});
      }
    });
    ::close(fds[1]);
    ASSERT_GT(pid, 0);
    Report ready{};
    const bool started = ReadOneReport(fds[0], 60000, &ready);
    if (started) {
      struct timespec ts = {0, static_cast<long>(delay_micros(rng)) * 1000};
      while (::nanosleep(&ts, &ts) != 0 && errno == EINTR) {
      }
    }
    int status = 0;
    children.KillAndWait(pid, &status);
    std::vector<Report> reports;
    const bool drained = DrainReports(fds[0], &reports);
    ::close(fds[0]);
    ASSERT_TRUE(started) << "the writer did not start; it " << DescribeWaitStatus(status);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "the writer was expected to be killed, but it " << DescribeWaitStatus(status)
        << " (see its stderr above)";
    ASSERT_TRUE(drained);
    uint32_t reported = 0;  // batches [0, reported) were reported committed
    for (const Report& r : reports) {
      if (r.kind == kRecordCommitted) reported = std::max(reported, r.index + 1);
    }

    // Every row, read before any Open (see CheckAfterKill).
    std::vector<std::string> problems;
    const std::vector<Digest> keys = ListActionKeys(ac_dir, &problems);
    EXPECT_EQ(problems, std::vector<std::string>());
    absl::StatusOr<std::unique_ptr<DiskStore>> store = DiskStore::Open(store_dir);
    ASSERT_TRUE(store.ok()) << store.status();
    absl::StatusOr<std::unique_ptr<ActionCache>> cache =
        ActionCache::OpenOnDisk(ac_dir);
    ASSERT_TRUE(cache.ok()) << cache.status();
    // Batch 0 was committed before the writer said it was ready. The writer may have committed
    // one batch more than it reported, never two.
    if (reported == 0) reported = 1;
    for (uint32_t batch = 0; batch <= reported + 1; ++batch) {
      uint32_t present = 0;
      for (uint32_t i = 0; i < kBatchSize; ++i) {
        absl::StatusOr<ActionResult> got = (*cache)->Get(BatchKey(round, batch, i));
        if (absl::IsNotFound(got.status())) continue;
        ASSERT_TRUE(got.ok()) << "batch " << batch << " record " << i << ": " << got.status();
        EXPECT_EQ(got->execution_id(), BatchExecutionId(round, batch, i));
        ++present;
      }
      if (batch < reported) {
        EXPECT_EQ(present, kBatchSize) << "batch " << batch << " was reported committed";
      } else if (batch == reported) {
        EXPECT_TRUE(present == 0 || present == kBatchSize)
            << "batch " << batch << " is partly there: " << present << " of " << kBatchSize;
      } else {
        EXPECT_EQ(present, 0u) << "batch " << batch << " was never started";
      }
      if (present == kBatchSize) {
        rows_expected += kBatchSize;
        ++batches_committed;
      }
    }
    // No other row: nothing of a batch the kill interrupted, under any key.
    ASSERT_EQ(static_cast<int64_t>(keys.size()), rows_expected);
  }
  printf("%d kills in PutMany loops; %lld batches of %u records committed\n", kBatchKills,
         static_cast<long long>(batches_committed), kBatchSize);
  EXPECT_GE(batches_committed, kBatchKills);

  ExpectNextWriterSucceeds(&children, store_dir, ac_dir, ActionKey(ValueId{8, 8}));
}

}  // namespace
}  // namespace mlops

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (argc > 1) mlops::g_record_writer = argv[1];
  return RUN_ALL_TESTS();
}
