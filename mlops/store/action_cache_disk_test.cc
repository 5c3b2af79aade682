// Tests of the on-disk ActionCache (mlops/store/action_cache.h) that look at and damage its
// database, `<dir>/records.db`, through a SQLite connection of the test's own: a record is a
// row; flipped, truncated and misplaced records; lookups beside a writer; reopening; a
// failing batch; a garbage or damaged database; foreign and newer databases; durability and
// Open's errors. Damage met while in use, by threads and processes, is
// action_cache_recovery_test's.
#include "mlops/store/action_cache.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "mlops/hash/digest.h"
#include "mlops/store/action_cache_fixture.h"
#include "mlops/store/action_result.pb.h"
#include "mlops/testing/files.h"
#include "mlops/testing/proto_matchers.h"
#include "mlops/testing/status_matchers.h"
#include "mlops/testing/test_db.h"

namespace mlops {
namespace {

using ::mlops::test::AllRows;
using ::mlops::test::BlobLiteral;
using ::mlops::test::DbPath;
using ::mlops::test::DigestBytes;
using ::mlops::test::EqualsProto;
using ::mlops::test::FreshDir;
using ::mlops::test::ListDir;
using ::mlops::test::MakeResult;
using ::mlops::test::RowsFor;
using ::mlops::test::Slurp;
using ::mlops::test::Spit;
using ::mlops::test::Sql;
using ::mlops::test::StatusIs;
using ::mlops::test::TestDb;
using ::google::protobuf::util::MessageDifferencer;
using ::testing::HasSubstr;

class OnDiskActionCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshDir();
    ac_dir_ = dir_ + "/ac";
    ASSERT_OK_AND_ASSIGN(cache_, ActionCache::OpenOnDisk(ac_dir_));
  }

  // Closes the cache and opens it again on the same directory.
  void Reopen() {
    cache_.reset();
    ASSERT_OK_AND_ASSIGN(cache_, ActionCache::OpenOnDisk(ac_dir_));
  }

  // The stored (sealed) record of `key`; empty, with a test failure, if none.
  std::string SealedRecord(const Digest& key) {
    TestDb db(DbPath(ac_dir_));
    EXPECT_TRUE(db.ok());
    std::vector<std::string> rows;
    EXPECT_TRUE(db.Query("SELECT record FROM records WHERE key = ?1", {DigestBytes(key)}, &rows));
    EXPECT_EQ(rows.size(), 1u) << "rows for " << key.ToHex();
    return rows.empty() ? std::string() : rows[0];
  }
  // Sets the stored record of `key` to `bytes`, adding the row if missing.
  void SetSealedRecord(const Digest& key, const std::string& bytes) {
    TestDb db(DbPath(ac_dir_));
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(db.Query("INSERT OR REPLACE INTO records(key, record) VALUES(?1, ?2)",
                         {DigestBytes(key), bytes}));
  }

  // Expects DATA_LOSS naming the key and the database once, then NOT_FOUND, and the row gone.
  void ExpectDataLossOnceThenNotFound(const Digest& key) {
    absl::StatusOr<ActionResult> got = cache_->Get(key);
    EXPECT_THAT(got, StatusIs(absl::StatusCode::kDataLoss));
    EXPECT_THAT(std::string(got.status().message()), HasSubstr(key.ToHex()));
    EXPECT_THAT(std::string(got.status().message()), HasSubstr(DbPath(ac_dir_)));
    EXPECT_THAT(cache_->Get(key), StatusIs(absl::StatusCode::kNotFound));
    EXPECT_THAT(cache_->Get(key), StatusIs(absl::StatusCode::kNotFound));
    EXPECT_EQ(RowsFor(ac_dir_, key), 0);
  }

  std::string dir_;
  std::string ac_dir_;
  std::unique_ptr<ActionCache> cache_;
};

// A record is one row of <dir>/records.db: the key is the digest's 16 bytes, the record the
// serialized ActionResult followed by a 16-byte checksum over key and body. Nothing else is
// written.
TEST_F(OnDiskActionCacheTest, RecordIsARowOfTheDatabase) {
  const Digest key = Digest::Of("where");
  const ActionResult result = MakeResult("w");
  ASSERT_OK(cache_->Put(key, result));
  EXPECT_EQ(AllRows(ac_dir_), 1);
  const std::string sealed = SealedRecord(key);
  ASSERT_GT(sealed.size(), Digest::kBytes);
  const std::string body = sealed.substr(0, sealed.size() - Digest::kBytes);
  ActionResult parsed;
  ASSERT_TRUE(parsed.ParseFromString(body));
  EXPECT_THAT(parsed, EqualsProto(result));
  EXPECT_EQ(sealed.substr(body.size()), DigestBytes(Digest::Of(DigestBytes(key) + body)));
  // Only the database (its WAL files, and the lock processes recover it under).
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
  EXPECT_EQ(RowsFor(ac_dir_, key), 1);
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
            if (!MessageDifferencer::Equals(*got, results[i])) wrong.fetch_add(1);
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
                       ActionCache::OpenOnDisk(ac_dir_));
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
                                     BlobLiteral(DigestBytes(rejected)),
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
  EXPECT_EQ(AllRows(ac_dir_), 1);
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

// --- The database file itself ----------------------------------------------------------------

TEST_F(OnDiskActionCacheTest, GarbageDatabaseIsMovedAsideAndTheCacheStartsEmpty) {
  const Digest key = Digest::Of("lost with the database");
  ASSERT_OK(cache_->Put(key, MakeResult("lost")));
  cache_.reset();
  for (const char* suffix : {"-wal", "-shm"}) ::unlink((DbPath(ac_dir_) + suffix).c_str());
  const std::string garbage(4096, 'x');
  Spit(DbPath(ac_dir_), garbage);
  ASSERT_OK_AND_ASSIGN(cache_, ActionCache::OpenOnDisk(ac_dir_));

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
  EXPECT_EQ(AllRows(ac_dir_), 1);
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
    ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0) << dir;
    Sql(DbPath(dir), sql);
    const std::string bytes = Slurp(DbPath(dir));
    const std::vector<std::string> names = ListDir(dir);
    absl::StatusOr<std::unique_ptr<ActionCache>> cache = ActionCache::OpenOnDisk(dir);
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
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0) << dir;
  Sql(DbPath(dir),
               "PRAGMA application_id=1835819363; PRAGMA user_version=99; "  // 0x6D6C6163
               "CREATE TABLE records(key BLOB PRIMARY KEY, record BLOB NOT NULL, more) "
               "WITHOUT ROWID");
  const std::string bytes = Slurp(DbPath(dir));
  absl::StatusOr<std::unique_ptr<ActionCache>> cache = ActionCache::OpenOnDisk(dir);
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
                           ActionCache::OpenOnDisk(dir, durability));
      ASSERT_OK(cache->Put(Digest::Of("durable"), result));
      ASSERT_OK(cache->PutMany({{Digest::Of("other"), &other}}));
      ASSERT_OK_AND_ASSIGN(const ActionResult got, cache->Get(Digest::Of("durable")));
      EXPECT_THAT(got, EqualsProto(result));
    }
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<ActionCache> cache,
                         ActionCache::OpenOnDisk(dir, durability));
    ASSERT_OK_AND_ASSIGN(const ActionResult got, cache->Get(Digest::Of("durable")));
    EXPECT_THAT(got, EqualsProto(result));
    ASSERT_OK_AND_ASSIGN(const ActionResult got_other, cache->Get(Digest::Of("other")));
    EXPECT_THAT(got_other, EqualsProto(other));
  }
}

TEST(ActionCacheOpenTest, OpenOnDiskOnAFileIsFailedPrecondition) {
  const std::string file = FreshDir() + "/a-file";
  Spit(file, "not a directory");
  absl::StatusOr<std::unique_ptr<ActionCache>> cache = ActionCache::OpenOnDisk(file);
  EXPECT_THAT(cache, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(std::string(cache.status().message()), HasSubstr(file));
  EXPECT_EQ(Slurp(file), "not a directory");
}

TEST(ActionCacheOpenTest, OpenOnDiskOfEmptyPathIsInvalidArgument) {
  EXPECT_THAT(ActionCache::OpenOnDisk(""), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace mlops
