// tests/store_record_writer.cc — a fresh process that stores one action record (used by
// store_crash_test to play the next writer after one was killed inside a transaction of the
// action cache's database).
//
// Usage: store_record_writer <store dir> <action cache dir> <action key, 32 hex>
// Puts an output value, stores a record for the key naming it, and reads it back. Exits 0 on
// success; otherwise prints the error to stderr and exits 1.
#include <stdio.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "mlops/hash/digest.h"
#include "mlops/store/action_cache.h"
#include "mlops/store/action_result.pb.h"
#include "mlops/store/disk_store.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s <store dir> <action cache dir> <action key>\n", argv[0]);
    return 2;
  }
  absl::StatusOr<mlops::Digest> key = mlops::Digest::FromHex(argv[3]);
  if (!key.ok()) {
    fprintf(stderr, "%s\n", key.status().ToString().c_str());
    return 2;
  }
  absl::StatusOr<std::unique_ptr<mlops::DiskStore>> store = mlops::DiskStore::Open(argv[1]);
  if (!store.ok()) {
    fprintf(stderr, "DiskStore::Open: %s\n", store.status().ToString().c_str());
    return 1;
  }
  absl::StatusOr<std::unique_ptr<mlops::ActionCache>> cache =
      mlops::ActionCache::OpenOnDisk(argv[2]);
  if (!cache.ok()) {
    fprintf(stderr, "ActionCache::OpenOnDisk: %s\n", cache.status().ToString().c_str());
    return 1;
  }
  const std::string output = "the output of the step";
  absl::StatusOr<mlops::Digest> d = (*store)->Put(output);
  if (!d.ok()) {
    fprintf(stderr, "DiskStore::Put: %s\n", d.status().ToString().c_str());
    return 1;
  }
  mlops::ActionResult result;
  mlops::OutputRef* out = result.add_outputs();
  out->set_name("out");
  out->set_digest(d->ToHex());
  out->set_size(static_cast<int64_t>(output.size()));
  result.set_execution_id("store_record_writer");
  absl::Status s = (*cache)->Put(*key, result);
  if (!s.ok()) {
    fprintf(stderr, "ActionCache::Put: %s\n", s.ToString().c_str());
    return 1;
  }
  absl::StatusOr<mlops::ActionResult> back = (*cache)->Get(*key);
  if (!back.ok()) {
    fprintf(stderr, "ActionCache::Get: %s\n", back.status().ToString().c_str());
    return 1;
  }
  if (back->SerializeAsString() != result.SerializeAsString()) {
    fprintf(stderr, "ActionCache::Get returned another record\n");
    return 1;
  }
  return 0;
}
