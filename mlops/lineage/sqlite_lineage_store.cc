// SqliteLineageStore: opening, the schema, and writes. Queries are in
// sqlite_lineage_queries.cc.
#include "mlops/lineage/sqlite_lineage_store.h"

#include <algorithm>
#include <chrono>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "mlops/base/internal/sqlite.h"
#include "mlops/base/internal/sqlite_file.h"
#include "mlops/lineage/internal/store_internal.h"

namespace mlops {

using lineage_internal::DigestBlob;
using lineage_internal::Micros;

namespace {

constexpr int64_t kApplicationId = 0x6D6C6F70;  // "mlop"
// Execution ids are reserved in blocks that start small and double up to the largest size
// as a process records more, so the ids a process leaves unused are fewer than those it
// used. Reserving takes the database lock, which a batch being written holds for a while:
// large blocks keep recording from waiting for it often.
constexpr int64_t kFirstIdBlock = 16;
constexpr int64_t kLargestIdBlock = int64_t{1} << 20;
// Writers block (or write themselves) once this many batches are queued.
constexpr int kMaxQueuedBatches = 2;
// The cache of representatives (result key → execution) is dropped when it grows past this.
constexpr size_t kMaxCachedRepresentatives = 100000;
// Likewise the cache of artifact ids (digest → row id).
constexpr size_t kMaxCachedArtifacts = 100000;

// An execution's events are also in its proto, so the events table is keyed only for the
// lookups by artifact (producers, consumers); the events of one execution are read from its
// proto. Events name artifacts by a row id given in order of first sight, not by digest: a
// new output's events then append rather than land at random places in the index, and only
// the digest → id index takes a random write per artifact.
//
// Cache hits are most of the executions of a warm pipeline, and each repeats the inputs and
// outputs of the execution that computed its action. So among the executions with the same
// result (action key and outputs: result_key), one, the representative (rep_id = 0),
// carries the event rows; a hit names its representative in rep_id instead. Indexing hits
// by representative (ids that arrive in near order) rather than by action key (random)
// keeps a warm run's index writes sequential. When a representative is deleted, another
// execution of the action takes its place.
//
// A hit that repeats its representative in everything but its id, run, status and times is
// a compact hit (compact_hits.h): a row of `hits` instead of one of `executions` with its
// proto. Execution ids are unique across both tables. A representative keeps in `template`
// the digest such a hit must match (empty for other rows, and for representatives of
// databases upgraded from development builds: it is then computed when needed).
//
// Every statement is idempotent so that two processes creating the schema at once both
// succeed (the second, inside its own IMMEDIATE transaction, sees the first's tables).
constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS runs(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  program TEXT NOT NULL,
  status INTEGER NOT NULL,
  start_us INTEGER NOT NULL,
  end_us INTEGER NOT NULL,
  proto BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS runs_by_program ON runs(program, start_us);
CREATE INDEX IF NOT EXISTS runs_by_start ON runs(start_us);
CREATE TABLE IF NOT EXISTS executions(
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL,
  step TEXT NOT NULL,
  action_key BLOB NOT NULL,
  status INTEGER NOT NULL,
  cache_hit INTEGER NOT NULL,
  rep_id INTEGER NOT NULL,
  result_key BLOB NOT NULL,
  start_us INTEGER NOT NULL,
  end_us INTEGER NOT NULL,
  proto BLOB NOT NULL,
  template BLOB NOT NULL DEFAULT x'');
CREATE INDEX IF NOT EXISTS executions_by_run ON executions(run_id);
CREATE INDEX IF NOT EXISTS executions_by_result ON executions(result_key) WHERE rep_id = 0;
CREATE INDEX IF NOT EXISTS executions_by_rep ON executions(rep_id) WHERE rep_id != 0;
CREATE INDEX IF NOT EXISTS executions_by_step ON executions(step, start_us);
CREATE TABLE IF NOT EXISTS artifacts(
  id INTEGER PRIMARY KEY,
  digest BLOB NOT NULL UNIQUE,
  type_name TEXT NOT NULL,
  size INTEGER NOT NULL,
  label TEXT NOT NULL,
  uri TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events(
  artifact_id INTEGER NOT NULL,
  kind INTEGER NOT NULL,
  execution_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  PRIMARY KEY(artifact_id, kind, execution_id, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS id_blocks(kind TEXT PRIMARY KEY, next INTEGER NOT NULL);
INSERT OR IGNORE INTO id_blocks VALUES('execution', 1);
CREATE TABLE IF NOT EXISTS hits(
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL,
  rep_id INTEGER NOT NULL,
  start_ns INTEGER NOT NULL,
  end_ns INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS hits_by_run ON hits(run_id);
CREATE INDEX IF NOT EXISTS hits_by_rep ON hits(rep_id);
)sql";

}  // namespace

// What makes two executions interchangeable in the graph: the same action (hence inputs)
// and the same outputs. Empty, matching nothing, for executions without both.
std::string lineage_internal::ResultKey(const Execution& e) {
  if (e.action_key().empty() || e.outputs_size() == 0) return "";
  Hasher h;
  h.Update(DigestBlob(*Digest::FromHex(e.action_key())));
  for (const ArtifactRef& out : e.outputs()) {
    const uint64_t name_size = out.name().size();
    h.Update(&name_size, sizeof(name_size));
    h.Update(out.name());
    h.Update(DigestBlob(*Digest::FromHex(out.digest())));
  }
  return DigestBlob(h.Finish());
}

namespace {

absl::Status ValidateRef(const ArtifactRef& ref, absl::string_view role) {
  if (!Digest::FromHex(ref.digest()).ok()) {
    return absl::InvalidArgumentError(absl::StrCat(role, " \"", ref.name(),
                                                   "\" has a malformed digest \"",
                                                   ref.digest(), "\""));
  }
  return absl::OkStatus();
}

absl::Status ValidateExecution(const Execution& e) {
  if (e.step_name().empty()) {
    return absl::InvalidArgumentError("execution has no step name");
  }
  if (!e.action_key().empty() && !Digest::FromHex(e.action_key()).ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("execution of ", e.step_name(), " has a malformed action key \"",
                     e.action_key(), "\""));
  }
  for (const ArtifactRef& r : e.inputs()) {
    absl::Status s = ValidateRef(r, "input");
    if (!s.ok()) return s;
  }
  for (const ArtifactRef& r : e.outputs()) {
    absl::Status s = ValidateRef(r, "output");
    if (!s.ok()) return s;
  }
  for (const ArtifactRef& r : e.expected_outputs()) {
    absl::Status s = ValidateRef(r, "expected output");
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace

SqliteLineageStore::SqliteLineageStore(std::string path, SqliteLineageOptions options,
                                       std::unique_ptr<sqlite::Db> db)
    : path_(std::move(path)), options_(options), db_(std::move(db)) {}

absl::StatusOr<std::unique_ptr<SqliteLineageStore>> SqliteLineageStore::Open(
    const std::string& path, SqliteLineageOptions options) {
  if (path.empty()) return absl::InvalidArgumentError("lineage database path is empty");
  if (options.read_only && path == ":memory:") {
    return absl::InvalidArgumentError("a read-only lineage store needs a database file");
  }
  sqlite::OwnedFile file;
  file.name = "lineage";
  file.description = "mlops lineage";
  file.application_id = kApplicationId;
  file.schema_version = kSchemaVersion;
  // Version 1 was only ever written by builds during development (it had no compact hits).
  file.check_version = [&path](int64_t version) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, " was written by a development build of mlops (lineage schema version ",
        version, ", which no release wrote); this build reads version ", kSchemaVersion,
        " only. Its records cannot be read: move it aside (with its -wal and -shm files) "
        "to record a new lineage there"));
  };
  file.create_schema = [](sqlite::Db& db, int64_t) { return db.Exec(kSchema); };
  file.busy_timeout = options.busy_timeout;
  file.read_only = options.read_only;
  absl::StatusOr<std::unique_ptr<sqlite::Db>> db = sqlite::OpenOwned(path, file);
  if (!db.ok()) return db.status();
  if (!options.read_only && path != ":memory:") {
    absl::Status s = (*db)->Exec("PRAGMA cache_size=-262144; PRAGMA wal_autocheckpoint=16384;");
    if (!s.ok()) return s;
  }
  std::unique_ptr<SqliteLineageStore> store(
      new SqliteLineageStore(path, options, *std::move(db)));
  {
    std::lock_guard<std::mutex> lock(store->mu_);
    absl::Status s = store->Init();
    if (!s.ok()) return s;
  }
  if (options.max_batch_delay > absl::ZeroDuration() && !options.read_only) {
    store->flusher_ = std::thread([s = store.get()] { s->FlusherLoop(); });
  }
  return store;
}

absl::Status SqliteLineageStore::Init() { return PrepareStatements(); }

absl::Status SqliteLineageStore::PrepareStatements() {
  // A read-only store prepares only what reads use.
  enum Use { kWrite, kRead };
  stmts_ = std::make_unique<Statements>();
  struct {
    Use use;
    std::unique_ptr<sqlite::Statement>* slot;
    const char* sql;
  } const prepared[] = {
      {kWrite, &stmts_->begin, "BEGIN IMMEDIATE"},
      {kWrite, &stmts_->commit, "COMMIT"},
      {kWrite, &stmts_->rollback, "ROLLBACK"},
      {kWrite, &stmts_->insert_execution,
       "INSERT OR REPLACE INTO executions(id, run_id, step, action_key, status, cache_hit, "
       "rep_id, result_key, start_us, end_us, proto, template) "
       "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"},
      // The literal rep_id conditions let SQLite use the partial indexes.
      {kWrite, &stmts_->representative_of_result,
       "SELECT id, template FROM executions WHERE result_key = ?1 AND rep_id = 0 AND id != ?2 "
       "ORDER BY id LIMIT 1"},
      {kRead, &stmts_->hits_of_representative,
       "SELECT id FROM executions WHERE rep_id = ?1 AND rep_id != 0 "
       "UNION ALL SELECT id FROM hits WHERE rep_id = ?1 ORDER BY 1"},
      {kWrite, &stmts_->insert_hit,
       "INSERT OR REPLACE INTO hits(id, run_id, rep_id, start_ns, end_ns) "
       "VALUES(?1, ?2, ?3, ?4, ?5)"},
      {kWrite, &stmts_->delete_hit, "DELETE FROM hits WHERE id = ?1"},
      {kWrite, &stmts_->delete_execution, "DELETE FROM executions WHERE id = ?1"},
      {kRead, &stmts_->get_hit,
       "SELECT h.run_id, h.rep_id, h.start_ns, h.end_ns, r.proto, r.id IS NOT NULL "
       "FROM hits h LEFT JOIN executions r ON r.id = h.rep_id WHERE h.id = ?1"},
      {kWrite, &stmts_->compact_hits_of_representative,
       "SELECT id, run_id, start_ns, end_ns FROM hits WHERE rep_id = ?1 ORDER BY id"},
      {kWrite, &stmts_->delete_compact_hits_of_representative, "DELETE FROM hits WHERE rep_id = ?1"},
      {kRead, &stmts_->compact_hits_of_run,
       "SELECT h.id, h.run_id, h.start_ns, h.end_ns, h.rep_id, r.proto, r.id IS NOT NULL "
       "FROM hits h LEFT JOIN executions r ON r.id = h.rep_id WHERE h.run_id = ?1 "
       "ORDER BY h.id"},
      // Newest first by start time in whole microseconds (floored, as the executions
      // table's start_us), then by id: the order ExecutionsOfStep promises.
      {kRead, &stmts_->compact_hits_of_step,
       "SELECT h.id, h.run_id, h.start_ns, h.end_ns, h.rep_id, r.proto, 1 "
       "FROM executions r JOIN hits h ON h.rep_id = r.id "
       "WHERE r.step = ?1 AND r.rep_id = 0 "
       "ORDER BY (h.start_ns - ((h.start_ns % 1000) + 1000) % 1000) / 1000 DESC, h.id DESC "
       "LIMIT ?2"},
      {kWrite, &stmts_->move_hits,
       "UPDATE executions SET rep_id = ?1 WHERE rep_id = ?2 AND rep_id != 0"},
      {kWrite, &stmts_->data_version, "PRAGMA data_version"},
      {kWrite, &stmts_->rep_of_execution,
       "SELECT rep_id, result_key FROM executions WHERE id = ?1"},
      {kWrite, &stmts_->find_artifact,
       "SELECT id, type_name, label, uri FROM artifacts WHERE digest = ?1"},
      {kWrite, &stmts_->insert_artifact,
       "INSERT INTO artifacts(digest, type_name, size, label, uri) VALUES(?1, ?2, ?3, ?4, ?5) "
       "ON CONFLICT(digest) DO NOTHING RETURNING id"},
      {kWrite, &stmts_->fill_artifact,
       "UPDATE artifacts SET "
       "label = CASE WHEN label = '' THEN ?2 ELSE label END, "
       "uri = CASE WHEN uri = '' THEN ?3 ELSE uri END, "
       "type_name = CASE WHEN type_name = '' THEN ?4 ELSE type_name END WHERE id = ?1"},
      {kWrite, &stmts_->insert_event,
       "INSERT OR IGNORE INTO events(artifact_id, kind, execution_id, name) "
       "VALUES(?1, ?2, ?3, ?4)"},
      {kWrite, &stmts_->delete_event,
       "DELETE FROM events WHERE artifact_id = (SELECT id FROM artifacts WHERE digest = ?1) "
       "AND kind = ?2 AND execution_id = ?3 AND name = ?4"},
      {kWrite, &stmts_->delete_unreferenced_artifact,
       "DELETE FROM artifacts WHERE digest = ?1 AND NOT EXISTS "
       "(SELECT 1 FROM events WHERE artifact_id = artifacts.id)"},
      {kWrite, &stmts_->reserve_ids,
       "UPDATE id_blocks SET next = next + ?1 WHERE kind = 'execution' RETURNING next"},
      {kRead, &stmts_->run_exists, "SELECT 1 FROM runs WHERE id = ?1"},
      {kRead, &stmts_->get_execution, "SELECT proto FROM executions WHERE id = ?1"},
      {kRead, &stmts_->get_artifact,
       "SELECT type_name, size, label, uri FROM artifacts WHERE digest = ?1"},
      {kRead, &stmts_->edge_executions,
       "SELECT DISTINCT x.id, x.cache_hit FROM artifacts a "
       "JOIN events e ON e.artifact_id = a.id JOIN executions x ON x.id = e.execution_id "
       "WHERE a.digest = ?1 AND e.kind = ?2 ORDER BY x.cache_hit, x.id"},
  };
  for (const auto& p : prepared) {
    if (options_.read_only && p.use == kWrite) continue;
    absl::StatusOr<std::unique_ptr<sqlite::Statement>> stmt = db_->Prepare(p.sql);
    if (!stmt.ok()) return stmt.status();
    *p.slot = *std::move(stmt);
  }
  return absl::OkStatus();
}

SqliteLineageStore::~SqliteLineageStore() {
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  if (flusher_.joinable()) flusher_.join();
  std::lock_guard<std::mutex> lock(mu_);
  FlushLocked().IgnoreError();
  stmts_.reset();
  db_.reset();
}

void SqliteLineageStore::FlusherLoop() {
  std::unique_lock<std::mutex> queue(queue_mu_);
  while (!stopping_) {
    if (pending_.empty()) {
      queue_cv_.wait(queue);
      continue;
    }
    const absl::Duration left = oldest_pending_ + options_.max_batch_delay - absl::Now();
    if (left > absl::ZeroDuration() &&
        static_cast<int>(pending_.size()) < options_.max_batch_size) {
      queue_cv_.wait_for(queue, absl::ToChronoNanoseconds(left));
      continue;
    }
    queue.unlock();
    absl::Status s;
    {
      std::lock_guard<std::mutex> db(mu_);
      s = FlushLocked();  // a failure leaves the batch queued for the next try
    }
    queue.lock();
    if (!s.ok() && !stopping_) queue_cv_.wait_for(queue, std::chrono::milliseconds(100));
  }
}

absl::Status SqliteLineageStore::Flush() {
  std::lock_guard<std::mutex> lock(mu_);
  return FlushLocked();
}

absl::Status SqliteLineageStore::FlushLocked() {
  std::vector<Execution> batch;
  {
    std::lock_guard<std::mutex> queue(queue_mu_);
    batch.swap(pending_);
  }
  if (batch.empty()) return absl::OkStatus();
  absl::Status s = stmts_->begin->Run();
  if (s.ok()) s = CheckRepresentatives();
  if (s.ok()) {
    for (Execution& e : batch) {
      s = WriteExecution(e);
      if (!s.ok()) break;
    }
    if (s.ok()) s = stmts_->commit->Run();
    if (!s.ok()) Rollback();
  }
  if (!s.ok()) {
    representatives_.clear();  // what the failed transaction added is not there
    artifact_ids_.clear();
    // Put the batch back in front of anything queued meanwhile, to retry later.
    std::lock_guard<std::mutex> queue(queue_mu_);
    batch.insert(batch.end(), std::make_move_iterator(pending_.begin()),
                 std::make_move_iterator(pending_.end()));
    pending_.swap(batch);
    oldest_pending_ = absl::Now();
    return s;
  }
  {
    std::lock_guard<std::mutex> queue(queue_mu_);
    // Bounded: if nobody records any more, the last batches wait here for the destructor.
    if (written_.size() < 4) written_.push_back(std::move(batch));
  }
  queue_cv_.notify_all();  // writers waiting for room
  return absl::OkStatus();
}

absl::Status SqliteLineageStore::WriteExecution(Execution& e, bool force_events) {
  const std::string result_key = lineage_internal::ResultKey(e);
  int64_t representative = 0;
  if (!force_events && e.cache_hit() && !result_key.empty()) {
    auto cached = representatives_.find(result_key);
    if (cached != representatives_.end() && cached->second.id != e.id()) {
      representative = cached->second.id;
    } else {
      sqlite::Statement& q = *stmts_->representative_of_result;
      sqlite::ResetOnExit reset(q);
      q.BindBlob(1, result_key).Bind(2, e.id());
      absl::StatusOr<bool> row = q.Step();
      if (!row.ok()) return row.status();
      if (*row) {
        representative = q.Int(0);
        Representative known(representative);
        if (q.Blob(1).size() == Digest::kBytes) {
          known.has_template = true;
          known.template_digest = lineage_internal::DigestFromBlob(q.Blob(1));
        }
        representatives_.insert_or_assign(result_key, known);
      }
    }
  }
  // A new representative: its template, for the compact hits that will name it.
  std::string template_blob;
  if (representative == 0 && !result_key.empty()) {
    if (representatives_.size() > kMaxCachedRepresentatives) representatives_.clear();
    Representative self(e.id());
    self.has_template = true;
    self.template_digest = lineage_internal::TemplateDigest(e);
    template_blob = DigestBlob(self.template_digest);
    representatives_.emplace(result_key, self);
  }
  if (representative != 0) {
    bool written = false;
    absl::Status s = WriteCompactHit(e, result_key, representative, &written);
    if (!s.ok() || written) return s;
  }
  std::string proto;
  e.SerializeToString(&proto);
  absl::Status s = InsertExecutionRow(e, representative, result_key, proto, template_blob);
  if (!s.ok() || representative != 0) return s;
  const auto write_refs = [&](const auto& refs, Event::Kind kind) -> absl::Status {
    for (const ArtifactRef& r : refs) {
      absl::StatusOr<int64_t> artifact = ArtifactId(r);
      if (!artifact.ok()) return artifact.status();
      sqlite::Statement& ev = *stmts_->insert_event;
      ev.Bind(1, *artifact).Bind(2, kind).Bind(3, e.id()).BindText(4, r.name());
      absl::Status st = ev.Run();
      if (!st.ok()) return st;
    }
    return absl::OkStatus();
  };
  s = write_refs(e.inputs(), Event::INPUT);
  if (!s.ok()) return s;
  return write_refs(e.outputs(), Event::OUTPUT);
}

absl::Status SqliteLineageStore::InsertExecutionRow(const Execution& e, int64_t representative,
                                                    const std::string& result_key,
                                                    const std::string& proto,
                                                    const std::string& template_blob) {
  std::string key_blob;
  if (!e.action_key().empty()) key_blob = DigestBlob(*Digest::FromHex(e.action_key()));
  sqlite::Statement& ins = *stmts_->insert_execution;
  ins.Bind(1, e.id())
      .Bind(2, e.run_id())
      .BindText(3, e.step_name())
      .BindBlob(4, key_blob)
      .Bind(5, e.status())
      .Bind(6, e.cache_hit() ? 1 : 0)
      .Bind(7, representative)
      .BindBlob(8, result_key)
      .Bind(9, Micros(e.start_time()))
      .Bind(10, Micros(e.end_time()))
      .BindBlob(11, proto)
      .BindBlob(12, template_blob);
  return ins.Run();
}

absl::StatusOr<int64_t> SqliteLineageStore::ArtifactId(const ArtifactRef& ref) {
  const Digest d = *Digest::FromHex(ref.digest());
  const bool adds_nothing = ref.label().empty() && ref.uri().empty();
  auto cached = artifact_ids_.find(d);
  if (cached != artifact_ids_.end() && adds_nothing) return cached->second;
  const std::string blob = DigestBlob(d);
  int64_t id = 0;
  if (cached == artifact_ids_.end()) {  // most often a new output: try to insert it
    sqlite::Statement& ins = *stmts_->insert_artifact;
    sqlite::ResetOnExit reset(ins);
    ins.BindBlob(1, blob)
        .BindText(2, ref.type_name())
        .Bind(3, ref.size())
        .BindText(4, ref.label())
        .BindText(5, ref.uri());
    absl::StatusOr<bool> row = ins.Step();
    if (!row.ok()) return row.status();
    if (*row) id = ins.Int(0);
  }
  if (id == 0) {  // it exists: find it, and fill in what it lacks
    sqlite::Statement& q = *stmts_->find_artifact;
    sqlite::ResetOnExit reset(q);
    q.BindBlob(1, blob);
    absl::StatusOr<bool> row = q.Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::InternalError("artifact vanished inside a write transaction");
    id = q.Int(0);
    const bool fills = (q.Text(1).empty() && !ref.type_name().empty()) ||
                       (q.Text(2).empty() && !ref.label().empty()) ||
                       (q.Text(3).empty() && !ref.uri().empty());
    if (fills) {
      sqlite::Statement& fill = *stmts_->fill_artifact;
      fill.Bind(1, id).BindText(2, ref.label()).BindText(3, ref.uri()).BindText(
          4, ref.type_name());
      absl::Status s = fill.Run();
      if (!s.ok()) return s;
    }
  }
  if (artifact_ids_.size() > kMaxCachedArtifacts) artifact_ids_.clear();
  artifact_ids_[d] = id;
  return id;
}

absl::Status SqliteLineageStore::DeleteUnreferencedArtifacts(
    const absl::flat_hash_set<Digest>& digests) {
  for (const Digest& d : digests) {
    stmts_->delete_unreferenced_artifact->BindBlob(1, DigestBlob(d));
    absl::Status s = stmts_->delete_unreferenced_artifact->Run();
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status SqliteLineageStore::DeleteEvents(const Execution& e,
                                              absl::flat_hash_set<Digest>* digests) {
  const auto remove = [&](const auto& refs, Event::Kind kind) -> absl::Status {
    for (const ArtifactRef& r : refs) {
      const Digest d = *Digest::FromHex(r.digest());
      if (digests != nullptr) digests->insert(d);
      sqlite::Statement& del = *stmts_->delete_event;
      del.BindBlob(1, DigestBlob(d)).Bind(2, kind).Bind(3, e.id()).BindText(4, r.name());
      absl::Status s = del.Run();
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  };
  absl::Status s = remove(e.inputs(), Event::INPUT);
  if (!s.ok()) return s;
  return remove(e.outputs(), Event::OUTPUT);
}

absl::StatusOr<std::pair<int64_t, int64_t>> SqliteLineageStore::ReserveIds() {
  sqlite::Statement& q = *stmts_->reserve_ids;
  sqlite::ResetOnExit reset(q);
  const int64_t size = std::max(kFirstIdBlock, id_block_size_);
  q.Bind(1, size);
  absl::StatusOr<bool> row = q.Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::InternalError("id_blocks has no 'execution' row");
  const int64_t end = q.Int(0);
  id_block_size_ = std::min(kLargestIdBlock, 2 * size);
  return std::make_pair(end - size, end);
}

absl::Status SqliteLineageStore::CheckRunExists(int64_t run_id) {
  {
    std::lock_guard<std::mutex> queue(queue_mu_);
    if (known_runs_.contains(run_id)) return absl::OkStatus();
  }
  sqlite::Statement& q = *stmts_->run_exists;
  sqlite::ResetOnExit reset(q);
  q.Bind(1, run_id);
  absl::StatusOr<bool> row = q.Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::NotFoundError(absl::StrCat("no run with id ", run_id, " in ", path_));
  std::lock_guard<std::mutex> queue(queue_mu_);
  known_runs_.insert(run_id);
  return absl::OkStatus();
}

absl::Status SqliteLineageStore::CheckWritable() const {
  if (!options_.read_only) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("lineage database ", path_, " is open read-only"));
}

absl::StatusOr<int64_t> SqliteLineageStore::RecordExecution(Execution execution) {
  absl::Status s = CheckWritable();
  if (!s.ok()) return s;
  s = ValidateExecution(execution);
  if (!s.ok()) return s;
  std::unique_lock<std::mutex> queue(queue_mu_);
  // The rare slow paths (an unknown run, an exhausted id block, a full queue) need the
  // database; take it without holding the queue lock (the lock order is database, then
  // queue).
  while (true) {
    const bool run_known = execution.run_id() == 0 || known_runs_.contains(execution.run_id());
    const bool have_id = next_id_ < block_end_;
    const bool room = static_cast<int>(pending_.size()) < kMaxQueuedBatches * options_.max_batch_size;
    if (run_known && have_id && room) break;
    queue.unlock();
    {
      std::lock_guard<std::mutex> db(mu_);
      if (!run_known) {
        s = CheckRunExists(execution.run_id());
        if (!s.ok()) return s;
      }
      if (!have_id) {
        absl::StatusOr<std::pair<int64_t, int64_t>> block = ReserveIds();
        if (!block.ok()) return block.status();
        std::lock_guard<std::mutex> q(queue_mu_);
        if (next_id_ >= block_end_) std::tie(next_id_, block_end_) = *block;
      }
      if (!room) {
        s = FlushLocked();  // the flusher is behind: write in this thread
        if (!s.ok()) return s;
      }
    }
    queue.lock();
  }
  std::vector<std::vector<Execution>> garbage;
  garbage.swap(written_);  // freed below, outside the lock
  const int64_t id = next_id_++;
  execution.set_id(id);
  if (pending_.empty()) oldest_pending_ = absl::Now();
  pending_.push_back(std::move(execution));
  const bool flush_now = options_.max_batch_delay <= absl::ZeroDuration();
  if (pending_.size() == 1 || static_cast<int>(pending_.size()) == options_.max_batch_size) {
    queue_cv_.notify_all();
  }
  queue.unlock();
  if (flush_now) {
    std::lock_guard<std::mutex> db(mu_);
    s = FlushLocked();
    if (!s.ok()) return s;
  }
  return id;
}

bool SqliteLineageStore::UpdateQueued(const Execution& execution) {
  // Newest first: the execution being finished is usually the last one recorded.
  std::lock_guard<std::mutex> queue(queue_mu_);
  for (auto it = pending_.rbegin(); it != pending_.rend(); ++it) {
    if (it->id() == execution.id()) {
      *it = execution;
      return true;
    }
  }
  return false;
}

absl::Status SqliteLineageStore::UpdateExecution(const Execution& execution) {
  absl::Status s = CheckWritable();
  if (!s.ok()) return s;
  s = ValidateExecution(execution);
  if (!s.ok()) return s;
  // Most often the execution is still queued (a step that ran shorter than a batch): update
  // it there without the database lock, which a batch being written holds for long. One
  // not found here is in the database, or in the batch being written, which the lock below
  // waits for.
  if (UpdateQueued(execution)) return absl::OkStatus();
  std::lock_guard<std::mutex> lock(mu_);
  if (UpdateQueued(execution)) return absl::OkStatus();
  s = FlushLocked();
  if (!s.ok()) return s;
  absl::StatusOr<Execution> existing = LoadExecution(execution.id());
  if (!existing.ok()) return existing.status();
  Execution updated = execution;
  absl::StatusOr<bool> compact = IsCompactHit(execution.id());
  if (!compact.ok()) return compact.status();
  if (*compact) {
    // A compact hit has no events of its own: write the new version afresh.
    representatives_.clear();
    artifact_ids_.clear();
    s = stmts_->begin->Run();
    if (!s.ok()) return s;
    stmts_->delete_hit->Bind(1, execution.id());
    s = stmts_->delete_hit->Run();
    if (s.ok()) s = WriteExecution(updated);
    if (s.ok()) s = stmts_->commit->Run();
    if (!s.ok()) Rollback();
    return s;
  }
  int64_t rep = 0;
  std::string old_result;
  {
    sqlite::Statement& q = *stmts_->rep_of_execution;
    sqlite::ResetOnExit reset(q);
    q.Bind(1, execution.id());
    absl::StatusOr<bool> row = q.Step();
    if (!row.ok()) return row.status();
    if (*row) {
      rep = q.Int(0);
      old_result = std::string(q.Blob(1));
    }
  }
  const bool same_result = lineage_internal::ResultKey(execution) == old_result;
  representatives_.clear();  // representatives and artifacts may change below
  artifact_ids_.clear();
  s = stmts_->begin->Run();
  if (!s.ok()) return s;
  absl::flat_hash_set<Digest> touched;
  // Compact hits repeat the representative as it was: keep them so, in full.
  if (rep == 0) s = MaterializeHits(execution.id(), *existing);
  if (s.ok()) s = DeleteEvents(*existing, &touched);
  if (s.ok()) {  // the new version may be written as a compact hit instead
    stmts_->delete_execution->Bind(1, execution.id());
    s = stmts_->delete_execution->Run();
  }
  // A representative whose result is unchanged stays one (hits name it); one whose result
  // changed hands its hits over to another execution of its old result.
  if (s.ok()) s = WriteExecution(updated, /*force_events=*/rep == 0 && same_result);
  if (s.ok() && rep == 0 && !same_result) s = ReassignHits(execution.id(), old_result);
  if (s.ok()) s = DeleteUnreferencedArtifacts(touched);  // those the new version dropped
  if (s.ok()) s = stmts_->commit->Run();
  if (!s.ok()) Rollback();
  return s;
}

absl::StatusOr<int64_t> SqliteLineageStore::BeginRun(const Run& run) {
  if (absl::Status w = CheckWritable(); !w.ok()) return w;
  if (run.program().empty()) return absl::InvalidArgumentError("run has no program name");
  std::lock_guard<std::mutex> lock(mu_);
  absl::Status s = stmts_->begin->Run();
  if (!s.ok()) return s;
  int64_t id = 0;
  {
    absl::StatusOr<std::unique_ptr<sqlite::Statement>> ins = db_->Prepare(
        "INSERT INTO runs(program, status, start_us, end_us, proto) VALUES(?1, ?2, ?3, ?4, x'')");
    if (!ins.ok()) s = ins.status();
    if (s.ok()) {
      (*ins)->BindText(1, run.program())
          .Bind(2, run.status())
          .Bind(3, Micros(run.start_time()))
          .Bind(4, Micros(run.end_time()));
      s = (*ins)->Run();
    }
    id = sqlite3_last_insert_rowid(db_->get());
  }
  if (s.ok()) {
    Run stored = run;
    stored.set_id(id);
    absl::StatusOr<std::unique_ptr<sqlite::Statement>> upd =
        db_->Prepare("UPDATE runs SET proto = ?1 WHERE id = ?2");
    if (!upd.ok()) s = upd.status();
    if (s.ok()) {
      (*upd)->BindBlob(1, stored.SerializeAsString()).Bind(2, id);
      s = (*upd)->Run();
    }
  }
  if (s.ok()) s = stmts_->commit->Run();
  if (!s.ok()) {
    Rollback();
    return s;
  }
  {
    std::lock_guard<std::mutex> queue(queue_mu_);
    known_runs_.insert(id);
  }
  return id;
}

absl::Status SqliteLineageStore::UpdateRun(const Run& run) {
  if (absl::Status w = CheckWritable(); !w.ok()) return w;
  std::lock_guard<std::mutex> lock(mu_);
  absl::StatusOr<std::unique_ptr<sqlite::Statement>> upd = db_->Prepare(
      "UPDATE runs SET program = ?1, status = ?2, start_us = ?3, end_us = ?4, proto = ?5 "
      "WHERE id = ?6");
  if (!upd.ok()) return upd.status();
  (*upd)->BindText(1, run.program())
      .Bind(2, run.status())
      .Bind(3, Micros(run.start_time()))
      .Bind(4, Micros(run.end_time()))
      .BindBlob(5, run.SerializeAsString())
      .Bind(6, run.id());
  absl::Status s = (*upd)->Run();
  if (!s.ok()) return s;
  if (sqlite3_changes(db_->get()) == 0) {
    return absl::NotFoundError(absl::StrCat("no run with id ", run.id(), " in ", path_));
  }
  return absl::OkStatus();
}

absl::Status SqliteLineageStore::DeleteRun(int64_t id) {
  if (absl::Status w = CheckWritable(); !w.ok()) return w;
  std::lock_guard<std::mutex> lock(mu_);
  absl::Status s = FlushLocked();
  if (!s.ok()) return s;
  {
    std::lock_guard<std::mutex> queue(queue_mu_);
    known_runs_.erase(id);  // look it up afresh: another process may have deleted it
  }
  s = CheckRunExists(id);
  if (!s.ok()) return s;
  {
    std::lock_guard<std::mutex> queue(queue_mu_);
    known_runs_.erase(id);
  }
  representatives_.clear();  // representatives and artifacts change below
  artifact_ids_.clear();
  s = stmts_->begin->Run();
  if (!s.ok()) return s;
  // Remove the run's events (found through its executions' protos), then its executions;
  // hand the events of each action the run carried to the oldest remaining execution of
  // that action (a cache hit elsewhere); then remove the artifacts no event names any more,
  // and the run.
  absl::flat_hash_set<Digest> touched;
  struct Leaving {
    int64_t id;
    std::string result;
    Execution proto;
  };
  std::vector<Leaving> representatives;
  {
    absl::StatusOr<std::unique_ptr<sqlite::Statement>> q =
        db_->Prepare("SELECT id, proto, rep_id, result_key FROM executions WHERE run_id = ?1");
    if (!q.ok()) s = q.status();
    if (s.ok()) (*q)->Bind(1, id);
    while (s.ok()) {
      absl::StatusOr<bool> row = (*q)->Step();
      if (!row.ok()) s = row.status();
      if (!s.ok() || !*row) break;
      if ((*q)->Int(2) != 0) continue;  // a hit: its events are its representative's
      Execution e;
      const absl::string_view blob = (*q)->Blob(1);
      if (!e.ParseFromArray(blob.data(), static_cast<int>(blob.size()))) {
        s = absl::DataLossError(
            absl::StrCat("corrupt lineage database ", path_, ": an execution does not parse"));
        break;
      }
      s = DeleteEvents(e, &touched);
      representatives.push_back(Leaving{(*q)->Int(0), std::string((*q)->Blob(3)), std::move(e)});
    }
    if (q.ok()) (*q)->Reset();
  }
  // The run's compact hits go with it; those of other runs that repeat a leaving
  // representative are written out in full first, to be handed on below.
  if (s.ok()) {
    absl::StatusOr<std::unique_ptr<sqlite::Statement>> del =
        db_->Prepare("DELETE FROM hits WHERE run_id = ?1");
    if (!del.ok()) s = del.status();
    if (s.ok()) s = (*del)->Bind(1, id).Run();
  }
  for (const Leaving& r : representatives) {
    if (!s.ok()) break;
    s = MaterializeHits(r.id, r.proto);
  }
  for (const char* sql : {"DELETE FROM executions WHERE run_id = ?1",
                          "DELETE FROM runs WHERE id = ?1"}) {
    if (!s.ok()) break;
    absl::StatusOr<std::unique_ptr<sqlite::Statement>> stmt = db_->Prepare(sql);
    if (!stmt.ok()) {
      s = stmt.status();
      break;
    }
    (*stmt)->Bind(1, id);
    s = (*stmt)->Run();
  }
  for (const Leaving& r : representatives) {
    if (!s.ok()) break;
    s = ReassignHits(r.id, r.result);
  }
  if (s.ok()) s = DeleteUnreferencedArtifacts(touched);
  if (s.ok()) s = stmts_->commit->Run();
  if (!s.ok()) Rollback();
  return s;
}

void SqliteLineageStore::Rollback() {
  stmts_->rollback->Run().IgnoreError();
  // Whatever the transaction cached may not exist.
  representatives_.clear();
  artifact_ids_.clear();
}

absl::Status SqliteLineageStore::CheckRepresentatives() {
  // data_version changes when another connection commits: then the cached representatives
  // may have been deleted or replaced, and are forgotten.
  sqlite::Statement& q = *stmts_->data_version;
  sqlite::ResetOnExit reset(q);
  absl::StatusOr<bool> row = q.Step();
  if (!row.ok()) return row.status();
  const int64_t version = *row ? q.Int(0) : -1;
  if (version != data_version_) {
    representatives_.clear();
    artifact_ids_.clear();
  }
  data_version_ = version;
  return absl::OkStatus();
}

absl::Status SqliteLineageStore::ReassignHits(int64_t old_rep, const std::string& result) {
  // Another representative of the same result, if there is one...
  int64_t heir = 0;
  if (!result.empty()) {
    sqlite::Statement& q = *stmts_->representative_of_result;
    sqlite::ResetOnExit reset(q);
    q.BindBlob(1, result).Bind(2, old_rep);
    absl::StatusOr<bool> row = q.Step();
    if (!row.ok()) return row.status();
    if (*row) heir = q.Int(0);
  }
  // ...else the oldest hit that named the old one becomes the representative.
  if (heir == 0) {
    sqlite::Statement& q = *stmts_->hits_of_representative;
    sqlite::ResetOnExit reset(q);
    q.Bind(1, old_rep);
    absl::StatusOr<bool> row = q.Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::OkStatus();  // nobody named it
    heir = q.Int(0);
  }
  if (heir != 0) {
    absl::StatusOr<Execution> e = LoadExecution(heir);
    if (!e.ok()) return e.status();
    sqlite::Statement& rep = *stmts_->rep_of_execution;
    int64_t heir_rep = 0;
    {
      sqlite::ResetOnExit reset(rep);
      rep.Bind(1, heir);
      absl::StatusOr<bool> row = rep.Step();
      if (!row.ok()) return row.status();
      if (*row) heir_rep = rep.Int(0);
    }
    if (heir_rep != 0) {
      absl::Status s = WriteExecution(*e, /*force_events=*/true);
      if (!s.ok()) return s;
    }
  }
  sqlite::Statement& move = *stmts_->move_hits;
  move.Bind(1, heir).Bind(2, old_rep);
  return move.Run();
}

}  // namespace mlops
