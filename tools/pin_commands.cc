// `mlops pin`, `mlops unpin` and `mlops pins`: the digests gc keeps.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tools/cli_workspace.h"
#include "tools/commands.h"
#include "tools/ids.h"
#include "tools/records.h"
#include "tools/units.h"

namespace mlops {
namespace cli {

absl::Status Pin(const Args& args, const std::string& workspace) {
  absl::StatusOr<std::unique_ptr<CliWorkspace>> ws =
      CliWorkspace::Open(workspace, CliWorkspace::Access::kWrite);
  if (!ws.ok()) return ws.status();
  absl::StatusOr<absl::btree_set<Digest>> pins = (*ws)->LoadPins();
  if (!pins.ok()) return pins.status();
  std::string out;
  for (const std::string& arg : args.positional) {
    absl::StatusOr<Digest> d = (*ws)->ResolveDigest(arg);
    if (!d.ok()) return d.status();
    const bool added = pins->insert(*d).second;
    absl::StrAppend(&out, added ? "pinned " : "already pinned ", d->ToHex(), "\n");
  }
  absl::Status s = (*ws)->SavePins(*pins);
  if (!s.ok()) return s;
  return Print(out);
}

absl::Status Unpin(const Args& args, const std::string& workspace) {
  absl::StatusOr<std::unique_ptr<CliWorkspace>> ws =
      CliWorkspace::Open(workspace, CliWorkspace::Access::kWrite);
  if (!ws.ok()) return ws.status();
  absl::StatusOr<absl::btree_set<Digest>> pins = (*ws)->LoadPins();
  if (!pins.ok()) return pins.status();
  const std::vector<Digest> pinned(pins->begin(), pins->end());
  std::string out;
  for (const std::string& arg : args.positional) {
    // Among the pins only: a pinned digest may have left the store and the lineage.
    absl::StatusOr<Digest> d = ResolveDigestPrefix(arg, pinned);
    if (absl::IsNotFound(d.status())) {
      return absl::NotFoundError(absl::StrCat("no pinned digest starts with \"", arg, "\""));
    }
    if (!d.ok()) return d.status();
    pins->erase(*d);
    absl::StrAppend(&out, "unpinned ", d->ToHex(), "\n");
  }
  absl::Status s = (*ws)->SavePins(*pins);
  if (!s.ok()) return s;
  return Print(out);
}

absl::Status Pins(const Args& args, const std::string& workspace) {
  absl::StatusOr<std::unique_ptr<CliWorkspace>> ws =
      CliWorkspace::Open(workspace, CliWorkspace::Access::kRead);
  if (!ws.ok()) return ws.status();
  absl::StatusOr<absl::btree_set<Digest>> pins = (*ws)->LoadPins();
  if (!pins.ok()) return pins.status();
  absl::StatusOr<const std::vector<StoreEntry>*> entries = (*ws)->StoreEntries();
  if (!entries.ok()) return entries.status();
  absl::flat_hash_map<Digest, int64_t> size_of;
  for (const StoreEntry& e : **entries) size_of[e.digest] = e.size;
  if (args.has("json")) {
    JsonWriter w;
    w.BeginObject().Key("pins").BeginArray();
    for (const Digest& d : *pins) {
      auto it = size_of.find(d);
      w.BeginObject().Key("digest").String(d.ToHex());
      w.Key("stored").Bool(it != size_of.end()).Key("size");
      it != size_of.end() ? w.Int(it->second) : w.Null();
      w.EndObject();
    }
    w.EndArray().EndObject();
    return Print(w.str());
  }
  if (pins->empty()) return Print(absl::StrCat("nothing is pinned in ", workspace, "\n"));
  std::vector<std::vector<std::string>> rows = {{"DIGEST", "STORED"}};
  for (const Digest& d : *pins) {
    auto it = size_of.find(d);
    rows.push_back({d.ToHex(), it != size_of.end() ? FormatBytes(it->second) : "no"});
  }
  PrintTable(stdout, rows, {Align::kLeft, Align::kRight});
  return absl::OkStatus();
}

}  // namespace cli
}  // namespace mlops
