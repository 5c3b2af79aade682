// Internal: conversions shared by the SQLite lineage store's source files.
#ifndef MLOPS_LINEAGE_INTERNAL_STORE_INTERNAL_H_
#define MLOPS_LINEAGE_INTERNAL_STORE_INTERNAL_H_

#include <google/protobuf/timestamp.pb.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "mlops/hash/digest.h"
#include "mlops/base/internal/sqlite.h"
#include "mlops/lineage/sqlite_lineage_store.h"

namespace mlops {
namespace lineage_internal {

// A digest as stored in the database: its 16 canonical bytes.
inline std::string DigestBlob(const Digest& d) {
  unsigned char bytes[Digest::kBytes];
  d.ToBytes(bytes);
  return std::string(reinterpret_cast<const char*>(bytes), sizeof(bytes));
}

// The digest in a 16-byte blob; zero if the blob has another size.
inline Digest DigestFromBlob(absl::string_view blob) {
  if (blob.size() != Digest::kBytes) return Digest();
  return Digest::FromBytes(reinterpret_cast<const unsigned char*>(blob.data()));
}

// What makes two executions interchangeable in the lineage graph (the same action and the
// same outputs), as stored in executions.result_key; empty if `e` lacks either.
std::string ResultKey(const Execution& e);

// The digest of `e` without the fields a compact hit row keeps itself (id, run, status,
// cache_hit, start and end time): equal for a hit and the execution it repeats. Stored with
// each representative (executions.template). `e` is restored before returning.
Digest TemplateDigest(Execution& e);

// Microseconds since the epoch, as stored in the *_us columns.
inline int64_t Micros(const google::protobuf::Timestamp& t) {
  return t.seconds() * 1000000 + t.nanos() / 1000;
}

}  // namespace lineage_internal

// Statements prepared once per connection.
struct SqliteLineageStore::Statements {
  std::unique_ptr<sqlite::Statement> begin, commit, rollback;
  std::unique_ptr<sqlite::Statement> insert_execution, find_artifact, insert_artifact;
  std::unique_ptr<sqlite::Statement> fill_artifact, insert_event;
  std::unique_ptr<sqlite::Statement> delete_event, delete_unreferenced_artifact;
  std::unique_ptr<sqlite::Statement> reserve_ids, run_exists;
  std::unique_ptr<sqlite::Statement> get_execution, get_artifact;
  std::unique_ptr<sqlite::Statement> edge_executions, representative_of_result;
  std::unique_ptr<sqlite::Statement> hits_of_representative, move_hits, rep_of_execution;
  std::unique_ptr<sqlite::Statement> data_version, delete_execution;
  // Compact hits (sqlite_lineage_hits.cc).
  std::unique_ptr<sqlite::Statement> insert_hit, delete_hit, get_hit;
  std::unique_ptr<sqlite::Statement> compact_hits_of_representative;
  std::unique_ptr<sqlite::Statement> delete_compact_hits_of_representative;
  std::unique_ptr<sqlite::Statement> compact_hits_of_run, compact_hits_of_step;
};

}  // namespace mlops

#endif  // MLOPS_LINEAGE_INTERNAL_STORE_INTERNAL_H_
