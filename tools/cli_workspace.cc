#include "tools/cli_workspace.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "mlops/base/file_io.h"
#include "tools/ids.h"
#include "mlops/core/workspace_layout.h"

namespace mlops {
namespace cli {

absl::StatusOr<absl::btree_set<Digest>> ParsePins(absl::string_view text,
                                                  absl::string_view path) {
  absl::btree_set<Digest> pins;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || absl::StartsWith(line, "#")) continue;
    absl::StatusOr<Digest> d = Digest::FromHex(line);
    if (!d.ok()) {
      return absl::DataLossError(absl::StrCat(path, ":", line_number, ": \"", line,
                                              "\" is not a digest (32 hex characters)"));
    }
    pins.insert(*d);
  }
  return pins;
}

std::string FormatPins(const absl::btree_set<Digest>& pins) {
  std::string out;
  for (const Digest& d : pins) absl::StrAppend(&out, d.ToHex(), "\n");
  return out;
}

absl::StatusOr<std::unique_ptr<CliWorkspace>> CliWorkspace::Open(const std::string& dir,
                                                                 Access access) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      return absl::NotFoundError(absl::StrCat("no workspace at ", dir,
                                              " (give --workspace DIR or set MLOPS_WORKSPACE)"));
    }
    return PosixError(errno, "stat", dir);
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(dir, " is not a directory, so not an mlops workspace"));
  }
  const std::string db = WorkspaceLayout(dir).lineage_db();
  if (::stat(db.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      return absl::NotFoundError(
          absl::StrCat(dir, " is not an mlops workspace: it has no lineage.db"));
    }
    return PosixError(errno, "stat", db);  // e.g. a workspace we may not read
  }
  // SqliteLineageStore::Open would write its schema into an empty file (or into another
  // SQLite database): look at the header first, so the CLI never writes there.
  {
    ScopedFd fd(::open(db.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return PosixError(errno, "open", db);
    char header[16] = {};
    ssize_t n;
    do {
      n = ::pread(fd.get(), header, sizeof(header), 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return PosixError(errno, "read", db);
    static constexpr char kSqliteHeader[16] = "SQLite format 3";  // and a NUL
    if (n != static_cast<ssize_t>(sizeof(header)) ||
        std::memcmp(header, kSqliteHeader, sizeof(header)) != 0) {
      // Not even SQLite's header: a damaged lineage database (a zeroed header), or some
      // other file. Either way the CLI leaves it alone (it writes no lineage).
      return absl::FailedPreconditionError(absl::StrCat(
          db, " is not an mlops lineage database (",
          n == 0 ? "it is empty)"
                 : "it is not an SQLite database). If it is this workspace's lineage, "
                   "damaged, open the workspace read-write to recover it: any program that "
                   "opens it (mlops::Workspace::Open) moves the damaged file aside and starts "
                   "a new one with what can still be read"));
    }
  }
  SqliteLineageOptions options;
  options.max_batch_delay = absl::ZeroDuration();  // no flusher thread: nothing is recorded
  // No command writes lineage (gc, pin and unpin write the store or the pin list): read it
  // only, so that not even they upgrade its schema or leave WAL files behind.
  options.read_only = true;
  absl::StatusOr<std::unique_ptr<SqliteLineageStore>> lineage =
      SqliteLineageStore::Open(db, options);
  if (!lineage.ok()) return lineage.status();
  return std::unique_ptr<CliWorkspace>(new CliWorkspace(dir, access, *std::move(lineage)));
}

absl::StatusOr<DiskStore*> CliWorkspace::store() {
  if (store_ == nullptr) {
    DiskStoreOptions options;
    options.read_only = access_ == Access::kRead;
    absl::StatusOr<std::unique_ptr<DiskStore>> s = DiskStore::Open(WorkspaceLayout(dir_).store(), options);
    if (!s.ok()) return s.status();
    store_ = *std::move(s);
  }
  return store_.get();
}

absl::StatusOr<const std::vector<StoreEntry>*> CliWorkspace::StoreEntries() {
  if (!entries_.has_value()) {
    absl::StatusOr<DiskStore*> s = store();
    if (access_ == Access::kRead && absl::IsNotFound(s.status())) {  // no store: no values
      entries_.emplace();
      return &*entries_;
    }
    if (!s.ok()) return s.status();
    absl::StatusOr<std::vector<StoreEntry>> entries = (*s)->List();
    if (!entries.ok()) return entries.status();
    entries_ = *std::move(entries);
  }
  return &*entries_;
}

absl::StatusOr<absl::btree_set<Digest>> CliWorkspace::LoadPins() {
  absl::StatusOr<std::string> text = ReadFile(pins_path());
  if (absl::IsNotFound(text.status())) return absl::btree_set<Digest>();
  if (!text.ok()) return text.status();
  return ParsePins(*text, pins_path());
}

absl::Status CliWorkspace::SavePins(const absl::btree_set<Digest>& pins) {
  return WriteFileAtomically(pins_path(), FormatPins(pins));
}

absl::StatusOr<Digest> CliWorkspace::ResolveDigest(absl::string_view prefix) {
  if (!IsDigestPrefix(prefix)) return ResolveDigestPrefix(prefix, {});  // the usage error
  // Enough to tell one match from several, and to list five; the page says if more match.
  PageRequest page;
  page.max_results = 6;
  absl::StatusOr<Page<Digest>> found = lineage_->FindArtifactsByPrefix(prefix, page);
  if (!found.ok()) return found.status();
  std::vector<Digest>* const candidates = &found->items;
  const std::string lower = absl::AsciiStrToLower(prefix);
  if (lower.size() == Digest::kHexChars) {
    // A whole digest: one lookup in the store, not a listing of it.
    const Digest d = *Digest::FromHex(lower);
    absl::StatusOr<DiskStore*> s = store();
    const bool no_store = access_ == Access::kRead && absl::IsNotFound(s.status());
    if (!s.ok() && !no_store) return s.status();
    if (!no_store) {
      absl::StatusOr<bool> stored = (*s)->Contains(d);
      if (!stored.ok()) return stored.status();
      if (*stored) candidates->push_back(d);
    }
  } else {
    absl::StatusOr<const std::vector<StoreEntry>*> entries = StoreEntries();
    if (!entries.ok()) return entries.status();
    for (const StoreEntry& e : **entries) {
      if (absl::StartsWith(e.digest.ToHex(), lower)) candidates->push_back(e.digest);
    }
  }
  absl::StatusOr<Digest> d = ResolveDigestPrefix(prefix, *candidates, found->has_more());
  if (absl::IsNotFound(d.status())) {
    return absl::NotFoundError(absl::StrCat(d.status().message(), " in the lineage or store of ",
                                            dir_));
  }
  return d;
}

}  // namespace cli
}  // namespace mlops
