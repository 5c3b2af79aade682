// Tests of ActionCache (mlops/store/action_cache.h) that hold in memory and on disk alike:
// round trips of every field, replacing, batches, deleting, and malformed digests. The
// on-disk database itself (its rows, damage, recovery, Open's errors) is tested in
// action_cache_disk_test.cc and action_cache_recovery_test.cc.
#include "mlops/store/action_cache.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/hash/digest.h"
#include "mlops/store/action_cache_fixture.h"
#include "mlops/store/action_result.pb.h"
#include "mlops/testing/files.h"
#include "mlops/testing/proto_matchers.h"
#include "mlops/testing/status_matchers.h"

namespace mlops {
namespace {

using ::mlops::test::AllRows;
using ::mlops::test::EqualsProto;
using ::mlops::test::FreshDir;
using ::mlops::test::MakeResult;
using ::mlops::test::RowsFor;
using ::mlops::test::StatusIs;

// The parameter: whether the cache keeps its records on disk (else in memory).
class ActionCacheTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    ac_dir_ = FreshDir() + "/ac";
    if (on_disk()) {
      ASSERT_OK_AND_ASSIGN(cache_, ActionCache::OpenOnDisk(ac_dir_));
    } else {
      cache_ = ActionCache::InMemory();
    }
  }
  bool on_disk() const { return GetParam(); }

  std::string ac_dir_;
  std::unique_ptr<ActionCache> cache_;
};

TEST_P(ActionCacheTest, PutGetRoundTrip) {
  const Digest key = Digest::Of("action key 1");
  const ActionResult result = MakeResult("one");
  ASSERT_OK(cache_->Put(key, result));
  ASSERT_OK_AND_ASSIGN(const ActionResult got, cache_->Get(key));
  EXPECT_THAT(got, EqualsProto(result));
  ASSERT_EQ(got.outputs_size(), 2);
  EXPECT_EQ(got.outputs(0).name(), "model");
  EXPECT_EQ(got.outputs(0).digest(), result.outputs(0).digest());
  EXPECT_EQ(got.outputs(0).size(), result.outputs(0).size());
  EXPECT_EQ(got.outputs(0).type_name(), "vector<f64>");
  EXPECT_EQ(got.outputs(1).name(), "1");
  EXPECT_EQ(got.outputs(1).digest(), result.outputs(1).digest());
  EXPECT_EQ(got.outputs(1).type_name(), "map<string,f64>");
  EXPECT_EQ(got.created().seconds(), 1700000000);
  EXPECT_EQ(got.created().nanos(), 123456789);
  EXPECT_EQ(got.execution_id(), "exec-one");
  EXPECT_EQ(got.run_id(), "run-42");
  EXPECT_EQ(got.host(), "builder.example.com");
  EXPECT_EQ(got.duration_us(), 987654321);
  // Read again: a hit does not consume the record.
  ASSERT_OK_AND_ASSIGN(const ActionResult again, cache_->Get(key));
  EXPECT_THAT(again, EqualsProto(result));
  if (on_disk()) {
    EXPECT_EQ(RowsFor(ac_dir_, key), 1);
    EXPECT_EQ(AllRows(ac_dir_), 1);
  }
}

TEST_P(ActionCacheTest, ResultWithoutOutputsRoundTrips) {
  const Digest key = Digest::Of("no outputs");
  ActionResult result;
  result.set_execution_id("empty");
  ASSERT_OK(cache_->Put(key, result));
  ASSERT_OK_AND_ASSIGN(const ActionResult got, cache_->Get(key));
  EXPECT_THAT(got, EqualsProto(result));
  ASSERT_OK(cache_->Put(Digest::Of("default"), ActionResult()));
  ASSERT_OK_AND_ASSIGN(const ActionResult def, cache_->Get(Digest::Of("default")));
  EXPECT_THAT(def, EqualsProto(ActionResult()));
}

TEST_P(ActionCacheTest, GetOfUnknownKeyIsNotFound) {
  EXPECT_THAT(cache_->Get(Digest::Of("unknown")), StatusIs(absl::StatusCode::kNotFound));
  ASSERT_OK(cache_->Put(Digest::Of("known"), MakeResult("k")));
  EXPECT_THAT(cache_->Get(Digest::Of("unknown")), StatusIs(absl::StatusCode::kNotFound));
}

TEST_P(ActionCacheTest, KeysAreIndependent) {
  const ActionResult r1 = MakeResult("first");
  const ActionResult r2 = MakeResult("second");
  ASSERT_OK(cache_->Put(Digest::Of("k1"), r1));
  ASSERT_OK(cache_->Put(Digest::Of("k2"), r2));
  ASSERT_OK_AND_ASSIGN(const ActionResult g1, cache_->Get(Digest::Of("k1")));
  ASSERT_OK_AND_ASSIGN(const ActionResult g2, cache_->Get(Digest::Of("k2")));
  EXPECT_THAT(g1, EqualsProto(r1));
  EXPECT_THAT(g2, EqualsProto(r2));
}

TEST_P(ActionCacheTest, MalformedOutputDigestIsInvalidArgument) {
  const Digest key = Digest::Of("malformed");
  const ActionResult good = MakeResult("good");
  ASSERT_OK(cache_->Put(key, good));
  const std::string valid = good.outputs(0).digest();
  for (const std::string& bad :
       {std::string(""), std::string("xyz"), valid.substr(0, 31), valid + "0",
        valid.substr(0, 31) + "g", std::string(32, ' '), "0x" + valid.substr(0, 30)}) {
    SCOPED_TRACE(absl::StrCat("digest \"", bad, "\""));
    ActionResult result = MakeResult("bad");
    result.mutable_outputs(1)->set_digest(bad);
    EXPECT_THAT(cache_->Put(key, result), StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(cache_->Put(Digest::Of(bad), result),
                StatusIs(absl::StatusCode::kInvalidArgument));
    // Nothing was stored or replaced.
    EXPECT_THAT(cache_->Get(Digest::Of(bad)), StatusIs(absl::StatusCode::kNotFound));
    ASSERT_OK_AND_ASSIGN(const ActionResult still, cache_->Get(key));
    EXPECT_THAT(still, EqualsProto(good));
  }
  if (on_disk()) {
    EXPECT_EQ(AllRows(ac_dir_), 1);
  }
}

TEST_P(ActionCacheTest, PutReplaces) {
  const Digest key = Digest::Of("replaced");
  const ActionResult first = MakeResult("first");
  ActionResult second = MakeResult("second");
  second.mutable_outputs()->RemoveLast();  // a different shape, too
  ASSERT_OK(cache_->Put(key, first));
  ASSERT_OK(cache_->Put(key, second));
  ASSERT_OK_AND_ASSIGN(const ActionResult got, cache_->Get(key));
  EXPECT_THAT(got, EqualsProto(second));
  EXPECT_EQ(got.outputs_size(), 1);
  ASSERT_OK(cache_->Put(key, first));
  ASSERT_OK_AND_ASSIGN(const ActionResult back, cache_->Get(key));
  EXPECT_THAT(back, EqualsProto(first));
  if (on_disk()) {
    EXPECT_EQ(AllRows(ac_dir_), 1);
  }
}

TEST_P(ActionCacheTest, PutManyRoundTripsManyRecords) {
  constexpr int kRecords = 300;
  std::vector<Digest> keys;
  std::vector<ActionResult> results;
  for (int i = 0; i < kRecords; ++i) {
    keys.push_back(Digest::Of(absl::StrCat("many ", i)));
    results.push_back(MakeResult(absl::StrCat("many ", i)));
  }
  // One key was stored before: PutMany replaces it.
  ASSERT_OK(cache_->Put(keys[7], MakeResult("before")));
  std::vector<std::pair<Digest, const ActionResult*>> batch;
  for (int i = 0; i < kRecords; ++i) batch.emplace_back(keys[i], &results[i]);
  ASSERT_OK(cache_->PutMany(batch));
  for (int i = 0; i < kRecords; ++i) {
    SCOPED_TRACE(i);
    ASSERT_OK_AND_ASSIGN(const ActionResult got, cache_->Get(keys[i]));
    EXPECT_THAT(got, EqualsProto(results[i]));
  }
  if (on_disk()) {
    EXPECT_EQ(AllRows(ac_dir_), kRecords);
  }
  // An empty batch stores nothing, successfully.
  ASSERT_OK(cache_->PutMany({}));
  // A key given twice in one batch: as Puts in that order, the later one stays.
  ASSERT_OK(cache_->PutMany({{keys[0], &results[1]}, {keys[0], &results[2]}}));
  ASSERT_OK_AND_ASSIGN(const ActionResult twice, cache_->Get(keys[0]));
  EXPECT_THAT(twice, EqualsProto(results[2]));
}

TEST_P(ActionCacheTest, PutManyWithAMalformedDigestStoresNone) {
  const Digest kept = Digest::Of("stored before");
  const ActionResult before = MakeResult("before");
  ASSERT_OK(cache_->Put(kept, before));
  const ActionResult r0 = MakeResult("r0");
  const ActionResult r1 = MakeResult("r1");
  ActionResult bad = MakeResult("bad");
  bad.mutable_outputs(0)->set_digest("not a digest");
  const ActionResult r3 = MakeResult("r3");
  const std::vector<std::pair<Digest, const ActionResult*>> batch = {
      {Digest::Of("r0"), &r0}, {kept, &r1}, {Digest::Of("bad"), &bad}, {Digest::Of("r3"), &r3}};
  EXPECT_THAT(cache_->PutMany(batch), StatusIs(absl::StatusCode::kInvalidArgument));
  for (const char* name : {"r0", "bad", "r3"}) {
    SCOPED_TRACE(name);
    EXPECT_THAT(cache_->Get(Digest::Of(name)), StatusIs(absl::StatusCode::kNotFound));
  }
  ASSERT_OK_AND_ASSIGN(const ActionResult still, cache_->Get(kept));
  EXPECT_THAT(still, EqualsProto(before));
  if (on_disk()) {
    EXPECT_EQ(AllRows(ac_dir_), 1);
  }
}

TEST_P(ActionCacheTest, Delete) {
  const Digest key = Digest::Of("deleted");
  const Digest other = Digest::Of("kept");
  ASSERT_OK(cache_->Put(key, MakeResult("d")));
  ASSERT_OK(cache_->Put(other, MakeResult("o")));
  ASSERT_OK(cache_->Delete(key));
  EXPECT_THAT(cache_->Get(key), StatusIs(absl::StatusCode::kNotFound));
  ASSERT_OK(cache_->Delete(key));                   // again
  ASSERT_OK(cache_->Delete(Digest::Of("never")));  // never there
  EXPECT_TRUE(cache_->Get(other).ok());
  if (on_disk()) {
    EXPECT_EQ(RowsFor(ac_dir_, key), 0);
    EXPECT_EQ(RowsFor(ac_dir_, other), 1);
  }
}

// Removing a record only as it was read leaves one stored meanwhile, and any other key.
TEST_P(ActionCacheTest, DeleteIfUnchangedRemovesOnlyTheRecordAsSeen) {
  const Digest key = Digest::Of("compare and delete");
  const ActionResult seen = MakeResult("seen");
  ASSERT_OK(cache_->Put(key, seen));
  ASSERT_OK(cache_->Put(Digest::Of("other key"), seen));
  ASSERT_OK_AND_ASSIGN(const ActionResult read, cache_->Get(key));
  const ActionResult newer = MakeResult("newer");
  ASSERT_OK(cache_->Put(key, newer));
  ASSERT_OK(cache_->DeleteIfUnchanged(key, read));  // another writer replaced it: kept
  ASSERT_OK_AND_ASSIGN(const ActionResult kept, cache_->Get(key));
  EXPECT_THAT(kept, EqualsProto(newer));
  ASSERT_OK(cache_->DeleteIfUnchanged(key, kept));  // as read: removed
  EXPECT_THAT(cache_->Get(key), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_TRUE(cache_->Get(Digest::Of("other key")).ok());
  ASSERT_OK(cache_->DeleteIfUnchanged(key, kept));  // none left: OK
  // Params and metrics are maps: a record read back seals to the same bytes whatever the
  // order its map entries come in.
  ActionResult many = MakeResult("maps");
  for (int i = 0; i < 20; ++i) {
    (*many.mutable_params())[absl::StrCat("p", i)] = absl::StrCat(i);
    (*many.mutable_metrics())[absl::StrCat("m", i)] = i;
  }
  ASSERT_OK(cache_->Put(key, many));
  ASSERT_OK_AND_ASSIGN(const ActionResult many_read, cache_->Get(key));
  ASSERT_OK(cache_->DeleteIfUnchanged(key, many_read));
  EXPECT_THAT(cache_->Get(key), StatusIs(absl::StatusCode::kNotFound));
  if (on_disk()) {
    EXPECT_EQ(RowsFor(ac_dir_, key), 0);
  }
}

INSTANTIATE_TEST_SUITE_P(InMemoryAndOnDisk, ActionCacheTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return std::string(info.param ? "OnDisk" : "InMemory");
                         });

}  // namespace
}  // namespace mlops
