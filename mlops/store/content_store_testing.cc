#include "mlops/store/content_store_testing.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "mlops/hash/digest.h"
#include "mlops/store/content_store.h"
#include "mlops/store/disk_store.h"
#include "mlops/store/memory_store.h"
#include "mlops/testing/bytes.h"
#include "mlops/testing/check_sys.h"
#include "mlops/testing/files.h"
#include "mlops/testing/status_matchers.h"

namespace mlops {
namespace test {

namespace {

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

}  // namespace

void PrintTo(const StoreFactory& f, std::ostream* os) { *os << f.name; }

std::vector<StoreFactory> AllStoreFactories() { return {DiskFactory(), MemoryFactory()}; }

std::string StoreFactoryName(const ::testing::TestParamInfo<StoreFactory>& info) {
  return std::string(info.param.name);
}

const char* DamageName(Damage d) { return d == Damage::kFlipByte ? "flip byte" : "truncate"; }

void ContentStoreTest::SetUp() {
  dir_ = FreshDir() + "/store";
  ASSERT_OK_AND_ASSIGN(store_, GetParam().open(dir_));
  ASSERT_NE(store_, nullptr);
}

Digest ContentStoreTest::MustPut(absl::string_view bytes) {
  absl::StatusOr<Digest> d = store_->Put(bytes);
  EXPECT_TRUE(d.ok()) << "Put(" << bytes.size() << " bytes): " << d.status();
  return d.ok() ? *d : Digest::Of(bytes);
}

void ContentStoreTest::Corrupt(const Digest& d, const std::string& original, Damage damage) {
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

void ContentStoreTest::SetAccessOrder(const std::vector<Digest>& oldest_first) {
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

std::vector<std::string> ContentStoreTest::TmpFiles() { return ListDir(dir_ + "/tmp"); }

StoreStats ContentStoreTest::MustStats() {
  absl::StatusOr<StoreStats> s = store_->Stats();
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *s : StoreStats{-1, -1};
}

std::map<Digest, int64_t> ContentStoreTest::MustList() {
  absl::StatusOr<std::vector<StoreEntry>> list = store_->List();
  EXPECT_TRUE(list.ok()) << list.status();
  std::map<Digest, int64_t> out;
  if (!list.ok()) return out;
  for (const StoreEntry& e : *list) {
    EXPECT_TRUE(out.emplace(e.digest, e.size).second) << "listed twice: " << e.digest;
  }
  return out;
}

void ContentStoreTest::PutFour() {
  a_ = MustPut(Pattern(1000, 41));
  b_ = MustPut(Pattern(2000, 42));
  c_ = MustPut(Pattern(3000, 43));
  d_ = MustPut(Pattern(4000, 44));
}

bool ContentStoreTest::Has(const Digest& d) {
  absl::StatusOr<bool> present = store_->Contains(d);
  EXPECT_TRUE(present.ok()) << present.status();
  return present.ok() && *present;
}

void ContentStoreTest::ExpectConsistent(const GcResult& r, const StoreStats& before) {
  EXPECT_EQ(r.entries_before, before.entries);
  EXPECT_EQ(r.bytes_before, before.bytes);
  const StoreStats after = MustStats();
  EXPECT_EQ(after.entries, before.entries - r.entries_evicted);
  EXPECT_EQ(after.bytes, before.bytes - r.bytes_freed);
}

}  // namespace test
}  // namespace mlops
