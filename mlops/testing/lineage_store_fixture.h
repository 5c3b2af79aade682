// The fixture of the LineageStore tests (sqlite_lineage_*_test.cc in mlops/lineage): a store
// per test in each common configuration, and a hand-built pipeline whose graph queries'
// answers the tests write out, not compute.
//
// The hand-built pipeline (SqliteLineageStoreTest::BuildPipeline):
// Run 1 (all computed):
//   load1     (file: raw)                      -> 0: data
//   clean1    (data: data)                     -> 0: clean
//   split1    (data: clean)                    -> train: train, test: test
//   train_a1  (train: train)                   -> 0: model_a
//   train_b1  (train: train)                   -> 0: model_b
//   evaluate1 (a: model_a, b: model_b, test: test) -> 0: report
// Run 2 (load, clean, split and train_a are cache hits with the same outputs and the same
// action keys as in run 1):
//   load2*, clean2*, split2*, train_a2*        (same inputs and outputs as in run 1)
//   train_b2  (train: train)                   -> 0: model_b2
//   evaluate2 (a: model_a, b: model_b2, test: test) -> 0: report2
//
// Example (each test file instantiates the fixture's tests in the common configurations):
//   INSTANTIATE_TEST_SUITE_P(Stores, SqliteLineageStoreTest,
//                            ::testing::ValuesIn(test::CommonConfigs()), test::ParamName);
//   TEST_P(SqliteLineageStoreTest, Producers) {
//     ASSERT_NO_FATAL_FAILURE(BuildPipeline());
//     EXPECT_THAT(ProducerNames("data"), ElementsAre("load1", "load2"));
//   }
//
// Thread safety: a fixture is one test's.
#ifndef MLOPS_TESTING_LINEAGE_STORE_FIXTURE_H_
#define MLOPS_TESTING_LINEAGE_STORE_FIXTURE_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "mlops/lineage/lineage.pb.h"
#include "mlops/lineage/lineage_store.h"
#include "mlops/testing/lineage_records.h"

namespace mlops {
namespace test {

// The matchers the fixture's tests check names and ids with.
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

// Recorded executions by name, to describe what queries return by names.
class RecordedPipeline {
 public:
  // Records that `e` was recorded as `name` and given `id`.
  void Add(const std::string& name, int64_t id, const Execution& e);
  int64_t Id(const std::string& name) const { return ids_.at(name); }
  const Execution& Recorded(const std::string& name) const { return recorded_.at(Id(name)); }

  // The name of execution `id` ("#<id>" if unnamed), of an artifact of the pipeline (else
  // its digest), and of an event.
  std::string ExecutionName(int64_t id) const;
  static std::string ArtifactName(const std::string& digest);
  static std::string EventName(const std::string& execution, const std::string& artifact,
                               Event::Kind kind, const std::string& name);

  // Every event of the named executions, from what was recorded.
  std::set<std::string> EventsOf(const std::set<std::string>& executions) const;

  // A subgraph described by names, checking each execution against what was recorded and
  // that nothing is listed twice.
  struct Named {
    std::set<std::string> executions, artifacts, events;
  };
  Named Describe(const Subgraph& g) const;

  int64_t run1 = 0, run2 = 0;

 private:
  std::map<std::string, int64_t> ids_;
  std::map<int64_t, std::string> names_;
  std::map<int64_t, Execution> recorded_;
};

class SqliteLineageStoreTest : public StoreTest {
 protected:
  int64_t BeginRun(const mlops::Run& run);
  int64_t Record(const Execution& e);
  // Records `e` as pipeline execution `name`.
  void Add(const std::string& name, const Execution& e) { p_.Add(name, Record(e), e); }
  // Records the hand-built pipeline (see the top of this header).
  void BuildPipeline();

  // The names of the producers and consumers of the artifact named `artifact`, each
  // checked against what was recorded.
  std::vector<std::string> ProducerNames(const std::string& artifact);
  std::vector<std::string> ConsumerNames(const std::string& artifact);
  std::vector<std::string> Names(const std::vector<Execution>& executions);

  // Checks a closure against the expected executions and artifacts; the expected events
  // are every event of the expected executions.
  void ExpectClosure(bool upstream, const LineageNode& from, int max_hops, bool include_cache_hits,
                     const std::set<std::string>& executions,
                     const std::set<std::string>& artifacts);

  RecordedPipeline p_;  // filled by BuildPipeline() and Add()
};

}  // namespace test
}  // namespace mlops

#endif  // MLOPS_TESTING_LINEAGE_STORE_FIXTURE_H_
