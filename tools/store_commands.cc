// `mlops du`, `mlops gc` and `mlops cat`: the content store.
#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "tools/cli_workspace.h"
#include "tools/commands.h"
#include "tools/store_usage.h"
#include "tools/ids.h"
#include "tools/records.h"
#include "tools/units.h"

namespace mlops {
namespace cli {

absl::Status Du(const Args& args, const std::string& workspace) {
  absl::StatusOr<std::unique_ptr<CliWorkspace>> ws =
      CliWorkspace::Open(workspace, CliWorkspace::Access::kRead);
  if (!ws.ok()) return ws.status();
  absl::StatusOr<const std::vector<StoreEntry>*> entries = (*ws)->StoreEntries();
  if (!entries.ok()) return entries.status();
  absl::StatusOr<std::vector<LineageStore::StepOutput>> outputs =
      (*ws)->lineage().StepOutputs();
  if (!outputs.ok()) return outputs.status();
  // A value output by several steps counts once, for the first step by name (the list is
  // sorted by digest, then step).
  absl::flat_hash_map<Digest, std::string> step_of;
  for (const LineageStore::StepOutput& o : *outputs) step_of.emplace(o.digest, o.step_name);
  const std::vector<StepUsage> usage = UsageByStep(**entries, step_of);
  StepUsage total{"total", 0, 0};
  for (const StepUsage& u : usage) {
    total.entries += u.entries;
    total.bytes += u.bytes;
  }
  if (args.has("json")) {
    JsonWriter w;
    w.BeginObject().Key("steps").BeginArray();
    for (const StepUsage& u : usage) {
      w.BeginObject().Key("step").String(u.step).Key("entries").Int(u.entries);
      w.Key("bytes").Int(u.bytes).EndObject();
    }
    w.EndArray();
    w.Key("total").BeginObject().Key("entries").Int(total.entries);
    w.Key("bytes").Int(total.bytes).EndObject().EndObject();
    return Print(w.str());
  }
  std::vector<std::vector<std::string>> rows = {{"STEP", "ENTRIES", "SIZE"}};
  for (const StepUsage& u : usage) {
    rows.push_back({u.step, absl::StrCat(u.entries), FormatBytes(u.bytes)});
  }
  rows.push_back({"total", absl::StrCat(total.entries), FormatBytes(total.bytes)});
  PrintTable(stdout, rows, {Align::kLeft, Align::kRight, Align::kRight});
  return absl::OkStatus();
}

absl::Status Gc(const Args& args, const std::string& workspace) {
  if (!args.has("max-size")) return UsageError("gc needs --max-size SIZE (e.g. 500M, 10G)");
  absl::StatusOr<int64_t> max_bytes = ParseSize(args.value("max-size"));
  if (!max_bytes.ok()) return UsageError(absl::StrCat("--max-size: ", max_bytes.status().message()));
  const bool dry_run = args.has("dry-run");
  absl::StatusOr<std::unique_ptr<CliWorkspace>> ws =
      CliWorkspace::Open(workspace, CliWorkspace::Access::kWrite);
  if (!ws.ok()) return ws.status();
  absl::StatusOr<DiskStore*> store = (*ws)->store();
  if (!store.ok()) return store.status();
  absl::StatusOr<absl::btree_set<Digest>> pins = (*ws)->LoadPins();
  if (!pins.ok()) return pins.status();
  absl::StatusOr<GcReport> report = CollectGarbage(**store, *max_bytes, *pins, dry_run);
  if (!report.ok()) return report.status();
  const GcResult& r = report->result;
  const int64_t entries_after = r.entries_before - r.entries_evicted;
  const int64_t bytes_after = r.bytes_before - r.bytes_freed;
  if (args.has("json")) {
    JsonWriter w;
    w.BeginObject();
    w.Key("dry_run").Bool(dry_run).Key("max_bytes").Int(*max_bytes);
    w.Key("entries_before").Int(r.entries_before).Key("bytes_before").Int(r.bytes_before);
    w.Key("entries_evicted").Int(r.entries_evicted).Key("bytes_freed").Int(r.bytes_freed);
    w.Key("entries_after").Int(entries_after).Key("bytes_after").Int(bytes_after);
    w.Key("pinned").Int(static_cast<int64_t>(pins->size()));
    w.Key("pinned_kept").Int(r.pinned_kept);
    w.Key("evicted").BeginArray();
    for (const StoreEntry& e : report->evicted) {
      w.BeginObject().Key("digest").String(e.digest.ToHex()).Key("size").Int(e.size).EndObject();
    }
    w.EndArray().EndObject();
    return Print(w.str());
  }
  std::string out = absl::StrCat(
      dry_run ? "would evict " : "evicted ", r.entries_evicted, " of ", r.entries_before,
      " entries, freeing ", FormatBytes(r.bytes_freed), ": the store ",
      dry_run ? "would hold " : "holds ", FormatBytes(bytes_after), " in ", entries_after,
      " entries (limit ", FormatBytes(*max_bytes), ")\n");
  if (r.pinned_kept > 0) {
    absl::StrAppend(&out, "kept ", r.pinned_kept, " pinned ",
                    r.pinned_kept == 1 ? "entry" : "entries", " that would have gone\n");
  }
  if (bytes_after > *max_bytes) {
    absl::StrAppend(&out, "the store is still over the limit: the rest is pinned\n");
  }
  return Print(out);
}

absl::Status Cat(const Args& args, const std::string& workspace) {
  absl::StatusOr<std::unique_ptr<CliWorkspace>> ws =
      CliWorkspace::Open(workspace, CliWorkspace::Access::kRead);
  if (!ws.ok()) return ws.status();
  absl::StatusOr<Digest> d = (*ws)->ResolveDigest(args.positional[0]);
  if (!d.ok()) return d.status();
  absl::StatusOr<DiskStore*> store = (*ws)->store();
  if (!store.ok()) return store.status();
  absl::StatusOr<Blob> blob = (*store)->Get(*d);
  if (absl::IsNotFound(blob.status())) {
    return absl::NotFoundError(absl::StrCat(d->ToHex(), " is not in the store ", (*store)->dir(),
                                            " (lineage knows it; it was evicted or never stored)"));
  }
  if (!blob.ok()) return blob.status();
  const absl::string_view bytes = blob->view();
  if (std::fwrite(bytes.data(), 1, bytes.size(), stdout) != bytes.size() ||
      std::fflush(stdout) != 0) {
    return absl::UnavailableError("cannot write to standard output");
  }
  return absl::OkStatus();
}

}  // namespace cli
}  // namespace mlops
