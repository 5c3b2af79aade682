// The ContentStore contract, against every implementation (content_store_testing.h): many
// threads of one process putting and getting values return exactly the bytes put.
#include "mlops/store/content_store.h"

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/hash/digest.h"
#include "mlops/store/content_store_testing.h"
#include "mlops/testing/bytes.h"
#include "mlops/testing/status_matchers.h"

namespace mlops {
namespace {

using ::mlops::test::AllStoreFactories;
using ::mlops::test::ContentStoreTest;
using ::mlops::test::kKiB;
using ::mlops::test::kMapThreshold;
using ::mlops::test::Pattern;
using ::mlops::test::SameBytes;
using ::mlops::test::StoreFactoryName;
using ::testing::IsEmpty;

// ---------------------------------------------------------------------------------------
// Concurrency within a process.

TEST_P(ContentStoreTest, ConcurrentPutAndGetReturnExactlyTheBytesPut) {
  constexpr int kThreads = 8;
  constexpr int kIterations = 40;
  const size_t sizes[] = {0,    1,     100,           4 * kKiB,      kMapThreshold - 1,
                          kMapThreshold, 200 * kKiB, 7,            1000,
                          33 * kKiB,     90 * kKiB,  kMapThreshold + 1};
  constexpr int kValues = static_cast<int>(std::size(sizes));
  std::vector<std::string> values;
  std::vector<Digest> digests;
  for (int i = 0; i < kValues; ++i) {
    values.push_back(Pattern(sizes[i], 100 + static_cast<uint64_t>(i)));
    digests.push_back(Digest::Of(values.back()));
  }

  std::atomic<int> ready{0};
  std::atomic<int> bad_put{0}, bad_get{0}, bad_other{0};
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ready.fetch_add(1);
      while (ready.load() < kThreads) std::this_thread::yield();
      for (int i = 0; i < kIterations; ++i) {
        const int mine = (t * 5 + i) % kValues;
        absl::StatusOr<Digest> d = store_->Put(values[mine]);
        if (!d.ok() || *d != digests[mine]) {
          ++bad_put;
          errors[t] = absl::StrCat("Put: ", d.status().ToString());
          continue;
        }
        absl::StatusOr<Blob> blob = store_->Get(*d);
        if (!blob.ok() || blob->view() != values[mine]) {
          ++bad_get;
          errors[t] = absl::StrCat("Get of own value: ", blob.status().ToString());
        }
        // A value another thread may or may not have put yet: a miss or exactly its bytes.
        const int other = (t * 3 + i * 7 + 1) % kValues;
        absl::StatusOr<Blob> maybe = store_->Get(digests[other]);
        if (maybe.ok() ? maybe->view() != values[other] : !absl::IsNotFound(maybe.status())) {
          ++bad_other;
          errors[t] = absl::StrCat("Get of other value: ", maybe.status().ToString());
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(bad_put.load(), 0);
  EXPECT_EQ(bad_get.load(), 0);
  EXPECT_EQ(bad_other.load(), 0);
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(errors[t], "") << "thread " << t;

  int64_t total = 0;
  for (const std::string& v : values) total += static_cast<int64_t>(v.size());
  const StoreStats stats = MustStats();
  EXPECT_EQ(stats.entries, kValues);
  EXPECT_EQ(stats.bytes, total);
  for (int i = 0; i < kValues; ++i) {
    ASSERT_OK_AND_ASSIGN(const Blob blob, store_->Get(digests[i]));
    EXPECT_TRUE(SameBytes(blob.view(), values[i])) << "value " << i;
  }
  if (is_disk()) {
    EXPECT_THAT(TmpFiles(), IsEmpty());
  }
}

INSTANTIATE_TEST_SUITE_P(AllStores, ContentStoreTest, ::testing::ValuesIn(AllStoreFactories()),
                         StoreFactoryName);

}  // namespace
}  // namespace mlops
