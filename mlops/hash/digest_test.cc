#include "mlops/hash/digest.h"

#include <random>
#include <sstream>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "fmt/format.h"
#include "gtest/gtest.h"
#include "mlops/testing/bytes.h"

namespace mlops {
namespace {

using ::mlops::test::Mod251;

// Expected values printed by `xxh128sum` (Debian's xxhash 0.8.1), independent of this code.
TEST(DigestTest, KnownAnswersMatchXxh128sum) {
  EXPECT_EQ(Digest::Of("").ToHex(), "99aa06d3014798d86001c324468d497f");
  EXPECT_EQ(Digest::Of("a").ToHex(), "a96faf705af16834e6c632b61e964e1f");
  EXPECT_EQ(Digest::Of("abc").ToHex(), "06b05ab6733a618578af5f94892f3950");
  EXPECT_EQ(Digest::Of("hello").ToHex(), "b5e9c1ad071b3e7fc779cfaa5e523818");
  EXPECT_EQ(Digest::Of("The quick brown fox jumps over the lazy dog").ToHex(),
            "ddd650205ca3e7fa24a1cc2e3a8a7651");
  EXPECT_EQ(Digest::Of(std::string(1000000, '\0')).ToHex(),
            "ef233fc372a159319d648391f361d99a");
  EXPECT_EQ(Digest::Of(Mod251(5000)).ToHex(), "b92ec02c39d33ce7b418500fc42320ee");
}

TEST(DigestTest, HexRoundTrip) {
  const Digest d = Digest::Of("hello");
  absl::StatusOr<Digest> back = Digest::FromHex(d.ToHex());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, d);
  absl::StatusOr<Digest> upper = Digest::FromHex("B5E9C1AD071B3E7FC779CFAA5E523818");
  ASSERT_TRUE(upper.ok());
  EXPECT_EQ(*upper, d);
  EXPECT_EQ(d.ShortHex(8), "b5e9c1ad");
  EXPECT_EQ(d.ShortHex(99), d.ToHex());
}

TEST(DigestTest, MalformedHexIsInvalidArgument) {
  for (const char* bad : {"", "b5e9", "b5e9c1ad071b3e7fc779cfaa5e52381",
                          "b5e9c1ad071b3e7fc779cfaa5e5238188",
                          "g5e9c1ad071b3e7fc779cfaa5e523818",
                          "b5e9c1ad071b3e7fc779cfaa5e52381 ",
                          "0xe9c1ad071b3e7fc779cfaa5e523818"}) {
    absl::StatusOr<Digest> d = Digest::FromHex(bad);
    EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  std::string with_nul = "b5e9c1ad071b3e7fc";
  with_nul += '\0';
  with_nul += "79cfaa5e523818";
  ASSERT_EQ(with_nul.size(), 32u);
  EXPECT_EQ(Digest::FromHex(with_nul).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(DigestTest, CanonicalBytesAreBigEndianHex) {
  const Digest d(0x0102030405060708ULL, 0x090a0b0c0d0e0f10ULL);
  unsigned char bytes[16];
  d.ToBytes(bytes);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(bytes[i], i + 1);
  EXPECT_EQ(Digest::FromBytes(bytes), d);
  EXPECT_EQ(d.ToHex(), "0102030405060708090a0b0c0d0e0f10");
}

TEST(DigestTest, OrderMatchesHexOrder) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 1000; ++i) {
    const Digest a(rng() >> (rng() % 64), rng());
    const Digest b(rng() >> (rng() % 64), rng());
    EXPECT_EQ(a < b, a.ToHex() < b.ToHex());
    EXPECT_EQ(a == b, a.ToHex() == b.ToHex());
  }
}

TEST(DigestTest, WorksAsHashMapKeyAndPrints) {
  absl::flat_hash_map<Digest, int> m;
  absl::flat_hash_set<Digest> s;
  for (int i = 0; i < 1000; ++i) {
    const Digest d = Digest::Of(std::to_string(i));
    m[d] = i;
    s.insert(d);
  }
  EXPECT_EQ(m.size(), 1000u);
  EXPECT_EQ(m[Digest::Of("42")], 42);
  EXPECT_TRUE(s.contains(Digest::Of("999")));
  EXPECT_FALSE(s.contains(Digest::Of("1000")));

  const Digest d = Digest::Of("hello");
  EXPECT_EQ(fmt::format("{}", d), "b5e9c1ad071b3e7fc779cfaa5e523818");
  EXPECT_EQ(fmt::format("[{:>34}]", d), "[  b5e9c1ad071b3e7fc779cfaa5e523818]");
  std::ostringstream os;
  os << d;
  EXPECT_EQ(os.str(), d.ToHex());
  EXPECT_TRUE(Digest().IsZero());
  EXPECT_FALSE(d.IsZero());
}

TEST(HasherTest, AnySplitGivesTheOneShotDigest) {
  const std::string data = Mod251(3 * 1024 * 1024 + 17);
  const Digest whole = Digest::Of(data);
  std::mt19937 rng(42);
  for (int trial = 0; trial < 50; ++trial) {
    Hasher h;
    size_t pos = 0;
    while (pos < data.size()) {
      // Mix tiny, medium and large pieces to cross every internal buffer boundary.
      const size_t max_piece = trial % 3 == 0 ? 7 : trial % 3 == 1 ? 4099 : 1 << 20;
      const size_t n = std::min(data.size() - pos, size_t{1} + rng() % max_piece);
      h.Update(data.data() + pos, n);
      pos += n;
    }
    EXPECT_EQ(h.Finish(), whole) << "trial " << trial;
  }
}

TEST(HasherTest, EveryPrefixLengthMatches) {
  const std::string data = Mod251(2100);
  for (size_t n = 0; n <= data.size(); ++n) {
    Hasher h;
    h.Update(data.substr(0, n / 2));
    h.Update(data.substr(n / 2, n - n / 2));
    ASSERT_EQ(h.Finish(), Digest::Of(data.substr(0, n))) << n;
  }
}

TEST(HasherTest, FinishDoesNotConsumeAndResetForgets) {
  Hasher h;
  h.Update("hel");
  const Digest partial = h.Finish();
  EXPECT_EQ(partial, Digest::Of("hel"));
  h.Update("lo");
  EXPECT_EQ(h.Finish(), Digest::Of("hello"));
  h.Reset();
  EXPECT_EQ(h.Finish(), Digest::Of(""));
}

}  // namespace
}  // namespace mlops
