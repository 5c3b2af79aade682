// mlops/store/durability.h — how hard the stores work to survive a power loss.
//
// The content store, the action cache and the workspace take a Durability. Whatever is
// chosen, a crash of the process never loses or tears a committed write; Durability is about
// a crash of the machine (power loss, kernel panic), which without syncs may lose the latest
// writes (never corrupt the others: a half-written value is found by its digest and treated
// as a miss).
//
// Example:
//   mlops::WorkspaceOptions options;
//   options.durability = mlops::Durability::kSyncFileAndDirectory;
//
// Thread safety: a plain enum.
#ifndef MLOPS_STORE_DURABILITY_H_
#define MLOPS_STORE_DURABILITY_H_

namespace mlops {

enum class Durability {
  kNone,                   // rename only: fastest; a power loss may lose recent writes
  kSyncFile,               // fsync the file before the rename
  kSyncFileAndDirectory,   // also fsync the directory after the rename
};

}  // namespace mlops

#endif  // MLOPS_STORE_DURABILITY_H_
