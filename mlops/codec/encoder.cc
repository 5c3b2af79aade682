#include "mlops/codec/encoder.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace mlops {
namespace {

// Floats are checked for NaN this many at a time: small enough to stay in L1/L2 between the
// check and the hash, large enough to amortize the calls.
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

// True if any element is NaN. Written as a branch-free reduction over fixed-size blocks so
// the compiler vectorizes it; it runs far faster than the hash that follows.
template <typename F>
bool AnyNaN(const F* p, size_t n) {
  constexpr size_t kBlock = 64;
  size_t i = 0;
  for (; i + kBlock <= n; i += kBlock) {
    int nan = 0;
    for (size_t j = 0; j < kBlock; ++j) nan |= (p[i + j] != p[i + j]);
    if (nan) return true;
  }
  int nan = 0;
  for (; i < n; ++i) nan |= (p[i] != p[i]);
  return nan != 0;
}

template <typename F>
void CanonicalizeNaNs(F* p, size_t n) {
  using Bits = typename FloatBits<F>::Bits;
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != p[i]) {
      const Bits canonical = FloatBits<F>::kCanonicalNaN;
      std::memcpy(&p[i], &canonical, sizeof(F));
    }
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
    out_->append(reinterpret_cast<const char*>(data), count * sizeof(F));
    if (AnyNaN(data, count)) {
      CanonicalizeNaNs(reinterpret_cast<F*>(&(*out_)[start]), count);
    }
    return;
  }
  constexpr size_t kChunk = kFloatChunkBytes / sizeof(F);
  F scratch[kChunk];
  for (size_t i = 0; i < count; i += kChunk) {
    const size_t n = std::min(kChunk, count - i);
    if (!AnyNaN(data + i, n)) {
      Append(data + i, n * sizeof(F));
    } else {
      std::memcpy(scratch, data + i, n * sizeof(F));
      CanonicalizeNaNs(scratch, n);
      Append(scratch, n * sizeof(F));
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
