// tools/records.h — lineage records (runs, executions, artifacts) as the command line
// prints them: JSON objects of the documented schema (tools/README.md) and aligned text.
//
// Thread safety: pure functions.
#ifndef TOOLS_RECORDS_H_
#define TOOLS_RECORDS_H_

#include <google/protobuf/timestamp.pb.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "mlops/lineage/lineage.pb.h"
#include "mlops/lineage/lineage_store.h"
#include "tools/json_writer.h"

namespace mlops {
namespace cli {

absl::Time ToTime(const google::protobuf::Timestamp& t);
// end - start; negative when the end is unset (still running, or the process died).
absl::Duration DurationOf(const google::protobuf::Timestamp& start,
                          const google::protobuf::Timestamp& end);

// "SUCCEEDED", "CACHED", ... (the enum names; "STATUS_UNKNOWN" for values not known).
std::string StatusName(Run::Status s);
std::string StatusName(Execution::Status s);

// What a run's executions were (mlops::RunCounts, lineage_store.h), counted from them
// when they are loaded anyway.
RunCounts CountExecutions(const std::vector<Execution>& executions);

// JSON objects (see tools/README.md for the fields). `values`, if given (by `show`), adds
// the run's tags, params and metrics (RunValues, mlops/lineage/tracking.h).
void WriteRunJson(JsonWriter& w, const Run& run, const RunCounts& counts,
                  bool with_environment, const RunValues* values = nullptr);
void WriteExecutionJson(JsonWriter& w, const Execution& e);
void WriteArtifactRefJson(JsonWriter& w, const ArtifactRef& ref);
// A recovery of the damaged lineage database (LineageRecovery, lineage.proto).
void WriteRecoveryJson(JsonWriter& w, const LineageRecovery& r);
// The same in one line of text: when, by which run, where the damaged file is, what came
// back.
std::string RecoveryLine(const LineageRecovery& r);
// A string → string map, keys in sorted order (proto maps have none).
void WriteParamsJson(JsonWriter& w, const google::protobuf::Map<std::string, std::string>& m);
void WriteMetricsJson(JsonWriter& w, const google::protobuf::Map<std::string, double>& m);

// A metric's value as text: its shortest round-trip form ("0.1", "1e+20"), and "nan",
// "inf", "-inf" for the values JSON has no number for.
std::string FormatMetricValue(double v);
// The same in JSON: a number, or the strings "NaN", "Infinity", "-Infinity" (protobuf's
// JSON mapping spells them so).
void WriteMetricValueJson(JsonWriter& w, double v);

// How a table column lines up: text to the left, numbers (counts, sizes, durations, ids)
// to the right, so their digits and units line up.
enum class Align { kLeft, kRight };

// `rows` as lines with each column padded to its widest cell, two spaces between columns;
// column i is aligned by align[i] (kLeft past the end of `align`). No line ends in blanks: a
// left-aligned last cell is not padded. Rows may have fewer cells than others.
std::string FormatTable(const std::vector<std::vector<std::string>>& rows,
                        const std::vector<Align>& align = {});
void PrintTable(std::FILE* out, const std::vector<std::vector<std::string>>& rows,
                const std::vector<Align>& align = {});

}  // namespace cli
}  // namespace mlops

#endif  // TOOLS_RECORDS_H_
