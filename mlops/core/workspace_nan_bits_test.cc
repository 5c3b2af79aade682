// Same inputs, same step version: the same value, bit for bit, whether the call computed
// it or took it from the cache. A NaN with a payload is encoded as the canonical NaN, so
// the computing call returns the canonical NaN too (as every later hit does).
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/casts.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "mlops/codec/codec.h"
#include "mlops/core/step.h"
#include "mlops/core/stored.h"
#include "mlops/core/workspace.h"
#include "mlops/pipeline/pipeline.h"
#include "mlops/testing/files.h"
#include "mlops/testing/workspace.h"

namespace mlops {
namespace {

using ::mlops::test::FreshDir;
using ::mlops::test::InMemoryWorkspace;
using ::mlops::test::OpenWorkspace;

constexpr uint64_t kPayloadNan = 0x7ff8000000001235;  // a quiet NaN with a payload
constexpr uint64_t kCanonicalNan = 0x7ff8000000000000;
constexpr uint32_t kPayloadNanF = 0x7fc01235;
constexpr uint32_t kCanonicalNanF = 0x7fc00000;

double FromBits(uint64_t bits) { return absl::bit_cast<double>(bits); }
float FromBitsF(uint32_t bits) { return absl::bit_cast<float>(bits); }
uint64_t Bits(double d) { return absl::bit_cast<uint64_t>(d); }
uint32_t BitsF(float f) { return absl::bit_cast<uint32_t>(f); }

struct Reading {
  std::string sensor;
  double value = 0;
  float gain = 0;
};
MLOPS_CODEC_FIELDS(Reading, sensor, value, gain);

const auto kDouble = MakeStep("nan_double", 1, [](int) { return FromBits(kPayloadNan); });
const auto kFloat = MakeStep("nan_float", 1, [](int) { return FromBitsF(kPayloadNanF); });
const auto kVector = MakeStep("nan_vector", 1, [](int) {
  return std::vector<double>{1.5, FromBits(kPayloadNan), -0.0};
});
const auto kStruct = MakeStep("nan_struct", 1, [](int) {
  return Reading{"t1", FromBits(kPayloadNan), FromBitsF(kPayloadNanF)};
});

TEST(WorkspaceNanBitsTest, ComputedDoubleNanHasTheBitsOfItsCacheHit) {
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  absl::StatusOr<Stored<double>> computed = ws->Call(kDouble, 1);
  ASSERT_TRUE(computed.ok()) << computed.status();
  ASSERT_FALSE(computed->cached());
  absl::StatusOr<Stored<double>> hit = ws->Call(kDouble, 1);
  ASSERT_TRUE(hit.ok()) << hit.status();
  ASSERT_TRUE(hit->cached());
  EXPECT_EQ(Bits(**computed), kCanonicalNan);
  EXPECT_EQ(Bits(**computed), Bits(**hit));
}

TEST(WorkspaceNanBitsTest, ComputedFloatNanHasTheBitsOfItsCacheHit) {
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  absl::StatusOr<Stored<float>> computed = ws->Call(kFloat, 1);
  absl::StatusOr<Stored<float>> hit = ws->Call(kFloat, 1);
  ASSERT_TRUE(computed.ok() && hit.ok());
  ASSERT_TRUE(hit->cached());
  EXPECT_EQ(BitsF(**computed), kCanonicalNanF);
  EXPECT_EQ(BitsF(**computed), BitsF(**hit));
}

TEST(WorkspaceNanBitsTest, NansInsideVectorsAndStructsHaveTheBitsOfTheirCacheHits) {
  const std::string dir = FreshDir();
  std::vector<double> computed_vector;
  Reading computed_struct;
  {
    auto ws = OpenWorkspace(dir);
    ASSERT_NE(ws, nullptr);
    absl::StatusOr<Stored<std::vector<double>>> v = ws->Call(kVector, 1);
    absl::StatusOr<Stored<Reading>> s = ws->Call(kStruct, 1);
    ASSERT_TRUE(v.ok() && s.ok());
    ASSERT_FALSE(v->cached() || s->cached());
    computed_vector = **v;
    computed_struct = **s;
  }
  auto ws = OpenWorkspace(dir);  // hits from disk, decoded afresh
  ASSERT_NE(ws, nullptr);
  absl::StatusOr<Stored<std::vector<double>>> v = ws->Call(kVector, 1);
  absl::StatusOr<Stored<Reading>> s = ws->Call(kStruct, 1);
  ASSERT_TRUE(v.ok() && s.ok());
  ASSERT_TRUE(v->cached() && s->cached());
  ASSERT_EQ(computed_vector.size(), 3u);
  ASSERT_EQ((*v)->size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(Bits(computed_vector[i]), Bits((**v)[i])) << i;
  EXPECT_EQ(Bits(computed_vector[1]), kCanonicalNan);
  EXPECT_EQ(Bits(computed_vector[2]), Bits(-0.0));  // -0.0 stays -0.0
  EXPECT_EQ(Bits(computed_struct.value), Bits((*s)->value));
  EXPECT_EQ(BitsF(computed_struct.gain), BitsF((*s)->gain));
  EXPECT_EQ(Bits(computed_struct.value), kCanonicalNan);
  EXPECT_EQ(BitsF(computed_struct.gain), kCanonicalNanF);
}

TEST(WorkspaceNanBitsTest, PipelineNodeNanHasTheBitsOfItsCacheHit) {
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  // What the downstream node is given, bit for bit.
  const auto bits_of = MakeStep("bits_of", 1, [](double d) { return Bits(d); });
  Pipeline p("nan");
  auto nan = p.Add("nan", kDouble, 1);
  auto bits = p.Add("bits", bits_of, nan);
  absl::StatusOr<RunResult> first = p.Run(*ws, {nan, bits});
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->node("nan")->outcome, NodeOutcome::kRan);
  absl::StatusOr<Stored<double>> computed = first->Get(nan);
  absl::StatusOr<Stored<uint64_t>> seen = first->Get(bits);
  ASSERT_TRUE(computed.ok() && seen.ok());
  EXPECT_EQ(Bits(**computed), kCanonicalNan);
  EXPECT_EQ(**seen, kCanonicalNan);
  absl::StatusOr<RunResult> second = p.Run(*ws, {nan});
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_EQ(second->node("nan")->outcome, NodeOutcome::kHit);
  absl::StatusOr<Stored<double>> hit = second->Get(nan);
  ASSERT_TRUE(hit.ok()) << hit.status();
  EXPECT_EQ(Bits(**computed), Bits(**hit));
}

}  // namespace
}  // namespace mlops
