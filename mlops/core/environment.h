// mlops/core/environment.h — what machine and build a run happens in.
//
// Captured once per Workspace and stored in its Run record, so a result can be traced to
// the compiler, library versions, OS, CPU and source revision that produced it.
//
// Thread safety: the functions are safe to call from any thread.
#ifndef MLOPS_CORE_ENVIRONMENT_H_
#define MLOPS_CORE_ENVIRONMENT_H_

#include <string>
#include <vector>

#include "mlops/lineage/lineage.pb.h"

namespace mlops {

// The compiler and flags mlops was built with, the versions of its libraries (protobuf,
// SQLite, xxHash, fmt, Abseil), the OS (uname), the CPU model and core count, and the
// source revision: $MLOPS_SOURCE_REVISION if set, else the git commit of the current
// directory's repository when there is one (read from .git, without running git).
Environment CaptureEnvironment();

// This process's command line (argv[0] and arguments), from /proc/self/cmdline.
std::vector<std::string> CommandLine();

std::string HostName();
std::string UserName();

}  // namespace mlops

#endif  // MLOPS_CORE_ENVIRONMENT_H_
