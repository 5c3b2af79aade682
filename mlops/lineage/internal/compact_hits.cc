#include "mlops/lineage/internal/compact_hits.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "mlops/lineage/internal/columns.h"

namespace mlops {
namespace lineage_internal {
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

Digest TemplateDigest(Execution& e) {
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

bool CompactHits::Fits(const Execution& e) {
  int64_t ns = 0;
  return e.status() == Execution::CACHED && e.cache_hit() && e.has_start_time() &&
         e.has_end_time() && ToNanos(e.start_time(), &ns) && ToNanos(e.end_time(), &ns);
}

absl::StatusOr<Execution> CompactHits::Load(int64_t id) {
  sqlite::Statement& q = *stmts_.get_hit;
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

absl::StatusOr<bool> CompactHits::Contains(int64_t id) {
  sqlite::Statement& q = *stmts_.get_hit;
  sqlite::ResetOnExit reset(q);
  q.Bind(1, id);
  return q.Step();
}

absl::StatusOr<std::vector<Execution>> CompactHits::OfRun(int64_t run_id) {
  sqlite::Statement& q = *stmts_.compact_hits_of_run;
  q.Bind(1, run_id);
  return Rows(q);
}

absl::StatusOr<std::vector<Execution>> CompactHits::OfStep(const std::string& step_name,
                                                           const NewestFirst& after,
                                                           int64_t limit) {
  sqlite::Statement& q = *stmts_.compact_hits_of_step;
  q.BindText(1, step_name).Bind(2, limit).Bind(3, after.start_us).Bind(4, after.id);
  return Rows(q);
}

absl::StatusOr<int64_t> CompactHits::CountOfRun(int64_t run_id) {
  sqlite::Statement& q = *stmts_.count_hits_of_run;
  sqlite::ResetOnExit reset(q);
  q.Bind(1, run_id);
  absl::StatusOr<bool> row = q.Step();
  if (!row.ok()) return row.status();
  return *row ? q.Int(0) : 0;
}

absl::StatusOr<std::vector<Execution>> CompactHits::Rows(sqlite::Statement& q) {
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

absl::Status CompactHits::Insert(const Execution& e, int64_t representative) {
  int64_t start_ns = 0;
  int64_t end_ns = 0;
  ToNanos(e.start_time(), &start_ns);
  ToNanos(e.end_time(), &end_ns);
  sqlite::Statement& ins = *stmts_.insert_hit;
  ins.Bind(1, e.id()).Bind(2, e.run_id()).Bind(3, representative).Bind(4, start_ns).Bind(5, end_ns);
  return ins.Run();
}

absl::Status CompactHits::Delete(int64_t id) {
  return stmts_.delete_hit->Bind(1, id).Run();
}

absl::Status CompactHits::DeleteOfRun(int64_t run_id) {
  return stmts_.delete_hits_of_run->Bind(1, run_id).Run();
}

absl::StatusOr<std::vector<Execution>> CompactHits::Take(int64_t representative,
                                                         const Execution& rep_proto) {
  std::vector<Execution> hits;
  {
    sqlite::Statement& q = *stmts_.compact_hits_of_representative;
    sqlite::ResetOnExit reset(q);
    q.Bind(1, representative);
    while (true) {
      absl::StatusOr<bool> row = q.Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      hits.push_back(Rebuild(rep_proto, q.Int(0), q.Int(1), q.Int(2), q.Int(3)));
    }
  }
  if (hits.empty()) return hits;
  absl::Status s = stmts_.delete_compact_hits_of_representative->Bind(1, representative).Run();
  if (!s.ok()) return s;
  return hits;
}

}  // namespace lineage_internal
}  // namespace mlops
