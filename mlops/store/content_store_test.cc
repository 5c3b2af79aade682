// Tests of the ContentStore contract (mlops/store/content_store.h), run against every
// implementation: DiskStore and MemoryStore. Implementation-specific behaviour of DiskStore
// (layout, temporary files, full disk, ...) is in disk_store_test.cc.
#include "mlops/store/content_store.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/hash/digest.h"
#include "mlops/store/disk_store.h"
#include "mlops/store/memory_store.h"
#include "mlops/testing/files.h"
#include "mlops/testing/status_matchers.h"

namespace mlops {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::testing::StartsWith;
using ::mlops::test::FreshDir;
using ::mlops::test::StatusIs;
using ::mlops::test::ListDir;
using ::mlops::test::Slurp;

// Aborts the test binary when a system call used to *set up* a test fails; such a failure is
// an environment problem, not a finding about the code under test.
#define CHECK_SYS(expr)                                                         \
  do {                                                                          \
    if (!(expr)) {                                                              \
      std::fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #expr, \
                   std::strerror(errno));                                       \
      std::abort();                                                             \
    }                                                                           \
  } while (0)

constexpr size_t kKiB = 1024;
constexpr size_t kMiB = 1024 * 1024;
constexpr size_t kMapThreshold = 64 * kKiB;  // DiskStoreOptions::map_threshold default

// Deterministic pseudo-random bytes (a 64-bit LCG).
std::string Pattern(size_t n, uint64_t seed) {
  std::string s(n, '\0');
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < n; ++i) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    s[i] = static_cast<char>(x >> 56);
  }
  return s;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

// Compares large byte strings without printing megabytes on failure.
::testing::AssertionResult SameBytes(absl::string_view actual, absl::string_view expected) {
  if (actual == expected) return ::testing::AssertionSuccess();
  size_t i = 0;
  while (i < actual.size() && i < expected.size() && actual[i] == expected[i]) ++i;
  return ::testing::AssertionFailure()
         << "bytes differ: actual size " << actual.size() << ", expected size "
         << expected.size() << ", first difference at offset " << i;
}

// ---------------------------------------------------------------------------------------
// The parameter: how to make a store of one kind.

enum class Kind { kDisk, kMemory };

struct StoreFactory {
  const char* name;
  Kind kind;
  std::function<absl::StatusOr<std::unique_ptr<ContentStore>>(const std::string& dir)> open;
};

void PrintTo(const StoreFactory& f, std::ostream* os) { *os << f.name; }

StoreFactory DiskFactory() {
  return {"DiskStore", Kind::kDisk,
          [](const std::string& dir) -> absl::StatusOr<std::unique_ptr<ContentStore>> {
            absl::StatusOr<std::unique_ptr<DiskStore>> s = DiskStore::Open(dir);
            if (!s.ok()) return s.status();
            return std::unique_ptr<ContentStore>(std::move(*s));
          }};
}

StoreFactory MemoryFactory() {
  return {"MemoryStore", Kind::kMemory,
          [](const std::string&) -> absl::StatusOr<std::unique_ptr<ContentStore>> {
            return std::unique_ptr<ContentStore>(new MemoryStore());
          }};
}

enum class Damage { kFlipByte, kTruncate };

const char* DamageName(Damage d) { return d == Damage::kFlipByte ? "flip byte" : "truncate"; }

class ContentStoreTest : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override {
    dir_ = FreshDir() + "/store";
    ASSERT_OK_AND_ASSIGN(store_, GetParam().open(dir_));
    ASSERT_NE(store_, nullptr);
  }

  bool is_disk() const { return GetParam().kind == Kind::kDisk; }
  DiskStore* disk() { return dynamic_cast<DiskStore*>(store_.get()); }
  MemoryStore* memory() { return dynamic_cast<MemoryStore*>(store_.get()); }

  // Put that must succeed; returns the digest (Digest::Of on failure, after recording it).
  Digest MustPut(absl::string_view bytes) {
    absl::StatusOr<Digest> d = store_->Put(bytes);
    EXPECT_TRUE(d.ok()) << "Put(" << bytes.size() << " bytes): " << d.status();
    return d.ok() ? *d : Digest::Of(bytes);
  }

  // Damages the stored copy of `original` (stored under `d`) as a disk error would, through
  // the only means each store offers: CorruptForTesting, or the file at PathOf(d).
  void Corrupt(const Digest& d, const std::string& original, Damage damage) {
    ASSERT_GE(original.size(), 2u);
    if (MemoryStore* m = memory()) {
      std::string bad = original;
      if (damage == Damage::kFlipByte) {
        bad[bad.size() / 2] = static_cast<char>(bad[bad.size() / 2] ^ 0x5a);
      } else {
        bad.resize(bad.size() / 2);
      }
      ASSERT_OK(m->CorruptForTesting(d, std::move(bad)));
      return;
    }
    DiskStore* s = disk();
    ASSERT_NE(s, nullptr);
    const std::string path = s->PathOf(d);
    if (damage == Damage::kFlipByte) {
      const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
      CHECK_SYS(fd >= 0);
      const off_t at = static_cast<off_t>(original.size() / 2);
      char c;
      CHECK_SYS(::pread(fd, &c, 1, at) == 1);
      c = static_cast<char>(c ^ 0x5a);
      CHECK_SYS(::pwrite(fd, &c, 1, at) == 1);
      CHECK_SYS(::close(fd) == 0);
    } else {
      CHECK_SYS(::truncate(path.c_str(), static_cast<off_t>(original.size() / 2)) == 0);
    }
  }

  // Makes `oldest_first` the order of last access, oldest first. DiskStore: the entries'
  // mtimes, set hours into the past a minute apart (far enough that a Get refreshes them).
  // MemoryStore: a Get of each in order, a few milliseconds apart.
  void SetAccessOrder(const std::vector<Digest>& oldest_first) {
    if (DiskStore* s = disk()) {
      const time_t base = ::time(nullptr) - 7200;
      for (size_t i = 0; i < oldest_first.size(); ++i) {
        struct timespec ts[2];
        ts[0].tv_sec = ts[1].tv_sec = base + static_cast<time_t>(i) * 60;
        ts[0].tv_nsec = ts[1].tv_nsec = 0;
        CHECK_SYS(::utimensat(AT_FDCWD, s->PathOf(oldest_first[i]).c_str(), ts, 0) == 0);
      }
    } else {
      for (const Digest& d : oldest_first) {
        std::this_thread::sleep_for(std::chrono::milliseconds(3));
        ASSERT_TRUE(store_->Get(d).ok());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(3));
    }
    // The store must report that order.
    absl::StatusOr<std::vector<StoreEntry>> list = store_->List();
    ASSERT_TRUE(list.ok()) << list.status();
    std::map<Digest, absl::Time> access;
    for (const StoreEntry& e : *list) access[e.digest] = e.last_access;
    for (size_t i = 1; i < oldest_first.size(); ++i) {
      ASSERT_TRUE(access.count(oldest_first[i - 1]) && access.count(oldest_first[i]));
      ASSERT_LT(access[oldest_first[i - 1]], access[oldest_first[i]]) << "at " << i;
    }
  }

  std::vector<std::string> TmpFiles() { return ListDir(dir_ + "/tmp"); }

  StoreStats MustStats() {
    absl::StatusOr<StoreStats> s = store_->Stats();
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *s : StoreStats{-1, -1};
  }

  // digest → size, from List.
  std::map<Digest, int64_t> MustList() {
    absl::StatusOr<std::vector<StoreEntry>> list = store_->List();
    EXPECT_TRUE(list.ok()) << list.status();
    std::map<Digest, int64_t> out;
    if (!list.ok()) return out;
    for (const StoreEntry& e : *list) {
      EXPECT_TRUE(out.emplace(e.digest, e.size).second) << "listed twice: " << e.digest;
    }
    return out;
  }

  // Four values for the garbage-collection tests: 1000, 2000, 3000 and 4000 bytes.
  void PutFour() {
    a_ = MustPut(Pattern(1000, 41));
    b_ = MustPut(Pattern(2000, 42));
    c_ = MustPut(Pattern(3000, 43));
    d_ = MustPut(Pattern(4000, 44));
  }

  bool Has(const Digest& d) {
    absl::StatusOr<bool> present = store_->Contains(d);
    EXPECT_TRUE(present.ok()) << present.status();
    return present.ok() && *present;
  }

  // Checks what CollectGarbage reported against the store before and after.
  void ExpectConsistent(const GcResult& r, const StoreStats& before) {
    EXPECT_EQ(r.entries_before, before.entries);
    EXPECT_EQ(r.bytes_before, before.bytes);
    const StoreStats after = MustStats();
    EXPECT_EQ(after.entries, before.entries - r.entries_evicted);
    EXPECT_EQ(after.bytes, before.bytes - r.bytes_freed);
  }

  std::string dir_;
  std::unique_ptr<ContentStore> store_;
  Digest a_, b_, c_, d_;  // see PutFour
};

// ---------------------------------------------------------------------------------------
// Put, Get, Contains, Delete.

TEST_P(ContentStoreTest, PutReturnsDigestOfBytes) {
  ASSERT_OK_AND_ASSIGN(const Digest hello, store_->Put("hello"));
  EXPECT_EQ(hello.ToHex(), "b5e9c1ad071b3e7fc779cfaa5e523818");
  EXPECT_EQ(hello, Digest::Of("hello"));
  for (const std::string& bytes :
       {std::string(), std::string("a"), std::string("\0\0\xff", 3), Pattern(1000, 7),
        Pattern(kMapThreshold, 8)}) {
    ASSERT_OK_AND_ASSIGN(const Digest d, store_->Put(bytes));
    EXPECT_EQ(d, Digest::Of(bytes)) << "size " << bytes.size();
  }
}

TEST_P(ContentStoreTest, GetRoundTripsEverySize) {
  const size_t sizes[] = {0, 1, 100, kMapThreshold - 1, kMapThreshold, 5 * kMiB};
  uint64_t seed = 1;
  for (const size_t size : sizes) {
    SCOPED_TRACE(absl::StrCat("size ", size));
    const std::string bytes = Pattern(size, seed++);
    ASSERT_OK_AND_ASSIGN(const Digest d, store_->Put(bytes));
    ASSERT_EQ(d, Digest::Of(bytes));
    ASSERT_OK_AND_ASSIGN(const Blob blob, store_->Get(d));
    EXPECT_EQ(blob.size(), size);
    EXPECT_TRUE(SameBytes(blob.view(), bytes));
    EXPECT_EQ(blob.ToString().size(), size);
    EXPECT_EQ(blob.is_mapped(), is_disk() && size >= kMapThreshold);
  }
  // Every value is still there, each readable again.
  EXPECT_EQ(MustStats().entries, static_cast<int64_t>(std::size(sizes)));
  seed = 1;
  for (const size_t size : sizes) {
    const std::string bytes = Pattern(size, seed++);
    ASSERT_OK_AND_ASSIGN(const Blob blob, store_->Get(Digest::Of(bytes)));
    EXPECT_TRUE(SameBytes(blob.view(), bytes)) << "size " << size;
  }
}

TEST_P(ContentStoreTest, PutIsIdempotent) {
  const std::string bytes = Pattern(1234, 3);
  ASSERT_OK_AND_ASSIGN(const Digest first, store_->Put(bytes));
  ASSERT_OK_AND_ASSIGN(const Digest second, store_->Put(bytes));
  EXPECT_EQ(first, second);
  const StoreStats stats = MustStats();
  EXPECT_EQ(stats.entries, 1);
  EXPECT_EQ(stats.bytes, 1234);
  EXPECT_THAT(MustList(), SizeIs(1));
  ASSERT_OK_AND_ASSIGN(const Blob blob, store_->Get(first));
  EXPECT_TRUE(SameBytes(blob.view(), bytes));
}

TEST_P(ContentStoreTest, ContainsBeforeAndAfterPutAndDelete) {
  const Digest d = Digest::Of("contained");
  ASSERT_OK_AND_ASSIGN(bool present, store_->Contains(d));
  EXPECT_FALSE(present);
  ASSERT_EQ(MustPut("contained"), d);
  ASSERT_OK_AND_ASSIGN(present, store_->Contains(d));
  EXPECT_TRUE(present);
  // Another digest is still absent.
  ASSERT_OK_AND_ASSIGN(present, store_->Contains(Digest::Of("other")));
  EXPECT_FALSE(present);
  ASSERT_OK(store_->Delete(d));
  ASSERT_OK_AND_ASSIGN(present, store_->Contains(d));
  EXPECT_FALSE(present);
}

TEST_P(ContentStoreTest, GetOfAbsentIsNotFound) {
  EXPECT_THAT(store_->Get(Digest::Of("never stored")), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->Get(Digest()), StatusIs(absl::StatusCode::kNotFound));
}

TEST_P(ContentStoreTest, DeleteThenGetIsNotFound) {
  const Digest keep = MustPut("keep me");
  const Digest d = MustPut("delete me");
  ASSERT_OK(store_->Delete(d));
  EXPECT_THAT(store_->Get(d), StatusIs(absl::StatusCode::kNotFound));
  const StoreStats stats = MustStats();
  EXPECT_EQ(stats.entries, 1);
  EXPECT_EQ(stats.bytes, 7);
  ASSERT_OK_AND_ASSIGN(const Blob blob, store_->Get(keep));
  EXPECT_EQ(blob.view(), "keep me");
  if (is_disk()) {
    EXPECT_FALSE(Exists(disk()->PathOf(d)));
  }
}

TEST_P(ContentStoreTest, DeleteOfAbsentIsOk) {
  EXPECT_OK(store_->Delete(Digest::Of("never stored")));
  const Digest d = MustPut("x");
  EXPECT_OK(store_->Delete(d));
  EXPECT_OK(store_->Delete(d));  // twice
  EXPECT_EQ(MustStats().entries, 0);
}

// ---------------------------------------------------------------------------------------
// BlobWriter.

TEST_P(ContentStoreTest, WriterInPiecesGivesSameDigestAsPut) {
  const std::string bytes = Pattern(200 * kKiB + 7, 11);
  const size_t pieces[] = {0, 1, 4095, 65536, 0, 3};
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<BlobWriter> w, store_->NewWriter());
  size_t at = 0;
  for (const size_t n : pieces) {
    ASSERT_OK(w->Append(absl::string_view(bytes).substr(at, n)));
    at += n;
  }
  ASSERT_OK(w->Append(absl::string_view(bytes).substr(at)));  // the rest
  ASSERT_OK_AND_ASSIGN(const Digest d, w->Commit());
  EXPECT_EQ(d, Digest::Of(bytes));

  ASSERT_OK_AND_ASSIGN(const Blob blob, store_->Get(d));
  EXPECT_TRUE(SameBytes(blob.view(), bytes));
  ASSERT_OK_AND_ASSIGN(const bool present, store_->Contains(d));
  EXPECT_TRUE(present);

  // A one-shot Put of the same bytes names the same, single entry.
  ASSERT_OK_AND_ASSIGN(const Digest put, store_->Put(bytes));
  EXPECT_EQ(put, d);
  const StoreStats stats = MustStats();
  EXPECT_EQ(stats.entries, 1);
  EXPECT_EQ(stats.bytes, static_cast<int64_t>(bytes.size()));
  if (is_disk()) {
    EXPECT_THAT(TmpFiles(), IsEmpty());
  }
}

TEST_P(ContentStoreTest, WriterWithNoBytesStoresTheEmptyValue) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<BlobWriter> w, store_->NewWriter());
  ASSERT_OK_AND_ASSIGN(const Digest d, w->Commit());
  EXPECT_EQ(d, Digest::Of(""));
  ASSERT_OK_AND_ASSIGN(const Blob blob, store_->Get(d));
  EXPECT_EQ(blob.size(), 0u);
}

TEST_P(ContentStoreTest, WriterOfAValueAlreadyStored) {
  const std::string bytes = Pattern(5000, 12);
  const Digest d = MustPut(bytes);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<BlobWriter> w, store_->NewWriter());
  ASSERT_OK(w->Append(bytes));
  ASSERT_OK_AND_ASSIGN(const Digest committed, w->Commit());
  EXPECT_EQ(committed, d);
  EXPECT_EQ(MustStats().entries, 1);
  ASSERT_OK_AND_ASSIGN(const Blob blob, store_->Get(d));
  EXPECT_TRUE(SameBytes(blob.view(), bytes));
}

TEST_P(ContentStoreTest, InterleavedWritersAreIndependent) {
  const std::string a = Pattern(70 * kKiB, 13);
  const std::string b = Pattern(30 * kKiB, 14);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<BlobWriter> wa, store_->NewWriter());
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<BlobWriter> wb, store_->NewWriter());
  for (size_t i = 0; i < 10; ++i) {
    ASSERT_OK(wa->Append(absl::string_view(a).substr(i * a.size() / 10, a.size() / 10)));
    ASSERT_OK(wb->Append(absl::string_view(b).substr(i * b.size() / 10, b.size() / 10)));
  }
  ASSERT_OK_AND_ASSIGN(const Digest db, wb->Commit());
  ASSERT_OK_AND_ASSIGN(const Digest da, wa->Commit());
  EXPECT_EQ(da, Digest::Of(a));
  EXPECT_EQ(db, Digest::Of(b));
  ASSERT_OK_AND_ASSIGN(const Blob ba, store_->Get(da));
  ASSERT_OK_AND_ASSIGN(const Blob bb, store_->Get(db));
  EXPECT_TRUE(SameBytes(ba.view(), a));
  EXPECT_TRUE(SameBytes(bb.view(), b));
}

TEST_P(ContentStoreTest, WriterDestroyedWithoutCommitLeavesNothing) {
  MustPut("already here");
  const std::map<Digest, int64_t> list_before = MustList();
  const StoreStats stats_before = MustStats();
  const std::string bytes = Pattern(100 * kKiB, 15);
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<BlobWriter> w, store_->NewWriter());
    ASSERT_OK(w->Append(absl::string_view(bytes).substr(0, 1000)));
    ASSERT_OK(w->Append(absl::string_view(bytes).substr(1000)));
    if (is_disk()) {
      EXPECT_THAT(TmpFiles(), SizeIs(1)) << "the writer's temporary file";
    }
  }
  EXPECT_EQ(MustList(), list_before);
  const StoreStats stats_after = MustStats();
  EXPECT_EQ(stats_after.entries, stats_before.entries);
  EXPECT_EQ(stats_after.bytes, stats_before.bytes);
  ASSERT_OK_AND_ASSIGN(const bool present, store_->Contains(Digest::Of(bytes)));
  EXPECT_FALSE(present);
  EXPECT_THAT(store_->Get(Digest::Of(bytes)), StatusIs(absl::StatusCode::kNotFound));
  if (is_disk()) {
    EXPECT_THAT(TmpFiles(), IsEmpty());
  }
}

TEST_P(ContentStoreTest, AppendAfterCommitFails) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<BlobWriter> w, store_->NewWriter());
  ASSERT_OK(w->Append("abc"));
  ASSERT_OK_AND_ASSIGN(const Digest d, w->Commit());
  EXPECT_THAT(w->Append("def"), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(w->Commit(), StatusIs(absl::StatusCode::kFailedPrecondition));
  // The committed value is unchanged and nothing else appeared.
  ASSERT_OK_AND_ASSIGN(const Blob blob, store_->Get(d));
  EXPECT_EQ(blob.view(), "abc");
  ASSERT_OK_AND_ASSIGN(const bool present, store_->Contains(Digest::Of("abcdef")));
  EXPECT_FALSE(present);
  EXPECT_EQ(MustStats().entries, 1);
  w.reset();
  ASSERT_OK_AND_ASSIGN(const Blob again, store_->Get(d));  // destroying it removes nothing
  EXPECT_EQ(again.view(), "abc");
  if (is_disk()) {
    EXPECT_THAT(TmpFiles(), IsEmpty());
  }
}

// ---------------------------------------------------------------------------------------
// List and Stats.

TEST_P(ContentStoreTest, ListReturnsEveryEntryWithItsSize) {
  EXPECT_THAT(MustList(), IsEmpty());
  std::map<Digest, int64_t> expected;
  const size_t sizes[] = {0, 1, 17, 300, 4096, kMapThreshold, 100 * kKiB};
  uint64_t seed = 20;
  for (const size_t size : sizes) {
    const std::string bytes = Pattern(size, seed++);
    expected[MustPut(bytes)] = static_cast<int64_t>(size);
  }
  EXPECT_EQ(MustList(), expected);
  // List's last access is plausible (within a generous window around now).
  absl::StatusOr<std::vector<StoreEntry>> list = store_->List();
  ASSERT_TRUE(list.ok()) << list.status();
  for (const StoreEntry& e : *list) {
    EXPECT_LT(absl::AbsDuration(absl::Now() - e.last_access), absl::Minutes(5)) << e.digest;
  }
}

TEST_P(ContentStoreTest, StatsCountsEntriesAndBytes) {
  StoreStats stats = MustStats();
  EXPECT_EQ(stats.entries, 0);
  EXPECT_EQ(stats.bytes, 0);
  MustPut(Pattern(1000, 30));
  MustPut(Pattern(2000, 31));
  MustPut("");
  MustPut(Pattern(2000, 31));  // again
  stats = MustStats();
  EXPECT_EQ(stats.entries, 3);
  EXPECT_EQ(stats.bytes, 3000);
  ASSERT_OK(store_->Delete(Digest::Of(Pattern(1000, 30))));
  stats = MustStats();
  EXPECT_EQ(stats.entries, 2);
  EXPECT_EQ(stats.bytes, 2000);
}

// ---------------------------------------------------------------------------------------
// Garbage collection.


TEST_P(ContentStoreTest, GcEvictsLeastRecentlyUsedFirst) {
  PutFour();
  SetAccessOrder({a_, b_, c_, d_});
  const StoreStats before = MustStats();
  ASSERT_EQ(before.bytes, 10000);
  ASSERT_OK_AND_ASSIGN(const GcResult r, store_->CollectGarbage(7500, {}));
  EXPECT_EQ(r.entries_evicted, 2);
  EXPECT_EQ(r.bytes_freed, 3000);
  EXPECT_EQ(r.pinned_kept, 0);
  ExpectConsistent(r, before);
  EXPECT_FALSE(Has(a_));
  EXPECT_FALSE(Has(b_));
  EXPECT_TRUE(Has(c_));
  EXPECT_TRUE(Has(d_));
  EXPECT_LE(MustStats().bytes, 7500);
}

TEST_P(ContentStoreTest, GcEvictionFollowsAccessNotSizeOrPutOrder) {
  PutFour();
  SetAccessOrder({c_, a_, d_, b_});
  const StoreStats before = MustStats();
  ASSERT_OK_AND_ASSIGN(const GcResult r, store_->CollectGarbage(6000, {}));
  EXPECT_EQ(r.entries_evicted, 2);  // c (10000 → 7000), then a (→ 6000)
  EXPECT_EQ(r.bytes_freed, 4000);
  ExpectConsistent(r, before);
  EXPECT_FALSE(Has(c_));
  EXPECT_FALSE(Has(a_));
  EXPECT_TRUE(Has(b_));
  EXPECT_TRUE(Has(d_));
}

TEST_P(ContentStoreTest, GcGetRefreshesLastAccess) {
  PutFour();
  SetAccessOrder({a_, b_, c_, d_});
  // A real read of the oldest makes it the newest (DiskStore: its mtime is hours old, more
  // than the minute after which a read touches it).
  ASSERT_TRUE(store_->Get(a_).ok());
  const StoreStats before = MustStats();
  ASSERT_OK_AND_ASSIGN(const GcResult r, store_->CollectGarbage(8000, {}));
  EXPECT_EQ(r.entries_evicted, 1);
  EXPECT_EQ(r.bytes_freed, 2000);
  ExpectConsistent(r, before);
  EXPECT_TRUE(Has(a_));
  EXPECT_FALSE(Has(b_));
  EXPECT_TRUE(Has(c_));
  EXPECT_TRUE(Has(d_));
}

TEST_P(ContentStoreTest, GcNeverEvictsPinnedEvenAboveTheLimit) {
  PutFour();
  SetAccessOrder({a_, b_, c_, d_});
  const StoreStats before = MustStats();
  ASSERT_OK_AND_ASSIGN(const GcResult r, store_->CollectGarbage(0, {a_, c_}));
  EXPECT_EQ(r.entries_evicted, 2);
  EXPECT_EQ(r.bytes_freed, 6000);
  EXPECT_EQ(r.pinned_kept, 2);
  ExpectConsistent(r, before);
  EXPECT_TRUE(Has(a_));
  EXPECT_FALSE(Has(b_));
  EXPECT_TRUE(Has(c_));
  EXPECT_FALSE(Has(d_));
  EXPECT_EQ(MustStats().bytes, 4000);  // above the limit of 0: only pinned values left
  ASSERT_OK_AND_ASSIGN(const Blob blob, store_->Get(a_));
  EXPECT_TRUE(SameBytes(blob.view(), Pattern(1000, 41)));
}

TEST_P(ContentStoreTest, GcPinnedOldestIsSkippedForTheNextOldest) {
  PutFour();
  SetAccessOrder({a_, b_, c_, d_});
  const StoreStats before = MustStats();
  ASSERT_OK_AND_ASSIGN(const GcResult r, store_->CollectGarbage(9000, {a_}));
  EXPECT_EQ(r.entries_evicted, 1);
  EXPECT_EQ(r.bytes_freed, 2000);
  EXPECT_EQ(r.pinned_kept, 1);
  ExpectConsistent(r, before);
  EXPECT_TRUE(Has(a_));
  EXPECT_FALSE(Has(b_));
  EXPECT_TRUE(Has(c_));
  EXPECT_TRUE(Has(d_));
}

TEST_P(ContentStoreTest, GcAllPinnedEvictsNothing) {
  PutFour();
  const StoreStats before = MustStats();
  ASSERT_OK_AND_ASSIGN(const GcResult r, store_->CollectGarbage(0, {a_, b_, c_, d_}));
  EXPECT_EQ(r.entries_evicted, 0);
  EXPECT_EQ(r.bytes_freed, 0);
  EXPECT_EQ(r.pinned_kept, 4);
  ExpectConsistent(r, before);
  EXPECT_EQ(MustStats().entries, 4);
}

TEST_P(ContentStoreTest, GcUnderTheLimitEvictsNothing) {
  PutFour();
  const StoreStats before = MustStats();
  for (const int64_t max : {int64_t{10000}, int64_t{1} << 40}) {
    ASSERT_OK_AND_ASSIGN(const GcResult r, store_->CollectGarbage(max, {}));
    EXPECT_EQ(r.entries_evicted, 0);
    EXPECT_EQ(r.bytes_freed, 0);
    EXPECT_EQ(r.pinned_kept, 0);
    ExpectConsistent(r, before);
  }
}

TEST_P(ContentStoreTest, GcZeroEmptiesTheStore) {
  PutFour();
  const StoreStats before = MustStats();
  ASSERT_OK_AND_ASSIGN(const GcResult r, store_->CollectGarbage(0, {}));
  EXPECT_EQ(r.entries_before, 4);
  EXPECT_EQ(r.bytes_before, 10000);
  EXPECT_EQ(r.entries_evicted, 4);
  EXPECT_EQ(r.bytes_freed, 10000);
  ExpectConsistent(r, before);
  EXPECT_THAT(MustList(), IsEmpty());
  for (const Digest& d : {a_, b_, c_, d_}) {
    EXPECT_FALSE(Has(d));
    EXPECT_THAT(store_->Get(d), StatusIs(absl::StatusCode::kNotFound));
  }
  // And again, on the empty store.
  ASSERT_OK_AND_ASSIGN(const GcResult empty, store_->CollectGarbage(0, {}));
  EXPECT_EQ(empty.entries_before, 0);
  EXPECT_EQ(empty.entries_evicted, 0);
}

TEST_P(ContentStoreTest, GcNegativeMaxIsInvalidArgument) {
  PutFour();
  EXPECT_THAT(store_->CollectGarbage(-1, {}), StatusIs(absl::StatusCode::kInvalidArgument));
  const StoreStats stats = MustStats();
  EXPECT_EQ(stats.entries, 4);
  EXPECT_EQ(stats.bytes, 10000);
}

// ---------------------------------------------------------------------------------------
// Blob lifetime.

TEST_P(ContentStoreTest, BlobStaysValidAfterItsEntryIsDeleted) {
  uint64_t seed = 50;
  for (const size_t size : {size_t{100}, kMapThreshold, 1 * kMiB}) {
    SCOPED_TRACE(absl::StrCat("size ", size));
    const std::string bytes = Pattern(size, seed++);
    const Digest d = MustPut(bytes);
    ASSERT_OK_AND_ASSIGN(Blob deleted, store_->Get(d));
    ASSERT_OK(store_->Delete(d));
    EXPECT_THAT(store_->Get(d), StatusIs(absl::StatusCode::kNotFound));
    EXPECT_TRUE(SameBytes(deleted.view(), bytes));

    MustPut(bytes);
    ASSERT_OK_AND_ASSIGN(Blob evicted, store_->Get(d));
    ASSERT_TRUE(store_->CollectGarbage(0, {}).ok());
    EXPECT_THAT(store_->Get(d), StatusIs(absl::StatusCode::kNotFound));
    EXPECT_TRUE(SameBytes(evicted.view(), bytes));

    // Moving a Blob keeps the bytes valid.
    Blob moved = std::move(deleted);
    EXPECT_TRUE(SameBytes(moved.view(), bytes));
    EXPECT_EQ(moved.is_mapped(), is_disk() && size >= kMapThreshold);
  }
}

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

// ---------------------------------------------------------------------------------------
// Corruption.

TEST_P(ContentStoreTest, CorruptValueIsDataLossOnceThenNotFound) {
  uint64_t seed = 200;
  for (const Damage damage : {Damage::kFlipByte, Damage::kTruncate}) {
    for (const size_t size : {size_t{100}, 100 * kKiB}) {  // read, and mapped on disk
      SCOPED_TRACE(absl::StrCat(DamageName(damage), ", size ", size));
      const std::string bytes = Pattern(size, seed++);
      const std::string bystander = Pattern(size, seed++);
      const Digest d = MustPut(bytes);
      const Digest other = MustPut(bystander);
      const std::string path = is_disk() ? disk()->PathOf(d) : "";
      const size_t quarantined_before = is_disk() ? ListDir(dir_ + "/quarantine").size() : 0;
      Corrupt(d, bytes, damage);
      if (HasFatalFailure()) return;

      absl::StatusOr<Blob> bad = store_->Get(d);
      EXPECT_THAT(bad, StatusIs(absl::StatusCode::kDataLoss));
      if (is_disk()) {
        EXPECT_THAT(std::string(bad.status().message()), HasSubstr(path));
      }
      EXPECT_THAT(store_->Get(d), StatusIs(absl::StatusCode::kNotFound));
      EXPECT_THAT(store_->Get(d), StatusIs(absl::StatusCode::kNotFound));
      ASSERT_OK_AND_ASSIGN(const bool present, store_->Contains(d));
      EXPECT_FALSE(present);
      EXPECT_EQ(MustList().count(d), 0u);

      if (is_disk()) {
        EXPECT_FALSE(Exists(path));
        const std::vector<std::string> quarantine = ListDir(dir_ + "/quarantine");
        EXPECT_EQ(quarantine.size(), quarantined_before + 1);
        int found = 0;
        for (const std::string& name : quarantine) {
          if (name.rfind(d.ToHex(), 0) != 0) continue;
          ++found;
          const std::string kept = Slurp(dir_ + "/quarantine/" + name);
          EXPECT_EQ(kept.size(), damage == Damage::kTruncate ? size / 2 : size);
          EXPECT_NE(kept, bytes);
        }
        EXPECT_EQ(found, 1) << "one quarantined file named after " << d;
      }

      // The other value is untouched.
      ASSERT_OK_AND_ASSIGN(const Blob fine, store_->Get(other));
      EXPECT_TRUE(SameBytes(fine.view(), bystander));

      // Putting the bytes again makes the value readable again.
      ASSERT_OK_AND_ASSIGN(const Digest again, store_->Put(bytes));
      EXPECT_EQ(again, d);
      ASSERT_OK_AND_ASSIGN(const Blob good, store_->Get(d));
      EXPECT_TRUE(SameBytes(good.view(), bytes));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllStores, ContentStoreTest,
                         ::testing::Values(DiskFactory(), MemoryFactory()),
                         [](const ::testing::TestParamInfo<StoreFactory>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace mlops
