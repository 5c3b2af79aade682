// Randomized tests of Decode on containers and a proto (the harness and its rules are in
// codec_fuzz.h): random values of several types are encoded, then truncated and mutated (bit
// flips, bytes set to 0x00/0xff/random, inserted, deleted, corrupted counts), and fully random
// byte strings are decoded too. codec_fuzz_struct_test.cc does the same for structs.
//
// Seeds are fixed: every run sees the same inputs. The run takes a few seconds, also under
// --config=asan.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "mlops/codec/codec.h"
#include "mlops/codec/codec_fuzz.h"
#include "mlops/codec/testdata/test_message.pb.h"

namespace mlops {
namespace {

using ::mlops::test::CodecFuzzTest;
using ::mlops::test::Fuzz;
using ::mlops::test::Rng;
using TestMessage = ::mlops::testing::TestMessage;

// ---------------------------------------------------------------------------------------
// Types under test.

using Doubles = std::vector<double>;
using IntLists = std::map<std::string, std::vector<int>>;
using Mixed = std::tuple<std::optional<std::string>, std::variant<int64_t, double, std::string>, bool>;

// ---------------------------------------------------------------------------------------
// Random values.

Doubles RandomDoubles(Rng& rng) {
  Doubles v(rng.OneIn(50) ? 4096 + rng.Below(5000) : rng.Size(12, 200));
  for (double& d : v) d = rng.Double();
  return v;
}

IntLists RandomIntLists(Rng& rng) {
  IntLists m;
  const size_t n = rng.Size(4, 20);
  for (size_t i = 0; i < n; ++i) {
    std::vector<int>& v = m[rng.String(4)];
    v.resize(rng.Size(6, 100));
    for (int& x : v) x = rng.OneIn(3) ? static_cast<int>(rng.Below(3)) : static_cast<int>(rng.Next());
  }
  return m;
}

Mixed RandomMixed(Rng& rng) {
  Mixed t;
  if (!rng.OneIn(3)) std::get<0>(t) = rng.String(10);
  switch (rng.Below(3)) {
    case 0:
      std::get<1>(t) = static_cast<int64_t>(rng.Next()) >> rng.Below(64);
      break;
    case 1:
      std::get<1>(t) = rng.Double();  // at an unaligned offset
      break;
    default:
      std::get<1>(t) = rng.String(10);
  }
  std::get<2>(t) = rng.OneIn(2);
  return t;
}

TestMessage RandomMessage(Rng& rng, int depth = 0) {
  TestMessage m;
  if (!rng.OneIn(3)) {
    std::string name(rng.Size(6, 30), 'x');
    for (char& c : name) c = static_cast<char>('a' + rng.Below(26));
    m.set_name(name);
  }
  if (!rng.OneIn(3)) m.set_count(static_cast<int64_t>(rng.Next()) >> rng.Below(64));
  const size_t values = rng.Size(3, 40);
  for (size_t i = 0; i < values; ++i) m.add_values(rng.Double());
  const size_t tags = rng.Size(3, 20);
  for (size_t i = 0; i < tags; ++i) {
    (*m.mutable_tags())[absl::StrCat("t", rng.Below(10))] = static_cast<int32_t>(rng.Next());
  }
  if (!rng.OneIn(3)) m.set_kind(static_cast<TestMessage::Kind>(rng.Below(4)));
  if (depth < 3 && rng.OneIn(3)) *m.mutable_child() = RandomMessage(rng, depth + 1);
  return m;
}

// ---------------------------------------------------------------------------------------
// Tests.

TEST_F(CodecFuzzTest, VectorOfDoubles) {
  Fuzz<Doubles>(1, 400, 120, 6000, RandomDoubles);
}

TEST_F(CodecFuzzTest, MapOfIntVectors) {
  Fuzz<IntLists>(2, 400, 120, 6000, RandomIntLists);
}

TEST_F(CodecFuzzTest, TupleOfOptionalVariantBool) {
  Fuzz<Mixed>(3, 600, 120, 6000, RandomMixed);
}

TEST_F(CodecFuzzTest, Proto) {
  Fuzz<TestMessage>(4, 400, 120, 6000, [](Rng& rng) { return RandomMessage(rng); });
}

}  // namespace
}  // namespace mlops
