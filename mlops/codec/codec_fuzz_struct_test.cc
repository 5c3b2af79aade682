// Randomized tests of Decode on structs: a plain one, a recursive one, and one with a field of
// every kind (the harness and its rules are in codec_fuzz.h). Seeds are fixed.
#include <array>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "gtest/gtest.h"
#include "mlops/codec/codec.h"
#include "mlops/codec/codec_fuzz.h"
#include "mlops/codec/codec_testing.h"
#include "mlops/hash/digest.h"

namespace mlops {
namespace {

using ::mlops::test::CodecFuzzTest;
using ::mlops::test::Fuzz;
using ::mlops::test::Point;
using ::mlops::test::Rng;
using ::mlops::test::Tree;

// ---------------------------------------------------------------------------------------
// Types under test (Point and Tree are codec_testing.h's).

struct Record {
  uint32_t id = 0;
  std::string name;
  std::optional<Point> where;
  std::vector<Point> path;
  std::set<int16_t> tags;
  std::unordered_map<std::string, bool> flags;
  Digest ref;
  std::array<float, 2> range = {0, 0};
  std::vector<bool> mask;
  std::variant<std::string, Tree> extra;
};
MLOPS_CODEC_FIELDS(Record, id, name, where, path, tags, flags, ref, range, mask, extra);

// ---------------------------------------------------------------------------------------
// Random values.

Point RandomPoint(Rng& rng) {
  return Point{rng.Double(), rng.Double(), rng.String(6)};
}

Tree RandomTree(Rng& rng, int depth = 0) {
  Tree t;
  t.v = static_cast<int32_t>(rng.Next());
  if (depth < 4) {
    const size_t kids = rng.Below(depth == 0 ? 4 : 3);
    for (size_t i = 0; i < kids; ++i) t.kids.push_back(RandomTree(rng, depth + 1));
  }
  return t;
}

Record RandomRecord(Rng& rng) {
  Record r;
  r.id = static_cast<uint32_t>(rng.Next());
  r.name = rng.String(8);
  if (rng.OneIn(2)) r.where = RandomPoint(rng);
  const size_t points = rng.Size(3, 10);
  for (size_t i = 0; i < points; ++i) r.path.push_back(RandomPoint(rng));
  const size_t tags = rng.Size(4, 30);
  for (size_t i = 0; i < tags; ++i) r.tags.insert(static_cast<int16_t>(rng.Next()));
  const size_t flags = rng.Size(4, 30);
  for (size_t i = 0; i < flags; ++i) r.flags[rng.String(3)] = rng.OneIn(2);
  if (rng.OneIn(2)) r.ref = Digest(rng.Next(), rng.Next());
  r.range = {rng.Float(), rng.Float()};
  r.mask.resize(rng.Size(5, 40));
  for (size_t i = 0; i < r.mask.size(); ++i) r.mask[i] = rng.OneIn(2);
  if (rng.OneIn(2)) {
    r.extra = RandomTree(rng, 2);
  } else {
    r.extra = rng.String(5);
  }
  return r;
}

// ---------------------------------------------------------------------------------------
// Tests.

TEST_F(CodecFuzzTest, Struct) {
  Fuzz<Point>(5, 600, 120, 6000, [](Rng& rng) { return RandomPoint(rng); });
}

TEST_F(CodecFuzzTest, RecursiveStruct) {
  Fuzz<Tree>(6, 300, 120, 6000, [](Rng& rng) { return RandomTree(rng); });
}

TEST_F(CodecFuzzTest, StructOfEverything) {
  Fuzz<Record>(7, 300, 120, 6000, RandomRecord);
}

}  // namespace
}  // namespace mlops
