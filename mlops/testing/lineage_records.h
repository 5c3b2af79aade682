// Helpers for the lineage store's tests: lineage records made from short names, and a fixture
// that opens a store in each of its configurations. (Exact comparison of protos is
// proto_matchers.h's; raw SQL on a database file, test_db.h's.)
//
// Example:
//   const Execution e = test::Keyed(test::Exec(run, "train", {test::Ref("in", "data")},
//                                              {test::Ref("0", "model")}), "train");
//   EXPECT_THAT(*store->GetExecution(id), test::EqualsProto(e));
//   EXPECT_EQ(test::SqlValue(path, "SELECT count(*) FROM hits"), "1");
//
// Thread safety: the functions are safe to call concurrently; a fixture is one test's.
#ifndef MLOPS_TESTING_LINEAGE_RECORDS_H_
#define MLOPS_TESTING_LINEAGE_RECORDS_H_

#include <google/protobuf/message.h>
#include <google/protobuf/timestamp.pb.h>

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/hash/digest.h"
#include "mlops/lineage/lineage.pb.h"
#include "mlops/lineage/sqlite_lineage_store.h"
#include "mlops/testing/proto_matchers.h"  // IWYU pragma: export
#include "mlops/testing/test_db.h"        // IWYU pragma: export

namespace mlops {
namespace test {

// ---------------------------------------------------------------------------------------
// Records.

// An arbitrary epoch for test times (seconds).
constexpr int64_t kT0 = 1700000000;

// The digest (hex) of a named test value.
std::string H(const std::string& name);

google::protobuf::Timestamp Ts(int64_t seconds, int32_t nanos = 0);

// The ref `name` to the value named `value` (its digest H(value)).
ArtifactRef Ref(const std::string& name, const std::string& value,
                const std::string& type_name = "blob", int64_t size = 8,
                const std::string& label = "", const std::string& uri = "");
// The ref `name` to digest `d`, of type "blob".
ArtifactRef RefTo(const std::string& name, const Digest& d);

// A run of `program` started at `start_seconds`, 5 s long, with an argument, host and user.
Run MakeRun(const std::string& program, int64_t start_seconds, Run::Status status = Run::SUCCEEDED);

// An execution of `step` (version "1") in run `run_id`, computed (SUCCEEDED) or a cache hit
// (CACHED), from `start_seconds` for one second, with an action key of its own (a hash of
// step and start).
Execution Exec(int64_t run_id, const std::string& step, std::vector<ArtifactRef> inputs,
               std::vector<ArtifactRef> outputs, bool cache_hit = false,
               int64_t start_seconds = kT0);
// `e` with the action key named `action` (executions of one action share it).
Execution Keyed(Execution e, const std::string& action);
// `e` without start or end time.
Execution Untimed(Execution e);
// A computed execution of `action`, with times that are no whole seconds (start and end at
// 1 and 2 us past the second).
Execution Computed(int64_t run_id, const std::string& step, const std::string& action,
                   std::vector<ArtifactRef> inputs, std::vector<ArtifactRef> outputs,
                   int64_t start_seconds);
// A cache hit repeating `computed` (its id cleared) in run `run_id`, at other times.
Execution HitOf(const Execution& computed, int64_t run_id, google::protobuf::Timestamp start,
                google::protobuf::Timestamp end);
// ... from 0.25 s to 0.75 s past `start_seconds`.
Execution HitOf(const Execution& computed, int64_t run_id, int64_t start_seconds);

// The ids of `executions`, in order.
std::vector<int64_t> Ids(const std::vector<Execution>& executions);
std::vector<int64_t> RunIds(const std::vector<Run>& runs);

// ---------------------------------------------------------------------------------------
// Stores.

// The store at `path`, or null (failing the test) if it cannot be opened.
std::unique_ptr<SqliteLineageStore> OpenStore(const std::string& path,
                                              SqliteLineageOptions options = {});
// The store at `path`, opened read-only.
absl::StatusOr<std::unique_ptr<SqliteLineageStore>> OpenReadOnly(const std::string& path);

// The configurations a store is tested in.
enum class StoreConfig {
  kFileBatched,       // a file, the default batching
  kFileBatchSizeOne,  // a file, batches of one (max_batch_size 1)
  kFileNoDelay,       // a file, every record committed at once (max_batch_delay 0)
  kMemory,            // ":memory:"
};
struct StoreParam {
  const char* name;
  StoreConfig config;
};
void PrintTo(const StoreParam& param, std::ostream* os);
// The name of a parameterized test's instance: the configuration's name.
std::string ParamName(const ::testing::TestParamInfo<StoreParam>& info);
// The file configurations with default batching and no delay, and ":memory:".
std::vector<StoreParam> CommonConfigs();
// Every configuration.
std::vector<StoreParam> AllConfigs();

// A store per test, in the configuration of the test's parameter.
class StoreTest : public ::testing::TestWithParam<StoreParam> {
 protected:
  void SetUp() override;
  void TearDown() override { store_.reset(); }

  bool IsFile() const { return GetParam().config != StoreConfig::kMemory; }
  SqliteLineageOptions Options() const;
  // Opens (again) the store at path_, closing the one open first.
  void Open(const SqliteLineageOptions& options);
  void Open() { Open(Options()); }

  std::string path_;  // a file in a fresh directory, or ":memory:"
  std::unique_ptr<SqliteLineageStore> store_;
};

}  // namespace test
}  // namespace mlops

#endif  // MLOPS_TESTING_LINEAGE_RECORDS_H_
