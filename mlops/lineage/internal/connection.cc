#include "mlops/lineage/internal/connection.h"

#include <utility>

#include "mlops/lineage/internal/schema.h"

namespace mlops {
namespace lineage_internal {

absl::StatusOr<std::unique_ptr<LineageConnection>> LineageConnection::Open(
    const std::string& path, const SqliteLineageOptions& options) {
  auto c = std::make_unique<LineageConnection>();
  absl::StatusOr<std::unique_ptr<sqlite::Db>> db = OpenLineageDb(path, options);
  if (!db.ok()) return db.status();
  c->db = *std::move(db);
  absl::StatusOr<std::unique_ptr<Statements>> stmts = PrepareStatements(*c->db, options.read_only);
  if (!stmts.ok()) return stmts.status();
  c->stmts = *std::move(stmts);
  c->hits = std::make_unique<CompactHits>(path, *c->stmts);
  c->reader = std::make_unique<LineageReader>(path, *c->db, *c->stmts, *c->hits);
  c->writer = std::make_unique<LineageWriter>(path, *c->db, *c->stmts, *c->reader, *c->hits);
  if (!options.read_only && path != ":memory:") {
    absl::StatusOr<sqlite::FileId> id = sqlite::IdOf(path);
    if (!id.ok()) return id.status();
    c->file = *id;
  }
  return c;
}

}  // namespace lineage_internal
}  // namespace mlops
