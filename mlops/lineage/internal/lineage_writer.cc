// LineageWriter: writing executions (batches, compact hits, artifacts, events). Runs,
// updates and deletions are in lineage_writer_changes.cc.
#include "mlops/lineage/internal/lineage_writer.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "mlops/lineage/internal/columns.h"

namespace mlops {
namespace lineage_internal {
namespace {

// The cache of representatives (result key → execution) is dropped when it grows past this.
constexpr size_t kMaxCachedRepresentatives = 100000;
// Likewise the cache of artifact ids (digest → row id).
constexpr size_t kMaxCachedArtifacts = 100000;

}  // namespace

absl::Status LineageWriter::WriteBatch(std::vector<Execution>& batch,
                                       const std::vector<PointsAppend>& points) {
  absl::Status s = stmts_.begin->Run();
  if (s.ok()) s = CheckRepresentatives();
  if (s.ok()) {
    for (Execution& e : batch) {
      s = WriteExecution(e);
      if (!s.ok()) break;
    }
    for (const PointsAppend& append : points) {
      if (!s.ok()) break;
      s = tracking_.Append(append);
    }
    if (s.ok()) s = stmts_.commit->Run();
    if (!s.ok()) Rollback();
  }
  if (!s.ok()) ForgetCaches();  // what the failed transaction added is not there
  return s;
}

absl::StatusOr<std::pair<int64_t, int64_t>> LineageWriter::ReserveIds(int64_t size) {
  sqlite::Statement& q = *stmts_.reserve_ids;
  sqlite::ResetOnExit reset(q);
  q.Bind(1, size);
  absl::StatusOr<bool> row = q.Step();
  if (!row.ok()) return row.status();
  if (!*row) {
    return absl::InternalError(absl::StrCat("id_blocks has no 'execution' row in ", path_));
  }
  const int64_t end = q.Int(0);
  return std::make_pair(end - size, end);
}

absl::Status LineageWriter::WriteExecution(Execution& e, bool force_events) {
  absl::Status s = WriteExecutionRecord(e, force_events);
  if (s.ok()) s = tracking_.WriteExecutionValues(e);
  return s;
}

absl::Status LineageWriter::WriteExecutionRecord(Execution& e, bool force_events) {
  const std::string result_key = ResultKey(e);
  int64_t representative = 0;
  if (!force_events && e.cache_hit() && !result_key.empty()) {
    auto cached = representatives_.find(result_key);
    if (cached != representatives_.end() && cached->second.id != e.id()) {
      representative = cached->second.id;
    } else {
      sqlite::Statement& q = *stmts_.representative_of_result;
      sqlite::ResetOnExit reset(q);
      q.BindBlob(1, result_key).Bind(2, e.id());
      absl::StatusOr<bool> row = q.Step();
      if (!row.ok()) return row.status();
      if (*row) {
        representative = q.Int(0);
        Representative known(representative);
        if (q.Blob(1).size() == Digest::kBytes) {
          known.has_template = true;
          known.template_digest = DigestFromBlob(q.Blob(1));
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
    self.template_digest = TemplateDigest(e);
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
      sqlite::Statement& ev = *stmts_.insert_event;
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

absl::Status LineageWriter::WriteCompactHit(Execution& e, const std::string& result_key,
                                            int64_t representative, bool* written) {
  *written = false;
  if (!CompactHits::Fits(e)) return absl::OkStatus();
  // The representative's template: stored with it, or (empty in databases upgraded from
  // development builds) computed once per connection.
  auto cached = representatives_.find(result_key);
  const bool known = cached != representatives_.end() && cached->second.id == representative;
  Digest rep_template;
  if (known && cached->second.has_template) {
    rep_template = cached->second.template_digest;
  } else {
    absl::StatusOr<Execution> rep = reader_.LoadExecution(representative);
    if (!rep.ok()) return rep.status();
    rep_template = TemplateDigest(*rep);
    if (known) {
      cached->second.template_digest = rep_template;
      cached->second.has_template = true;
    }
  }
  if (TemplateDigest(e) != rep_template) return absl::OkStatus();
  absl::Status s = hits_.Insert(e, representative);
  if (!s.ok()) return s;
  *written = true;
  return absl::OkStatus();
}

absl::Status LineageWriter::InsertExecutionRow(const Execution& e, int64_t representative,
                                               const std::string& result_key,
                                               const std::string& proto,
                                               const std::string& template_blob) {
  std::string key_blob;
  if (!e.action_key().empty()) key_blob = DigestBlob(*Digest::FromHex(e.action_key()));
  sqlite::Statement& ins = *stmts_.insert_execution;
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

absl::StatusOr<int64_t> LineageWriter::ArtifactId(const ArtifactRef& ref) {
  const Digest d = *Digest::FromHex(ref.digest());
  const bool adds_nothing = ref.label().empty() && ref.uri().empty();
  auto cached = artifact_ids_.find(d);
  if (cached != artifact_ids_.end() && adds_nothing) return cached->second;
  const std::string blob = DigestBlob(d);
  int64_t id = 0;
  if (cached == artifact_ids_.end()) {  // most often a new output: try to insert it
    sqlite::Statement& ins = *stmts_.insert_artifact;
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
    sqlite::Statement& q = *stmts_.find_artifact;
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
      sqlite::Statement& fill = *stmts_.fill_artifact;
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

absl::Status LineageWriter::DeleteEvents(const Execution& e,
                                         absl::flat_hash_set<Digest>* digests) {
  const auto remove = [&](const auto& refs, Event::Kind kind) -> absl::Status {
    for (const ArtifactRef& r : refs) {
      const Digest d = *Digest::FromHex(r.digest());
      if (digests != nullptr) digests->insert(d);
      sqlite::Statement& del = *stmts_.delete_event;
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

absl::Status LineageWriter::DeleteUnreferencedArtifacts(
    const absl::flat_hash_set<Digest>& digests) {
  for (const Digest& d : digests) {
    absl::Status s = stmts_.delete_unreferenced_artifact->BindBlob(1, DigestBlob(d)).Run();
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status LineageWriter::CheckRepresentatives() {
  // data_version changes when another connection commits: then the cached representatives
  // may have been deleted or replaced, and are forgotten.
  sqlite::Statement& q = *stmts_.data_version;
  sqlite::ResetOnExit reset(q);
  absl::StatusOr<bool> row = q.Step();
  if (!row.ok()) return row.status();
  const int64_t version = *row ? q.Int(0) : -1;
  if (version != data_version_) ForgetCaches();
  data_version_ = version;
  return absl::OkStatus();
}

void LineageWriter::ForgetCaches() {
  representatives_.clear();
  artifact_ids_.clear();
}

void LineageWriter::Rollback() {
  stmts_.rollback->Run().IgnoreError();
  ForgetCaches();  // whatever the transaction cached may not exist
}

}  // namespace lineage_internal
}  // namespace mlops
