#include "mlops/store/internal/record_db.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

#include <cstdint>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "mlops/base/file_io.h"
#include "mlops/base/internal/sqlite.h"

namespace mlops {
namespace store_internal {
namespace {

constexpr int64_t kApplicationId = 0x6D6C6163;  // "mlac"
constexpr absl::Duration kBusyTimeout = absl::Seconds(60);

std::string KeyBlob(const Digest& key) {
  unsigned char bytes[Digest::kBytes];
  key.ToBytes(bytes);
  return std::string(reinterpret_cast<const char*>(bytes), sizeof(bytes));
}

}  // namespace

struct RecordDb::Statements {
  std::unique_ptr<sqlite::Statement> put;
  std::unique_ptr<sqlite::Statement> remove;
  std::unique_ptr<sqlite::Statement> remove_if;
  std::unique_ptr<sqlite::Statement> begin;
  std::unique_ptr<sqlite::Statement> commit;
  std::unique_ptr<sqlite::Statement> rollback;
};

RecordDb::RecordDb(std::string path, Durability durability)
    : path_(std::move(path)), durability_(durability) {}

RecordDb::~RecordDb() {
  {
    std::lock_guard<std::mutex> lock(readers_mu_);
    readers_.clear();
  }
  std::lock_guard<std::mutex> lock(mu_);
  stmts_.reset();  // before the connection they belong to
  db_.reset();
}

absl::StatusOr<std::unique_ptr<RecordDb>> RecordDb::Open(const std::string& path,
                                                         Durability durability) {
  std::unique_ptr<RecordDb> records(new RecordDb(path, durability));
  std::lock_guard<std::mutex> lock(records->mu_);
  absl::Status s = records->Connect();
  if (s.ok()) return records;
  // Not a database (INVALID_ARGUMENT from SQLITE_NOTADB), or a corrupt one: but another
  // application's database is INVALID_ARGUMENT too, and is not ours to move.
  if (!(absl::IsDataLoss(s) || absl::IsInvalidArgument(s)) ||
      absl::StrContains(s.message(), "another application")) {
    return s;
  }
  absl::Status moved = records->MoveAside(s);
  if (!moved.ok()) return moved;
  s = records->Connect();
  if (!s.ok()) return s;
  return records;
}

absl::Status RecordDb::MoveAside(const absl::Status& why) {
  stmts_.reset();
  db_.reset();
  const std::string aside = absl::StrCat(path_, ".corrupt.", UniqueName());
  if (::rename(path_.c_str(), aside.c_str()) != 0 && errno != ENOENT) {
    return PosixError(errno, absl::StrCat("move aside the damaged action cache (",
                                          why.message(), ")"),
                      path_);
  }
  for (const char* suffix : {"-wal", "-shm"}) {
    ::rename(absl::StrCat(path_, suffix).c_str(), absl::StrCat(aside, suffix).c_str());
  }
  return absl::OkStatus();
}

absl::Status RecordDb::Recover(absl::Status s) {
  if (!absl::IsDataLoss(s)) return s;
  // Readers connected to the damaged file are not used again.
  generation_.fetch_add(1, std::memory_order_acq_rel);
  {
    std::lock_guard<std::mutex> lock(readers_mu_);
    readers_.clear();
  }
  // Move the file aside only if it is still the one we found damaged: another process may
  // have found it first and put a new one in its place.
  struct stat st;
  const bool same = ::stat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_;
  absl::Status recovered = same ? MoveAside(s) : absl::OkStatus();
  stmts_.reset();
  db_.reset();
  if (recovered.ok()) recovered = Connect();
  if (!recovered.ok()) {
    return absl::DataLossError(absl::StrCat(
        s.message(), "; and the cache could not start anew (", recovered.message(),
        "): delete ", path_, " and its -wal and -shm files, and the steps will run again"));
  }
  return absl::DataLossError(
      absl::StrCat(s.message(), "; moved aside, and the action cache starts empty"));
}

absl::Status RecordDb::Connect() {
  absl::StatusOr<std::unique_ptr<sqlite::Db>> db = sqlite::Db::Open(
      path_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX);
  if (!db.ok()) return db.status();
  db_ = *std::move(db);
  absl::Status s = Init(durability_);
  struct stat st;
  if (s.ok() && ::stat(path_.c_str(), &st) != 0) s = PosixError(errno, "stat", path_);
  if (!s.ok()) {
    stmts_.reset();
    db_.reset();
    return s;
  }
  dev_ = st.st_dev;
  ino_ = st.st_ino;
  return absl::OkStatus();
}

absl::Status RecordDb::Init(Durability durability) {
  sqlite::Db& db = *db_;
  sqlite3_busy_timeout(db.get(), static_cast<int>(absl::ToInt64Milliseconds(kBusyTimeout)));
  // Check and (if new) create the schema in one write transaction, so that processes
  // opening a new database at once see it either empty or complete.
  absl::Status s = db.Exec("BEGIN IMMEDIATE");
  if (!s.ok()) return s;
  const auto fail = [&db](absl::Status status) {
    db.Exec("ROLLBACK").IgnoreError();
    return status;
  };
  absl::StatusOr<int64_t> app_id = db.QueryInt("PRAGMA application_id");
  if (!app_id.ok()) return fail(app_id.status());
  absl::StatusOr<int64_t> version = db.QueryInt("PRAGMA user_version");
  if (!version.ok()) return fail(version.status());
  absl::StatusOr<int64_t> tables =
      db.QueryInt("SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'");
  if (!tables.ok()) return fail(tables.status());
  if ((*app_id != 0 && *app_id != kApplicationId) ||
      (*app_id == 0 && (*version != 0 || *tables != 0))) {
    return fail(absl::InvalidArgumentError(absl::StrCat(
        path_, " is another application's SQLite database, not an mlops action cache")));
  }
  if (*version > kSchemaVersion) {
    return fail(absl::FailedPreconditionError(absl::StrCat(
        path_, " was written by a newer mlops (action cache schema version ", *version,
        "); this build reads version ", kSchemaVersion)));
  }
  if (*version == 0) {
    s = db.Exec(absl::StrCat("CREATE TABLE records(key BLOB PRIMARY KEY, record BLOB NOT NULL) "
                             "WITHOUT ROWID; PRAGMA application_id=",
                             kApplicationId, "; PRAGMA user_version=", kSchemaVersion, ";")
                    .c_str());
    if (!s.ok()) return fail(s);
  }
  s = db.Exec("COMMIT");
  if (!s.ok()) return fail(s);
  // WAL once the file is known to be ours. Switching needs the database to itself for a
  // moment and does not wait on the busy handler: retry while others are opening it too.
  const absl::Time deadline = absl::Now() + kBusyTimeout;
  while (true) {
    s = db.Exec("PRAGMA journal_mode=WAL");
    if (!absl::IsUnavailable(s) || absl::Now() > deadline) break;
    absl::SleepFor(absl::Milliseconds(5));
  }
  if (!s.ok()) return s;
  // NORMAL in WAL mode: commits are not synced, but a crash of the machine loses only the
  // latest ones and never corrupts the file. FULL syncs every commit.
  s = db.Exec(durability == Durability::kNone ? "PRAGMA synchronous=NORMAL"
                                              : "PRAGMA synchronous=FULL");
  if (!s.ok()) return s;

  stmts_ = std::make_unique<Statements>();
  const struct {
    std::unique_ptr<sqlite::Statement>* slot;
    const char* sql;
  } prepared[] = {
      {&stmts_->put, "INSERT OR REPLACE INTO records(key, record) VALUES(?1, ?2)"},
      {&stmts_->remove, "DELETE FROM records WHERE key = ?1"},
      {&stmts_->remove_if, "DELETE FROM records WHERE key = ?1 AND record = ?2"},
      {&stmts_->begin, "BEGIN IMMEDIATE"},
      {&stmts_->commit, "COMMIT"},
      {&stmts_->rollback, "ROLLBACK"},
  };
  for (const auto& p : prepared) {
    absl::StatusOr<std::unique_ptr<sqlite::Statement>> stmt = db.Prepare(p.sql);
    if (!stmt.ok()) return stmt.status();
    *p.slot = *std::move(stmt);
  }
  return absl::OkStatus();
}

absl::Status RecordDb::Reconnected() {
  if (db_ != nullptr) return absl::OkStatus();
  return Connect();  // an earlier recovery could not start anew: try again
}

// A connection of its own for one lookup at a time (WAL lets readers run side by side).
struct RecordDb::Reader {
  std::unique_ptr<sqlite::Db> db;
  std::unique_ptr<sqlite::Statement> get;  // after db: destroyed first
  uint64_t generation = 0;
};

absl::StatusOr<std::unique_ptr<RecordDb::Reader>> RecordDb::TakeReader() {
  const uint64_t generation = generation_.load(std::memory_order_acquire);
  {
    std::lock_guard<std::mutex> lock(readers_mu_);
    while (!readers_.empty()) {
      std::unique_ptr<Reader> r = std::move(readers_.back());
      readers_.pop_back();
      if (r->generation == generation) return r;
    }
  }
  auto r = std::make_unique<Reader>();
  r->generation = generation;
  absl::StatusOr<std::unique_ptr<sqlite::Db>> db =
      sqlite::Db::Open(path_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX);
  if (!db.ok()) return db.status();
  r->db = *std::move(db);
  sqlite3_busy_timeout(r->db->get(),
                       static_cast<int>(absl::ToInt64Milliseconds(kBusyTimeout)));
  // Pages through a memory mapping: a lookup then copies no page with a system call (what
  // the WAL holds is still read from it).
  absl::Status mapped = r->db->Exec("PRAGMA mmap_size=1073741824");
  if (!mapped.ok()) return mapped;
  absl::StatusOr<std::unique_ptr<sqlite::Statement>> get =
      r->db->Prepare("SELECT record FROM records WHERE key = ?1");
  if (!get.ok()) return get.status();
  r->get = *std::move(get);
  return r;
}

void RecordDb::ReturnReader(std::unique_ptr<Reader> reader) {
  if (reader->generation != generation_.load(std::memory_order_acquire)) return;
  std::lock_guard<std::mutex> lock(readers_mu_);
  if (readers_.size() < kMaxIdleReaders) readers_.push_back(std::move(reader));
}

absl::StatusOr<std::string> RecordDb::Get(const Digest& key) {
  absl::StatusOr<std::unique_ptr<Reader>> reader = TakeReader();
  absl::Status failed;
  if (reader.ok()) {
    sqlite::Statement& q = *(*reader)->get;
    absl::StatusOr<std::string> record;
    {
      sqlite::ResetOnExit reset(q);
      q.BindBlob(1, KeyBlob(key));
      absl::StatusOr<bool> row = q.Step();
      if (!row.ok()) {
        record = row.status();
      } else if (!*row) {
        record = absl::NotFoundError(absl::StrCat("no action result for ", key.ToHex()));
      } else {
        record = std::string(q.Blob(0));
      }
    }
    if (record.ok() || absl::IsNotFound(record.status())) {
      ReturnReader(*std::move(reader));
      return record;
    }
    failed = record.status();
  } else {
    failed = reader.status();
  }
  std::lock_guard<std::mutex> lock(mu_);
  return Recover(failed);
}

absl::Status RecordDb::PutMany(const std::vector<std::pair<Digest, std::string>>& records) {
  if (records.empty()) return absl::OkStatus();
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = Reconnected(); !s.ok()) return s;
  const bool one = records.size() == 1;  // a single statement is its own transaction
  absl::Status s = one ? absl::OkStatus() : stmts_->begin->Run();
  if (!s.ok()) return s;
  for (const auto& [key, sealed] : records) {
    s = stmts_->put->BindBlob(1, KeyBlob(key)).BindBlob(2, sealed).Run();
    if (!s.ok()) break;
  }
  if (!one) {
    if (s.ok()) s = stmts_->commit->Run();
    if (!s.ok()) stmts_->rollback->Run().IgnoreError();
  }
  return Recover(s);
}

absl::Status RecordDb::Delete(const Digest& key, const std::string* sealed) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = Reconnected(); !s.ok()) return s;
  if (sealed == nullptr) return Recover(stmts_->remove->BindBlob(1, KeyBlob(key)).Run());
  return Recover(stmts_->remove_if->BindBlob(1, KeyBlob(key)).BindBlob(2, *sealed).Run());
}

}  // namespace store_internal
}  // namespace mlops
