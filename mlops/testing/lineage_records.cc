#include "mlops/testing/lineage_records.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "mlops/testing/files.h"

namespace mlops {
namespace test {

std::string H(const std::string& name) { return Digest::Of(name).ToHex(); }

google::protobuf::Timestamp Ts(int64_t seconds, int32_t nanos) {
  google::protobuf::Timestamp t;
  t.set_seconds(seconds);
  t.set_nanos(nanos);
  return t;
}

ArtifactRef Ref(const std::string& name, const std::string& value, const std::string& type_name,
                int64_t size, const std::string& label, const std::string& uri) {
  ArtifactRef r;
  r.set_name(name);
  r.set_digest(H(value));
  r.set_type_name(type_name);
  r.set_size(size);
  r.set_label(label);
  r.set_uri(uri);
  return r;
}

ArtifactRef RefTo(const std::string& name, const Digest& d) {
  ArtifactRef r;
  r.set_name(name);
  r.set_digest(d.ToHex());
  r.set_type_name("blob");
  return r;
}

Run MakeRun(const std::string& program, int64_t start_seconds, Run::Status status) {
  Run r;
  r.set_program(program);
  r.add_args("--flag");
  r.set_host("host");
  r.set_user("user");
  *r.mutable_start_time() = Ts(start_seconds);
  *r.mutable_end_time() = Ts(start_seconds + 5);
  r.set_status(status);
  return r;
}

Execution Exec(int64_t run_id, const std::string& step, std::vector<ArtifactRef> inputs,
               std::vector<ArtifactRef> outputs, bool cache_hit, int64_t start_seconds) {
  Execution e;
  e.set_run_id(run_id);
  e.set_step_name(step);
  e.set_step_version("1");
  e.set_action_key(H(absl::StrCat("key:", step, ":", start_seconds)));
  for (ArtifactRef& r : inputs) *e.add_inputs() = std::move(r);
  for (ArtifactRef& r : outputs) *e.add_outputs() = std::move(r);
  e.set_status(cache_hit ? Execution::CACHED : Execution::SUCCEEDED);
  e.set_cache_hit(cache_hit);
  *e.mutable_start_time() = Ts(start_seconds);
  *e.mutable_end_time() = Ts(start_seconds + 1);
  return e;
}

Execution Keyed(Execution e, const std::string& action) {
  e.set_action_key(H(absl::StrCat("action:", action)));
  return e;
}

Execution Untimed(Execution e) {
  e.clear_start_time();
  e.clear_end_time();
  return e;
}

Execution Computed(int64_t run_id, const std::string& step, const std::string& action,
                   std::vector<ArtifactRef> inputs, std::vector<ArtifactRef> outputs,
                   int64_t start_seconds) {
  Execution e = Keyed(Exec(run_id, step, std::move(inputs), std::move(outputs),
                           /*cache_hit=*/false, start_seconds),
                      action);
  *e.mutable_start_time() = Ts(start_seconds, 1000);
  *e.mutable_end_time() = Ts(start_seconds + 1, 2000);
  return e;
}

Execution HitOf(const Execution& computed, int64_t run_id, google::protobuf::Timestamp start,
                google::protobuf::Timestamp end) {
  Execution e = computed;
  e.clear_id();
  e.set_run_id(run_id);
  e.set_status(Execution::CACHED);
  e.set_cache_hit(true);
  *e.mutable_start_time() = start;
  *e.mutable_end_time() = end;
  return e;
}

Execution HitOf(const Execution& computed, int64_t run_id, int64_t start_seconds) {
  return HitOf(computed, run_id, Ts(start_seconds, 250000000), Ts(start_seconds, 750000000));
}

std::vector<int64_t> Ids(const std::vector<Execution>& executions) {
  std::vector<int64_t> ids;
  for (const Execution& e : executions) ids.push_back(e.id());
  return ids;
}

std::vector<int64_t> RunIds(const std::vector<Run>& runs) {
  std::vector<int64_t> ids;
  for (const Run& r : runs) ids.push_back(r.id());
  return ids;
}

std::unique_ptr<SqliteLineageStore> OpenStore(const std::string& path,
                                              SqliteLineageOptions options) {
  absl::StatusOr<std::unique_ptr<SqliteLineageStore>> store =
      SqliteLineageStore::Open(path, options);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

absl::StatusOr<std::unique_ptr<SqliteLineageStore>> OpenReadOnly(const std::string& path) {
  SqliteLineageOptions options;
  options.read_only = true;
  return SqliteLineageStore::Open(path, options);
}

void PrintTo(const StoreParam& param, std::ostream* os) { *os << param.name; }

std::string ParamName(const ::testing::TestParamInfo<StoreParam>& info) { return info.param.name; }

std::vector<StoreParam> CommonConfigs() {
  return {{"FileBatched", StoreConfig::kFileBatched},
          {"FileUnbatched", StoreConfig::kFileNoDelay},
          {"Memory", StoreConfig::kMemory}};
}

std::vector<StoreParam> AllConfigs() {
  return {{"FileBatched", StoreConfig::kFileBatched},
          {"FileBatchSizeOne", StoreConfig::kFileBatchSizeOne},
          {"FileNoDelay", StoreConfig::kFileNoDelay},
          {"Memory", StoreConfig::kMemory}};
}

void StoreTest::SetUp() {
  path_ = IsFile() ? FreshDir() + "/lineage.db" : ":memory:";
  Open();
}

SqliteLineageOptions StoreTest::Options() const {
  SqliteLineageOptions options;
  if (GetParam().config == StoreConfig::kFileBatchSizeOne) options.max_batch_size = 1;
  if (GetParam().config == StoreConfig::kFileNoDelay) {
    options.max_batch_delay = absl::ZeroDuration();
  }
  return options;
}

void StoreTest::Open(const SqliteLineageOptions& options) {
  store_.reset();
  absl::StatusOr<std::unique_ptr<SqliteLineageStore>> store =
      SqliteLineageStore::Open(path_, options);
  ASSERT_TRUE(store.ok()) << store.status();
  store_ = *std::move(store);
}

}  // namespace test
}  // namespace mlops
