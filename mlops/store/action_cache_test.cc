// Tests of ActionCache (mlops/store/action_cache.h), on disk and in memory, each with a
// MemoryStore or a DiskStore holding the outputs. On disk, the tests look at and damage the
// records through a SQLite connection of their own to `<dir>/records.db`, and write records
// of the earlier one-file-per-record layout (`<dir>/<2 hex>/<32 hex>`) themselves.
#include "mlops/store/action_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
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

// The database of an on-disk action cache in `ac_dir`.
std::string DbPath(const std::string& ac_dir) { return ac_dir + "/records.db"; }

// Where the one-file-per-record layout kept the record for `key`: <dir>/<2 hex>/<32 hex>.
std::string LegacyRecordPath(const std::string& ac_dir, const Digest& key) {
  const std::string hex = key.ToHex();
  return absl::StrCat(ac_dir, "/", hex.substr(0, 2), "/", hex);
}

// A record's key in the database: the digest's 16 raw bytes.
std::string KeyBlob(const Digest& key) {
  unsigned char bytes[Digest::kBytes];
  key.ToBytes(bytes);
  return std::string(reinterpret_cast<const char*>(bytes), sizeof(bytes));
}

// The SQL literal X'...' of `bytes`.
std::string BlobLiteral(absl::string_view bytes) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out = "X'";
  for (const char c : bytes) {
    const unsigned char b = static_cast<unsigned char>(c);
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  out.push_back('\'');
  return out;
}

// A connection of the test's own to a SQLite database, through the C API (independently of
// the code under test). No busy timeout: nothing else holds a lock while a test uses it, so
// SQLITE_BUSY means the cache left one held.
class TestDb {
 public:
  explicit TestDb(const std::string& path, int flags = SQLITE_OPEN_READWRITE) : path_(path) {
    open_rc_ = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  }
  ~TestDb() { sqlite3_close(db_); }
  TestDb(const TestDb&) = delete;
  TestDb& operator=(const TestDb&) = delete;

  ::testing::AssertionResult ok() const {
    if (open_rc_ == SQLITE_OK) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << "open " << path_ << ": " << sqlite3_errstr(open_rc_);
  }

  // Runs `sql` (one or more statements, no parameters).
  ::testing::AssertionResult Exec(const std::string& sql) {
    char* error = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error);
    if (rc == SQLITE_OK) return ::testing::AssertionSuccess();
    ::testing::AssertionResult failure = ::testing::AssertionFailure()
                                         << path_ << ": " << sql << ": "
                                         << (error != nullptr ? error : sqlite3_errstr(rc));
    sqlite3_free(error);
    return failure;
  }

  // Runs one statement with `blobs` bound to ?1, ?2, ...; appends the first column of every
  // row it returns (as bytes) to `*rows` if not null.
  ::testing::AssertionResult Query(const std::string& sql, const std::vector<std::string>& blobs,
                                   std::vector<std::string>* rows = nullptr) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr);
    if (rc != SQLITE_OK) return Failure(sql, rc);
    for (size_t i = 0; i < blobs.size(); ++i) {
      // Never a null pointer, which would bind NULL instead of an empty blob.
      sqlite3_bind_blob(stmt, static_cast<int>(i + 1), blobs[i].data(),
                        static_cast<int>(blobs[i].size()), SQLITE_TRANSIENT);
    }
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      if (rows != nullptr) {
        const void* data = sqlite3_column_blob(stmt, 0);
        const int n = sqlite3_column_bytes(stmt, 0);
        rows->emplace_back(data != nullptr ? static_cast<const char*>(data) : "",
                           static_cast<size_t>(n));
      }
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) return Failure(sql, rc);
    return ::testing::AssertionSuccess();
  }

  // The single integer `sql` returns; -1 (and a test failure) if it fails.
  int64_t Int(const std::string& sql, const std::vector<std::string>& blobs = {}) {
    std::vector<std::string> rows;
    const ::testing::AssertionResult r = Query(sql, blobs, &rows);
    int64_t n = -1;
    if (!r) {
      ADD_FAILURE() << r.message();
    } else if (rows.size() != 1 || !absl::SimpleAtoi(rows[0], &n)) {
      ADD_FAILURE() << sql << " returned " << rows.size() << " rows, not one integer";
    }
    return n;
  }

 private:
  ::testing::AssertionResult Failure(const std::string& sql, int rc) {
    return ::testing::AssertionFailure()
           << path_ << ": " << sql << ": " << sqlite3_errstr(rc) << " (" << sqlite3_errmsg(db_)
           << ")";
  }

  const std::string path_;
  sqlite3* db_ = nullptr;
  int open_rc_ = SQLITE_OK;
};

// Creates a SQLite database at `path` with `sql` run in it.
void MakeSqliteDb(const std::string& path, const std::string& sql) {
  TestDb db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec(sql));
}

// A ContentStore (in memory or on disk) that runs a hook, once, when Contains is next
// called: lets a test act in the middle of ActionCache::Get, after the record was read and
// before its outputs are checked.
class HookedStore : public ContentStore {
 public:
  explicit HookedStore(std::unique_ptr<ContentStore> inner) : inner_(std::move(inner)) {}

  absl::StatusOr<bool> Contains(const Digest& digest) override {
    if (on_contains) {
      std::function<void()> hook = std::move(on_contains);
      on_contains = nullptr;
      hook();
    }
    return inner_->Contains(digest);
  }
  absl::StatusOr<Digest> Put(absl::string_view bytes) override { return inner_->Put(bytes); }
  absl::StatusOr<std::unique_ptr<BlobWriter>> NewWriter() override {
    return inner_->NewWriter();
  }
  absl::StatusOr<Blob> Get(const Digest& digest) override { return inner_->Get(digest); }
  absl::Status Delete(const Digest& digest) override { return inner_->Delete(digest); }
  absl::StatusOr<std::vector<StoreEntry>> List() override { return inner_->List(); }
  absl::StatusOr<StoreStats> Stats() override { return inner_->Stats(); }

  std::function<void()> on_contains;

 private:
  const std::unique_ptr<ContentStore> inner_;
};

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
    std::unique_ptr<ContentStore> inner;
    if (store_on_disk) {
      absl::StatusOr<std::unique_ptr<DiskStore>> s = DiskStore::Open(dir_ + "/cas");
      ASSERT_TRUE(s.ok()) << s.status();
      inner = std::move(*s);
    } else {
      inner = std::make_unique<MemoryStore>();
    }
    store_ = std::make_unique<HookedStore>(std::move(inner));
    if (cache_on_disk) {
      ASSERT_OK_AND_ASSIGN(cache_, ActionCache::OpenOnDisk(ac_dir_, store_.get()));
    } else {
      cache_ = ActionCache::InMemory(store_.get());
    }
    ASSERT_NE(cache_, nullptr);
  }

  // Closes the cache and opens it again on the same directory.
  void Reopen() {
    cache_.reset();
    ASSERT_OK_AND_ASSIGN(cache_, ActionCache::OpenOnDisk(ac_dir_, store_.get()));
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

  // On disk: the number of rows of records.db for `key`, and in all.
  int64_t RowsFor(const Digest& key) {
    TestDb db(DbPath(ac_dir_));
    EXPECT_TRUE(db.ok());
    return db.Int("SELECT count(*) FROM records WHERE key = ?1", {KeyBlob(key)});
  }
  int64_t AllRows() {
    TestDb db(DbPath(ac_dir_));
    EXPECT_TRUE(db.ok());
    return db.Int("SELECT count(*) FROM records");
  }
  // On disk: the stored (sealed) record of `key`; empty, with a test failure, if none.
  std::string SealedRecord(const Digest& key) {
    TestDb db(DbPath(ac_dir_));
    EXPECT_TRUE(db.ok());
    std::vector<std::string> rows;
    EXPECT_TRUE(db.Query("SELECT record FROM records WHERE key = ?1", {KeyBlob(key)}, &rows));
    EXPECT_EQ(rows.size(), 1u) << "rows for " << key.ToHex();
    return rows.empty() ? std::string() : rows[0];
  }
  // On disk: sets the stored record of `key` to `bytes`, adding the row if missing.
  void SetSealedRecord(const Digest& key, const std::string& bytes) {
    TestDb db(DbPath(ac_dir_));
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(db.Query("INSERT OR REPLACE INTO records(key, record) VALUES(?1, ?2)",
                         {KeyBlob(key), bytes}));
  }

  std::string dir_;
  std::string ac_dir_;
  std::unique_ptr<HookedStore> store_;
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
    EXPECT_EQ(RowsFor(key), 1);
    EXPECT_EQ(AllRows(), 1);
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
    EXPECT_EQ(RowsFor(key), 0);
  }
  // The record is gone: even with the output back in the store, the key misses.
  PutOrDie(metrics_bytes);
  EXPECT_THAT(cache_->Get(key), StatusIs(absl::StatusCode::kNotFound));
}

// A Get that finds an output missing removes the record it read, but not the record another
// writer stored for the key meanwhile (between the read and the removal).
TEST_P(ActionCacheTest, MissingOutputKeepsARecordStoredMeanwhile) {
  const Digest key = Digest::Of("replaced during Get");
  const ActionResult stale = MakeResult("stale");
  const ActionResult fresh = MakeResult("fresh");
  ASSERT_OK(cache_->Put(key, stale));
  ASSERT_OK(store_->Delete(*Digest::FromHex(stale.outputs(1).digest())));
  // On disk the other writer is another instance (its own connection); in memory, the same.
  std::unique_ptr<ActionCache> other;
  if (GetParam().cache_on_disk) {
    ASSERT_OK_AND_ASSIGN(other, ActionCache::OpenOnDisk(ac_dir_, store_.get()));
  }
  ActionCache* writer = other != nullptr ? other.get() : cache_.get();
  absl::Status hook_status = absl::UnknownError("the hook did not run");
  store_->on_contains = [&] { hook_status = writer->Put(key, fresh); };

  EXPECT_THAT(cache_->Get(key), StatusIs(absl::StatusCode::kNotFound));
  ASSERT_OK(hook_status);
  absl::StatusOr<ActionResult> got = cache_->Get(key);
  ASSERT_TRUE(got.ok()) << "the record stored during the Get was removed: " << got.status();
  EXPECT_THAT(*got, EqualsProto(fresh));
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
    EXPECT_EQ(AllRows(), 1);
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
  if (GetParam().cache_on_disk) {
    EXPECT_EQ(AllRows(), 1);
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
  if (GetParam().cache_on_disk) {
    EXPECT_EQ(AllRows(), kRecords);
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
  if (GetParam().cache_on_disk) {
    EXPECT_EQ(AllRows(), 1);
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
  // The outputs themselves stay in the content store.
  absl::StatusOr<bool> present = store_->Contains(Digest::Of("model bytes of d"));
  ASSERT_TRUE(present.ok());
  EXPECT_TRUE(*present);
  if (GetParam().cache_on_disk) {
    EXPECT_EQ(RowsFor(key), 0);
    EXPECT_EQ(RowsFor(other), 1);
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
// On disk only: the database's rows, damaged records, records of the file layout, temporary
// files, damaged and foreign databases, Open's errors.

class OnDiskActionCacheTest : public ActionCacheTestBase, public ::testing::Test {
 protected:
  void SetUp() override { Open(/*cache_on_disk=*/true, /*store_on_disk=*/false); }

  // Expects DATA_LOSS naming the key and the database once, then NOT_FOUND, and the row gone.
  void ExpectDataLossOnceThenNotFound(const Digest& key) {
    absl::StatusOr<ActionResult> got = cache_->Get(key);
    EXPECT_THAT(got, StatusIs(absl::StatusCode::kDataLoss));
    EXPECT_THAT(std::string(got.status().message()), HasSubstr(key.ToHex()));
    EXPECT_THAT(std::string(got.status().message()), HasSubstr(DbPath(ac_dir_)));
    EXPECT_THAT(cache_->Get(key), StatusIs(absl::StatusCode::kNotFound));
    EXPECT_THAT(cache_->Get(key), StatusIs(absl::StatusCode::kNotFound));
    EXPECT_EQ(RowsFor(key), 0);
  }

  // Expects DATA_LOSS naming the record file once, then NOT_FOUND, and the file gone.
  void ExpectLegacyDataLossOnceThenNotFound(const Digest& key) {
    const std::string path = LegacyRecordPath(ac_dir_, key);
    absl::StatusOr<ActionResult> got = cache_->Get(key);
    EXPECT_THAT(got, StatusIs(absl::StatusCode::kDataLoss));
    EXPECT_THAT(std::string(got.status().message()), HasSubstr(path));
    EXPECT_THAT(cache_->Get(key), StatusIs(absl::StatusCode::kNotFound));
    EXPECT_THAT(cache_->Get(key), StatusIs(absl::StatusCode::kNotFound));
    EXPECT_FALSE(Exists(path));
  }

  // Writes `sealed` as the record file of `key` in the one-file-per-record layout.
  void WriteLegacyRecord(const Digest& key, const std::string& sealed) {
    const std::string path = LegacyRecordPath(ac_dir_, key);
    const std::string shard = path.substr(0, path.rfind('/'));
    if (!Exists(shard)) CHECK_SYS(::mkdir(shard.c_str(), 0755) == 0);
    Spit(path, sealed);
  }

  // The sealed record the cache stores for (key, result): Put, read the row, delete it.
  std::string SealedBytesOf(const Digest& key, const ActionResult& result) {
    EXPECT_OK(cache_->Put(key, result));
    const std::string sealed = SealedRecord(key);
    EXPECT_OK(cache_->Delete(key));
    EXPECT_EQ(RowsFor(key), 0);
    return sealed;
  }
};

// A record is one row of <dir>/records.db: the key is the digest's 16 bytes, the record the
// serialized ActionResult followed by a 16-byte checksum over key and body (the format the
// file layout's records have, so that both are read alike). Nothing else is written.
TEST_F(OnDiskActionCacheTest, RecordIsARowOfTheDatabase) {
  const Digest key = Digest::Of("where");
  const ActionResult result = MakeResult("w");
  ASSERT_OK(cache_->Put(key, result));
  EXPECT_EQ(AllRows(), 1);
  const std::string sealed = SealedRecord(key);
  ASSERT_GT(sealed.size(), Digest::kBytes);
  const std::string body = sealed.substr(0, sealed.size() - Digest::kBytes);
  ActionResult parsed;
  ASSERT_TRUE(parsed.ParseFromString(body));
  EXPECT_THAT(parsed, EqualsProto(result));
  EXPECT_EQ(sealed.substr(body.size()), KeyBlob(Digest::Of(KeyBlob(key) + body)));
  // Only the database (its WAL files, and the lock processes recover it under): no shard
  // directories, no temporary directory.
  for (const std::string& name : ListDir(ac_dir_)) {
    EXPECT_TRUE(name == "records.db" || name == "records.db-wal" || name == "records.db-shm" ||
                name == "records.db.lock")
        << name;
  }
  TestDb db(DbPath(ac_dir_));
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(db.Int("PRAGMA application_id"), 0x6D6C6163);
}

TEST_F(OnDiskActionCacheTest, FlippedByteIsDataLossOnceThenNotFound) {
  const Digest key = Digest::Of("flipped");
  ASSERT_OK(cache_->Put(key, MakeResult("f")));
  const std::string sealed = SealedRecord(key);
  ASSERT_GT(sealed.size(), 16u);
  // A byte of the body, the first byte, and a byte of the trailing checksum.
  for (const size_t at : {sealed.size() / 2, size_t{0}, sealed.size() - 1}) {
    SCOPED_TRACE(absl::StrCat("byte ", at));
    ASSERT_OK(cache_->Put(key, MakeResult("f")));
    ASSERT_EQ(SealedRecord(key), sealed);
    std::string bad = sealed;
    bad[at] = static_cast<char>(bad[at] ^ 0x01);
    SetSealedRecord(key, bad);
    ExpectDataLossOnceThenNotFound(key);
  }
}

TEST_F(OnDiskActionCacheTest, TruncatedRecordIsDataLossOnceThenNotFound) {
  const Digest key = Digest::Of("truncated");
  ASSERT_OK(cache_->Put(key, MakeResult("t")));
  const std::string sealed = SealedRecord(key);
  for (const size_t size : {sealed.size() - 1, sealed.size() / 2, size_t{15}, size_t{0}}) {
    SCOPED_TRACE(absl::StrCat("truncated to ", size));
    ASSERT_OK(cache_->Put(key, MakeResult("t")));
    SetSealedRecord(key, sealed.substr(0, size));
    ExpectDataLossOnceThenNotFound(key);
  }
}

TEST_F(OnDiskActionCacheTest, RecordCopiedToAnotherKeyIsDataLossOnceThenNotFound) {
  const Digest key = Digest::Of("original key");
  const Digest other = Digest::Of("another key");
  const ActionResult result = MakeResult("copied");
  ASSERT_OK(cache_->Put(key, result));
  SetSealedRecord(other, SealedRecord(key));
  ExpectDataLossOnceThenNotFound(other);
  // The original is intact.
  ASSERT_OK_AND_ASSIGN(const ActionResult got, cache_->Get(key));
  EXPECT_THAT(got, EqualsProto(result));
  EXPECT_EQ(RowsFor(key), 1);
}

// Lookups from many threads at once (each on a reader connection of its own) while another
// thread stores records: every lookup sees a record whole, or none.
TEST_F(OnDiskActionCacheTest, ConcurrentLookupsWhileRecordsAreStored) {
  constexpr int kKeys = 200;
  std::vector<ActionResult> results;
  for (int i = 0; i < kKeys; ++i) results.push_back(MakeResult(absl::StrCat("c", i)));
  for (int i = 0; i < kKeys; i += 2) ASSERT_OK(cache_->Put(Digest::Of(absl::StrCat(i)), results[i]));
  std::atomic<int> wrong{0};
  std::atomic<int> found{0};
  std::vector<std::thread> threads;
  threads.emplace_back([&] {
    for (int i = 1; i < kKeys; i += 2) {
      if (!cache_->Put(Digest::Of(absl::StrCat(i)), results[i]).ok()) wrong.fetch_add(1);
    }
  });
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 3; ++round) {
        for (int i = t; i < kKeys; ++i) {
          absl::StatusOr<ActionResult> got = cache_->Get(Digest::Of(absl::StrCat(i)));
          if (got.ok()) {
            found.fetch_add(1);
            if (got->SerializeAsString() != results[i].SerializeAsString()) wrong.fetch_add(1);
          } else if (!absl::IsNotFound(got.status()) || i % 2 == 0) {
            wrong.fetch_add(1);  // a stored record must always be found
          }
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_GT(found.load(), 0);
  for (int i = 0; i < kKeys; ++i) {
    ASSERT_OK_AND_ASSIGN(const ActionResult got, cache_->Get(Digest::Of(absl::StrCat(i))));
    EXPECT_THAT(got, EqualsProto(results[i]));
  }
}

TEST_F(OnDiskActionCacheTest, RecordsSurviveReopening) {
  const Digest key = Digest::Of("persistent");
  const ActionResult result = MakeResult("p");
  ASSERT_OK(cache_->Put(key, result));
  const ActionResult a = MakeResult("a");
  const ActionResult b = MakeResult("b");
  ASSERT_OK(cache_->PutMany({{Digest::Of("a"), &a}, {Digest::Of("b"), &b}}));
  Reopen();
  ASSERT_OK_AND_ASSIGN(const ActionResult got, cache_->Get(key));
  EXPECT_THAT(got, EqualsProto(result));
  ASSERT_OK_AND_ASSIGN(const ActionResult got_a, cache_->Get(Digest::Of("a")));
  EXPECT_THAT(got_a, EqualsProto(a));
  ASSERT_OK_AND_ASSIGN(const ActionResult got_b, cache_->Get(Digest::Of("b")));
  EXPECT_THAT(got_b, EqualsProto(b));
  // And a second instance open at the same time sees them, and what the first one adds.
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ActionCache> second,
                       ActionCache::OpenOnDisk(ac_dir_, store_.get()));
  EXPECT_TRUE(second->Get(key).ok());
  ASSERT_OK(cache_->Put(Digest::Of("later"), a));
  ASSERT_OK_AND_ASSIGN(const ActionResult later, second->Get(Digest::Of("later")));
  EXPECT_THAT(later, EqualsProto(a));
}

// A failure inside PutMany's transaction (here: a trigger the test adds rejects one key)
// stores none of the batch, replaces nothing, and leaves the database unlocked.
TEST_F(OnDiskActionCacheTest, PutManyThatFailsInTheDatabaseStoresNone) {
  const Digest kept = Digest::Of("stored before");
  const ActionResult before = MakeResult("before");
  ASSERT_OK(cache_->Put(kept, before));
  std::vector<Digest> keys;
  std::vector<ActionResult> results;
  for (int i = 0; i < 6; ++i) {
    keys.push_back(i == 2 ? kept : Digest::Of(absl::StrCat("batch ", i)));
    results.push_back(MakeResult(absl::StrCat("batch ", i)));
  }
  std::vector<std::pair<Digest, const ActionResult*>> batch;
  for (int i = 0; i < 6; ++i) batch.emplace_back(keys[i], &results[i]);
  const Digest rejected = keys[4];
  {
    TestDb db(DbPath(ac_dir_));
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(db.Exec(absl::StrCat("CREATE TRIGGER reject BEFORE INSERT ON records WHEN "
                                     "NEW.key = ",
                                     BlobLiteral(KeyBlob(rejected)),
                                     " BEGIN SELECT RAISE(ABORT, 'rejected by the test'); END")));
  }
  const absl::Status s = cache_->PutMany(batch);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), HasSubstr(DbPath(ac_dir_))) << s;
  for (int i = 0; i < 6; ++i) {
    SCOPED_TRACE(i);
    if (keys[i] == kept) continue;
    EXPECT_THAT(cache_->Get(keys[i]), StatusIs(absl::StatusCode::kNotFound));
  }
  ASSERT_OK_AND_ASSIGN(const ActionResult still, cache_->Get(kept));
  EXPECT_THAT(still, EqualsProto(before));
  EXPECT_EQ(AllRows(), 1);
  {
    // No busy timeout: fails if the cache still held its write transaction.
    TestDb db(DbPath(ac_dir_));
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(db.Exec("DROP TRIGGER reject"));
  }
  ASSERT_OK(cache_->PutMany(batch));
  for (int i = 0; i < 6; ++i) {
    SCOPED_TRACE(i);
    ASSERT_OK_AND_ASSIGN(const ActionResult got, cache_->Get(keys[i]));
    EXPECT_THAT(got, EqualsProto(results[i]));
  }
}

// --- Records of the one-file-per-record layout --------------------------------------------

TEST_F(OnDiskActionCacheTest, LegacyRecordFileIsRead) {
  const Digest key = Digest::Of("legacy");
  const ActionResult result = MakeResult("legacy");
  WriteLegacyRecord(key, SealedBytesOf(key, result));
  Reopen();  // the shard directory exists when the cache is opened
  ASSERT_OK_AND_ASSIGN(const ActionResult got, cache_->Get(key));
  EXPECT_THAT(got, EqualsProto(result));
  ASSERT_OK_AND_ASSIGN(const ActionResult again, cache_->Get(key));
  EXPECT_THAT(again, EqualsProto(result));
  EXPECT_THAT(cache_->Get(Digest::Of("not there")), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(OnDiskActionCacheTest, PutReplacesALegacyRecordAndDeleteRemovesBoth) {
  const Digest key = Digest::Of("legacy replaced");
  const ActionResult old_result = MakeResult("old");
  const ActionResult new_result = MakeResult("new");
  WriteLegacyRecord(key, SealedBytesOf(key, old_result));
  Reopen();
  ASSERT_OK(cache_->Put(key, new_result));
  ASSERT_OK_AND_ASSIGN(const ActionResult got, cache_->Get(key));
  EXPECT_THAT(got, EqualsProto(new_result));
  // Delete removes the row and the file: the old record does not come back.
  ASSERT_OK(cache_->Delete(key));
  EXPECT_EQ(RowsFor(key), 0);
  EXPECT_FALSE(Exists(LegacyRecordPath(ac_dir_, key)));
  EXPECT_THAT(cache_->Get(key), StatusIs(absl::StatusCode::kNotFound));
  Reopen();
  EXPECT_THAT(cache_->Get(key), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(OnDiskActionCacheTest, DeleteRemovesALegacyRecordFile) {
  const Digest key = Digest::Of("legacy deleted");
  const Digest other = Digest::Of("legacy kept");
  WriteLegacyRecord(key, SealedBytesOf(key, MakeResult("d")));
  WriteLegacyRecord(other, SealedBytesOf(other, MakeResult("o")));
  Reopen();
  ASSERT_TRUE(cache_->Get(key).ok());
  ASSERT_OK(cache_->Delete(key));
  EXPECT_FALSE(Exists(LegacyRecordPath(ac_dir_, key)));
  EXPECT_THAT(cache_->Get(key), StatusIs(absl::StatusCode::kNotFound));
  ASSERT_OK(cache_->Delete(key));  // again
  EXPECT_TRUE(Exists(LegacyRecordPath(ac_dir_, other)));
  EXPECT_TRUE(cache_->Get(other).ok());
}

TEST_F(OnDiskActionCacheTest, CorruptLegacyRecordIsDataLossOnceThenNotFound) {
  const Digest key = Digest::Of("legacy corrupt");
  const Digest other = Digest::Of("legacy elsewhere");
  const ActionResult result = MakeResult("c");
  const std::string sealed = SealedBytesOf(key, result);
  std::string flipped = sealed;
  flipped[flipped.size() / 2] = static_cast<char>(flipped[flipped.size() / 2] ^ 0x01);
  const struct {
    const char* what;
    Digest key;
    std::string bytes;
  } cases[] = {
      {"flipped byte", key, flipped},
      {"truncated to 15 bytes", key, sealed.substr(0, 15)},
      {"empty", key, ""},
      {"another key's record", other, sealed},
  };
  WriteLegacyRecord(key, sealed);  // creates the shard directory before the cache opens
  Reopen();
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    WriteLegacyRecord(c.key, c.bytes);
    ExpectLegacyDataLossOnceThenNotFound(c.key);
  }
}

TEST_F(OnDiskActionCacheTest, LegacyRecordWithAMissingOutputIsAMissAndRemoved) {
  const Digest key = Digest::Of("legacy evicted");
  const ActionResult result = MakeResult("evicted");
  WriteLegacyRecord(key, SealedBytesOf(key, result));
  Reopen();
  ASSERT_OK(store_->Delete(*Digest::FromHex(result.outputs(1).digest())));
  EXPECT_THAT(cache_->Get(key), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_FALSE(Exists(LegacyRecordPath(ac_dir_, key)));
}

// The file layout wrote each record through a temporary file in <dir>/tmp. Those a crash
// left behind are still removed on open once stale (over a minute old); young ones, which a
// writer of an earlier build may still be writing, are kept.
TEST_F(OnDiskActionCacheTest, OpenRemovesStaleLegacyTempsAndKeepsYoungOnes) {
  const std::string tmp = ac_dir_ + "/tmp";
  CHECK_SYS(::mkdir(tmp.c_str(), 0755) == 0);
  const std::string stale1 = tmp + "/123.0.deadbeef";
  const std::string stale2 = tmp + "/whatever";
  const std::string young = tmp + "/124.0.cafe";
  const std::string thirty = tmp + "/125.0.cafe";
  for (const std::string& p : {stale1, stale2, young, thirty}) Spit(p, "partial record");
  SetAge(stale1, 3600);
  SetAge(stale2, 61 + 60);
  SetAge(thirty, 30);
  Reopen();
  EXPECT_FALSE(Exists(stale1));
  EXPECT_FALSE(Exists(stale2));
  EXPECT_TRUE(Exists(young));
  EXPECT_TRUE(Exists(thirty));
  // The cache works as before.
  ASSERT_OK(cache_->Put(Digest::Of("k"), MakeResult("k")));
  EXPECT_TRUE(cache_->Get(Digest::Of("k")).ok());
}

// --- The database file itself ----------------------------------------------------------------

TEST_F(OnDiskActionCacheTest, GarbageDatabaseIsMovedAsideAndTheCacheStartsEmpty) {
  const Digest key = Digest::Of("lost with the database");
  ASSERT_OK(cache_->Put(key, MakeResult("lost")));
  cache_.reset();
  for (const char* suffix : {"-wal", "-shm"}) ::unlink((DbPath(ac_dir_) + suffix).c_str());
  const std::string garbage(4096, 'x');
  Spit(DbPath(ac_dir_), garbage);
  ASSERT_OK_AND_ASSIGN(cache_, ActionCache::OpenOnDisk(ac_dir_, store_.get()));

  std::vector<std::string> aside;
  for (const std::string& name : ListDir(ac_dir_)) {
    if (absl::StartsWith(name, "records.db.corrupt.")) aside.push_back(name);
  }
  ASSERT_EQ(aside.size(), 1u) << ::testing::PrintToString(ListDir(ac_dir_));
  EXPECT_EQ(Slurp(ac_dir_ + "/" + aside[0]), garbage);

  // A new, empty cache that works.
  EXPECT_THAT(cache_->Get(key), StatusIs(absl::StatusCode::kNotFound));
  const ActionResult result = MakeResult("after");
  ASSERT_OK(cache_->Put(key, result));
  ASSERT_OK_AND_ASSIGN(const ActionResult got, cache_->Get(key));
  EXPECT_THAT(got, EqualsProto(result));
  Reopen();
  ASSERT_OK_AND_ASSIGN(const ActionResult again, cache_->Get(key));
  EXPECT_THAT(again, EqualsProto(result));
  EXPECT_EQ(AllRows(), 1);
}

// A database whose header and schema are intact but whose records' b-tree page is damaged
// (a disk error, a torn write with durability kNone on a power loss) opens fine. The cache
// must still recover as the header promises for corrupt records: DATA_LOSS at most once,
// then misses, and Puts that work.
TEST_F(OnDiskActionCacheTest, DatabaseWithADamagedRecordPageRecovers) {
  std::vector<Digest> keys;
  for (int i = 0; i < 50; ++i) {
    keys.push_back(Digest::Of(absl::StrCat("page ", i)));
    ASSERT_OK(cache_->Put(keys.back(), MakeResult(absl::StrCat("page ", i))));
  }
  int64_t page_size = 0;
  {
    TestDb db(DbPath(ac_dir_));
    ASSERT_TRUE(db.ok());
    ASSERT_EQ(db.Int("SELECT rootpage FROM sqlite_master WHERE name = 'records'"), 2);
    page_size = db.Int("PRAGMA page_size");
  }
  cache_.reset();  // the last connection: checkpoints the WAL into records.db
  std::string bytes = Slurp(DbPath(ac_dir_));
  ASSERT_GT(bytes.size(), static_cast<size_t>(2 * page_size));
  for (int64_t i = page_size; i < page_size + 100; ++i) bytes[i] = '\xff';  // page 2
  Spit(DbPath(ac_dir_), bytes);
  Reopen();
  const absl::StatusOr<ActionResult> first = cache_->Get(keys[0]);
  EXPECT_TRUE(first.ok() || absl::IsDataLoss(first.status()) || absl::IsNotFound(first.status()))
      << first.status();
  const absl::StatusOr<ActionResult> second = cache_->Get(keys[0]);
  EXPECT_FALSE(absl::IsDataLoss(second.status())) << "DATA_LOSS twice: " << second.status();
  bool moved_aside = false;
  for (const std::string& name : ListDir(ac_dir_)) {
    moved_aside |= name.rfind("records.db.corrupt.", 0) == 0;
  }
  EXPECT_TRUE(moved_aside) << "the damaged database was not kept aside";
  const ActionResult result = MakeResult("after");
  EXPECT_OK(cache_->Put(Digest::Of("after"), result));
  Reopen();
  const absl::StatusOr<ActionResult> reopened = cache_->Get(keys[1]);
  EXPECT_FALSE(absl::IsDataLoss(reopened.status())) << "after reopening: " << reopened.status();
  EXPECT_OK(cache_->Put(Digest::Of("after"), result));
}

TEST(ActionCacheOpenTest, AnotherApplicationsDatabaseIsInvalidArgumentAndLeftAlone) {
  for (const char* sql : {"PRAGMA application_id=1; CREATE TABLE t(x); INSERT INTO t VALUES(1)",
                          "CREATE TABLE t(x)"}) {
    SCOPED_TRACE(sql);
    const std::string dir = FreshDir() + "/ac";
    CHECK_SYS(::mkdir(dir.c_str(), 0755) == 0);
    MakeSqliteDb(DbPath(dir), sql);
    const std::string bytes = Slurp(DbPath(dir));
    const std::vector<std::string> names = ListDir(dir);
    MemoryStore store;
    absl::StatusOr<std::unique_ptr<ActionCache>> cache = ActionCache::OpenOnDisk(dir, &store);
    EXPECT_THAT(cache, StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(std::string(cache.status().message()), HasSubstr(DbPath(dir)));
    EXPECT_EQ(Slurp(DbPath(dir)), bytes);
    std::vector<std::string> after = ListDir(dir);  // the lock file aside
    after.erase(std::remove(after.begin(), after.end(), "records.db.lock"), after.end());
    EXPECT_EQ(after, names);
  }
}

TEST(ActionCacheOpenTest, NewerSchemaIsFailedPreconditionAndLeftAlone) {
  const std::string dir = FreshDir() + "/ac";
  CHECK_SYS(::mkdir(dir.c_str(), 0755) == 0);
  MakeSqliteDb(DbPath(dir),
               "PRAGMA application_id=1835819363; PRAGMA user_version=99; "  // 0x6D6C6163
               "CREATE TABLE records(key BLOB PRIMARY KEY, record BLOB NOT NULL, more) "
               "WITHOUT ROWID");
  const std::string bytes = Slurp(DbPath(dir));
  MemoryStore store;
  absl::StatusOr<std::unique_ptr<ActionCache>> cache = ActionCache::OpenOnDisk(dir, &store);
  EXPECT_THAT(cache, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(std::string(cache.status().message()), HasSubstr(DbPath(dir)));
  EXPECT_EQ(Slurp(DbPath(dir)), bytes);
}

TEST_F(OnDiskActionCacheTest, DurabilityOptionsRoundTrip) {
  for (const Durability durability :
       {Durability::kNone, Durability::kSyncFile, Durability::kSyncFileAndDirectory}) {
    SCOPED_TRACE(static_cast<int>(durability));
    const std::string dir = absl::StrCat(dir_, "/ac", static_cast<int>(durability));
    const ActionResult result = MakeResult("durable");
    const ActionResult other = MakeResult("other");
    {
      ASSERT_OK_AND_ASSIGN(std::unique_ptr<ActionCache> cache,
                           ActionCache::OpenOnDisk(dir, store_.get(), durability));
      ASSERT_OK(cache->Put(Digest::Of("durable"), result));
      ASSERT_OK(cache->PutMany({{Digest::Of("other"), &other}}));
      ASSERT_OK_AND_ASSIGN(const ActionResult got, cache->Get(Digest::Of("durable")));
      EXPECT_THAT(got, EqualsProto(result));
    }
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<ActionCache> cache,
                         ActionCache::OpenOnDisk(dir, store_.get(), durability));
    ASSERT_OK_AND_ASSIGN(const ActionResult got, cache->Get(Digest::Of("durable")));
    EXPECT_THAT(got, EqualsProto(result));
    ASSERT_OK_AND_ASSIGN(const ActionResult got_other, cache->Get(Digest::Of("other")));
    EXPECT_THAT(got_other, EqualsProto(other));
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

TEST(ActionCacheOpenTest, OpenOnDiskOfEmptyPathIsInvalidArgument) {
  MemoryStore store;
  EXPECT_THAT(ActionCache::OpenOnDisk("", &store), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace mlops
