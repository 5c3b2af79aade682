// Corrupt stored outputs (a flipped bit, truncated, deleted; one output of a tuple) and a
// corrupt action record are misses: recomputed and repaired, never returned.
#include <sqlite3.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "mlops/codec/codec.h"
#include "mlops/core/step.h"
#include "mlops/core/stored.h"
#include "mlops/core/workspace.h"
#include "mlops/core/workspace_cache_testing.h"
#include "mlops/core/workspace_layout.h"
#include "mlops/lineage/lineage.pb.h"
#include "mlops/testing/files.h"
#include "mlops/testing/workspace.h"

namespace mlops {
namespace {

namespace fs = std::filesystem;

using ::mlops::test::Executions;
using ::mlops::test::Exists;
using ::mlops::test::FreshDir;
using ::mlops::test::OpenWorkspace;
using ::mlops::test::Ramp;
using ::mlops::test::Slurp;
using ::mlops::test::Spit;
using ::mlops::test::ValuePath;

TEST(WorkspaceCacheTest, CorruptStoredOutputIsRecomputedNeverReturned) {
  const std::string dir = FreshDir();
  std::atomic<int> calls{0};
  const auto make = MakeStep("make", 1, [&calls](int n) {
    calls.fetch_add(1);
    return Ramp(n, 1.5);
  });
  const std::vector<double> want = Ramp(500, 1.5);
  std::string path;
  {
    auto ws = OpenWorkspace(dir);
    ASSERT_NE(ws, nullptr);
    absl::StatusOr<Stored<std::vector<double>>> r = ws->Call(make, 500);
    ASSERT_TRUE(r.ok()) << r.status();
    path = ValuePath(dir, r->digest());
    ASSERT_TRUE(ws->Flush().ok());  // the value is written behind
    ASSERT_TRUE(Exists(path)) << path;
    ASSERT_EQ(Slurp(path), Encode(want));
  }
  // Flip one bit of one element: still a valid encoding of a vector<double>, but not the
  // value that was stored.
  {
    std::string bytes = Slurp(path);
    bytes[bytes.size() / 2] ^= 0x01;
    fs::permissions(path, fs::perms::owner_write, fs::perm_options::add);
    Spit(path, bytes);
  }
  {
    auto ws = OpenWorkspace(dir);
    ASSERT_NE(ws, nullptr);
    absl::StatusOr<Stored<std::vector<double>>> r = ws->Call(make, 500);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(**r, want);
    EXPECT_EQ(r->digest(), Hash(want));
    EXPECT_EQ(calls.load(), 2);
    const std::vector<Execution> execs = Executions(*ws);
    ASSERT_EQ(execs.size(), 1u);
    EXPECT_EQ(execs[0].status(), Execution::SUCCEEDED);
  }
  // The repaired entry serves the next run.
  {
    auto ws = OpenWorkspace(dir);
    ASSERT_NE(ws, nullptr);
    absl::StatusOr<Stored<std::vector<double>>> r = ws->Call(make, 500);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(**r, want);
    EXPECT_EQ(calls.load(), 2);
    ASSERT_TRUE(Exists(path)) << path;
    EXPECT_EQ(Slurp(path), Encode(want));
  }
  // Truncated and deleted outputs are misses too.
  for (int kind = 0; kind < 2; ++kind) {
    if (kind == 0) {
      fs::resize_file(path, 3);
    } else {
      fs::remove(path);
    }
    auto ws = OpenWorkspace(dir);
    ASSERT_NE(ws, nullptr);
    absl::StatusOr<Stored<std::vector<double>>> r = ws->Call(make, 500);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(**r, want);
    EXPECT_EQ(calls.load(), 3 + kind);
  }
}

TEST(WorkspaceCacheTest, CorruptOutputOfATupleStepIsRecomputed) {
  const std::string dir = FreshDir();
  std::atomic<int> calls{0};
  const auto step = MakeStep("two", 1, [&calls](int n) {
    calls.fetch_add(1);
    return std::make_tuple(std::string(static_cast<size_t>(n), 'a'), Ramp(n, 2.0));
  });
  std::string path;
  {
    auto ws = OpenWorkspace(dir);
    ASSERT_NE(ws, nullptr);
    auto r = ws->Call(step, 64);
    ASSERT_TRUE(r.ok()) << r.status();
    path = ValuePath(dir, std::get<1>(*r).digest());
  }
  {
    ASSERT_TRUE(Exists(path)) << path;
    std::string bytes = Slurp(path);
    bytes.back() ^= 0x40;
    fs::permissions(path, fs::perms::owner_write, fs::perm_options::add);
    Spit(path, bytes);
  }
  auto ws = OpenWorkspace(dir);
  ASSERT_NE(ws, nullptr);
  auto r = ws->Call(step, 64);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*std::get<0>(*r), std::string(64, 'a'));
  EXPECT_EQ(*std::get<1>(*r), Ramp(64, 2.0));
  EXPECT_EQ(calls.load(), 2);
}

TEST(WorkspaceCacheTest, CorruptActionRecordIsAMiss) {
  const std::string dir = FreshDir();
  std::atomic<int> calls{0};
  const auto step = MakeStep("neg", 1, [&calls](int x) {
    calls.fetch_add(1);
    return -x;
  });
  std::string key;
  {
    auto ws = OpenWorkspace(dir);
    ASSERT_NE(ws, nullptr);
    ASSERT_TRUE(ws->Call(step, 4).ok());
    const std::vector<Execution> execs = Executions(*ws);
    ASSERT_EQ(execs.size(), 1u);
    key = execs[0].action_key();
  }
  // Garble the key's record in <dir>/ac/records.db.
  {
    const std::string db_path = WorkspaceLayout(dir).records_db();
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK) << db_path;
    sqlite3_stmt* q = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT key, record FROM records", -1, &q, nullptr),
              SQLITE_OK);
    ASSERT_EQ(sqlite3_step(q), SQLITE_ROW) << "no action record in " << db_path;
    const std::string row_key(static_cast<const char*>(sqlite3_column_blob(q, 0)),
                              static_cast<size_t>(sqlite3_column_bytes(q, 0)));
    std::string bytes(static_cast<const char*>(sqlite3_column_blob(q, 1)),
                      static_cast<size_t>(sqlite3_column_bytes(q, 1)));
    EXPECT_EQ(sqlite3_step(q), SQLITE_DONE) << "more than one record";
    sqlite3_finalize(q);
    ASSERT_EQ(Digest::FromBytes(reinterpret_cast<const unsigned char*>(row_key.data())).ToHex(),
              key);
    ASSERT_FALSE(bytes.empty());
    for (char& c : bytes) c = static_cast<char>(c ^ 0x5a);
    ASSERT_EQ(sqlite3_prepare_v2(db, "UPDATE records SET record = ?1", -1, &q, nullptr),
              SQLITE_OK);
    sqlite3_bind_blob(q, 1, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
    ASSERT_EQ(sqlite3_step(q), SQLITE_DONE);
    sqlite3_finalize(q);
    sqlite3_close(db);
  }
  auto ws = OpenWorkspace(dir);
  ASSERT_NE(ws, nullptr);
  absl::StatusOr<Stored<int>> r = ws->Call(step, 4);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(**r, -4);
  EXPECT_EQ(calls.load(), 2);
  absl::StatusOr<Stored<int>> again = ws->Call(step, 4);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(calls.load(), 2);
}

}  // namespace
}  // namespace mlops
