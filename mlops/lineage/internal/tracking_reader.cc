#include "mlops/lineage/internal/tracking_reader.h"

#include <memory>
#include <string>
#include <utility>
#include <variant>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "mlops/lineage/internal/tracking_writer.h"

namespace mlops {
namespace lineage_internal {
namespace {

// The execution whose series `owner` shows (a cache hit's representative), or minus the
// run for a run's own; NOT_FOUND if there is no such execution.
absl::StatusOr<int64_t> SeriesOwner(sqlite::Db& db, const MetricOwner& owner) {
  if (owner.execution_id == 0) return -owner.run_id;
  for (const char* sql : {"SELECT rep_id FROM executions WHERE id = ?1",
                          "SELECT rep_id FROM hits WHERE id = ?1"}) {
    absl::StatusOr<std::unique_ptr<sqlite::Statement>> q = db.Prepare(sql);
    if (!q.ok()) return q.status();
    (*q)->Bind(1, owner.execution_id);
    absl::StatusOr<bool> row = (*q)->Step();
    if (!row.ok()) return row.status();
    if (*row) return (*q)->Int(0) != 0 ? (*q)->Int(0) : owner.execution_id;
  }
  return absl::NotFoundError(
      absl::StrCat("no execution with id ", owner.execution_id, " in ", db.path()));
}

// Rows of `sql` (bound with `id`) in `*out`, by `read`.
template <typename Read>
absl::Status ForEachRow(sqlite::Db& db, const char* sql, int64_t id, Read read) {
  absl::StatusOr<std::unique_ptr<sqlite::Statement>> q = db.Prepare(sql);
  if (!q.ok()) return q.status();
  (*q)->Bind(1, id);
  for (;;) {
    absl::StatusOr<bool> row = (*q)->Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::OkStatus();
    absl::Status s = read(**q);
    if (!s.ok()) return s;
  }
}

}  // namespace

absl::StatusOr<RunValues> ReadRunValues(sqlite::Db& db, int64_t run_id) {
  RunValues v;
  absl::Status s = ForEachRow(db, "SELECT key, value FROM run_tags WHERE run_id = ?1", run_id,
                              [&](sqlite::Statement& q) {
                                v.tags.emplace(q.Text(0), q.Text(1));
                                return absl::OkStatus();
                              });
  if (s.ok()) {
    s = ForEachRow(db, "SELECT key, value FROM run_params WHERE run_id = ?1", run_id,
                   [&](sqlite::Statement& q) {
                     v.params.emplace(q.Text(0), q.Text(1));
                     return absl::OkStatus();
                   });
  }
  if (s.ok()) {
    s = ForEachRow(
        db, "SELECT key, value, step, time_us, execution_id FROM run_metrics WHERE run_id = ?1",
        run_id, [&](sqlite::Statement& q) {
          v.metrics.emplace(q.Text(0), MetricValue{q.Double(1), q.Int(2),
                                                   absl::FromUnixMicros(q.Int(3)), q.Int(4)});
          return absl::OkStatus();
        });
  }
  if (!s.ok()) return s;
  return v;
}

absl::StatusOr<std::vector<MetricPoint>> ReadSeries(sqlite::Db& db, const MetricOwner& owner,
                                                    absl::string_view key) {
  absl::StatusOr<int64_t> id = SeriesOwner(db, owner);
  if (!id.ok()) return id.status();
  absl::StatusOr<std::unique_ptr<sqlite::Statement>> q = db.Prepare(
      "SELECT points FROM metric_points WHERE owner = ?1 AND key = ?2 ORDER BY chunk");
  if (!q.ok()) return q.status();
  (*q)->Bind(1, *id).BindText(2, key);
  std::vector<MetricPoint> points;
  for (;;) {
    absl::StatusOr<bool> row = (*q)->Step();
    if (!row.ok()) return row.status();
    if (!*row) return points;
    absl::Status s = DecodePoints((*q)->Blob(0), db.path(), &points);
    if (!s.ok()) return s;
  }
}

absl::StatusOr<std::vector<std::string>> ReadMetricKeys(sqlite::Db& db,
                                                        const MetricOwner& owner) {
  absl::StatusOr<int64_t> id = SeriesOwner(db, owner);
  if (!id.ok()) return id.status();
  std::vector<std::string> keys;
  absl::Status s = ForEachRow(
      db, "SELECT DISTINCT key FROM metric_points WHERE owner = ?1 ORDER BY key", *id,
      [&](sqlite::Statement& q) {
        keys.emplace_back(q.Text(0));
        return absl::OkStatus();
      });
  if (!s.ok()) return s;
  return keys;
}

absl::StatusOr<std::vector<Experiment>> ReadExperiments(sqlite::Db& db) {
  absl::StatusOr<std::unique_ptr<sqlite::Statement>> q = db.Prepare(
      "SELECT e.id, e.name, count(r.id), max(r.start_us) FROM experiments e "
      "LEFT JOIN runs r ON r.experiment_id = e.id GROUP BY e.id ORDER BY e.name");
  if (!q.ok()) return q.status();
  std::vector<Experiment> out;
  for (;;) {
    absl::StatusOr<bool> row = (*q)->Step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    Experiment e;
    e.id = (*q)->Int(0);
    e.name = std::string((*q)->Text(1));
    e.runs = (*q)->Int(2);
    e.last_start = (*q)->Type(3) == SQLITE_NULL ? absl::InfinitePast()
                                                 : absl::FromUnixMicros((*q)->Int(3));
    if (e.runs > 0 || e.id == 1) out.push_back(std::move(e));
  }
}

absl::StatusOr<std::vector<std::vector<SqlValue>>> SelectRows(sqlite::Db& db,
                                                              const SqlQuery& query) {
  // A query, not a statement that changes the connection (a PRAGMA may be "read-only" to
  // SQLite and still change how this connection compares, say).
  absl::string_view head = absl::StripLeadingAsciiWhitespace(query.sql);
  // (EXPLAIN runs nothing: it describes the statement after it.)
  if (!absl::StartsWithIgnoreCase(head, "SELECT") && !absl::StartsWithIgnoreCase(head, "WITH") &&
      !absl::StartsWithIgnoreCase(head, "EXPLAIN")) {
    return absl::InvalidArgumentError(
        absl::StrCat("Select runs SELECT, WITH and EXPLAIN queries only, not: ", query.sql));
  }
  absl::StatusOr<std::unique_ptr<sqlite::Statement>> q = db.Prepare(query.sql.c_str());
  if (!q.ok()) return q.status();
  if (!sqlite3_stmt_readonly((*q)->get())) {
    return absl::InvalidArgumentError(
        absl::StrCat("Select runs read-only queries only, not: ", query.sql));
  }
  for (size_t i = 0; i < query.params.size(); ++i) {
    const int n = static_cast<int>(i + 1);
    const SqlValue& v = query.params[i];
    if (const int64_t* x = std::get_if<int64_t>(&v)) {
      (*q)->Bind(n, *x);
    } else if (const double* d = std::get_if<double>(&v)) {
      (*q)->BindDouble(n, *d);
    } else if (const std::string* t = std::get_if<std::string>(&v)) {
      (*q)->BindText(n, *t);
    }  // monostate: NULL, as left unbound
  }
  std::vector<std::vector<SqlValue>> rows;
  const int columns = sqlite3_column_count((*q)->get());
  for (;;) {
    absl::StatusOr<bool> row = (*q)->Step();
    if (!row.ok()) return row.status();
    if (!*row) return rows;
    std::vector<SqlValue>& out = rows.emplace_back();
    out.reserve(columns);
    for (int c = 0; c < columns; ++c) {
      switch ((*q)->Type(c)) {
        case SQLITE_INTEGER: out.emplace_back((*q)->Int(c)); break;
        case SQLITE_FLOAT: out.emplace_back((*q)->Double(c)); break;
        case SQLITE_NULL: out.emplace_back(std::monostate{}); break;
        default: out.emplace_back(std::string((*q)->Text(c))); break;
      }
    }
  }
}

}  // namespace lineage_internal
}  // namespace mlops
