// Tests of ActionCache (mlops/store/action_cache.h), on disk and in memory, each with a
// MemoryStore or a DiskStore holding the outputs.
#include "mlops/store/action_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "mlops/hash/digest.h"
#include "mlops/store/action_result.pb.h"
#include "mlops/store/content_store.h"
#include "mlops/store/disk_store.h"
#include "mlops/store/memory_store.h"
#include "mlops/testing/files.h"
#include "mlops/testing/status_matchers.h"

namespace mlops {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::mlops::test::FreshDir;
using ::mlops::test::StatusIs;
using ::mlops::test::ListDir;
using ::mlops::test::SetAge;
using ::mlops::test::Slurp;
using ::mlops::test::Spit;

// Aborts the test binary when a system call used to *set up* a test fails; such a failure is
// an environment problem, not a finding about the code under test.
#define CHECK_SYS(expr)                                                         \
  do {                                                                          \
    if (!(expr)) {                                                              \
      std::fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #expr, \
                   std::strerror(errno));                                       \
      std::abort();                                                             \
    }                                                                           \
  } while (0)

MATCHER_P(EqualsProto, expected, "equals the expected message") {
  std::string diff;
  MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&diff);
  if (differencer.Compare(expected, arg)) return true;
  *result_listener << "differences:\n" << diff;
  return false;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

// Where an on-disk action cache in `ac_dir` keeps the record for `key` (ActionCache::PathOf,
// which is private): <dir>/<first 2 hex>/<32 hex>.
std::string RecordPath(const std::string& ac_dir, const Digest& key) {
  const std::string hex = key.ToHex();
  return absl::StrCat(ac_dir, "/", hex.substr(0, 2), "/", hex);
}

// ---------------------------------------------------------------------------------------
// The parameter: where the cache keeps records, and which store holds the outputs.

struct CacheConfig {
  const char* name;
  bool cache_on_disk;
  bool store_on_disk;
};

void PrintTo(const CacheConfig& c, std::ostream* os) { *os << c.name; }

class ActionCacheTestBase {
 protected:
  void Open(bool cache_on_disk, bool store_on_disk) {
    dir_ = FreshDir();
    ac_dir_ = dir_ + "/ac";
    if (store_on_disk) {
      absl::StatusOr<std::unique_ptr<DiskStore>> s = DiskStore::Open(dir_ + "/cas");
      ASSERT_TRUE(s.ok()) << s.status();
      store_ = std::move(*s);
    } else {
      store_ = std::make_unique<MemoryStore>();
    }
    if (cache_on_disk) {
      ASSERT_OK_AND_ASSIGN(cache_, ActionCache::OpenOnDisk(ac_dir_, store_.get()));
    } else {
      cache_ = ActionCache::InMemory(store_.get());
    }
    ASSERT_NE(cache_, nullptr);
  }

  // A result with two outputs whose values are in the store, and every field set.
  ActionResult MakeResult(absl::string_view tag) {
    ActionResult r;
    const std::string model = absl::StrCat("model bytes of ", tag);
    const std::string metrics = absl::StrCat("metrics of ", tag, std::string(100, 'm'));
    OutputRef* out = r.add_outputs();
    out->set_name("model");
    out->set_digest(PutOrDie(model).ToHex());
    out->set_size(static_cast<int64_t>(model.size()));
    out->set_type_name("vector<f64>");
    out = r.add_outputs();
    out->set_name("1");
    out->set_digest(PutOrDie(metrics).ToHex());
    out->set_size(static_cast<int64_t>(metrics.size()));
    out->set_type_name("map<string,f64>");
    r.mutable_created()->set_seconds(1700000000);
    r.mutable_created()->set_nanos(123456789);
    r.set_execution_id(absl::StrCat("exec-", tag));
    r.set_run_id("run-42");
    r.set_host("builder.example.com");
    r.set_duration_us(987654321);
    return r;
  }

  Digest PutOrDie(absl::string_view bytes) {
    absl::StatusOr<Digest> d = store_->Put(bytes);
    EXPECT_TRUE(d.ok()) << d.status();
    return d.ok() ? *d : Digest::Of(bytes);
  }

  std::string dir_;
  std::string ac_dir_;
  std::unique_ptr<ContentStore> store_;
  std::unique_ptr<ActionCache> cache_;
};

class ActionCacheTest : public ActionCacheTestBase,
                        public ::testing::TestWithParam<CacheConfig> {
 protected:
  void SetUp() override { Open(GetParam().cache_on_disk, GetParam().store_on_disk); }
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
  if (GetParam().cache_on_disk) {
    EXPECT_TRUE(Exists(RecordPath(ac_dir_, key)));
    EXPECT_THAT(ListDir(ac_dir_ + "/tmp"), IsEmpty());
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

TEST_P(ActionCacheTest, MissingOutputIsAMissAndRemovesTheRecord) {
  const Digest key = Digest::Of("action with an evicted output");
  const ActionResult result = MakeResult("evicted");
  ASSERT_OK(cache_->Put(key, result));
  const Digest metrics = *Digest::FromHex(result.outputs(1).digest());
  const std::string metrics_bytes = "metrics of evicted" + std::string(100, 'm');
  ASSERT_EQ(metrics, Digest::Of(metrics_bytes));
  ASSERT_OK(store_->Delete(metrics));

  absl::StatusOr<ActionResult> miss = cache_->Get(key);
  EXPECT_THAT(miss, StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(std::string(miss.status().message()), HasSubstr(metrics.ToHex()));
  if (GetParam().cache_on_disk) {
    EXPECT_FALSE(Exists(RecordPath(ac_dir_, key)));
  }
  // The record is gone: even with the output back in the store, the key misses.
  PutOrDie(metrics_bytes);
  EXPECT_THAT(cache_->Get(key), StatusIs(absl::StatusCode::kNotFound));
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
  if (GetParam().cache_on_disk) {
    EXPECT_THAT(ListDir(ac_dir_ + "/tmp"), IsEmpty());
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
  // The outputs themselves stay in the content store.
  absl::StatusOr<bool> present = store_->Contains(Digest::Of("model bytes of d"));
  ASSERT_TRUE(present.ok());
  EXPECT_TRUE(*present);
  if (GetParam().cache_on_disk) {
    EXPECT_FALSE(Exists(RecordPath(ac_dir_, key)));
  }
}

INSTANTIATE_TEST_SUITE_P(
    All, ActionCacheTest,
    ::testing::Values(CacheConfig{"OnDiskWithDiskStore", true, true},
                      CacheConfig{"OnDiskWithMemoryStore", true, false},
                      CacheConfig{"InMemoryWithDiskStore", false, true},
                      CacheConfig{"InMemoryWithMemoryStore", false, false}),
    [](const ::testing::TestParamInfo<CacheConfig>& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------------------
// On disk only: damaged records, temporary files, Open's errors.

class OnDiskActionCacheTest : public ActionCacheTestBase, public ::testing::Test {
 protected:
  void SetUp() override { Open(/*cache_on_disk=*/true, /*store_on_disk=*/false); }

  // Expects DATA_LOSS naming the record's path once, then NOT_FOUND, and the file gone.
  void ExpectDataLossOnceThenNotFound(const Digest& key) {
    const std::string path = RecordPath(ac_dir_, key);
    absl::StatusOr<ActionResult> got = cache_->Get(key);
    EXPECT_THAT(got, StatusIs(absl::StatusCode::kDataLoss));
    EXPECT_THAT(std::string(got.status().message()), HasSubstr(path));
    EXPECT_THAT(cache_->Get(key), StatusIs(absl::StatusCode::kNotFound));
    EXPECT_THAT(cache_->Get(key), StatusIs(absl::StatusCode::kNotFound));
    EXPECT_FALSE(Exists(path));
  }
};

TEST_F(OnDiskActionCacheTest, RecordIsWhereExpected) {
  const Digest key = Digest::Of("where");
  ASSERT_OK(cache_->Put(key, MakeResult("w")));
  const std::string hex = key.ToHex();
  EXPECT_THAT(ListDir(ac_dir_ + "/" + hex.substr(0, 2)), ::testing::ElementsAre(hex));
}

TEST_F(OnDiskActionCacheTest, FlippedByteIsDataLossOnceThenNotFound) {
  const Digest key = Digest::Of("flipped");
  const std::string path = RecordPath(ac_dir_, key);
  ASSERT_OK(cache_->Put(key, MakeResult("f")));
  const std::string sealed = Slurp(path);
  ASSERT_GT(sealed.size(), 16u);
  // A byte of the body, the first byte, and a byte of the trailing checksum.
  for (const size_t at : {sealed.size() / 2, size_t{0}, sealed.size() - 1}) {
    SCOPED_TRACE(absl::StrCat("byte ", at));
    ASSERT_OK(cache_->Put(key, MakeResult("f")));
    ASSERT_EQ(Slurp(path), sealed);
    std::string bad = sealed;
    bad[at] = static_cast<char>(bad[at] ^ 0x01);
    Spit(path, bad);
    ExpectDataLossOnceThenNotFound(key);
  }
}

TEST_F(OnDiskActionCacheTest, TruncatedRecordIsDataLossOnceThenNotFound) {
  const Digest key = Digest::Of("truncated");
  const std::string path = RecordPath(ac_dir_, key);
  ASSERT_OK(cache_->Put(key, MakeResult("t")));
  const std::string sealed = Slurp(path);
  for (const size_t size : {sealed.size() - 1, sealed.size() / 2, size_t{15}, size_t{0}}) {
    SCOPED_TRACE(absl::StrCat("truncated to ", size));
    ASSERT_OK(cache_->Put(key, MakeResult("t")));
    CHECK_SYS(::truncate(path.c_str(), static_cast<off_t>(size)) == 0);
    ExpectDataLossOnceThenNotFound(key);
  }
}

TEST_F(OnDiskActionCacheTest, RecordCopiedToAnotherKeyIsDataLossOnceThenNotFound) {
  const Digest key = Digest::Of("original key");
  const Digest other = Digest::Of("another key");
  const ActionResult result = MakeResult("copied");
  ASSERT_OK(cache_->Put(key, result));
  const std::string other_path = RecordPath(ac_dir_, other);
  const std::string shard = other_path.substr(0, other_path.rfind('/'));
  if (!Exists(shard)) {
    CHECK_SYS(::mkdir(shard.c_str(), 0755) == 0);
  }
  Spit(other_path, Slurp(RecordPath(ac_dir_, key)));
  ExpectDataLossOnceThenNotFound(other);
  // The original is intact.
  ASSERT_OK_AND_ASSIGN(const ActionResult got, cache_->Get(key));
  EXPECT_THAT(got, EqualsProto(result));
}

TEST_F(OnDiskActionCacheTest, RecordsSurviveReopening) {
  const Digest key = Digest::Of("persistent");
  const ActionResult result = MakeResult("p");
  ASSERT_OK(cache_->Put(key, result));
  cache_.reset();
  ASSERT_OK_AND_ASSIGN(cache_, ActionCache::OpenOnDisk(ac_dir_, store_.get()));
  ASSERT_OK_AND_ASSIGN(const ActionResult got, cache_->Get(key));
  EXPECT_THAT(got, EqualsProto(result));
}

TEST_F(OnDiskActionCacheTest, OpenRemovesStaleTempsAndKeepsYoungOnes) {
  const std::string tmp = ac_dir_ + "/tmp";
  const std::string stale1 = tmp + "/123.0.deadbeef";
  const std::string stale2 = tmp + "/whatever";
  const std::string young = tmp + "/124.0.cafe";
  const std::string thirty = tmp + "/125.0.cafe";
  for (const std::string& p : {stale1, stale2, young, thirty}) Spit(p, "partial record");
  SetAge(stale1, 3600);
  SetAge(stale2, 61 + 60);
  SetAge(thirty, 30);
  cache_.reset();
  ASSERT_OK_AND_ASSIGN(cache_, ActionCache::OpenOnDisk(ac_dir_, store_.get()));
  EXPECT_FALSE(Exists(stale1));
  EXPECT_FALSE(Exists(stale2));
  EXPECT_TRUE(Exists(young));
  EXPECT_TRUE(Exists(thirty));
  // The cache works as before.
  ASSERT_OK(cache_->Put(Digest::Of("k"), MakeResult("k")));
  EXPECT_TRUE(cache_->Get(Digest::Of("k")).ok());
}

TEST_F(OnDiskActionCacheTest, DurabilityOptionsRoundTrip) {
  for (const Durability durability : {Durability::kSyncFile, Durability::kSyncFileAndDirectory}) {
    SCOPED_TRACE(static_cast<int>(durability));
    const std::string dir = absl::StrCat(dir_, "/ac", static_cast<int>(durability));
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<ActionCache> cache,
                         ActionCache::OpenOnDisk(dir, store_.get(), durability));
    const ActionResult result = MakeResult("durable");
    ASSERT_OK(cache->Put(Digest::Of("durable"), result));
    ASSERT_OK_AND_ASSIGN(const ActionResult got, cache->Get(Digest::Of("durable")));
    EXPECT_THAT(got, EqualsProto(result));
  }
}

TEST(ActionCacheOpenTest, OpenOnDiskOnAFileIsFailedPrecondition) {
  const std::string file = FreshDir() + "/a-file";
  Spit(file, "not a directory");
  MemoryStore store;
  absl::StatusOr<std::unique_ptr<ActionCache>> cache = ActionCache::OpenOnDisk(file, &store);
  EXPECT_THAT(cache, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(std::string(cache.status().message()), HasSubstr(file));
  EXPECT_EQ(Slurp(file), "not a directory");
}

TEST(ActionCacheOpenTest, OpenOnDiskWithTmpAsAFileIsFailedPrecondition) {
  const std::string dir = FreshDir() + "/ac";
  CHECK_SYS(::mkdir(dir.c_str(), 0755) == 0);
  Spit(dir + "/tmp", "not a directory");
  MemoryStore store;
  absl::StatusOr<std::unique_ptr<ActionCache>> cache = ActionCache::OpenOnDisk(dir, &store);
  EXPECT_THAT(cache, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(std::string(cache.status().message()), HasSubstr(dir + "/tmp"));
}

TEST(ActionCacheOpenTest, OpenOnDiskOfEmptyPathIsInvalidArgument) {
  MemoryStore store;
  EXPECT_THAT(ActionCache::OpenOnDisk("", &store), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace mlops
