// Test support for the FileDigester tests (file_digest_*_test.cc): the directory encoding
// that file_digest.h documents, built by hand independently of the code under test; a guard
// for calls that could block on a FIFO; and a many-threads check of a FileDigester.
//
// Example:
//   WriteTree(tree, {{"b", "bee"}, {"a/x", "ex"}});
//   EXPECT_EQ(*FileDigester().Directory(tree),
//             ExpectedDirectoryDigest(SortedListing({{"b", "bee"}, {"a/x", "ex"}})));
//
// Thread safety: the functions keep no state; ExpectConcurrentCallsAgree starts threads of
// its own and returns after they have finished.
#ifndef MLOPS_HASH_FILE_DIGEST_TESTING_H_
#define MLOPS_HASH_FILE_DIGEST_TESTING_H_

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "mlops/hash/digest.h"
#include "mlops/hash/file_digest.h"

namespace mlops {
namespace test {

// The canonical 16 bytes of a digest, built by hand: big-endian high, then big-endian low.
std::string CanonicalBytes(const Digest& d);

// The bytes file_digest.h documents for a directory: u64 LE count, then per file u64 LE path
// length, path bytes, 16 canonical digest bytes. `files` must already be in the expected
// (bytewise) order; the function does not sort, so the tests state the order themselves.
std::string DirectoryListingBytes(const std::vector<std::pair<std::string, Digest>>& files);

// Digest::Of(DirectoryListingBytes(files)).
Digest ExpectedDirectoryDigest(const std::vector<std::pair<std::string, Digest>>& files);

// (relative path, content) → (relative path, Digest::Of(content)), sorted bytewise by path
// (as unsigned bytes: "\xc3..." sorts after every ASCII path).
std::vector<std::pair<std::string, Digest>> SortedListing(
    const std::vector<std::pair<std::string, std::string>>& files);

// Runs `call`, which may open the FIFO `fifo`, on a thread of its own and returns its result.
// If it has not returned after 10 s, records a test failure and opens the FIFO for writing
// and closes it, so that a blocked reader gets EOF and the test can finish instead of hanging
// until the Bazel timeout.
absl::StatusOr<Digest> CallWithFifoWatchdog(const std::string& fifo,
                                            std::function<absl::StatusOr<Digest>()> call);

// Calls File() on every file of `files` (relative to `dir`) and Directory() on `dir` from 8
// threads at once, 10 rounds each, every thread in its own order. Expects every result to be
// OK and equal to the digest computed from the known contents (Digest::Of, and
// ExpectedDirectoryDigest of SortedListing(files)), and every File() call, direct or made by
// Directory(), to count as either a cache hit or a file read in digester.stats().
// REQUIRES: `dir` holds exactly the files of `files`, with those contents.
void ExpectConcurrentCallsAgree(FileDigester& digester, const std::string& dir,
                                const std::vector<std::pair<std::string, std::string>>& files);

}  // namespace test
}  // namespace mlops

#endif  // MLOPS_HASH_FILE_DIGEST_TESTING_H_
