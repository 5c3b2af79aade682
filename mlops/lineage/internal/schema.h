// Internal: the lineage database's schema, and opening a lineage file (through
// sqlite::OpenOwned, which checks that it is ours and of this schema version).
//
// Thread safety: OpenLineageDb may be called concurrently, by many processes on one file;
// the connection it returns is not thread-safe.
#ifndef MLOPS_LINEAGE_INTERNAL_SCHEMA_H_
#define MLOPS_LINEAGE_INTERNAL_SCHEMA_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "mlops/base/internal/sqlite.h"
#include "mlops/lineage/sqlite_lineage_store.h"

namespace mlops {
namespace lineage_internal {

// The PRAGMA application_id of lineage databases ("mlop").
inline constexpr int64_t kLineageApplicationId = 0x6D6C6F70;

// Opens the lineage database at `path` as SqliteLineageStore::Open documents (its errors
// too, but for an empty path), creating the schema in a new one unless options.read_only.
absl::StatusOr<std::unique_ptr<sqlite::Db>> OpenLineageDb(const std::string& path,
                                                          const SqliteLineageOptions& options);

}  // namespace lineage_internal
}  // namespace mlops

#endif  // MLOPS_LINEAGE_INTERNAL_SCHEMA_H_
