#include "mlops/testing/unprivileged.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "mlops/testing/check_sys.h"
#include "mlops/testing/files.h"

namespace mlops {
namespace test {

Unprivileged RunWithoutDacOverride(const std::string& probe_dir, const std::function<void()>& fn) {
  const std::string probe = probe_dir + "/permission_probe";
  Spit(probe, "x");
  CHECK_SYS(::chmod(probe.c_str(), 0) == 0);
  Unprivileged out;
  std::thread t([&] {
    __user_cap_header_struct header;
    header.version = _LINUX_CAPABILITY_VERSION_3;
    header.pid = 0;
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
    std::memset(data, 0, sizeof(data));
    if (::syscall(SYS_capget, &header, data) != 0) {
      out.why = absl::StrCat("capget failed: ", std::strerror(errno));
      return;
    }
    for (int cap : {CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH}) {
      data[CAP_TO_INDEX(cap)].effective &= ~CAP_TO_MASK(cap);
    }
    if (::syscall(SYS_capset, &header, data) != 0) {
      out.why = absl::StrCat("capset failed: ", std::strerror(errno));
      return;
    }
    const int fd = ::open(probe.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      ::close(fd);
      out.why = absl::StrCat("a mode-000 file can still be opened (euid ", ::geteuid(),
                             "); permission denial cannot be produced here");
      return;
    }
    out.denied = true;
    fn();
  });
  t.join();
  ::unlink(probe.c_str());
  return out;
}

}  // namespace test
}  // namespace mlops
