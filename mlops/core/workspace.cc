#include "mlops/core/workspace.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "fmt/format.h"
#include "mlops/base/file_io.h"
#include "mlops/cache/result_cache.h"
#include "mlops/core/environment.h"
#include "mlops/core/internal/call_records.h"
#include "mlops/core/internal/in_flight.h"
#include "mlops/core/internal/step_registry.h"
#include "mlops/core/workspace_layout.h"
#include "mlops/store/disk_store.h"
#include "mlops/store/memory_store.h"

namespace mlops {

using core_internal::InFlightCalls;
using core_internal::StepRegistry;
using core_internal::SetTime;

struct Workspace::Computed {
  std::shared_ptr<const CachedResult> entry;
  int64_t execution_id = 0;
};

namespace {

// What a call returns for `entry`: digests and sizes, and the bytes if `with_bytes`.
ActionOutcome OutcomeOf(const Digest& key, bool hit, int64_t execution_id,
                        const CachedResult& entry, bool with_bytes) {
  ActionOutcome outcome;
  outcome.action_key = key;
  outcome.cache_hit = hit;
  outcome.execution_id = execution_id;
  for (int i = 0; i < entry.result.outputs_size(); ++i) {
    const OutputRef& out = entry.result.outputs(i);
    outcome.digests.push_back(*Digest::FromHex(out.digest()));
    outcome.sizes.push_back(out.size());
    if (with_bytes) outcome.bytes.push_back(entry.blobs[static_cast<size_t>(i)]);
  }
  return outcome;
}

// ABORTED naming both digests of each output, unless `now` has the outputs of `cached`.
absl::Status CompareWithCached(const ActionRequest& request, const ActionResult& now,
                               const ActionResult& cached) {
  bool same = cached.outputs_size() == now.outputs_size();
  for (int i = 0; same && i < now.outputs_size(); ++i) {
    same = cached.outputs(i).digest() == now.outputs(i).digest();
  }
  if (same) return absl::OkStatus();
  std::string detail;
  for (int i = 0; i < now.outputs_size(); ++i) {
    absl::StrAppend(&detail, " ", now.outputs(i).name(), ": cached ",
                    i < cached.outputs_size() ? cached.outputs(i).digest() : "(none)", ", now ",
                    now.outputs(i).digest(), ";");
  }
  return absl::AbortedError(absl::StrCat(
      "step '", request.step_name, "' (version ", request.step_version,
      ") is nondeterministic: the same inputs gave different outputs:", detail));
}

// A file changed this close to a step's start may be rewritten, same size, within one tick
// of its timestamps (as the stat cache's racy window, mlops/hash/file_digest.h).
constexpr absl::Duration kRacyWindow = absl::Seconds(1);

// ABORTED naming the first file of request.files that is not as it was when hashed, the
// step having started at `start`.
absl::Status FilesUnchanged(const ActionRequest& request, absl::Time start) {
  const int64_t racy_after_ns = absl::ToUnixNanos(start - kRacyWindow);
  for (const FileInput& file : request.files) {
    absl::StatusOr<FileStamp> now = StampFile(file.path);
    if (now.ok() && *now == file.stamp) {
      if (std::max(now->mtime_ns, now->ctime_ns) < racy_after_ns) continue;
      absl::StatusOr<Digest> content = DigestFile(file.path);
      if (content.ok() && *content == file.digest) continue;
    }
    const std::string what =
        !now.ok() ? absl::StrCat("could no longer be read (", now.status().message(), ")")
        : now->size != file.stamp.size
            ? absl::StrCat("changed (", file.stamp.size, " bytes when hashed, ", now->size,
                           " after)")
        : *now != file.stamp
            ? std::string("changed (its modification time or inode differs)")
            : std::string("changed (its content differs, its timestamps do not)");
    return absl::AbortedError(absl::StrCat(
        "input file ", file.path, " ", what, " while step '", request.step_name,
        "' (version ", request.step_version, ") ran, so the result may not be of the content "
        "the call was keyed by; it is not cached (call again to use the file as it is now)"));
  }
  return absl::OkStatus();
}

// `fallback`, unless MLOPS_CACHE_MODE names another mode.
absl::StatusOr<CacheMode> ModeFromEnvironment(CacheMode fallback) {
  const char* env = std::getenv("MLOPS_CACHE_MODE");
  if (env == nullptr || *env == '\0') return fallback;
  const absl::string_view mode = env;
  if (mode == "normal") return CacheMode::kNormal;
  if (mode == "force") return CacheMode::kForce;
  if (mode == "read-only") return CacheMode::kReadOnly;
  if (mode == "verify") return CacheMode::kVerify;
  return absl::InvalidArgumentError(absl::StrCat(
      "MLOPS_CACHE_MODE is '", mode, "'; expected normal, force, read-only or verify"));
}

}  // namespace

Workspace::Workspace(std::string dir, WorkspaceOptions options)
    : dir_(std::move(dir)),
      options_(std::move(options)),
      default_mode_(options_.default_mode),
      host_(HostName()) {}

absl::StatusOr<std::unique_ptr<Workspace>> Workspace::Open(const std::string& dir,
                                                           WorkspaceOptions options) {
  if (dir.empty()) return absl::InvalidArgumentError("workspace directory is empty");
  absl::Status s = MakeDirectories(dir);
  if (!s.ok()) return s;
  const WorkspaceLayout layout(dir);
  DiskStoreOptions store_options;
  store_options.durability = options.durability;
  absl::StatusOr<std::unique_ptr<DiskStore>> store = DiskStore::Open(layout.store(), store_options);
  if (!store.ok()) return store.status();
  absl::StatusOr<std::unique_ptr<ActionCache>> cache =
      ActionCache::OpenOnDisk(layout.action_cache(), options.durability);
  if (!cache.ok()) return cache.status();
  absl::StatusOr<std::unique_ptr<SqliteLineageStore>> lineage =
      SqliteLineageStore::Open(layout.lineage_db(), options.lineage);
  if (!lineage.ok()) return lineage.status();
  std::unique_ptr<Workspace> ws(new Workspace(dir, std::move(options)));
  ws->disk_ = store->get();
  // The stat cache only saves work; a damaged one is ignored and rebuilt.
  ws->files_.Load(layout.stat_cache()).IgnoreError();
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
  absl::StatusOr<std::unique_ptr<SqliteLineageStore>> lineage =
      SqliteLineageStore::Open(":memory:", options.lineage);
  if (!lineage.ok()) return lineage.status();
  return Create(std::make_unique<MemoryStore>(), ActionCache::InMemory(), *std::move(lineage),
                std::move(options));
}

absl::StatusOr<std::unique_ptr<Workspace>> Workspace::Create(
    std::unique_ptr<ContentStore> store, std::unique_ptr<ActionCache> records,
    std::unique_ptr<LineageStore> lineage, WorkspaceOptions options) {
  std::unique_ptr<Workspace> ws(new Workspace("", std::move(options)));
  absl::Status s = ws->Begin(std::move(store), std::move(records), std::move(lineage));
  if (!s.ok()) return s;
  return ws;
}

absl::Status Workspace::Begin(std::unique_ptr<ContentStore> store,
                              std::unique_ptr<ActionCache> cache,
                              std::unique_ptr<LineageStore> lineage) {
  absl::StatusOr<CacheMode> mode = ModeFromEnvironment(options_.default_mode);
  if (!mode.ok()) return mode.status();
  default_mode_ = *mode;
  store_ = std::move(store);
  action_cache_ = std::move(cache);
  lineage_ = std::move(lineage);
  ResultCacheOptions cache_options;
  cache_options.memory_bytes = options_.memory_cache_bytes;
  // A durable workspace writes before the call returns; one in memory has nothing to wait for.
  cache_options.write_behind = !dir_.empty() && options_.write_behind &&
                               options_.durability == Durability::kNone;
  cache_options.write_behind_bytes = options_.write_behind_bytes;
  cache_ = std::make_unique<ResultCache>(store_.get(), action_cache_.get(), cache_options);
  in_flight_ = std::make_unique<InFlightCalls>();
  steps_ = std::make_unique<StepRegistry>();

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
  if (options_.experiment.empty()) {
    return absl::InvalidArgumentError(
        "WorkspaceOptions::experiment is empty (leave it \"default\", or name one)");
  }
  run.set_experiment(options_.experiment);
  run.set_name(options_.run_name);
  SetTime(run.mutable_start_time(), absl::Now());
  run.set_status(Run::RUNNING);
  *run.mutable_environment() = CaptureEnvironment();
  absl::StatusOr<int64_t> id = lineage_->BeginRun(run);
  if (!id.ok()) return id.status();
  run_id_ = *id;
  return absl::OkStatus();
}

Workspace::~Workspace() {
  if (cache_ != nullptr) {
    // Nobody is left to hear of a failed write but the user.
    const absl::Status s = FlushResults();
    if (!s.ok()) {
      std::fprintf(stderr, "mlops: a result could not be stored in %s (it will be computed "
                   "again next time): %s\n", dir_.c_str(), s.ToString().c_str());
    }
  }
  absl::Status ended;
  if (lineage_ != nullptr && run_id_ != 0) {
    absl::StatusOr<Run> run = lineage_->GetRun(run_id_);
    ended = run.status();
    if (run.ok()) {
      SetTime(run->mutable_end_time(), absl::Now());
      run->set_status(failures_.load() > 0 ? Run::FAILED : Run::SUCCEEDED);
      ended = lineage_->UpdateRun(*run);
    }
  }
  // The last flush: what the lineage store still queues, and the stat cache. Its failure
  // too is said, once (a failed write behind was said above, and is not returned again).
  absl::Status flushed = Flush();
  if (flushed.ok()) flushed = ended;
  if (!flushed.ok()) {
    std::fprintf(stderr, "mlops: the final flush of the workspace %s failed (the lineage of "
                 "this run or of its last calls, or the saved file digests, may be "
                 "missing): %s\n",
                 dir_.empty() ? "in memory" : dir_.c_str(), flushed.ToString().c_str());
  }
}

absl::Status Workspace::FlushResults() {
  absl::Status s = cache_ != nullptr ? cache_->Flush() : absl::OkStatus();
  MutexLock lock(&unreported_mu_);
  if (!unreported_.ok()) s = std::exchange(unreported_, absl::OkStatus());
  return s;
}

absl::Status Workspace::Flush() {
  absl::Status s = FlushResults();
  if (lineage_ != nullptr) {
    absl::Status flushed = lineage_->Flush();
    if (s.ok()) s = flushed;
  }
  if (!dir_.empty()) {
    absl::Status saved = files_.Save(WorkspaceLayout(dir_).stat_cache());
    if (s.ok()) s = saved;
  }
  return s;
}

absl::StatusOr<std::string> Workspace::PathOf(const Digest& digest) {
  if (disk_ == nullptr) {
    return absl::NotFoundError(absl::StrCat(
        "value ", digest.ToHex(), " has no file: this workspace keeps its values in its own "
        "ContentStore, not in a directory (Workspace::InMemory or Create)"));
  }
  // A failed write is kept for the next Flush to report; here the file is there or not.
  if (absl::Status s = cache_->Flush(); !s.ok()) {
    MutexLock lock(&unreported_mu_);
    if (unreported_.ok()) unreported_ = s;
  }
  std::string path = disk_->PathOf(digest);
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) return path;
  if (errno == ENOENT) {
    return absl::NotFoundError(
        absl::StrCat("no value ", digest.ToHex(), " is stored in workspace ", dir_));
  }
  return PosixError(errno, "stat", path);
}

absl::StatusOr<ActionOutcome> Workspace::Execute(const ActionRequest& request,
                                                 const ActionRunner& runner) {
  if (absl::Status same = steps_->Check(request); !same.ok()) return same;
  const Digest key = ActionKey(request);
  // Results stored before our lookup: if none is stored before we join below, a lookup
  // then would find nothing new.
  const uint64_t stored_before = cache_->stored_count();
  if (request.mode != CacheMode::kForce) {
    absl::StatusOr<std::shared_ptr<const CachedResult>> cached =
        cache_->Lookup(key, request.load_outputs);
    if (cached.ok() && request.mode != CacheMode::kVerify) return Hit(request, key, **cached);
    if (cached.ok()) {
      absl::StatusOr<Computed> verified = Compute(request, key, runner, cached->get());
      if (!verified.ok()) return verified.status();
      return OutcomeOf(key, false, verified->execution_id, *verified->entry, true);
    }
    if (!absl::IsNotFound(cached.status())) return cached.status();
    if (request.mode == CacheMode::kReadOnly) {
      return absl::NotFoundError(absl::StrCat("step '", request.step_name, "' (version ",
                                              request.step_version,
                                              ") has no cached result for these inputs "
                                              "(read-only call)"));
    }
  }
  if (request.mode == CacheMode::kNormal) return ComputeOnce(request, key, runner, stored_before);
  absl::StatusOr<Computed> computed = Compute(request, key, runner, nullptr);
  if (!computed.ok()) return computed.status();
  return OutcomeOf(key, false, computed->execution_id, *computed->entry, true);
}

absl::StatusOr<ActionOutcome> Workspace::Hit(const ActionRequest& request, const Digest& key,
                                             const CachedResult& entry) {
  int64_t id = 0;
  if (request.mode != CacheMode::kReadOnly) {
    absl::StatusOr<int64_t> recorded = lineage_->RecordExecution(
        core_internal::HitExecution(request, key, run_id_, entry.result, absl::Now()));
    if (!recorded.ok()) return recorded.status();
    id = *recorded;
  }
  ++hits_;
  return OutcomeOf(key, true, id, entry, request.load_outputs);
}

absl::StatusOr<ActionOutcome> Workspace::ComputeOnce(const ActionRequest& request,
                                                     const Digest& key,
                                                     const ActionRunner& runner,
                                                     uint64_t stored_before) {
  if (std::optional<InFlightCalls::Outcome> other = in_flight_->Join(key)) {
    if (!other->status.ok()) {
      ++failures_;
      return other->status;
    }
    return Hit(request, key, *other->entry);
  }
  // The leader. A call that finished between our lookup and our joining may have stored
  // the result meanwhile: look once more before computing, if any call has. (One that
  // stores later was still in flight when we joined, and we would have waited for it.)
  InFlightCalls::Outcome done;
  absl::StatusOr<ActionOutcome> outcome;
  absl::StatusOr<std::shared_ptr<const CachedResult>> again =
      cache_->stored_count() != stored_before
          ? cache_->Lookup(key)
          : absl::NotFoundError("nothing stored since the lookup");
  if (again.ok()) {
    done.entry = *std::move(again);
    outcome = Hit(request, key, *done.entry);
  } else if (!absl::IsNotFound(again.status())) {
    outcome = again.status();
  } else {
    absl::StatusOr<Computed> computed = Compute(request, key, runner, nullptr);
    if (computed.ok()) {
      done.entry = computed->entry;
      outcome = OutcomeOf(key, false, computed->execution_id, *computed->entry, true);
    } else {
      outcome = computed.status();
    }
  }
  done.status = outcome.status();
  in_flight_->Finish(key, std::move(done));
  return outcome;
}

absl::Status Workspace::LogSeries(Context& ctx) {
  for (auto& [name, points] : ctx.TakeSeries()) {
    absl::Status s = lineage_->LogMetricPoints(
        MetricOwner::OfExecution(run_id_, ctx.execution_id()), name, std::move(points));
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status Workspace::LogParam(absl::string_view name, absl::string_view value) {
  return lineage_->LogRunParam(run_id_, name, value);
}

absl::Status Workspace::LogParam(absl::string_view name, double value) {
  return LogParam(name, fmt::format("{}", value));  // shortest exact form, as Context's
}

absl::Status Workspace::LogParam(absl::string_view name, int64_t value) {
  return LogParam(name, absl::StrCat(value));
}

absl::Status Workspace::LogMetric(absl::string_view name, double value, int64_t step) {
  return lineage_->LogMetricPoints(MetricOwner::OfRun(run_id_), name,
                                   {MetricPoint{step, value, absl::Now()}});
}

absl::Status Workspace::SetTag(absl::string_view key, absl::string_view value) {
  return lineage_->SetRunTag(run_id_, key, value);
}

absl::StatusOr<Workspace::Computed> Workspace::Compute(const ActionRequest& request,
                                                       const Digest& key,
                                                       const ActionRunner& runner,
                                                       const CachedResult* cached) {
  Execution exec = core_internal::NewExecution(request, key, run_id_);
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
    ++failures_;
    return status;
  };

  Context ctx(request.step_name, key, run_id_, *id,
              dir_.empty() ? "" : WorkspaceLayout(dir_).scratch());
  absl::StatusOr<std::vector<std::string>> values = runner(ctx);
  const absl::Time end = absl::Now();
  for (const auto& [name, value] : ctx.params()) (*exec.mutable_params())[name] = value;
  for (const auto& [name, value] : ctx.metrics()) (*exec.mutable_metrics())[name] = value;
  if (absl::Status logged = LogSeries(ctx); !logged.ok()) return fail(logged);
  if (values.ok() && !ctx.status().ok()) values = ctx.status();
  if (!values.ok()) {
    return fail(absl::Status(values.status().code(),
                             absl::StrCat("step '", request.step_name, "' (version ",
                                          request.step_version,
                                          ") failed: ", values.status().message())));
  }
  if (absl::Status unchanged = FilesUnchanged(request, start); !unchanged.ok()) {
    return fail(unchanged);
  }
  if (values->size() != request.output_names.size()) {
    return fail(absl::InternalError(absl::StrCat("step '", request.step_name, "' produced ",
                                                 values->size(), " outputs, expected ",
                                                 request.output_names.size())));
  }

  ActionResult record = core_internal::NewRecord(request, exec, host_, start, end);
  // A verifying call keeps the values it computed (to compare them by hand), not a record.
  absl::StatusOr<std::shared_ptr<const CachedResult>> entry =
      cached == nullptr ? cache_->Store(key, std::move(record), *std::move(values))
                        : cache_->StoreValues(std::move(record), *std::move(values));
  if (!entry.ok()) return fail(entry.status());
  core_internal::AddOutputs((*entry)->result, exec.mutable_outputs());
  SetTime(exec.mutable_end_time(), end);
  if (cached != nullptr) {
    absl::Status same = CompareWithCached(request, (*entry)->result, cached->result);
    if (!same.ok()) {
      exec.set_nondeterministic(true);
      core_internal::AddOutputs(cached->result, exec.mutable_expected_outputs());
      return fail(same);
    }
  }
  exec.set_status(Execution::SUCCEEDED);
  absl::Status s = lineage_->UpdateExecution(exec);
  if (!s.ok()) return s;
  ++misses_;
  return Computed{*std::move(entry), *id};
}

}  // namespace mlops
