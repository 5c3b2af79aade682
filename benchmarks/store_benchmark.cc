// Content store speed, each next to a baseline measured in the same run:
//   small (100-byte) Put and Get, DiskStore and MemoryStore, against a plain
//   open/write/close/rename and a plain open/read/close of the same bytes;
//   a 256 MiB Get against a memcpy of 256 MiB.
// Goals: a small DiskStore Get within 2x of the plain read; a large Get >= 0.8x memcpy.
//
//   bazel run //benchmarks:store_benchmark
#include <fcntl.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmarks/ratio_main.h"
#include "mlops/store/disk_store.h"
#include "mlops/store/memory_store.h"

namespace {

constexpr size_t kSmall = 100;
constexpr size_t kLarge = size_t{256} << 20;

const std::string& Root() {
  static const std::string* root = [] {
    // MLOPS_BENCH_DIR picks the filesystem (e.g. /dev/shm to leave the disk out).
    const char* base = std::getenv("MLOPS_BENCH_DIR");
    std::string tmpl = std::string(base ? base : "/tmp") + "/mlops_store_benchmark.XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    return new std::string(tmpl);
  }();
  return *root;
}

mlops::DiskStore& Disk() {
  static mlops::DiskStore* store = mlops::DiskStore::Open(Root() + "/store")->release();
  return *store;
}

mlops::MemoryStore& Memory() {
  static auto* store = new mlops::MemoryStore();
  return *store;
}

// 100 bytes that differ for every `i`.
std::string SmallValue(uint64_t i) {
  std::string s(kSmall, 'x');
  std::memcpy(&s[0], &i, sizeof(i));
  return s;
}

const std::string& LargeValue() {
  static const std::string* v = [] {
    auto* s = new std::string(kLarge, '\0');
    for (size_t i = 0; i < kLarge; i += 8) {
      const uint64_t x = i * 0x9E3779B97F4A7C15ULL;
      std::memcpy(&(*s)[i], &x, 8);
    }
    return s;
  }();
  return *v;
}

// --- small writes ---

void BM_PlainWriteRenameSmall(benchmark::State& state) {
  const std::string dir = Root() + "/plain";
  ::mkdir(dir.c_str(), 0755);
  uint64_t i = 0;
  for (auto _ : state) {
    const std::string value = SmallValue(i);
    const std::string tmp = absl::StrCat(dir, "/tmp.", i);
    const std::string dst = absl::StrCat(dir, "/", i);
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 || ::write(fd, value.data(), value.size()) != static_cast<ssize_t>(kSmall)) {
      state.SkipWithError("write failed");
      break;
    }
    ::close(fd);
    ::rename(tmp.c_str(), dst.c_str());
    ++i;
  }
}
BENCHMARK(BM_PlainWriteRenameSmall);

void BM_DiskStorePutSmall(benchmark::State& state) {
  static uint64_t i = 1ull << 40;  // values not yet stored
  for (auto _ : state) {
    auto d = Disk().Put(SmallValue(i++));
    if (!d.ok()) {
      state.SkipWithError(std::string(d.status().message()).c_str());
      break;
    }
  }
}
BENCHMARK(BM_DiskStorePutSmall);

void BM_MemoryStorePutSmall(benchmark::State& state) {
  static uint64_t i = 1ull << 40;
  for (auto _ : state) {
    auto d = Memory().Put(SmallValue(i++));
    benchmark::DoNotOptimize(d);
  }
}
BENCHMARK(BM_MemoryStorePutSmall);

// --- small reads ---

void BM_PlainReadSmall(benchmark::State& state) {
  const std::string path = Root() + "/plain_read";
  {
    const std::string v = SmallValue(7);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || ::write(fd, v.data(), v.size()) < 0) std::abort();
    ::close(fd);
  }
  char buf[4096];
  for (auto _ : state) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    ::close(fd);
    benchmark::DoNotOptimize(n);
  }
}
BENCHMARK(BM_PlainReadSmall);

void BM_DiskStoreGetSmall(benchmark::State& state) {
  const mlops::Digest d = *Disk().Put(SmallValue(7));
  for (auto _ : state) {
    auto blob = Disk().Get(d);
    if (!blob.ok()) {
      state.SkipWithError(std::string(blob.status().message()).c_str());
      break;
    }
    benchmark::DoNotOptimize(blob->view().data());
  }
}
BENCHMARK(BM_DiskStoreGetSmall);

void BM_MemoryStoreGetSmall(benchmark::State& state) {
  const mlops::Digest d = *Memory().Put(SmallValue(7));
  for (auto _ : state) {
    auto blob = Memory().Get(d);
    benchmark::DoNotOptimize(blob->view().data());
  }
}
BENCHMARK(BM_MemoryStoreGetSmall);

// --- large reads ---

void BM_Memcpy256MiB(benchmark::State& state) {
  const std::string& src = LargeValue();
  std::string dst(kLarge, '\0');
  for (auto _ : state) {
    std::memcpy(&dst[0], src.data(), kLarge);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kLarge));
}
BENCHMARK(BM_Memcpy256MiB)->Unit(benchmark::kMillisecond);

void BM_DiskStoreGetLarge(benchmark::State& state) {
  const mlops::Digest d = *Disk().Put(LargeValue());
  for (auto _ : state) {
    auto blob = Disk().Get(d);  // mapped and verified
    if (!blob.ok()) {
      state.SkipWithError(std::string(blob.status().message()).c_str());
      break;
    }
    benchmark::DoNotOptimize(blob->view().data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kLarge));
}
BENCHMARK(BM_DiskStoreGetLarge)->Unit(benchmark::kMillisecond);

void BM_MemoryStoreGetLarge(benchmark::State& state) {
  const mlops::Digest d = *Memory().Put(LargeValue());
  for (auto _ : state) {
    auto blob = Memory().Get(d);  // shared, verified
    benchmark::DoNotOptimize(blob->view().data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kLarge));
}
BENCHMARK(BM_MemoryStoreGetLarge)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  const int rc = mlops_bench::RunWithRatios(
      argc, argv,
      {
          {"BM_DiskStoreGetSmall", "BM_PlainReadSmall", "time"},
          {"BM_MemoryStoreGetSmall", "BM_PlainReadSmall", "time"},
          {"BM_DiskStorePutSmall", "BM_PlainWriteRenameSmall", "time"},
          {"BM_MemoryStorePutSmall", "BM_PlainWriteRenameSmall", "time"},
          {"BM_DiskStoreGetLarge", "BM_Memcpy256MiB", "throughput"},
          {"BM_MemoryStoreGetLarge", "BM_Memcpy256MiB", "throughput"},
      });
  const std::string cmd = "rm -rf '" + Root() + "'";
  if (std::system(cmd.c_str()) != 0) return 1;
  return rc;
}
