// mlops/core/workspace.h — memoized, traced step calls: `workspace.Call(step, args...)`.
//
// A Workspace is a directory holding a content store (the values), an action cache (which
// step call produced which values) and a lineage database (every call, hit or miss). A call
//   1. hashes each argument by content (a Stored<T> argument reuses its digest; a File is
//      hashed through a stat cache),
//   2. forms the action key from the step's name and version, the codec signatures and the
//      input digests,
//   3. returns the stored outputs if that key is cached (an in-process memory tier first,
//      then results still being written behind, then the disk), or runs the function and
//      stores what it returns,
//   4. and records the call in lineage either way.
// One Run record covers the Workspace's lifetime in this process, with the environment
// (compiler, library versions, OS, CPU, source revision) captured once.
//
// Example:
//   absl::StatusOr<std::unique_ptr<mlops::Workspace>> ws = mlops::Workspace::Open(".mlops");
//   const auto square = mlops::MakeStep("square", 1, [](int x) { return x * x; });
//   absl::StatusOr<mlops::Stored<int>> y = (*ws)->Call(square, 7);   // computes 49
//   y = (*ws)->Call(square, 7);                                      // from the cache
//
// Errors: a step that returns an error or throws gives a Status naming the step (the
// step's own code, or UNKNOWN for an exception); its execution is recorded as FAILED and
// nothing is cached. A call in read-only mode that misses returns NOT_FOUND. An input that
// cannot be hashed (a missing File) fails the call before anything is recorded. Store and
// database failures are returned as they come (with their paths).
//
// Writing behind: by default (WorkspaceOptions::write_behind) a miss returns as soon as its
// outputs are hashed and recorded; a background thread writes the values and the action
// record to disk, and this Workspace answers for them from memory until they are written.
// Flush() and destruction wait for the writes. A crash (or an exit that skips the
// destructor) loses at most the writes still queued, as it loses lineage still queued:
// those calls are computed again next time. A crash of the process never leaves a partial
// value or a record without its values behind; a crash of the machine (durability kNone
// syncs nothing) may, which a later lookup finds and treats as a miss.
//
// Files: a File input is keyed by the content it had when the call hashed it. If the file
// changes while the step runs (another process rewriting it, a download finishing), the
// result was computed from content other than the key's, so it must not be cached: after
// the step returns, each file input's stat (device, inode, size, mtime and ctime, what the
// stat cache trusts) is compared with the one its digest was taken under, and if any
// differs, or the file is gone, or (for a file changed within a second of the step's start,
// when a same-size rewrite could keep its timestamps) its content hashed again differs,
// the call fails ABORTED naming the file ("input file F
// changed while step S ran"; as Bazel fails an action whose input was modified during the
// build). Its execution is recorded as FAILED with that message, and nothing is stored.
// Calling again hashes the file as it is now. Pipelines check their nodes' file inputs
// the same way.
//
// Concurrency: a Workspace is safe to use from many threads. Concurrent calls with the same
// key in one process compute once (in normal mode); the others wait and get the result.
// Two processes that race on one key both compute, both succeed, and store identical values.
#ifndef MLOPS_CORE_WORKSPACE_H_
#define MLOPS_CORE_WORKSPACE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "mlops/base/mutex.h"
#include "mlops/core/action_key.h"
#include "mlops/core/callable_id.h"
#include "mlops/core/context.h"
#include "mlops/core/step.h"
#include "mlops/core/stored.h"
#include "mlops/hash/file_digest.h"
#include "mlops/lineage/lineage_store.h"
#include "mlops/lineage/sqlite_lineage_store.h"
#include "mlops/store/action_cache.h"
#include "mlops/store/content_store.h"
#include "mlops/store/durability.h"

namespace mlops {

class DiskStore;
class ResultCache;
struct CachedResult;
namespace core_internal {
class InFlightCalls;
class StepRegistry;
}  // namespace core_internal

enum class CacheMode {
  kNormal,    // return the cached result if there is one, else compute and store
  kForce,     // compute even if cached, and store the new result
  kReadOnly,  // return the cached result, or NOT_FOUND; record nothing (not even lineage;
              // a corrupt cache entry it meets is still removed)
  kVerify,    // compute even if cached and compare with the cached result: a difference
              // is recorded as nondeterminism and returned as ABORTED
};

struct CallOptions {
  CacheMode mode = CacheMode::kNormal;
};

struct WorkspaceOptions {
  // The mode of calls made without CallOptions. The environment variable MLOPS_CACHE_MODE,
  // if set, overrides it for every workspace the program opens: `normal`, `force`,
  // `read-only` or `verify` (e.g. `MLOPS_CACHE_MODE=verify ./train` recomputes every call
  // and checks it against the cache, see mlops/core/step.h), even where the program set
  // a mode here; any other value fails Open
  // (and InMemory, Create) with INVALID_ARGUMENT.
  CacheMode default_mode = CacheMode::kNormal;
  // How hard the content store and action cache work to survive power loss.
  Durability durability = Durability::kNone;
  // The program and arguments recorded in the Run; default: this process's command line.
  std::string program;
  std::vector<std::string> args;
  // The experiment the run belongs to, and the run's name (mlops/lineage/tracking.h); an
  // empty run name becomes "<program's base name>-<run id>". Names are 1 to 250 bytes: a
  // bad one (an empty experiment too) fails Open with INVALID_ARGUMENT.
  std::string experiment = "default";
  std::string run_name;
  // Results kept in process memory (in front of the disk) up to this many bytes.
  int64_t memory_cache_bytes = int64_t{64} << 20;
  // Lineage batching (see sqlite_lineage_store.h).
  SqliteLineageOptions lineage;
  // Write computed results from a background thread (see the top of the file). Only with
  // durability kNone (a durable workspace writes before the call returns) and on disk.
  bool write_behind = true;
  // At most this many bytes of values (and at most ResultCacheOptions::kMaxQueuedResults
  // results, mlops/cache/result_cache.h) wait to be written; a miss that would exceed it
  // waits for the writer, and a result larger than all of it is written before its call
  // returns.
  int64_t write_behind_bytes = int64_t{64} << 20;
};

// A file a step call reads, as it was when hashed.
struct FileInput {
  std::string path;
  FileStamp stamp;  // the stat its digest is of (FileDigester::File)
  Digest digest;    // the digest of its content
};

// One step call, as the engine sees it (built by Call; pipelines build them directly).
struct ActionRequest {
  std::string step_name;
  int step_version = 0;
  std::vector<ActionInput> inputs;
  std::vector<std::string> output_names;
  std::vector<std::string> output_types;
  std::string output_signature;
  CacheMode mode = CacheMode::kNormal;
  // When false, a cache hit returns the outputs' digests and sizes but leaves
  // ActionOutcome::bytes empty, and reads no value from the content store (the result
  // cache still checks that every output is present). Pipelines use this for nodes whose
  // values nobody needs. A computed result always carries its bytes.
  bool load_outputs = true;
  // The step's function: a request whose step name, version and types were first seen
  // with another callable fails FAILED_PRECONDITION (unknown: not checked).
  CallableId callable;
  // The call's file inputs. When the step returns, each is stamped again: a file that
  // changed (or went) while the step ran fails the call ABORTED and nothing is cached (see
  // Execute).
  std::vector<FileInput> files;
};

// What the engine returns: the outputs' digests and bytes, and whether they were cached.
struct ActionOutcome {
  Digest action_key;
  bool cache_hit = false;
  int64_t execution_id = 0;
  std::vector<Digest> digests;
  std::vector<int64_t> sizes;
  // The encoded outputs; empty for a hit of a request with load_outputs == false.
  std::vector<std::shared_ptr<const Blob>> bytes;
};

// Computes a call's outputs, encoded, in the order of ActionRequest::output_names.
using ActionRunner = std::function<absl::StatusOr<std::vector<std::string>>(Context&)>;

class Workspace {
 public:
  // Opens (or creates) the workspace in `dir` and begins a Run. Errors name the path
  // (see DiskStore::Open and SqliteLineageStore::Open). A damaged action cache or lineage
  // database is not an error: it is set aside in `dir` and replaced (the lineage one with
  // what can still be read of it, see sqlite_lineage_store.h), and stored results stay
  // cache hits (they do not depend on lineage).
  static absl::StatusOr<std::unique_ptr<Workspace>> Open(const std::string& dir,
                                                         WorkspaceOptions options = {});
  // The directory programs use by default: $MLOPS_WORKSPACE if set, else ".mlops" in the
  // directory the program was started from (for `bazel run`, the directory the command was
  // typed in, $BUILD_WORKING_DIRECTORY).
  static std::string DefaultDir();

  // A workspace in memory (MemoryStore, in-memory action cache and lineage), for tests.
  static absl::StatusOr<std::unique_ptr<Workspace>> InMemory(WorkspaceOptions options = {});

  // A workspace over stores the caller provides (a ContentStore of its own, say), and no
  // directory: results are written before their call returns, file digests are not saved
  // between processes, and steps get no scratch directory. Begins a Run in `lineage`.
  // Errors of LineageStore::BeginRun. REQUIRES: none of the three is null.
  static absl::StatusOr<std::unique_ptr<Workspace>> Create(std::unique_ptr<ContentStore> store,
                                                           std::unique_ptr<ActionCache> records,
                                                           std::unique_ptr<LineageStore> lineage,
                                                           WorkspaceOptions options = {});

  // Ends the Run (SUCCEEDED, or FAILED if any step failed) and flushes lineage. Nobody is
  // left to hear of a failure but the user: a result that could not be written behind, and
  // a failed final flush (of lineage, or of the stat cache), are each said once on stderr.
  ~Workspace();
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;

  // Calls `step` with `args` through the cache (see the top of the file). Returns the
  // output as Stored<T>, or for a step returning std::tuple<A, B, ...> a
  // std::tuple<Stored<A>, Stored<B>, ...>. Arguments must match the step's parameters
  // (a Stored<T> may stand for a T); a mismatch fails to compile.
  template <typename Fn, typename... Args>
  auto Call(const Step<Fn>& step, Args&&... args);
  template <typename Fn, typename... Args>
  auto Call(const CallOptions& options, const Step<Fn>& step, Args&&... args);

  // The engine under Call: looks up or runs one action and records it. `runner` is called
  // on a miss (and in force and verify modes). Errors as for Call; ABORTED if a file of
  // request.files changed while `runner` ran (see "Files" at the top of the file); and
  // FAILED_PRECONDITION, before anything is looked up or recorded, if this workspace saw
  // the same step name, version and types called with another request.callable.
  absl::StatusOr<ActionOutcome> Execute(const ActionRequest& request, const ActionRunner& runner);

  // The action key of a request (mlops/core/action_key.h): the digest of its step name and
  // version, input signatures and digests, and output signature.
  static Digest ActionKey(const ActionRequest& request) {
    return mlops::ActionKey(request.step_name, request.step_version, request.inputs,
                            request.output_signature);
  }

  // The digest of a file input (content, through the workspace's stat cache); sets
  // `*stamp`, if given, to the stat the digest is of.
  absl::StatusOr<Digest> DigestOfFile(const std::string& path, FileStamp* stamp = nullptr) {
    return files_.File(path, stamp);
  }

  // Experiment tracking for the run itself (what steps log goes through Context): see
  // mlops/lineage/tracking.h. A run's params are written once: logging a name again with
  // another value fails FAILED_PRECONDITION naming both values (the same value is OK).
  // Tags may change (the last write wins). LogMetric appends a point (step, value, now)
  // to the run's own series, batched with the lineage records (see
  // SqliteLineageOptions). Bad names (empty, over 250 bytes) and values (over 6000
  // bytes) are INVALID_ARGUMENT naming them, and nothing is written. The writes fail
  // FAILED_PRECONDITION in a read-only store.
  absl::Status LogParam(absl::string_view name, absl::string_view value);
  absl::Status LogParam(absl::string_view name, double value);
  absl::Status LogParam(absl::string_view name, int64_t value);
  absl::Status LogParam(absl::string_view name, int value) { return LogParam(name, int64_t{value}); }
  absl::Status LogMetric(absl::string_view name, double value, int64_t step = 0);
  absl::Status SetTag(absl::string_view key, absl::string_view value);

  // Waits for results still being written behind, flushes lineage and saves the stat
  // cache. Returns the first error of any of these: a failed write-behind is reported by
  // the next Flush (its call had already returned its outputs; they are not on disk, so
  // other workspaces and later runs compute them again, though this one may still answer
  // from memory).
  absl::Status Flush();

  // The file holding the stored value `digest`, to hand to another tool (a model file to
  // a server, say). Waits for results still being written behind first. The file is the
  // value's encoding (mlops/codec/codec.h) and must not be written to: it is shared by
  // every result with that content. NOT_FOUND for a workspace with no directory (InMemory,
  // Create) and for a value that is not stored; other errors from stat(2), naming the path.
  absl::StatusOr<std::string> PathOf(const Digest& digest);

  int64_t run_id() const { return run_id_; }
  const std::string& dir() const { return dir_; }  // empty for InMemory
  // The stores underneath. With write-behind, the newest results may not be in them yet:
  // call Flush() first to see every result.
  ContentStore& store() { return *store_; }
  ActionCache& action_cache() { return *action_cache_; }
  LineageStore& lineage() { return *lineage_; }
  CacheMode default_mode() const { return default_mode_; }

  // How many calls so far hit, computed, and failed (each count read on its own: while
  // calls run, the three are not one instant's).
  struct Stats {
    int64_t hits = 0;
    int64_t misses = 0;
    int64_t failures = 0;
  };
  Stats stats() const { return Stats{hits_.load(), misses_.load(), failures_.load()}; }

 private:
  struct Computed;  // a result computed by Compute: its entry and execution id

  Workspace(std::string dir, WorkspaceOptions options);
  // cache_->Flush(), or the failed write an earlier wait (PathOf) met and kept.
  absl::Status FlushResults();
  absl::Status Begin(std::unique_ptr<ContentStore> store, std::unique_ptr<ActionCache> cache,
                     std::unique_ptr<LineageStore> lineage);

  // Records a cache hit of `request` that returned `entry` (unless read-only), and its outcome.
  absl::StatusOr<ActionOutcome> Hit(const ActionRequest& request, const Digest& key,
                                    const CachedResult& entry);
  // A miss in normal mode: computes `key` once in this process (calls of it that arrive
  // meanwhile wait and share the result). `stored_before` is the result cache's
  // stored_count() before the caller's lookup.
  absl::StatusOr<ActionOutcome> ComputeOnce(const ActionRequest& request, const Digest& key,
                                            const ActionRunner& runner, uint64_t stored_before);
  // Appends the series the step logged to its execution's (moving them out of `ctx`).
  absl::Status LogSeries(Context& ctx);
  // Runs the step, records it, and stores its result; in verify mode (`cached` set) stores
  // only the values, and compares them with `cached`.
  absl::StatusOr<Computed> Compute(const ActionRequest& request, const Digest& key,
                                   const ActionRunner& runner, const CachedResult* cached);

  const std::string dir_;
  const WorkspaceOptions options_;
  CacheMode default_mode_;  // options_.default_mode, or MLOPS_CACHE_MODE
  std::unique_ptr<ContentStore> store_;
  DiskStore* disk_ = nullptr;  // store_, when Open made it
  std::unique_ptr<ActionCache> action_cache_;
  std::unique_ptr<LineageStore> lineage_;
  std::unique_ptr<ResultCache> cache_;  // after the stores it uses: destroyed first
  std::unique_ptr<core_internal::InFlightCalls> in_flight_;
  std::unique_ptr<core_internal::StepRegistry> steps_;
  FileDigester files_;
  int64_t run_id_ = 0;
  std::string host_;
  std::atomic<int64_t> hits_{0};
  std::atomic<int64_t> misses_{0};
  std::atomic<int64_t> failures_{0};
  Mutex unreported_mu_;
  absl::Status unreported_ ABSL_GUARDED_BY(unreported_mu_);  // see FlushResults
};

}  // namespace mlops

#include "mlops/core/internal/call.h"  // IWYU pragma: export

#endif  // MLOPS_CORE_WORKSPACE_H_
