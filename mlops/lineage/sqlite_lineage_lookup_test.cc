// Tests of the read-only lookups for tools: FindArtifactsByPrefix and StepOutputs.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/hash/digest.h"
#include "mlops/lineage/lineage.pb.h"
#include "mlops/lineage/sqlite_lineage_store.h"

namespace mlops {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

Digest D(const std::string& hex) { return *Digest::FromHex(hex); }

ArtifactRef Ref(const std::string& name, const Digest& d) {
  ArtifactRef r;
  r.set_name(name);
  r.set_digest(d.ToHex());
  r.set_type_name("blob");
  return r;
}

Execution Exec(int64_t run, const std::string& step, const std::string& key,
               std::vector<ArtifactRef> in, std::vector<ArtifactRef> out, bool hit = false) {
  Execution e;
  e.set_run_id(run);
  e.set_step_name(step);
  e.set_action_key(Digest::Of(key).ToHex());
  for (ArtifactRef& r : in) *e.add_inputs() = std::move(r);
  for (ArtifactRef& r : out) *e.add_outputs() = std::move(r);
  e.set_status(hit ? Execution::CACHED : Execution::SUCCEEDED);
  e.set_cache_hit(hit);
  return e;
}

// Digests chosen to share prefixes: a1b2..., a1b3..., a1ff..., 0000....
const Digest kA = D("a1b20000000000000000000000000001");
const Digest kB = D("a1b30000000000000000000000000002");
const Digest kC = D("a1ff0000000000000000000000000003");
const Digest kZ = D("00000000000000000000000000000004");

class LookupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SqliteLineageOptions options;
    options.max_batch_delay = absl::Seconds(10);  // queries must see queued records
    absl::StatusOr<std::unique_ptr<SqliteLineageStore>> s =
        SqliteLineageStore::Open(":memory:", options);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = *std::move(s);
    mlops::Run run;
    run.set_program("test");
    absl::StatusOr<int64_t> id = store_->BeginRun(run);
    ASSERT_TRUE(id.ok()) << id.status();
    run_ = *id;
    // load: z -> a; clean: a -> b, c (computed, then a cache hit); copy: b -> a.
    ASSERT_TRUE(store_->RecordExecution(Exec(run_, "load", "k1", {Ref("f", kZ)}, {Ref("0", kA)})).ok());
    ASSERT_TRUE(
        store_->RecordExecution(Exec(run_, "clean", "k2", {Ref("x", kA)}, {Ref("0", kB), Ref("1", kC)}))
            .ok());
    // A cache hit of clean: no event rows of its own, still counts as output by "clean".
    ASSERT_TRUE(
        store_->RecordExecution(
                  Exec(run_, "clean", "k2", {Ref("x", kA)}, {Ref("0", kB), Ref("1", kC)}, true))
            .ok());
    // Another step that outputs the same value as load.
    ASSERT_TRUE(store_->RecordExecution(Exec(run_, "copy", "k3", {Ref("y", kB)}, {Ref("0", kA)})).ok());
  }

  std::unique_ptr<SqliteLineageStore> store_;
  int64_t run_ = 0;
};

TEST_F(LookupTest, PrefixMatchesInDigestOrder) {
  absl::StatusOr<std::vector<Digest>> found = store_->FindArtifactsByPrefix("a1");
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_THAT(*found, ElementsAre(kA, kB, kC));
  found = store_->FindArtifactsByPrefix("a1b");
  ASSERT_TRUE(found.ok());
  EXPECT_THAT(*found, ElementsAre(kA, kB));
  found = store_->FindArtifactsByPrefix("A1B3");  // either case
  ASSERT_TRUE(found.ok());
  EXPECT_THAT(*found, ElementsAre(kB));
  found = store_->FindArtifactsByPrefix(kC.ToHex());  // a whole digest
  ASSERT_TRUE(found.ok());
  EXPECT_THAT(*found, ElementsAre(kC));
  found = store_->FindArtifactsByPrefix("0");
  ASSERT_TRUE(found.ok());
  EXPECT_THAT(*found, ElementsAre(kZ));
}

TEST_F(LookupTest, PrefixLimitAndNoMatch) {
  absl::StatusOr<std::vector<Digest>> found = store_->FindArtifactsByPrefix("a1", 2);
  ASSERT_TRUE(found.ok());
  EXPECT_THAT(*found, ElementsAre(kA, kB));
  found = store_->FindArtifactsByPrefix("b");
  ASSERT_TRUE(found.ok());
  EXPECT_THAT(*found, IsEmpty());
}

TEST_F(LookupTest, MalformedPrefixIsInvalidArgument) {
  for (const std::string& bad : {std::string(""), std::string("xyz"), std::string("a1-"),
                                std::string(33, 'a')}) {
    absl::StatusOr<std::vector<Digest>> found = store_->FindArtifactsByPrefix(bad);
    ASSERT_FALSE(found.ok()) << bad;
    EXPECT_TRUE(absl::IsInvalidArgument(found.status())) << found.status();
    EXPECT_THAT(std::string(found.status().message()), HasSubstr("\"" + bad + "\""));
  }
}

TEST_F(LookupTest, StepOutputsListsEachPairOnce) {
  absl::StatusOr<std::vector<LineageStore::StepOutput>> outputs = store_->StepOutputs();
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const auto& o : *outputs) pairs.emplace_back(o.digest.ToHex(), o.step_name);
  EXPECT_THAT(pairs, ElementsAre(std::make_pair(kA.ToHex(), "copy"),
                                 std::make_pair(kA.ToHex(), "load"),
                                 std::make_pair(kB.ToHex(), "clean"),
                                 std::make_pair(kC.ToHex(), "clean")));
}

TEST_F(LookupTest, StepOutputsKeepsHitsWhoseComputingRunIsDeleted) {
  // A second run holding only a hit of "load"; deleting the first run hands the events
  // over to the hit, which still names its step.
  mlops::Run run;
  run.set_program("test");
  absl::StatusOr<int64_t> second = store_->BeginRun(run);
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(
      store_->RecordExecution(Exec(*second, "load", "k1", {Ref("f", kZ)}, {Ref("0", kA)}, true))
          .ok());
  ASSERT_TRUE(store_->DeleteRun(run_).ok());
  absl::StatusOr<std::vector<LineageStore::StepOutput>> outputs = store_->StepOutputs();
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  ASSERT_EQ(outputs->size(), 1u);
  EXPECT_EQ((*outputs)[0].digest, kA);
  EXPECT_EQ((*outputs)[0].step_name, "load");
}

}  // namespace
}  // namespace mlops
