#include "mlops/store/internal/record_db.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "mlops/base/file_io.h"
#include "mlops/base/internal/damaged_file.h"
#include "mlops/base/internal/sqlite.h"
#include "mlops/base/internal/sqlite_file.h"

namespace mlops {
namespace store_internal {
namespace {

constexpr int64_t kApplicationId = 0x6D6C6163;  // "mlac"
constexpr absl::Duration kBusyTimeout = absl::Seconds(60);

using sqlite::IdOf;
using sqlite::RecoveryLock;

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
    MutexLock lock(&readers_mu_);
    readers_.clear();
  }
  MutexLock lock(&mu_);
  stmts_.reset();  // before the connection they belong to
  db_.reset();
}

absl::StatusOr<std::unique_ptr<RecordDb>> RecordDb::Open(const std::string& path,
                                                         Durability durability) {
  std::unique_ptr<RecordDb> records(new RecordDb(path, durability));
  MutexLock lock(&records->mu_);
  absl::Status s = records->Connect();
  if (s.ok()) return records;
  // Not a database, or a corrupt one: it only ever held a cache (another application's
  // database, or a newer schema's, is not ours to move).
  if (!sqlite::IsDamage(s)) return s;
  s = records->Replace(s, records->failed_id_);
  if (!s.ok()) return s;
  return records;
}

absl::Status RecordDb::Replace(const absl::Status& why, const FileId& damaged) {
  stmts_.reset();
  db_.reset();
  {
    RecoveryLock exclusive(path_, RecoveryLock::kExclusive);
    // Only if the path still names the damaged file: another process may have replaced it.
    absl::StatusOr<bool> moved =
        sqlite::MoveAside(path_, damaged, absl::StrCat(path_, ".corrupt.", UniqueName()),
                          absl::StrCat("the damaged action cache (", why.message(), ")"));
    if (!moved.ok()) return moved.status();
  }
  return Connect();
}

absl::Status RecordDb::Recover(absl::Status s, const FileId& where) {
  if (!sqlite::IsDamage(s)) return s;
  absl::Status replaced = Replace(s, where);
  if (!replaced.ok()) {
    return absl::DataLossError(absl::StrCat(
        s.message(), "; and the cache could not start anew (", replaced.message(),
        "): delete ", path_, " and its -wal and -shm files, and the steps will run again"));
  }
  return absl::DataLossError(
      absl::StrCat(s.message(), "; moved aside, and the action cache starts empty"));
}

absl::Status RecordDb::Connect() {
  stmts_.reset();
  db_.reset();
  RecoveryLock shared(path_, RecoveryLock::kShared);
  sqlite::OwnedFile file;
  file.name = "action cache";
  file.description = "an mlops action cache";
  file.application_id = kApplicationId;
  file.schema_version = kSchemaVersion;
  file.create_schema = [](sqlite::Db& db, int64_t) {
    return db.Exec(
        "CREATE TABLE records(key BLOB PRIMARY KEY, record BLOB NOT NULL) WITHOUT ROWID");
  };
  file.busy_timeout = kBusyTimeout;
  // Lookups beside a writer need WAL; a file system that cannot give it is an error.
  file.require_wal = true;
  file.sync_every_commit = durability_ != Durability::kNone;
  absl::StatusOr<std::unique_ptr<sqlite::Db>> db = sqlite::OpenOwned(path_, file);
  // Under the lock, the file just opened, or refused (Replace moves a damaged one by it).
  absl::StatusOr<FileId> id = IdOf(path_);
  if (!db.ok()) {
    if (id.ok()) failed_id_ = *id;
    return db.status();
  }
  if (!id.ok()) return id.status();
  failed_id_ = *id;
  db_ = *std::move(db);
  absl::Status s = PrepareStatements();
  if (!s.ok()) {
    stmts_.reset();
    db_.reset();
    return s;
  }
  id_ = *id;
  return absl::OkStatus();
}

absl::Status RecordDb::ConnectedToPath() {
  absl::StatusOr<FileId> now = IdOf(path_);
  if (db_ != nullptr && now.ok() && *now == id_) return absl::OkStatus();
  return Connect();  // the file was replaced (by another process), or a recovery failed
}

absl::Status RecordDb::PrepareStatements() {
  stmts_ = std::make_unique<Statements>();
  return db_->PrepareAll({
      {&stmts_->put, "INSERT OR REPLACE INTO records(key, record) VALUES(?1, ?2)"},
      {&stmts_->remove, "DELETE FROM records WHERE key = ?1"},
      {&stmts_->remove_if, "DELETE FROM records WHERE key = ?1 AND record = ?2"},
      {&stmts_->begin, "BEGIN IMMEDIATE"},
      {&stmts_->commit, "COMMIT"},
      {&stmts_->rollback, "ROLLBACK"},
  });
}

// A connection of its own for one lookup at a time (WAL lets readers run side by side).
struct RecordDb::Reader {
  std::unique_ptr<sqlite::Db> db;
  std::unique_ptr<sqlite::Statement> get;  // after db: destroyed first
  FileId id;                                // the file it reads
};

absl::StatusOr<std::unique_ptr<RecordDb::Reader>> RecordDb::TakeReader() {
  // Readers of a file the path no longer names (moved aside by a recovery, here or in
  // another process) are dropped. The path is looked at again at most every
  // kRecheckInterval: a lookup in a replaced file meanwhile finds old records (still
  // verified) or none, never a wrong one, and a stat per lookup would add a system call to
  // every hit read from disk (pipeline_benchmark's AllHitsFromDisk measures that path).
  {
    const int64_t now_ns = absl::GetCurrentTimeNanos();
    MutexLock lock(&readers_mu_);
    if (now_ns - checked_at_ns_ > absl::ToInt64Nanoseconds(kRecheckInterval)) {
      lock.Unlock();
      absl::StatusOr<FileId> now = IdOf(path_);
      if (!now.ok()) return now.status();
      lock.Lock();
      checked_id_ = *now;
      checked_at_ns_ = now_ns;
    }
    while (!readers_.empty()) {
      std::unique_ptr<Reader> r = std::move(readers_.back());
      readers_.pop_back();
      if (r->id == checked_id_) return r;
    }
  }
  auto r = std::make_unique<Reader>();
  RecoveryLock shared(path_, RecoveryLock::kShared);
  absl::StatusOr<std::unique_ptr<sqlite::Db>> db =
      sqlite::Db::Open(path_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX);
  if (!db.ok()) return db.status();
  r->db = *std::move(db);
  absl::StatusOr<FileId> id = IdOf(path_);
  if (!id.ok()) return id.status();
  r->id = *id;
  sqlite3_busy_timeout(r->db->get(),
                       static_cast<int>(absl::ToInt64Milliseconds(kBusyTimeout)));
  // Room for the pages of a large cache (the default keeps 2 MB), not mapped: a mapping
  // faults (SIGBUS) when someone truncates the file.
  absl::Status sized = r->db->Exec("PRAGMA cache_size=-16384");
  if (!sized.ok()) return sized;
  absl::StatusOr<std::unique_ptr<sqlite::Statement>> get =
      r->db->Prepare("SELECT record FROM records WHERE key = ?1");
  if (!get.ok()) return get.status();
  r->get = *std::move(get);
  return r;
}

void RecordDb::ReturnReader(std::unique_ptr<Reader> reader) {
  MutexLock lock(&readers_mu_);
  if (readers_.size() < kMaxIdleReaders) readers_.push_back(std::move(reader));
}

absl::StatusOr<std::string> RecordDb::Get(const Digest& key) {
  absl::StatusOr<std::unique_ptr<Reader>> reader = TakeReader();
  absl::Status failed;
  FileId where;
  if (reader.ok()) {
    where = (*reader)->id;
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
    if (!sqlite::IsDamage(failed)) return failed;
    absl::StatusOr<FileId> now = IdOf(path_);
    if (!now.ok()) return failed;
    where = *now;  // a reader could not even open it: the file at the path is damaged
  }
  MutexLock lock(&mu_);
  return Recover(failed, where);
}

absl::Status RecordDb::PutMany(const std::vector<std::pair<Digest, std::string>>& records) {
  if (records.empty()) return absl::OkStatus();
  MutexLock lock(&mu_);
  if (absl::Status s = ConnectedToPath(); !s.ok()) return s;
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
  return Recover(s, id_);
}

absl::Status RecordDb::Delete(const Digest& key, const std::string* sealed) {
  MutexLock lock(&mu_);
  if (absl::Status s = ConnectedToPath(); !s.ok()) return s;
  if (sealed == nullptr) return Recover(stmts_->remove->BindBlob(1, KeyBlob(key)).Run(), id_);
  return Recover(stmts_->remove_if->BindBlob(1, KeyBlob(key)).BindBlob(2, *sealed).Run(), id_);
}

}  // namespace store_internal
}  // namespace mlops
