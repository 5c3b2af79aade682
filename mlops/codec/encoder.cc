#include "mlops/codec/encoder.h"

#include <algorithm>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "absl/strings/str_cat.h"

namespace mlops {
namespace {

// Large float arrays are hashed and then checked for NaN this many bytes at a time: small
// enough that the chunk is still in L1/L2 for the check, large enough to amortize the
// hash-state snapshot taken before each chunk.
constexpr size_t kFloatChunkBytes = 32 * 1024;

template <typename F>
struct FloatBits;
template <>
struct FloatBits<float> {
  using Bits = uint32_t;
  static constexpr Bits kCanonicalNaN = 0x7fc00000u;
};
template <>
struct FloatBits<double> {
  using Bits = uint64_t;
  static constexpr Bits kCanonicalNaN = 0x7ff8000000000000ull;
};

// True if any element is NaN. The vector paths compare two registers against each other
// with an "unordered" compare, which is true when either holds a NaN, so each compare
// checks two vectors. AVX2 is used when the CPU has it, SSE2 (every x86-64 CPU) otherwise.
// This runs several times faster than the hash that follows.
template <typename F>
bool AnyNaNScalar(const F* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != p[i]) return true;
  }
  return false;
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) bool AnyNaNAvx2(const double* p, size_t n) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256d a = _mm256_loadu_pd(p + i);
    const __m256d b = _mm256_loadu_pd(p + i + 4);
    const __m256d c = _mm256_loadu_pd(p + i + 8);
    const __m256d d = _mm256_loadu_pd(p + i + 12);
    const __m256d nan =
        _mm256_or_pd(_mm256_cmp_pd(a, b, _CMP_UNORD_Q), _mm256_cmp_pd(c, d, _CMP_UNORD_Q));
    if (_mm256_movemask_pd(nan) != 0) return true;
  }
  return AnyNaNScalar(p + i, n - i);
}

__attribute__((target("avx2"))) bool AnyNaNAvx2(const float* p, size_t n) {
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256 a = _mm256_loadu_ps(p + i);
    const __m256 b = _mm256_loadu_ps(p + i + 8);
    const __m256 c = _mm256_loadu_ps(p + i + 16);
    const __m256 d = _mm256_loadu_ps(p + i + 24);
    const __m256 nan =
        _mm256_or_ps(_mm256_cmp_ps(a, b, _CMP_UNORD_Q), _mm256_cmp_ps(c, d, _CMP_UNORD_Q));
    if (_mm256_movemask_ps(nan) != 0) return true;
  }
  return AnyNaNScalar(p + i, n - i);
}

bool AnyNaNSse2(const double* p, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128d nan = _mm_or_pd(
        _mm_cmpunord_pd(_mm_loadu_pd(p + i), _mm_loadu_pd(p + i + 2)),
        _mm_cmpunord_pd(_mm_loadu_pd(p + i + 4), _mm_loadu_pd(p + i + 6)));
    if (_mm_movemask_pd(nan) != 0) return true;
  }
  return AnyNaNScalar(p + i, n - i);
}

bool AnyNaNSse2(const float* p, size_t n) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m128 nan = _mm_or_ps(
        _mm_cmpunord_ps(_mm_loadu_ps(p + i), _mm_loadu_ps(p + i + 4)),
        _mm_cmpunord_ps(_mm_loadu_ps(p + i + 8), _mm_loadu_ps(p + i + 12)));
    if (_mm_movemask_ps(nan) != 0) return true;
  }
  return AnyNaNScalar(p + i, n - i);
}

// __builtin_cpu_init must run before __builtin_cpu_supports in a static initializer.
const bool kHaveAvx2 = [] {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") != 0;
}();

template <typename F>
bool AnyNaN(const F* p, size_t n) {
  return kHaveAvx2 ? AnyNaNAvx2(p, n) : AnyNaNSse2(p, n);
}
#else
template <typename F>
bool AnyNaN(const F* p, size_t n) {
  return AnyNaNScalar(p, n);
}
#endif

// Rewrites every NaN among the `n` floats at `p` as the canonical NaN. `p` may be
// unaligned (floats encoded after a bool, in a string), so elements go through memcpy.
template <typename F>
void CanonicalizeNaNs(void* p, size_t n) {
  using Bits = typename FloatBits<F>::Bits;
  char* bytes = static_cast<char*>(p);
  const Bits canonical = FloatBits<F>::kCanonicalNaN;
  for (size_t i = 0; i < n; ++i) {
    F f;
    std::memcpy(&f, bytes + i * sizeof(F), sizeof(F));
    if (f != f) std::memcpy(bytes + i * sizeof(F), &canonical, sizeof(F));
  }
}

}  // namespace

void Encoder::AppendToHasher(const void* data, size_t size) {
  if (!hasher_.has_value()) hasher_.emplace();
  if (buffered_ > 0) {
    hasher_->Update(buffer_, buffered_);
    buffered_ = 0;
  }
  if (size <= kBufferSize) {
    std::memcpy(buffer_, data, size);
    buffered_ = size;
  } else {
    hasher_->Update(data, size);
  }
}

template <typename F>
void Encoder::AppendFloatsImpl(const F* data, size_t count) {
  if (out_ != nullptr) {
    const size_t start = out_->size();
    total_ += count * sizeof(F);
    out_->append(reinterpret_cast<const char*>(data), count * sizeof(F));
    if (AnyNaN(data, count)) {
      CanonicalizeNaNs<F>(&(*out_)[start], count);
    }
    return;
  }
  constexpr size_t kChunk = kFloatChunkBytes / sizeof(F);
  F scratch[kChunk];
  if (count * sizeof(F) <= 2 * kBufferSize) {
    // Small: check first, then buffer.
    if (!AnyNaN(data, count)) {
      Append(data, count * sizeof(F));
      return;
    }
    for (size_t i = 0; i < count; ++i) {
      F f = data[i];
      CanonicalizeNaNs<F>(&f, 1);
      Append(&f, sizeof(F));
    }
    return;
  }
  // Large: hash each chunk straight from memory first (the hash streams memory as fast as
  // raw XXH3 does), then check the chunk for NaNs while it is still in cache. NaNs are rare:
  // on one, roll the hash back to a snapshot taken before the chunk and hash a canonical copy.
  // Memory is read once.
  if (!hasher_.has_value()) hasher_.emplace();
  if (buffered_ > 0) {
    hasher_->Update(buffer_, buffered_);
    buffered_ = 0;
  }
  Hasher snapshot;
  total_ += count * sizeof(F);
  for (size_t i = 0; i < count; i += kChunk) {
    const size_t n = std::min(kChunk, count - i);
    snapshot.CopyFrom(*hasher_);
    hasher_->Update(data + i, n * sizeof(F));
    if (AnyNaN(data + i, n)) {
      hasher_->CopyFrom(snapshot);
      std::memcpy(scratch, data + i, n * sizeof(F));
      CanonicalizeNaNs<F>(scratch, n);
      hasher_->Update(scratch, n * sizeof(F));
    }
  }
}

void Encoder::AppendFloats(const float* data, size_t count) { AppendFloatsImpl(data, count); }
void Encoder::AppendFloats(const double* data, size_t count) { AppendFloatsImpl(data, count); }

Digest Encoder::Finish() {
  if (!hasher_.has_value()) return Digest::Of(buffer_, buffered_);
  if (buffered_ > 0) hasher_->Update(buffer_, buffered_);
  buffered_ = 0;
  return hasher_->Finish();
}

bool Decoder::Need(size_t size) {
  if (!error_.empty()) return false;
  if (size <= in_.size()) return true;
  return Fail(absl::StrCat("truncated: need ", size, " bytes, ", in_.size(), " left"));
}

bool Decoder::ReadCount(size_t min_element_size, uint64_t* count) {
  if (!ReadInt(count)) return false;
  const size_t per = std::max<size_t>(min_element_size, 1);
  if (*count > in_.size() / per) {
    return Fail(absl::StrCat("count ", *count, " of elements of at least ", per,
                             " bytes exceeds the ", in_.size(), " bytes left"));
  }
  return true;
}

template <typename F>
static bool ReadFloatsImpl(Decoder& d, F* out, size_t count) {
  using Bits = typename FloatBits<F>::Bits;
  if (count > d.remaining() / sizeof(F)) return d.Fail("truncated float array");
  if (!d.Read(out, count * sizeof(F))) return false;
  if (!AnyNaN(out, count)) return true;
  for (size_t i = 0; i < count; ++i) {
    Bits bits;
    std::memcpy(&bits, &out[i], sizeof(F));
    if (out[i] != out[i] && bits != FloatBits<F>::kCanonicalNaN) {
      return d.Fail("a NaN that is not the canonical quiet NaN");
    }
  }
  return true;
}

bool Decoder::ReadFloats(float* out, size_t count) { return ReadFloatsImpl(*this, out, count); }
bool Decoder::ReadFloats(double* out, size_t count) { return ReadFloatsImpl(*this, out, count); }

bool Decoder::Fail(absl::string_view why) {
  if (error_.empty()) error_ = absl::StrCat(why, " (at byte ", offset(), ")");
  return false;
}

bool Decoder::Enter() {
  if (++depth_ > kMaxDepth) {
    --depth_;
    return Fail(absl::StrCat("nesting deeper than ", kMaxDepth, " levels"));
  }
  return true;
}

}  // namespace mlops
