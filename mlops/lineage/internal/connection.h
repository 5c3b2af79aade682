// Internal: one connection to a lineage database file, with everything that runs on it:
// its statements, compact hits, reads and writes. LineageDb holds one (and replaces it
// when the file is replaced); a recovery opens one on the new database it fills.
//
// Thread safety: not thread-safe; its owner serializes its use (LineageDb::mu).
#ifndef MLOPS_LINEAGE_INTERNAL_CONNECTION_H_
#define MLOPS_LINEAGE_INTERNAL_CONNECTION_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "mlops/base/internal/damaged_file.h"
#include "mlops/base/internal/sqlite.h"
#include "mlops/lineage/internal/compact_hits.h"
#include "mlops/lineage/internal/lineage_reader.h"
#include "mlops/lineage/internal/lineage_writer.h"
#include "mlops/lineage/internal/statements.h"
#include "mlops/lineage/sqlite_lineage_store.h"

namespace mlops {
namespace lineage_internal {

struct LineageConnection {
  // Opens the database at `path` (OpenLineageDb: errors as SqliteLineageStore::Open, the
  // damage ones unrecovered) and prepares its statements.
  static absl::StatusOr<std::unique_ptr<LineageConnection>> Open(
      const std::string& path, const SqliteLineageOptions& options);

  // Each uses those declared before it, and is destroyed before them: the connection last.
  std::unique_ptr<sqlite::Db> db;
  std::unique_ptr<Statements> stmts;
  std::unique_ptr<CompactHits> hits;
  std::unique_ptr<LineageReader> reader;
  std::unique_ptr<LineageWriter> writer;  // REQUIRES for use: not opened read-only
  // The file opened (read-write files only: zero for ":memory:" and read-only stores).
  sqlite::FileId file;
};

}  // namespace lineage_internal
}  // namespace mlops

#endif  // MLOPS_LINEAGE_INTERNAL_CONNECTION_H_
