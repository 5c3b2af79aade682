#include "mlops/lineage/internal/statements.h"

#include <utility>

namespace mlops {
namespace lineage_internal {

absl::StatusOr<std::unique_ptr<Statements>> PrepareStatements(sqlite::Db& db, bool read_only) {
  auto s = std::make_unique<Statements>();
  absl::Status prepared = db.PrepareAll({
      {&s->run_exists, "SELECT 1 FROM runs WHERE id = ?1"},
      {&s->get_execution, "SELECT proto FROM executions WHERE id = ?1"},
      {&s->get_artifact, "SELECT type_name, size, label, uri FROM artifacts WHERE digest = ?1"},
      {&s->edge_executions,
       "SELECT DISTINCT x.id, x.cache_hit FROM artifacts a "
       "JOIN events e ON e.artifact_id = a.id JOIN executions x ON x.id = e.execution_id "
       "WHERE a.digest = ?1 AND e.kind = ?2 ORDER BY x.cache_hit, x.id"},
      // The literal rep_id conditions let SQLite use the partial indexes.
      {&s->hits_of_representative,
       "SELECT id FROM executions WHERE rep_id = ?1 AND rep_id != 0 "
       "UNION ALL SELECT id FROM hits WHERE rep_id = ?1 ORDER BY 1"},
      {&s->get_hit,
       "SELECT h.run_id, h.rep_id, h.start_ns, h.end_ns, r.proto, r.id IS NOT NULL "
       "FROM hits h LEFT JOIN executions r ON r.id = h.rep_id WHERE h.id = ?1"},
      {&s->compact_hits_of_run,
       "SELECT h.id, h.run_id, h.start_ns, h.end_ns, h.rep_id, r.proto, r.id IS NOT NULL "
       "FROM hits h LEFT JOIN executions r ON r.id = h.rep_id WHERE h.run_id = ?1 "
       "ORDER BY h.id"},
      // Newest first by start time in whole microseconds (floored, as the executions
      // table's start_us), then by id: the order ExecutionsOfStep promises; those older
      // than (?3, ?4) in that order (paging.h).
      {&s->compact_hits_of_step,
       "SELECT id, run_id, start_ns, end_ns, rep_id, proto, 1 FROM ("
       "SELECT h.id, h.run_id, h.start_ns, h.end_ns, h.rep_id, r.proto, "
       "(h.start_ns - ((h.start_ns % 1000) + 1000) % 1000) / 1000 AS start_us "
       "FROM executions r JOIN hits h ON h.rep_id = r.id "
       "WHERE r.step = ?1 AND r.rep_id = 0) "
       "WHERE start_us < ?3 OR (start_us = ?3 AND id < ?4) "
       "ORDER BY start_us DESC, id DESC LIMIT ?2"},
      {&s->count_hits_of_run, "SELECT count(*) FROM hits WHERE run_id = ?1"},
  });
  if (!prepared.ok()) return prepared;
  if (read_only) return s;
  prepared = db.PrepareAll({
      {&s->begin, "BEGIN IMMEDIATE"},
      {&s->commit, "COMMIT"},
      {&s->rollback, "ROLLBACK"},
      {&s->insert_execution,
       "INSERT OR REPLACE INTO executions(id, run_id, step, action_key, status, cache_hit, "
       "rep_id, result_key, start_us, end_us, proto, template) "
       "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"},
      {&s->delete_execution, "DELETE FROM executions WHERE id = ?1"},
      {&s->representative_of_result,
       "SELECT id, template FROM executions WHERE result_key = ?1 AND rep_id = 0 AND id != ?2 "
       "ORDER BY id LIMIT 1"},
      {&s->rep_of_execution, "SELECT rep_id, result_key FROM executions WHERE id = ?1"},
      {&s->move_hits, "UPDATE executions SET rep_id = ?1 WHERE rep_id = ?2 AND rep_id != 0"},
      {&s->find_artifact, "SELECT id, type_name, label, uri FROM artifacts WHERE digest = ?1"},
      {&s->insert_artifact,
       "INSERT INTO artifacts(digest, type_name, size, label, uri) VALUES(?1, ?2, ?3, ?4, ?5) "
       "ON CONFLICT(digest) DO NOTHING RETURNING id"},
      {&s->fill_artifact,
       "UPDATE artifacts SET "
       "label = CASE WHEN label = '' THEN ?2 ELSE label END, "
       "uri = CASE WHEN uri = '' THEN ?3 ELSE uri END, "
       "type_name = CASE WHEN type_name = '' THEN ?4 ELSE type_name END WHERE id = ?1"},
      {&s->insert_event,
       "INSERT OR IGNORE INTO events(artifact_id, kind, execution_id, name) "
       "VALUES(?1, ?2, ?3, ?4)"},
      {&s->delete_event,
       "DELETE FROM events WHERE artifact_id = (SELECT id FROM artifacts WHERE digest = ?1) "
       "AND kind = ?2 AND execution_id = ?3 AND name = ?4"},
      {&s->delete_unreferenced_artifact,
       "DELETE FROM artifacts WHERE digest = ?1 AND NOT EXISTS "
       "(SELECT 1 FROM events WHERE artifact_id = artifacts.id)"},
      {&s->reserve_ids,
       "UPDATE id_blocks SET next = next + ?1 WHERE kind = 'execution' RETURNING next"},
      {&s->data_version, "PRAGMA data_version"},
      {&s->insert_hit,
       "INSERT OR REPLACE INTO hits(id, run_id, rep_id, start_ns, end_ns) "
       "VALUES(?1, ?2, ?3, ?4, ?5)"},
      {&s->delete_hit, "DELETE FROM hits WHERE id = ?1"},
      {&s->delete_hits_of_run, "DELETE FROM hits WHERE run_id = ?1"},
      {&s->compact_hits_of_representative,
       "SELECT id, run_id, start_ns, end_ns FROM hits WHERE rep_id = ?1 ORDER BY id"},
      {&s->delete_compact_hits_of_representative, "DELETE FROM hits WHERE rep_id = ?1"},
  });
  if (!prepared.ok()) return prepared;
  return s;
}

}  // namespace lineage_internal
}  // namespace mlops
