#include "mlops/core/workspace.h"

#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "mlops/base/file_io.h"
#include "mlops/core/environment.h"
#include "mlops/core/internal/store_writer.h"
#include "mlops/store/memory_store.h"

namespace mlops {
namespace {

void SetTime(google::protobuf::Timestamp* t, absl::Time time) {
  const int64_t us = absl::ToUnixMicros(time);
  t->set_seconds(us / 1000000);
  t->set_nanos(static_cast<int32_t>(us % 1000000) * 1000);
}

const char* ModeName(CacheMode mode) {
  switch (mode) {
    case CacheMode::kNormal: return "normal";
    case CacheMode::kForce: return "force";
    case CacheMode::kReadOnly: return "read-only";
    case CacheMode::kVerify: return "verify";
  }
  return "?";
}

}  // namespace

// A computation in progress in this process, which later callers of the same key wait for.
struct Workspace::InFlight {
  std::mutex mu;
  std::condition_variable done_cv;
  bool done = false;
  absl::Status status;
  std::shared_ptr<const MemoryEntry> entry;
};

Workspace::Workspace(std::string dir, WorkspaceOptions options)
    : dir_(std::move(dir)), options_(std::move(options)), host_(HostName()) {}

absl::StatusOr<std::unique_ptr<Workspace>> Workspace::Open(const std::string& dir,
                                                           WorkspaceOptions options) {
  if (dir.empty()) return absl::InvalidArgumentError("workspace directory is empty");
  absl::Status s = MakeDirectories(dir);
  if (!s.ok()) return s;
  DiskStoreOptions store_options;
  store_options.durability = options.durability;
  absl::StatusOr<std::unique_ptr<DiskStore>> store =
      DiskStore::Open(dir + "/store", store_options);
  if (!store.ok()) return store.status();
  absl::StatusOr<std::unique_ptr<ActionCache>> cache =
      ActionCache::OpenOnDisk(dir + "/ac", store->get(), options.durability);
  if (!cache.ok()) return cache.status();
  absl::StatusOr<std::unique_ptr<SqliteLineageStore>> lineage =
      SqliteLineageStore::Open(dir + "/lineage.db", options.lineage);
  if (!lineage.ok()) return lineage.status();
  std::unique_ptr<Workspace> ws(new Workspace(dir, std::move(options)));
  // The stat cache only saves work; a damaged one is ignored and rebuilt.
  ws->files_.Load(dir + "/stat_cache").IgnoreError();
  s = ws->Begin(*std::move(store), *std::move(cache), *std::move(lineage));
  if (!s.ok()) return s;
  return ws;
}

std::string Workspace::DefaultDir() {
  if (const char* dir = std::getenv("MLOPS_WORKSPACE"); dir != nullptr && *dir != '\0') {
    return dir;
  }
  if (const char* cwd = std::getenv("BUILD_WORKING_DIRECTORY"); cwd != nullptr && *cwd != '\0') {
    return absl::StrCat(cwd, "/.mlops");
  }
  return ".mlops";
}

absl::StatusOr<std::unique_ptr<Workspace>> Workspace::InMemory(WorkspaceOptions options) {
  auto store = std::make_unique<MemoryStore>();
  std::unique_ptr<ActionCache> cache = ActionCache::InMemory(store.get());
  absl::StatusOr<std::unique_ptr<SqliteLineageStore>> lineage =
      SqliteLineageStore::Open(":memory:", options.lineage);
  if (!lineage.ok()) return lineage.status();
  std::unique_ptr<Workspace> ws(new Workspace("", std::move(options)));
  absl::Status s = ws->Begin(std::move(store), std::move(cache), *std::move(lineage));
  if (!s.ok()) return s;
  return ws;
}

absl::Status Workspace::Begin(std::unique_ptr<ContentStore> store,
                              std::unique_ptr<ActionCache> cache,
                              std::unique_ptr<LineageStore> lineage) {
  store_ = std::move(store);
  action_cache_ = std::move(cache);
  lineage_ = std::move(lineage);
  if (!dir_.empty() && options_.write_behind && options_.durability == Durability::kNone) {
    writer_ = std::make_unique<core_internal::StoreWriter>(store_.get(), action_cache_.get(),
                                                           options_.write_behind_bytes);
  }
  Run run;
  const std::vector<std::string> command_line = CommandLine();
  std::string program = options_.program;
  if (program.empty() && !command_line.empty()) program = command_line[0];
  if (program.empty()) program = "unknown";
  run.set_program(program);
  if (!options_.args.empty()) {
    for (const std::string& a : options_.args) run.add_args(a);
  } else {
    for (size_t i = 1; i < command_line.size(); ++i) run.add_args(command_line[i]);
  }
  run.set_host(host_);
  run.set_user(UserName());
  SetTime(run.mutable_start_time(), absl::Now());
  run.set_status(Run::RUNNING);
  *run.mutable_environment() = CaptureEnvironment();
  absl::StatusOr<int64_t> id = lineage_->BeginRun(run);
  if (!id.ok()) return id.status();
  run_id_ = *id;
  return absl::OkStatus();
}

Workspace::~Workspace() {
  if (writer_ != nullptr) {
    // Nobody is left to hear of a failed write but the user.
    const absl::Status s = writer_->Drain();
    if (!s.ok()) {
      std::fprintf(stderr, "mlops: a result could not be stored in %s (it will be computed "
                   "again next time): %s\n", dir_.c_str(), s.ToString().c_str());
    }
    writer_.reset();
  }
  if (lineage_ != nullptr && run_id_ != 0) {
    absl::StatusOr<Run> run = lineage_->GetRun(run_id_);
    if (run.ok()) {
      SetTime(run->mutable_end_time(), absl::Now());
      run->set_status(stats().failures > 0 ? Run::FAILED : Run::SUCCEEDED);
      lineage_->UpdateRun(*run).IgnoreError();
    }
  }
  Flush().IgnoreError();
}

absl::Status Workspace::Flush() {
  absl::Status s = writer_ != nullptr ? writer_->Drain() : absl::OkStatus();
  if (lineage_ != nullptr) {
    absl::Status flushed = lineage_->Flush();
    if (s.ok()) s = flushed;
  }
  if (!dir_.empty()) {
    absl::Status saved = files_.Save(dir_ + "/stat_cache");
    if (s.ok()) s = saved;
  }
  return s;
}

Workspace::Stats Workspace::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void Workspace::Count(int64_t Stats::*field) {
  std::lock_guard<std::mutex> lock(mu_);
  ++(stats_.*field);
}

Digest Workspace::ActionKey(const ActionRequest& request) {
  // Encoded like the tuple (domain, step name, version, [(input signature, digest)...],
  // output signature), so the key is a function of exactly these.
  Encoder e;
  Codec<std::string>::Write("mlops.action/1", e);
  Codec<std::string>::Write(request.step_name, e);
  Codec<int32_t>::Write(request.step_version, e);
  e.AppendInt<uint64_t>(request.inputs.size());
  for (const ActionInput& in : request.inputs) {
    Codec<std::string>::Write(in.signature, e);
    Codec<Digest>::Write(in.digest, e);
  }
  Codec<std::string>::Write(request.output_signature, e);
  return e.Finish();
}

Execution Workspace::NewExecution(const ActionRequest& request, const Digest& key) const {
  Execution exec;
  exec.set_run_id(run_id_);
  exec.set_step_name(request.step_name);
  exec.set_step_version(absl::StrCat(request.step_version));
  exec.set_action_key(key.ToHex());
  for (const ActionInput& in : request.inputs) {
    ArtifactRef* ref = exec.add_inputs();
    ref->set_name(in.name);
    ref->set_digest(in.digest.ToHex());
    ref->set_type_name(in.type_name);
    ref->set_size(in.size);
    ref->set_label(in.label);
    ref->set_uri(in.uri);
  }
  return exec;
}

void Workspace::Remember(const Digest& key, std::shared_ptr<const MemoryEntry> entry) {
  if (entry->bytes > options_.memory_cache_bytes) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = memory_.find(key);
  if (it != memory_.end()) {
    memory_bytes_ -= it->second.first->bytes;
    lru_.erase(it->second.second);
    memory_.erase(it);
  }
  lru_.push_front(key);
  memory_bytes_ += entry->bytes;
  memory_.emplace(key, std::make_pair(std::move(entry), lru_.begin()));
  while (memory_bytes_ > options_.memory_cache_bytes && !lru_.empty()) {
    auto last = memory_.find(lru_.back());
    memory_bytes_ -= last->second.first->bytes;
    memory_.erase(last);
    lru_.pop_back();
  }
}

absl::StatusOr<std::shared_ptr<const Workspace::MemoryEntry>> Workspace::Lookup(
    const Digest& key, bool load) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = memory_.find(key);
    if (it != memory_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second.second);
      return it->second.first;
    }
  }
  if (writer_ != nullptr) {  // computed here, and still being written
    if (std::shared_ptr<const MemoryEntry> pending = writer_->Pending(key)) return pending;
  }
  absl::StatusOr<ActionResult> result = action_cache_->Get(key);
  if (!result.ok()) {
    // A corrupt record was removed by the cache: for the caller it is a miss.
    if (absl::IsDataLoss(result.status())) return absl::NotFoundError("corrupt record");
    return result.status();
  }
  auto entry = std::make_shared<MemoryEntry>();
  if (!load) {  // digests only: ActionCache::Get has checked that every output is present
    entry->result = *std::move(result);
    return std::shared_ptr<const MemoryEntry>(std::move(entry));
  }
  for (const OutputRef& out : result->outputs()) {
    absl::StatusOr<Blob> blob = store_->Get(*Digest::FromHex(out.digest()));
    if (!blob.ok()) {
      if (absl::IsNotFound(blob.status()) || absl::IsDataLoss(blob.status())) {
        action_cache_->Delete(key).IgnoreError();
        return absl::NotFoundError("an output is gone or corrupt");
      }
      return blob.status();
    }
    entry->bytes += static_cast<int64_t>(blob->size());
    entry->blobs.push_back(std::make_shared<const Blob>(*std::move(blob)));
  }
  entry->result = *std::move(result);
  Remember(key, entry);
  return std::shared_ptr<const MemoryEntry>(std::move(entry));
}

absl::StatusOr<ActionOutcome> Workspace::Execute(const ActionRequest& request,
                                                 const ActionRunner& runner) {
  const Digest key = ActionKey(request);
  const auto hit = [&](const MemoryEntry& entry) -> absl::StatusOr<ActionOutcome> {
    ActionOutcome outcome;
    outcome.action_key = key;
    outcome.cache_hit = true;
    for (int i = 0; i < entry.result.outputs_size(); ++i) {
      const OutputRef& out = entry.result.outputs(i);
      outcome.digests.push_back(*Digest::FromHex(out.digest()));
      outcome.sizes.push_back(out.size());
      if (request.load_outputs) outcome.bytes.push_back(entry.blobs[static_cast<size_t>(i)]);
    }
    if (request.mode != CacheMode::kReadOnly) {
      Execution exec = NewExecution(request, key);
      exec.set_status(Execution::CACHED);
      exec.set_cache_hit(true);
      const absl::Time now = absl::Now();
      SetTime(exec.mutable_start_time(), now);
      SetTime(exec.mutable_end_time(), now);
      for (const OutputRef& out : entry.result.outputs()) {
        ArtifactRef* ref = exec.add_outputs();
        ref->set_name(out.name());
        ref->set_digest(out.digest());
        ref->set_size(out.size());
        ref->set_type_name(out.type_name());
      }
      *exec.mutable_params() = entry.result.params();
      *exec.mutable_metrics() = entry.result.metrics();
      absl::StatusOr<int64_t> id = lineage_->RecordExecution(std::move(exec));
      if (!id.ok()) return id.status();
      outcome.execution_id = *id;
    }
    Count(&Stats::hits);
    return outcome;
  };

  // Results this process stored before our lookup: if none is stored before we register
  // below, a lookup then would find nothing new.
  const uint64_t stored_before = results_stored_.load(std::memory_order_acquire);
  if (request.mode != CacheMode::kForce) {
    absl::StatusOr<std::shared_ptr<const MemoryEntry>> cached =
        Lookup(key, request.load_outputs);
    if (cached.ok()) {
      if (request.mode != CacheMode::kVerify) return hit(**cached);
      return Compute(request, key, runner, cached->get(), nullptr);
    }
    if (!absl::IsNotFound(cached.status())) return cached.status();
    if (request.mode == CacheMode::kReadOnly) {
      return absl::NotFoundError(absl::StrCat("step '", request.step_name, "' (version ",
                                              request.step_version,
                                              ") has no cached result for these inputs (",
                                              ModeName(request.mode), " call)"));
    }
  }

  if (request.mode != CacheMode::kNormal) return Compute(request, key, runner, nullptr, nullptr);

  // A miss. If this process is already computing the same key, wait for that instead.
  std::shared_ptr<InFlight> flight;
  bool leader = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = in_flight_.find(key);
    if (it != in_flight_.end()) {
      flight = it->second;
    } else {
      flight = std::make_shared<InFlight>();
      in_flight_.emplace(key, flight);
      leader = true;
    }
  }
  if (!leader) {
    std::unique_lock<std::mutex> lock(flight->mu);
    flight->done_cv.wait(lock, [&] { return flight->done; });
    if (!flight->status.ok()) {
      Count(&Stats::failures);
      return flight->status;
    }
    return hit(*flight->entry);
  }

  // The leader. A call that finished between our lookup and our registration may have
  // stored the result meanwhile: look once more before computing, if any call has. (One
  // that stores later was still in flight when we registered, and we would have waited.)
  std::shared_ptr<const MemoryEntry> entry;
  absl::StatusOr<ActionOutcome> outcome;
  absl::StatusOr<std::shared_ptr<const MemoryEntry>> again =
      results_stored_.load(std::memory_order_acquire) != stored_before
          ? Lookup(key)
          : absl::NotFoundError("nothing stored since the lookup");
  if (again.ok()) {
    entry = *std::move(again);
    outcome = hit(*entry);
  } else if (!absl::IsNotFound(again.status())) {
    outcome = again.status();
  } else {
    outcome = Compute(request, key, runner, nullptr, &entry);
  }
  {
    std::lock_guard<std::mutex> lock(flight->mu);
    flight->done = true;
    flight->status = outcome.status();
    flight->entry = std::move(entry);
  }
  flight->done_cv.notify_all();
  std::lock_guard<std::mutex> lock(mu_);
  in_flight_.erase(key);
  return outcome;
}

absl::StatusOr<ActionOutcome> Workspace::Compute(const ActionRequest& request, const Digest& key,
                                                 const ActionRunner& runner,
                                                 const MemoryEntry* cached,
                                                 std::shared_ptr<const MemoryEntry>* stored) {
  Execution exec = NewExecution(request, key);
  exec.set_status(Execution::RUNNING);
  const absl::Time start = absl::Now();
  SetTime(exec.mutable_start_time(), start);
  absl::StatusOr<int64_t> id = lineage_->RecordExecution(exec);
  if (!id.ok()) return id.status();
  exec.set_id(*id);

  const auto fail = [&](const absl::Status& status) -> absl::Status {
    exec.set_status(Execution::FAILED);
    exec.set_error_message(std::string(status.message()));
    SetTime(exec.mutable_end_time(), absl::Now());
    lineage_->UpdateExecution(exec).IgnoreError();
    Count(&Stats::failures);
    return status;
  };

  absl::StatusOr<std::vector<std::string>> outputs;
  Context ctx(request.step_name, key, run_id_, *id, dir_.empty() ? "" : dir_ + "/scratch");
  outputs = runner(ctx);
  const absl::Time end = absl::Now();
  for (const auto& [name, value] : ctx.params()) (*exec.mutable_params())[name] = value;
  for (const auto& [name, value] : ctx.metrics()) (*exec.mutable_metrics())[name] = value;
  if (!outputs.ok()) {
    return fail(absl::Status(
        outputs.status().code(),
        absl::StrCat("step '", request.step_name, "' (version ", request.step_version,
                     ") failed: ", outputs.status().message())));
  }
  if (outputs->size() != request.output_names.size()) {
    return fail(absl::InternalError(absl::StrCat("step '", request.step_name, "' produced ",
                                                 outputs->size(), " outputs, expected ",
                                                 request.output_names.size())));
  }

  ActionOutcome outcome;
  outcome.action_key = key;
  outcome.execution_id = *id;
  ActionResult result;
  SetTime(result.mutable_created(), end);
  result.set_execution_id(absl::StrCat(*id));
  result.set_run_id(absl::StrCat(run_id_));
  result.set_host(host_);
  result.set_duration_us(absl::ToInt64Microseconds(end - start));
  *result.mutable_params() = exec.params();
  *result.mutable_metrics() = exec.metrics();
  auto entry = std::make_shared<MemoryEntry>();
  // Small results are written behind (hashed here, stored by the writer); a result larger
  // than the writer's whole budget is stored here, as Put hashes it.
  int64_t total = 0;
  for (const std::string& bytes : *outputs) total += static_cast<int64_t>(bytes.size());
  const bool behind = writer_ != nullptr && cached == nullptr &&
                      total + 1024 <= options_.write_behind_bytes;
  for (size_t i = 0; i < outputs->size(); ++i) {
    std::string& bytes = (*outputs)[i];
    absl::StatusOr<Digest> digest = behind ? Digest::Of(bytes) : store_->Put(bytes);
    if (!digest.ok()) return fail(digest.status());
    OutputRef* out = result.add_outputs();
    out->set_name(request.output_names[i]);
    out->set_digest(digest->ToHex());
    out->set_size(static_cast<int64_t>(bytes.size()));
    out->set_type_name(request.output_types[i]);
    *exec.add_outputs() = ArtifactRef();
    ArtifactRef* ref = exec.mutable_outputs(exec.outputs_size() - 1);
    ref->set_name(out->name());
    ref->set_digest(out->digest());
    ref->set_size(out->size());
    ref->set_type_name(out->type_name());
    outcome.digests.push_back(*digest);
    outcome.sizes.push_back(out->size());
    entry->bytes += out->size();
    auto blob = std::make_shared<const Blob>(std::move(bytes));
    outcome.bytes.push_back(blob);
    entry->blobs.push_back(std::move(blob));
  }
  SetTime(exec.mutable_end_time(), end);

  if (cached != nullptr) {  // verify mode: compare with the cached result
    bool same = cached->result.outputs_size() == result.outputs_size();
    for (int i = 0; same && i < result.outputs_size(); ++i) {
      same = cached->result.outputs(i).digest() == result.outputs(i).digest();
    }
    if (!same) {
      exec.set_nondeterministic(true);
      for (const OutputRef& out : cached->result.outputs()) {
        ArtifactRef* ref = exec.add_expected_outputs();
        ref->set_name(out.name());
        ref->set_digest(out.digest());
        ref->set_size(out.size());
        ref->set_type_name(out.type_name());
      }
      std::string detail;
      for (int i = 0; i < result.outputs_size(); ++i) {
        absl::StrAppend(&detail, " ", result.outputs(i).name(), ": cached ",
                        i < cached->result.outputs_size() ? cached->result.outputs(i).digest()
                                                          : "(none)",
                        ", now ", result.outputs(i).digest(), ";");
      }
      return fail(absl::AbortedError(absl::StrCat(
          "step '", request.step_name, "' (version ", request.step_version,
          ") is nondeterministic: the same inputs gave different outputs:", detail)));
    }
  } else {
    entry->result = result;
    // Written here: after any older result for the key still queued, not before it.
    if (!behind && writer_ != nullptr) writer_->WaitForKey(key);
    absl::Status s = behind ? writer_->Enqueue(key, entry) : action_cache_->Put(key, result);
    if (!s.ok()) return fail(s);
    if (stored != nullptr) *stored = entry;
    Remember(key, std::move(entry));
    results_stored_.fetch_add(1, std::memory_order_release);
  }
  exec.set_status(Execution::SUCCEEDED);
  absl::Status s = lineage_->UpdateExecution(exec);
  if (!s.ok()) return s;
  Count(&Stats::misses);
  return outcome;
}

}  // namespace mlops
