// CHECK_SYS(expr): for the system calls a test makes to *set up* its files, processes and
// descriptors, independently of the code under test.
//
// When `expr` is false, CHECK_SYS prints the file, line, expression and strerror(errno) to
// stderr and aborts the test binary: such a failure is an environment problem (a full disk, a
// missing permission), not a finding about the code under test, and no test result after it
// could be trusted. Use gtest assertions, not CHECK_SYS, for what the code under test does.
//
// Example:
//   const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
//   CHECK_SYS(fd >= 0);
//
// Thread safety: usable from any thread (it reads errno, which is per thread).
#ifndef MLOPS_TESTING_CHECK_SYS_H_
#define MLOPS_TESTING_CHECK_SYS_H_

#include <errno.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#define CHECK_SYS(expr)                                                         \
  do {                                                                          \
    if (!(expr)) {                                                              \
      std::fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #expr, \
                   std::strerror(errno));                                       \
      std::abort();                                                             \
    }                                                                           \
  } while (0)

#endif  // MLOPS_TESTING_CHECK_SYS_H_
