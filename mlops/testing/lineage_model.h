// The fixture of the compact-hit tests (sqlite_lineage_hits*_test.cc in mlops/lineage): a
// store per test in every configuration, and a model of what was recorded, against which
// ExpectReadsExact() checks every read path: GetExecution, ExecutionsOfRun,
// ExecutionsOfStep, Producers, Consumers, GetArtifact, StepOutputs, and the Upstream and
// Downstream closures (with and without cache hits) from every artifact and every
// execution. Comparisons are bitwise (EqualsProto), so that -0.0 and 0.0 differ. Storage
// itself is checked with raw SQL on the database file (Rows, ExpectRows).
//
// Example (each test file instantiates the fixture's tests in every configuration):
//   INSTANTIATE_TEST_SUITE_P(Stores, SqliteLineageHitsTest,
//                            ::testing::ValuesIn(test::AllConfigs()), test::ParamName);
//   TEST_P(SqliteLineageHitsTest, WarmRerun) {
//     const WarmRerun w = RecordWarmRerun();
//     ASSERT_NO_FATAL_FAILURE(ExpectRows(/*hits=*/3, /*executions=*/3));
//     ASSERT_NO_FATAL_FAILURE(ExpectReadsExact());
//   }
//
// Thread safety: a fixture is one test's.
#ifndef MLOPS_TESTING_LINEAGE_MODEL_H_
#define MLOPS_TESTING_LINEAGE_MODEL_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "mlops/lineage/lineage.pb.h"
#include "mlops/lineage/lineage_store.h"
#include "mlops/testing/lineage_records.h"

namespace mlops {
namespace test {

// What was recorded, and what every read must therefore return.
struct LineageModel {
  std::map<int64_t, Execution> executions;  // live, by id, each with its id set
  std::set<int64_t> runs;                   // live
  std::set<int64_t> deleted_runs;
  std::set<int64_t> deleted_executions;
  std::set<std::string> digests;  // every digest (hex) any execution ever named

  // Records `e` (its id set), or forgets a run and its executions.
  void Put(const Execution& e);
  void DeleteRun(int64_t run);

  // Whether one of `refs` names `digest`.
  static bool Names(const google::protobuf::RepeatedPtrField<ArtifactRef>& refs,
                    const std::string& digest);

  // Whether an artifact is stored: some live execution reads or writes it.
  bool ArtifactExists(const std::string& digest) const;

  // The executions with `digest` among their inputs or outputs: the computing ones, then
  // the cache hits, each in id order; only the computing ones if there are any and hits are
  // not wanted.
  std::vector<int64_t> Edge(const std::string& digest, bool inputs, bool include_hits) const;

  // The executions of a run, in id order, and the steps of all.
  std::vector<int64_t> OfRun(int64_t run) const;
  // Newest first by start time (to the microsecond, as indexed), then by id, descending.
  std::vector<int64_t> OfStep(const std::string& step) const;
  std::set<std::string> Steps() const;

  using EventKey = std::tuple<int64_t, int, std::string, std::string>;  // id, kind, name, digest
  struct Graph {
    std::set<int64_t> executions;
    std::set<std::string> artifacts;
    std::set<EventKey> events;
  };

  // The closure as lineage_store.h defines it, computed over the model.
  Graph Closure(const LineageNode& from, bool upstream, bool include_hits) const;
};

class SqliteLineageHitsTest : public StoreTest {
 protected:
  // Begins a run of "pipeline" started then.
  int64_t BeginRun(int64_t start_seconds);

  // Records `e` and returns it as it must read back (with its id).
  Execution Record(const Execution& e);

  // Updates or deletes in the store and the model alike.
  void Update(const Execution& e);
  void DeleteRun(int64_t run);

  // Rows in a table of the database file, after a flush; -1 for the in-memory database (and
  // on a failure, which fails the test).
  int64_t Rows(const std::string& table);

  // Expects `hits` rows in the hits table and `executions` in the executions table (file
  // databases only).
  void ExpectRows(int64_t hits, int64_t executions);

  // Expects every execution to be stored exactly once, in one table or the other.
  void ExpectOneRowPerExecution();

  // Expects `got` to be the model's executions `ids`, in order, each exactly as recorded;
  // `what` names the read in failures.
  void ExpectExecutions(const std::vector<Execution>& got, const std::vector<int64_t>& ids,
                        const std::string& what);

  // Expects the closure from `from` to be the model's.
  void ExpectClosure(const LineageNode& from, bool upstream, bool include_hits);

  // Checks every read path against the model.
  void ExpectReadsExact();

  // The warm rerun: run 1 computes a -> b -> c, run 2 records the three as cache hits.
  struct WarmRerun {
    int64_t run1 = 0, run2 = 0;
    Execution a1, b1, c1, a2, b2, c2;
  };
  WarmRerun RecordWarmRerun();

  LineageModel model_;
};

}  // namespace test
}  // namespace mlops

#endif  // MLOPS_TESTING_LINEAGE_MODEL_H_
