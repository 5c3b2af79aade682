// Test values made of bytes, and a comparison of large byte strings, shared by tests.
//
// Pattern and Mod251 are deterministic and independent of the code under test, so a test
// can build the same bytes again instead of keeping them, and pin digests computed by other
// tools (xxh128sum) on the same bytes.
//
// Example:
//   const std::string bytes = Pattern(5 << 20, /*seed=*/2);
//   ASSERT_OK_AND_ASSIGN(const Blob blob, store->Get(Digest::Of(bytes)));
//   EXPECT_TRUE(SameBytes(blob.view(), bytes));
//
// Thread safety: the functions keep no state and are safe to call from any thread.
#ifndef MLOPS_TESTING_BYTES_H_
#define MLOPS_TESTING_BYTES_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "gtest/gtest.h"

namespace mlops {
namespace test {

// `n` pseudo-random bytes from a 64-bit LCG started at `seed`: the same (n, seed) give the
// same bytes, and Pattern(m, seed) is a prefix of Pattern(n, seed) for m <= n. Unlike a short
// repeating pattern, a dropped, repeated or reordered chunk changes the content.
std::string Pattern(size_t n, uint64_t seed);

// The `n` bytes i % 251 for i = 0, 1, ..., as written by
//   python3 -c 'import sys; sys.stdout.buffer.write(bytes(i % 251 for i in range(N)))'
// (for known answers printed by other tools).
std::string Mod251(size_t n);

// Success if `actual` == `expected`; otherwise a failure that gives both sizes and the offset
// of the first byte that differs (or the shorter size, when one is a prefix of the other),
// without printing the bytes. For EXPECT_TRUE / ASSERT_TRUE.
::testing::AssertionResult SameBytes(absl::string_view actual, absl::string_view expected);

}  // namespace test
}  // namespace mlops

#endif  // MLOPS_TESTING_BYTES_H_
