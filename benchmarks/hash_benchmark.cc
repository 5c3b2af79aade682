// Hashing throughput: the library's digest of a large std::vector<double> next to raw
// XXH3-128 over the same bytes, in one run. Goal: digest >= 0.75x raw XXH3.
//
//   bazel run //benchmarks:hash_benchmark
#define XXH_STATIC_LINKING_ONLY
#define XXH_DISPATCH_DISABLE_REPLACE
#include <xxh_x86dispatch.h>
#include <xxhash.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "benchmarks/ratio_main.h"
#include "mlops/codec/codec.h"
#include "mlops/hash/digest.h"

namespace {

constexpr int64_t k256MiB = int64_t{256} << 20;

const std::vector<double>& Doubles(int64_t bytes) {
  static auto* cache = new std::map<int64_t, std::vector<double>>();
  auto it = cache->find(bytes);
  if (it == cache->end()) {
    std::vector<double> v(static_cast<size_t>(bytes) / sizeof(double));
    std::mt19937_64 rng(1);
    std::normal_distribution<double> normal;
    for (double& d : v) d = normal(rng);
    it = cache->emplace(bytes, std::move(v)).first;
  }
  return it->second;
}

// Baseline: XXH3-128 straight over the buffer, through xxHash's fastest (dispatched) path.
void BM_RawXXH3_128(benchmark::State& state) {
  const std::vector<double>& v = Doubles(state.range(0));
  for (auto _ : state) {
    XXH128_hash_t h = XXH3_128bits_dispatch(v.data(), v.size() * sizeof(double));
    benchmark::DoNotOptimize(h);
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_RawXXH3_128)->Arg(k256MiB)->Arg(4096)->Arg(64)->Unit(benchmark::kMicrosecond);

// The library: the content digest of the vector (length prefix + NaN-canonical doubles).
void BM_DigestOfVectorDouble(benchmark::State& state) {
  const std::vector<double>& v = Doubles(state.range(0));
  for (auto _ : state) {
    mlops::Digest d = mlops::Hash(v);
    benchmark::DoNotOptimize(d);
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_DigestOfVectorDouble)
    ->Arg(k256MiB)
    ->Arg(4096)
    ->Arg(64)
    ->Unit(benchmark::kMicrosecond);

// mlops::Hasher fed the same bytes in 16 KiB pieces: the streaming cost alone.
void BM_HasherIn16KiBPieces(benchmark::State& state) {
  const std::vector<double>& v = Doubles(state.range(0));
  const char* p = reinterpret_cast<const char*>(v.data());
  const size_t size = v.size() * sizeof(double);
  for (auto _ : state) {
    mlops::Hasher h;
    for (size_t i = 0; i < size; i += 16384) h.Update(p + i, std::min<size_t>(16384, size - i));
    mlops::Digest d = h.Finish();
    benchmark::DoNotOptimize(d);
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_HasherIn16KiBPieces)->Arg(k256MiB)->Arg(4096)->Unit(benchmark::kMicrosecond);

// Reference point: memcpy of the same bytes (memory bandwidth).
void BM_Memcpy(benchmark::State& state) {
  const std::vector<double>& v = Doubles(state.range(0));
  std::vector<double> dst(v.size());
  for (auto _ : state) {
    std::memcpy(dst.data(), v.data(), v.size() * sizeof(double));
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Memcpy)->Arg(k256MiB)->Unit(benchmark::kMicrosecond);

// Small values: what a cache key costs to compute.
void BM_DigestOfSmallString(benchmark::State& state) {
  const std::string s = "learning_rate=0.01";
  for (auto _ : state) {
    mlops::Digest d = mlops::Hash(s);
    benchmark::DoNotOptimize(d);
  }
}
BENCHMARK(BM_DigestOfSmallString);

void BM_RawXXH3_128SmallString(benchmark::State& state) {
  const std::string s = std::string(8, '\0') + "learning_rate=0.01";  // same 26 bytes
  for (auto _ : state) {
    XXH128_hash_t h = XXH3_128bits(s.data(), s.size());
    benchmark::DoNotOptimize(h);
  }
}
BENCHMARK(BM_RawXXH3_128SmallString);

}  // namespace

MLOPS_BENCHMARK_MAIN_WITH_RATIOS({
    {"BM_DigestOfVectorDouble/268435456", "BM_RawXXH3_128/268435456",
     "throughput"},
    {"BM_DigestOfVectorDouble/268435456", "BM_Memcpy/268435456",
     "throughput"},
    {"BM_HasherIn16KiBPieces/268435456", "BM_RawXXH3_128/268435456", "throughput"},
    {"BM_DigestOfVectorDouble/4096", "BM_RawXXH3_128/4096", "throughput"},
    {"BM_HasherIn16KiBPieces/4096", "BM_RawXXH3_128/4096", "throughput"},
    {"BM_DigestOfVectorDouble/64", "BM_RawXXH3_128/64", "throughput"},
    {"BM_DigestOfSmallString", "BM_RawXXH3_128SmallString", "time"},
});
