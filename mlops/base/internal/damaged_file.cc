#include "mlops/base/internal/damaged_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "mlops/base/file_io.h"

namespace mlops {
namespace sqlite {

absl::StatusOr<FileId> IdOf(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return PosixError(errno, "stat", path);
  return FileId{st.st_dev, st.st_ino};
}

RecoveryLock::RecoveryLock(const std::string& db_path, Mode mode)
    : fd_(::open((db_path + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {
  if (fd_ < 0) return;
  const int op = mode == kExclusive ? LOCK_EX : LOCK_SH;
  while (::flock(fd_, op) != 0 && errno == EINTR) {
  }
}

RecoveryLock::~RecoveryLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the lock
}

absl::StatusOr<bool> MoveAside(const std::string& path, const FileId& damaged,
                               const std::string& aside, const std::string& what) {
  absl::StatusOr<FileId> now = IdOf(path);
  if (!now.ok() || *now != damaged) return false;
  if (::rename(path.c_str(), aside.c_str()) != 0) {
    return PosixError(errno, absl::StrCat("move aside ", what), path);
  }
  for (const char* suffix : {"-wal", "-shm"}) {
    ::rename(absl::StrCat(path, suffix).c_str(), absl::StrCat(aside, suffix).c_str());
  }
  return true;
}

void LeaveAsIs(Db& db) {
  sqlite3_db_config(db.get(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
}

}  // namespace sqlite
}  // namespace mlops
