#include "mlops/lineage/internal/recovery.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "mlops/base/file_io.h"
#include "mlops/lineage/internal/columns.h"
#include "mlops/lineage/internal/connection.h"
#include "mlops/lineage/internal/schema.h"

namespace mlops {
namespace lineage_internal {
namespace {

constexpr char kSqliteMagic[16] = "SQLite format 3";  // and its NUL

bool Exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

// Copies the file `from` to `to` (created, or truncated). NOT_FOUND if `from` is missing.
absl::Status CopyFile(const std::string& from, const std::string& to) {
  ScopedFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in.valid()) return PosixError(errno, "open", from);
  ScopedFd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!out.valid()) return PosixError(errno, "create", to);
  std::string buffer(1 << 20, '\0');
  while (true) {
    const ssize_t n = ::read(in.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return PosixError(errno, "read", from);
    if (n == 0) return absl::OkStatus();
    absl::Status s = WriteAll(out.get(), absl::string_view(buffer.data(), n), to);
    if (!s.ok()) return s;
  }
}

void Put16(unsigned char* p, uint32_t v) {
  p[0] = static_cast<unsigned char>(v >> 8);
  p[1] = static_cast<unsigned char>(v);
}
void Put32(unsigned char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<unsigned char>(v >> (24 - 8 * i));
}
uint32_t Get(const unsigned char* p, int bytes) {
  uint32_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  return v;
}
bool ValidPageSize(uint32_t size) {
  return size >= 512 && size <= 65536 && (size & (size - 1)) == 0;
}

// Rewrites the first 100 bytes of the database file `copy` as a lineage database's
// header: the page size the old header or the WAL names (else SQLite's default, 4096),
// UTF-8, our application id and schema version, no free list; the size in pages left
// invalid, so that SQLite takes it from the file's size.
absl::Status RewriteHeader(const std::string& copy) {
  ScopedFd fd(::open(copy.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd.valid()) return PosixError(errno, "open", copy);
  unsigned char header[100] = {};
  if (::pread(fd.get(), header, sizeof(header), 0) < 0) return PosixError(errno, "read", copy);
  uint32_t page_size = Get(header + 16, 2) == 1 ? 65536 : Get(header + 16, 2);
  unsigned char wal[12] = {};
  const bool has_wal = Exists(copy + "-wal");
  if (!ValidPageSize(page_size) && has_wal) {
    ScopedFd w(::open((copy + "-wal").c_str(), O_RDONLY | O_CLOEXEC));
    if (w.valid() && ::pread(w.get(), wal, sizeof(wal), 0) == sizeof(wal)) {
      page_size = Get(wal + 8, 4);
    }
  }
  if (!ValidPageSize(page_size)) page_size = 4096;
  std::memset(header, 0, sizeof(header));
  std::memcpy(header, kSqliteMagic, sizeof(kSqliteMagic));
  Put16(header + 16, page_size == 65536 ? 1 : page_size);
  header[18] = header[19] = has_wal ? 2 : 1;  // WAL, or a rollback journal
  header[21] = 64;                            // payload fractions, fixed by the format
  header[22] = 32;
  header[23] = 32;
  Put32(header + 24, 1);  // change counter, unlike version-valid-for (0): size invalid
  Put32(header + 40, 1);  // schema cookie
  Put32(header + 44, 4);  // schema format
  Put32(header + 56, 1);  // UTF-8
  Put32(header + 60, SqliteLineageStore::kSchemaVersion);
  Put32(header + 68, static_cast<uint32_t>(kLineageApplicationId));
  Put32(header + 96, static_cast<uint32_t>(sqlite3_libversion_number()));
  if (::pwrite(fd.get(), header, sizeof(header), 0) != sizeof(header)) {
    return PosixError(errno, "write", copy);
  }
  return absl::OkStatus();
}

// A connection to the scratch copy `copy`, if SQLite can read its schema: as it is, or
// with its header rewritten (`*method` then says so); null if not even then.
absl::StatusOr<std::unique_ptr<sqlite::Db>> OpenCopy(const std::string& copy, std::string* method) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (attempt == 1) {
      absl::Status s = RewriteHeader(copy);
      if (!s.ok()) return s;
      *method = "sql, header rewritten";
    }
    absl::StatusOr<std::unique_ptr<sqlite::Db>> db =
        sqlite::Db::Open(copy, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX);
    if (!db.ok()) return db.status();
    absl::Status s = (*db)->Exec("PRAGMA writable_schema=ON");
    absl::StatusOr<int64_t> tables =
        s.ok() ? (*db)->QueryInt("SELECT count(*) FROM sqlite_master") : absl::StatusOr<int64_t>(s);
    if (tables.ok()) return db;
    if (!sqlite::IsDamage(tables.status())) return tables.status();
  }
  *method = "none: SQLite cannot read the file's schema";
  return nullptr;
}

// `<path>.damaged-<UTC time>`, or with "-2", "-3", ... if taken.
std::string AsideName(const std::string& path, absl::Time now) {
  const std::string base =
      absl::StrCat(path, ".damaged-", absl::FormatTime("%Y%m%dT%H%M%SZ", now, absl::UTCTimeZone()));
  std::string name = base;
  for (int i = 2; Exists(name) || Exists(name + "-wal"); ++i) name = absl::StrCat(base, "-", i);
  return name;
}

std::string Host() {
  char name[256] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0) return "";
  return name;
}

// Removes the scratch files of a recovery when it ends, however it ends.
struct Scratch {
  std::vector<std::string> paths;
  ~Scratch() {
    for (const std::string& p : paths) {
      for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
        ::unlink(absl::StrCat(p, suffix).c_str());
      }
    }
  }
};

// Salvages the copy into the new database at `fresh`, records the recovery there, and
// closes it as a single file. Returns the recovery recorded.
absl::StatusOr<LineageRecovery> BuildNew(const std::string& copy, const std::string& fresh,
                                         const SqliteLineageOptions& options,
                                         LineageRecovery recovery, const RecoveryInputs& in) {
  std::string method = "sql";
  absl::StatusOr<std::unique_ptr<sqlite::Db>> from = OpenCopy(copy, &method);
  if (!from.ok()) return from.status();
  SqliteLineageOptions fresh_options = options;
  fresh_options.read_only = false;
  absl::StatusOr<std::unique_ptr<LineageConnection>> to =
      LineageConnection::Open(fresh, fresh_options);
  if (!to.ok()) return to.status();
  absl::StatusOr<SalvageCounts> salvaged = Salvage(from->get(), **to, in);
  if (!salvaged.ok()) return salvaged.status();
  const SalvageCounts& counts = *salvaged;
  recovery.set_method(method);
  recovery.set_runs(counts.runs);
  recovery.set_runs_recreated(counts.runs_recreated);
  recovery.set_executions(counts.executions);
  recovery.set_events(counts.events);
  recovery.set_complete(counts.complete);
  sqlite::Db& db = *(*to)->db;
  absl::StatusOr<int64_t> id = db.QueryInt("SELECT coalesce(max(id), 0) + 1 FROM recoveries");
  if (!id.ok()) return id.status();
  recovery.set_id(*id);
  absl::StatusOr<std::unique_ptr<sqlite::Statement>> ins =
      db.Prepare("INSERT INTO recoveries(id, run_id, proto) VALUES(?1, ?2, ?3)");
  if (!ins.ok()) return ins.status();
  absl::Status s = (*ins)
                       ->Bind(1, *id)
                       .Bind(2, recovery.run_id())
                       .BindBlob(3, recovery.SerializeAsString())
                       .Run();
  ins->reset();
  // One file, no -wal or -shm beside it, to be renamed into place.
  if (s.ok()) s = db.Exec("PRAGMA journal_mode=DELETE");
  if (!s.ok()) return s;
  return recovery;
}

}  // namespace

absl::StatusOr<std::optional<LineageRecovery>> RecoverLineageFile(
    const std::string& path, const SqliteLineageOptions& options, const absl::Status& why,
    const sqlite::FileId& damaged, const RecoveryInputs& inputs) {
  sqlite::RecoveryLock exclusive(path, sqlite::RecoveryLock::kExclusive);
  absl::StatusOr<sqlite::FileId> now = sqlite::IdOf(path);
  if (!now.ok() || *now != damaged) return std::nullopt;  // replaced by another process
  Scratch scratch;
  const std::string unique = UniqueName();
  const std::string copy = absl::StrCat(path, ".salvage-", unique);
  const std::string fresh = absl::StrCat(path, ".new-", unique);
  scratch.paths = {copy, fresh};
  absl::Status s = CopyFile(path, copy);
  if (s.ok() && Exists(path + "-wal")) s = CopyFile(path + "-wal", copy + "-wal");
  if (!s.ok()) return s;

  const absl::Time time = absl::Now();
  LineageRecovery recovery;
  recovery.mutable_time()->set_seconds(absl::ToUnixSeconds(time));
  recovery.mutable_time()->set_nanos(static_cast<int32_t>(absl::ToUnixNanos(time) % 1000000000));
  recovery.set_run_id(inputs.run_id);
  recovery.set_host(Host());
  recovery.set_pid(::getpid());
  recovery.set_reason(std::string(why.message()));
  const std::string aside = AsideName(path, time);
  recovery.set_damaged_path(aside);
  absl::StatusOr<LineageRecovery> built = BuildNew(copy, fresh, options, recovery, inputs);
  if (!built.ok()) {
    return absl::Status(built.status().code(),
                        absl::StrCat("salvaging the damaged lineage database ", path, ": ",
                                     built.status().message()));
  }
  absl::StatusOr<bool> moved =
      sqlite::MoveAside(path, damaged, aside, "the damaged lineage database");
  if (!moved.ok()) return moved.status();
  if (!*moved) return std::nullopt;
  if (::rename(fresh.c_str(), path.c_str()) != 0) {
    return PosixError(errno,
                      absl::StrCat("put the recovered lineage database in place (the damaged "
                                   "one is now ",
                                   aside, ")"),
                      path);
  }
  return *std::move(built);
}

absl::Status SetRecoveryRun(sqlite::Db& db, int64_t recovery_id, int64_t run_id) {
  absl::StatusOr<std::unique_ptr<sqlite::Statement>> q =
      db.Prepare("UPDATE recoveries SET run_id = ?1 WHERE id = ?2");
  if (!q.ok()) return q.status();
  return (*q)->Bind(1, run_id).Bind(2, recovery_id).Run();
}

absl::StatusOr<std::vector<LineageRecovery>> ReadRecoveries(sqlite::Db& db,
                                                            const std::string& path) {
  std::vector<LineageRecovery> out;
  absl::StatusOr<int64_t> has = db.QueryInt(
      "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'recoveries'");
  if (!has.ok()) return has.status();
  if (*has == 0) return out;
  absl::StatusOr<std::unique_ptr<sqlite::Statement>> q =
      db.Prepare("SELECT id, run_id, proto FROM recoveries ORDER BY id");
  if (!q.ok()) return q.status();
  while (true) {
    absl::StatusOr<bool> row = (*q)->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    LineageRecovery r;
    const absl::string_view blob = (*q)->Blob(2);
    if (!r.ParseFromArray(blob.data(), static_cast<int>(blob.size()))) {
      return Corrupt(path, absl::StrCat("recovery ", (*q)->Int(0), " does not parse"));
    }
    r.set_id((*q)->Int(0));
    r.set_run_id((*q)->Int(1));
    out.push_back(std::move(r));
  }
  return out;
}

std::string DescribeRecovery(const std::string& path, const LineageRecovery& r) {
  std::string text =
      absl::StrCat("the lineage database ", path, " was damaged (", r.reason(),
                   "); it was moved aside to ", r.damaged_path(),
                   " (with its -wal and -shm files, if any), and a new one started with "
                   "what could still be read: ",
                   r.runs(), " runs, ", r.executions(), " executions, ", r.events(), " events");
  if (r.runs_recreated() > 0) {
    absl::StrAppend(&text, " (", r.runs_recreated(), " runs recreated, their records lost)");
  }
  if (absl::StartsWith(r.method(), "none")) {
    absl::StrAppend(&text, "; SQLite could not read the file at all");
  } else {
    absl::StrAppend(&text, r.complete() ? "; nothing else was found damaged"
                                        : "; the records on damaged pages are lost");
  }
  return text;
}

}  // namespace lineage_internal
}  // namespace mlops
