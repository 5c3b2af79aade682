// SqliteLineageStore: compact cache hits.
//
// A cache hit that repeats its representative in everything but its id, run, status,
// cache_hit flag and times is stored as one small row of the `hits` table naming the
// representative, instead of a whole executions row with its serialized proto; reading it
// rebuilds it from the representative's proto. Whether a hit qualifies is decided by
// comparing digests of the two protos with those fields cleared ("templates"), so nothing
// recorded is ever lost: a hit that differs in anything else (an input's label, a logged
// metric, ...) is stored in full as before.
//
// A representative that changes (UpdateExecution) or goes away (DeleteRun) first turns its
// compact hits back into full rows, which are then handed on like any full-row hit.
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "mlops/base/internal/sqlite.h"
#include "mlops/lineage/internal/store_internal.h"
#include "mlops/lineage/sqlite_lineage_store.h"

namespace mlops {
namespace {

constexpr int64_t kNanosPerSecond = 1000000000;
// Timestamps within this many seconds of the epoch fit in int64 nanoseconds.
constexpr int64_t kMaxCompactSeconds = 9000000000;

// `t` as nanoseconds since the epoch, if it is a valid timestamp that fits.
bool ToNanos(const google::protobuf::Timestamp& t, int64_t* ns) {
  if (t.nanos() < 0 || t.nanos() >= kNanosPerSecond) return false;
  if (t.seconds() > kMaxCompactSeconds || t.seconds() < -kMaxCompactSeconds) return false;
  *ns = t.seconds() * kNanosPerSecond + t.nanos();
  return true;
}

void FromNanos(int64_t ns, google::protobuf::Timestamp* t) {
  int64_t seconds = ns / kNanosPerSecond;
  int64_t nanos = ns % kNanosPerSecond;
  if (nanos < 0) {  // floor, so that nanos is in [0, 1e9)
    nanos += kNanosPerSecond;
    --seconds;
  }
  t->set_seconds(seconds);
  t->set_nanos(static_cast<int32_t>(nanos));
}

}  // namespace

Digest lineage_internal::TemplateDigest(Execution& e) {
  const int64_t id = e.id();
  const int64_t run_id = e.run_id();
  const Execution::Status status = e.status();
  const bool cache_hit = e.cache_hit();
  google::protobuf::Timestamp* start = e.has_start_time() ? e.release_start_time() : nullptr;
  google::protobuf::Timestamp* end = e.has_end_time() ? e.release_end_time() : nullptr;
  e.clear_id();
  e.clear_run_id();
  e.clear_status();
  e.clear_cache_hit();
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream out(&bytes);
    google::protobuf::io::CodedOutputStream coded(&out);
    coded.SetSerializationDeterministic(true);  // map entries in key order
    e.SerializePartialToCodedStream(&coded);
  }
  e.set_id(id);
  e.set_run_id(run_id);
  e.set_status(status);
  e.set_cache_hit(cache_hit);
  if (start != nullptr) e.set_allocated_start_time(start);
  if (end != nullptr) e.set_allocated_end_time(end);
  return Digest::Of(bytes);
}

namespace {

// The hit a hits row stands for: its representative's proto with the row's fields.
Execution Rebuild(Execution rep, int64_t id, int64_t run_id, int64_t start_ns, int64_t end_ns) {
  rep.set_id(id);
  rep.set_run_id(run_id);
  rep.set_status(Execution::CACHED);
  rep.set_cache_hit(true);
  FromNanos(start_ns, rep.mutable_start_time());
  FromNanos(end_ns, rep.mutable_end_time());
  return rep;
}

absl::Status Corrupt(const std::string& path, absl::string_view what) {
  return absl::DataLossError(absl::StrCat("corrupt lineage database ", path, ": ", what));
}

// The representative `rep_id` of compact hit `hit_id`, parsed from `blob` (its proto column
// in the row that joined it); DATA_LOSS if it is missing (`present` false) or does not parse.
absl::StatusOr<Execution> ParseRepresentative(const std::string& path, int64_t hit_id,
                                              int64_t rep_id, bool present,
                                              absl::string_view blob) {
  Execution rep;
  if (!present || !rep.ParseFromArray(blob.data(), static_cast<int>(blob.size()))) {
    return Corrupt(path, absl::StrCat("cache hit ", hit_id, " names representative ", rep_id,
                                      ", which is missing or does not parse"));
  }
  return rep;
}

}  // namespace

absl::Status SqliteLineageStore::WriteCompactHit(Execution& e, const std::string& result_key,
                                                 int64_t representative, bool* written) {
  *written = false;
  int64_t start_ns = 0;
  int64_t end_ns = 0;
  if (e.status() != Execution::CACHED || !e.cache_hit() || !e.has_start_time() ||
      !e.has_end_time() || !ToNanos(e.start_time(), &start_ns) ||
      !ToNanos(e.end_time(), &end_ns)) {
    return absl::OkStatus();
  }
  // The representative's template: stored with it, or (empty in databases upgraded from
  // development builds) computed once per connection.
  auto cached = representatives_.find(result_key);
  const bool known = cached != representatives_.end() && cached->second.id == representative;
  Digest rep_template;
  if (known && cached->second.has_template) {
    rep_template = cached->second.template_digest;
  } else {
    absl::StatusOr<Execution> rep = LoadExecution(representative);
    if (!rep.ok()) return rep.status();
    rep_template = lineage_internal::TemplateDigest(*rep);
    if (known) {
      cached->second.template_digest = rep_template;
      cached->second.has_template = true;
    }
  }
  if (lineage_internal::TemplateDigest(e) != rep_template) return absl::OkStatus();
  sqlite::Statement& ins = *stmts_->insert_hit;
  ins.Bind(1, e.id()).Bind(2, e.run_id()).Bind(3, representative).Bind(4, start_ns).Bind(5, end_ns);
  absl::Status s = ins.Run();
  if (!s.ok()) return s;
  *written = true;
  return absl::OkStatus();
}

absl::StatusOr<Execution> SqliteLineageStore::LoadCompactHit(int64_t id) {
  sqlite::Statement& q = *stmts_->get_hit;
  sqlite::ResetOnExit reset(q);
  q.Bind(1, id);
  absl::StatusOr<bool> row = q.Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::NotFoundError(absl::StrCat("no execution with id ", id, " in ", path_));
  absl::StatusOr<Execution> rep =
      ParseRepresentative(path_, id, q.Int(1), q.Int(5) != 0, q.Blob(4));
  if (!rep.ok()) return rep.status();
  return Rebuild(*std::move(rep), id, q.Int(0), q.Int(2), q.Int(3));
}

absl::StatusOr<bool> SqliteLineageStore::IsCompactHit(int64_t id) {
  sqlite::Statement& q = *stmts_->get_hit;
  sqlite::ResetOnExit reset(q);
  q.Bind(1, id);
  return q.Step();
}

absl::Status SqliteLineageStore::MaterializeHits(int64_t representative,
                                                 const Execution& rep_proto) {
  std::vector<Execution> hits;
  {
    sqlite::Statement& q = *stmts_->compact_hits_of_representative;
    sqlite::ResetOnExit reset(q);
    q.Bind(1, representative);
    while (true) {
      absl::StatusOr<bool> row = q.Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      hits.push_back(Rebuild(rep_proto, q.Int(0), q.Int(1), q.Int(2), q.Int(3)));
    }
  }
  if (hits.empty()) return absl::OkStatus();
  sqlite::Statement& del = *stmts_->delete_compact_hits_of_representative;
  del.Bind(1, representative);
  absl::Status s = del.Run();
  if (!s.ok()) return s;
  const std::string result_key = lineage_internal::ResultKey(rep_proto);
  for (const Execution& hit : hits) {
    std::string proto;
    hit.SerializeToString(&proto);
    s = InsertExecutionRow(hit, representative, result_key, proto, "");
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Execution>> SqliteLineageStore::CompactHits(sqlite::Statement& q) {
  sqlite::ResetOnExit reset(q);
  std::vector<Execution> out;
  absl::flat_hash_map<int64_t, Execution> reps;  // parsed once each
  while (true) {
    absl::StatusOr<bool> row = q.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    const int64_t rep_id = q.Int(4);
    auto it = reps.find(rep_id);
    if (it == reps.end()) {
      absl::StatusOr<Execution> rep =
          ParseRepresentative(path_, q.Int(0), rep_id, q.Int(6) != 0, q.Blob(5));
      if (!rep.ok()) return rep.status();
      it = reps.emplace(rep_id, *std::move(rep)).first;
    }
    out.push_back(Rebuild(it->second, q.Int(0), q.Int(1), q.Int(2), q.Int(3)));
  }
  return out;
}

absl::StatusOr<std::vector<Execution>> SqliteLineageStore::CompactHitsOfRun(int64_t run_id) {
  sqlite::Statement& q = *stmts_->compact_hits_of_run;
  q.Bind(1, run_id);
  return CompactHits(q);
}

absl::StatusOr<std::vector<Execution>> SqliteLineageStore::CompactHitsOfStep(
    const std::string& step_name, int limit) {
  sqlite::Statement& q = *stmts_->compact_hits_of_step;
  q.BindText(1, step_name).Bind(2, limit);
  return CompactHits(q);
}

}  // namespace mlops
