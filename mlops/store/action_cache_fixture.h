// Shared by the action cache's tests: a record with every field set, and a look at the rows
// of an on-disk cache's records.db through the test's own SQLite connection.
#ifndef MLOPS_STORE_ACTION_CACHE_FIXTURE_H_
#define MLOPS_STORE_ACTION_CACHE_FIXTURE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "mlops/hash/digest.h"
#include "mlops/store/action_cache.h"
#include "mlops/store/action_result.pb.h"
#include "mlops/testing/test_db.h"

namespace mlops {
namespace test {

// A record with two outputs (digests of values derived from `tag`) and every field set.
inline ActionResult MakeResult(absl::string_view tag) {
  ActionResult r;
  const std::string model = absl::StrCat("model bytes of ", tag);
  const std::string metrics = absl::StrCat("metrics of ", tag, std::string(100, 'm'));
  OutputRef* out = r.add_outputs();
  out->set_name("model");
  out->set_digest(Digest::Of(model).ToHex());
  out->set_size(static_cast<int64_t>(model.size()));
  out->set_type_name("vector<f64>");
  out = r.add_outputs();
  out->set_name("1");
  out->set_digest(Digest::Of(metrics).ToHex());
  out->set_size(static_cast<int64_t>(metrics.size()));
  out->set_type_name("map<string,f64>");
  r.mutable_created()->set_seconds(1700000000);
  r.mutable_created()->set_nanos(123456789);
  r.set_execution_id(absl::StrCat("exec-", tag));
  r.set_run_id("run-42");
  r.set_host("builder.example.com");
  r.set_duration_us(987654321);
  (*r.mutable_params())["learning_rate"] = "0.1";
  (*r.mutable_params())["epochs"] = "10";
  (*r.mutable_metrics())["auc"] = 0.97;
  return r;
}

// The database of the on-disk action cache in `ac_dir`.
inline std::string DbPath(const std::string& ac_dir) {
  return absl::StrCat(ac_dir, "/", ActionCache::kDatabaseName);
}

// The number of rows of records.db for `key`, and in all.
inline int64_t RowsFor(const std::string& ac_dir, const Digest& key) {
  TestDb db(DbPath(ac_dir));
  EXPECT_TRUE(db.ok());
  return db.Int("SELECT count(*) FROM records WHERE key = ?1", {DigestBytes(key)});
}
inline int64_t AllRows(const std::string& ac_dir) {
  TestDb db(DbPath(ac_dir));
  EXPECT_TRUE(db.ok());
  return db.Int("SELECT count(*) FROM records");
}

}  // namespace test
}  // namespace mlops

#endif  // MLOPS_STORE_ACTION_CACHE_FIXTURE_H_
