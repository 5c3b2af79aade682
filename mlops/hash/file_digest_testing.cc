#include "mlops/hash/file_digest_testing.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "mlops/hash/digest.h"
#include "mlops/hash/file_digest.h"

namespace mlops {
namespace test {
namespace {

std::string U64Le(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}

}  // namespace

std::string CanonicalBytes(const Digest& d) {
  std::string out(16, '\0');
  for (int i = 0; i < 8; ++i) {
    out[i] = static_cast<char>((d.high() >> (56 - 8 * i)) & 0xff);
    out[8 + i] = static_cast<char>((d.low() >> (56 - 8 * i)) & 0xff);
  }
  return out;
}

std::string DirectoryListingBytes(const std::vector<std::pair<std::string, Digest>>& files) {
  std::string out = U64Le(files.size());
  for (const auto& [rel, digest] : files) {
    out += U64Le(rel.size());
    out += rel;
    out += CanonicalBytes(digest);
  }
  return out;
}

Digest ExpectedDirectoryDigest(const std::vector<std::pair<std::string, Digest>>& files) {
  return Digest::Of(DirectoryListingBytes(files));
}

std::vector<std::pair<std::string, Digest>> SortedListing(
    const std::vector<std::pair<std::string, std::string>>& files) {
  std::vector<std::pair<std::string, Digest>> out;
  for (const auto& [rel, content] : files) out.emplace_back(rel, Digest::Of(content));
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::lexicographical_compare(
        a.first.begin(), a.first.end(), b.first.begin(), b.first.end(), [](char x, char y) {
          return static_cast<unsigned char>(x) < static_cast<unsigned char>(y);
        });
  });
  return out;
}

absl::StatusOr<Digest> CallWithFifoWatchdog(const std::string& fifo,
                                            std::function<absl::StatusOr<Digest>()> call) {
  std::future<absl::StatusOr<Digest>> result = std::async(std::launch::async, std::move(call));
  if (result.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    ADD_FAILURE() << "still blocked on the FIFO " << fifo << " after 10 s";
    const int w = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (w >= 0) ::close(w);
  }
  return result.get();
}

void ExpectConcurrentCallsAgree(FileDigester& digester, const std::string& dir,
                                const std::vector<std::pair<std::string, std::string>>& files) {
  std::vector<std::pair<std::string, Digest>> expected_files;
  for (const auto& [rel, content] : files) {
    expected_files.emplace_back(dir + "/" + rel, Digest::Of(content));
  }
  const Digest expected_dir = ExpectedDirectoryDigest(SortedListing(files));
  const FileDigester::Stats before = digester.stats();

  constexpr int kThreads = 8;
  constexpr int kRounds = 10;
  std::atomic<int> start{0};
  std::atomic<int> wrong{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.fetch_add(1);
      while (start.load() < kThreads) std::this_thread::yield();  // maximise overlap
      for (int round = 0; round < kRounds; ++round) {
        // Threads walk the files in different orders.
        for (size_t i = 0; i < expected_files.size(); ++i) {
          const auto& [path, want] = expected_files[(i + t) % expected_files.size()];
          absl::StatusOr<Digest> got = digester.File(path);
          if (!got.ok()) {
            errors.fetch_add(1);
          } else if (*got != want) {
            wrong.fetch_add(1);
          }
        }
        absl::StatusOr<Digest> got = digester.Directory(dir);
        if (!got.ok()) {
          errors.fetch_add(1);
        } else if (*got != expected_dir) {
          wrong.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(wrong.load(), 0);
  // Every successful File() (direct or from Directory()) is either a hit or a read.
  const FileDigester::Stats after = digester.stats();
  const int64_t calls = int64_t{kThreads} * kRounds * 2 * static_cast<int64_t>(files.size());
  EXPECT_EQ((after.cache_hits - before.cache_hits) + (after.files_read - before.files_read), calls);
}

}  // namespace test
}  // namespace mlops
