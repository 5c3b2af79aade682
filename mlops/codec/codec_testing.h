// Test support shared by the codec tests (codec_*_test.cc): user types with codecs, byte
// strings built by hand from the encoding rules (independently of the code under test), and
// the checks that pin, round-trip and reject encodings.
//
// Example:
//   EXPECT_KNOWN_ANSWER(int32_t{-2}, "feffffff", "<digest printed by xxh128sum>");
//   ExpectRoundTrip(Point{1.5, -2, "p"});
//   ExpectRejected<std::vector<double>>(U64(3) + F64Bytes(1), "truncated");
//
// Decoding always goes through DecodeExact, from a heap buffer of exactly the input's size,
// so that AddressSanitizer sees any read past the end.
//
// Thread safety: the checks record gtest failures and may be called from any thread;
// CountingAllocator writes the global g_largest_allocation without synchronization.
#ifndef MLOPS_CODEC_CODEC_TESTING_H_
#define MLOPS_CODEC_CODEC_TESTING_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/codec/codec.h"
#include "mlops/codec/testdata/test_message.pb.h"
#include "mlops/hash/digest.h"

namespace mlops {
namespace test {

using TestMessage = ::mlops::testing::TestMessage;

// ---------------------------------------------------------------------------------------
// User types.

struct Point {
  double x = 0;
  double y = 0;
  std::string label;
  bool operator==(const Point& o) const { return x == o.x && y == o.y && label == o.label; }
};
MLOPS_CODEC_FIELDS(Point, x, y, label);

// A recursive type.
struct Tree {
  int32_t v = 0;
  std::vector<Tree> kids;
  bool operator==(const Tree& o) const { return v == o.v && kids == o.kids; }
};
MLOPS_CODEC_FIELDS(Tree, v, kids);

// Mutually recursive types.
struct Forest;
struct Node {
  std::string name;
  std::vector<Forest> forests;
  bool operator==(const Node& o) const;
};
struct Forest {
  std::vector<Node> nodes;
  bool operator==(const Forest& o) const { return nodes == o.nodes; }
};
inline bool Node::operator==(const Node& o) const {
  return name == o.name && forests == o.forests;
}
MLOPS_CODEC_FIELDS(Node, name, forests);
MLOPS_CODEC_FIELDS(Forest, nodes);

// An explicit codec version.
struct Weights {
  int32_t n = 0;
  std::vector<float> w;
  bool operator==(const Weights& o) const { return n == o.n && w == o.w; }
};
MLOPS_CODEC_FIELDS_VERSIONED(Weights, 3, n, w);

// name "x", count 3, values {1.5}, tags {a: 1, b: 2} (inserted b first), kind KIND_B, and a
// child named "y".
TestMessage FullMessage();

// ---------------------------------------------------------------------------------------
// Bytes built by hand.

// Lower-case hex of `bytes`, two digits a byte, no separators.
std::string Hex(absl::string_view bytes);

// Hex (lower case; spaces ignored) to bytes. A character other than 0-9, a-f and space, or an
// odd number of digits, is a (non-fatal) test failure.
std::string Unhex(absl::string_view hex);

// Little-endian bytes of `v`: 8 and 4 of them.
std::string U64(uint64_t v);
std::string U32(uint32_t v);
// A string as the codec encodes one: U64 length, then the bytes.
std::string Str(absl::string_view s);

// The double / float with these bits, and the bits of a double.
double F64(uint64_t bits);
float F32(uint32_t bits);
uint64_t Bits(double d);
// U64(Bits(d)).
std::string F64Bytes(double d);

constexpr uint64_t kCanonicalNaN64 = 0x7ff8000000000000ull;
constexpr uint32_t kCanonicalNaN32 = 0x7fc00000u;

// ---------------------------------------------------------------------------------------
// Checks.

// Decodes from a heap buffer of exactly bytes.size() bytes, so that AddressSanitizer catches
// any read past the end.
template <typename T>
absl::StatusOr<T> DecodeExact(absl::string_view bytes) {
  std::unique_ptr<char[]> copy(new char[bytes.size()]);
  if (!bytes.empty()) std::memcpy(copy.get(), bytes.data(), bytes.size());
  return Decode<T>(absl::string_view(copy.get(), bytes.size()));
}

// Checks that decoding `bytes` as T fails with INVALID_ARGUMENT, naming the type (and
// `why`, when given).
template <typename T>
void ExpectRejected(absl::string_view bytes, absl::string_view why = "") {
  absl::StatusOr<T> r = DecodeExact<T>(bytes);
  ASSERT_FALSE(r.ok()) << "accepted " << Hex(bytes) << " as " << CodecName<T>();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
  EXPECT_THAT(std::string(r.status().message()),
              ::testing::HasSubstr(absl::StrCat("cannot decode ", bytes.size(), " bytes as ",
                                                CodecName<T>(), ": ")));
  if (!why.empty()) {
    EXPECT_THAT(std::string(r.status().message()), ::testing::HasSubstr(std::string(why)));
  }
}

// Pins the encoding and digest of `value`, checks that the pinned bytes decode and re-encode
// to themselves, that every proper prefix is rejected as truncated, and that a trailing byte
// is rejected.
template <typename T>
void CheckKnownAnswer(const T& value, absl::string_view hex, absl::string_view digest) {
  const std::string bytes = Encode(value);
  EXPECT_EQ(Hex(bytes), hex);
  EXPECT_EQ(Hash(value).ToHex(), digest);
  EXPECT_EQ(Digest::Of(bytes).ToHex(), digest);
  size_t size = 12345;
  EXPECT_EQ(Hash(value, &size).ToHex(), digest);
  EXPECT_EQ(size, Unhex(hex).size());

  const std::string pinned = Unhex(hex);
  absl::StatusOr<T> back = DecodeExact<T>(pinned);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(Hex(Encode(*back)), hex);
  EXPECT_EQ(Hash(*back).ToHex(), digest);

  // EncodeTo appends, after a prefix of any length (so values also land at unaligned
  // offsets).
  for (const std::string prefix : {"prefix..", "prefix."}) {
    std::string appended = prefix;
    EncodeTo(value, &appended);
    EXPECT_EQ(appended, prefix + pinned);
  }

  for (size_t n = 0; n < pinned.size(); ++n) {
    SCOPED_TRACE(absl::StrCat("prefix of ", n, " bytes"));
    ExpectRejected<T>(pinned.substr(0, n));
  }
  ExpectRejected<T>(pinned + '\0', "1 trailing bytes");
  ExpectRejected<T>(pinned + "\x01\x02\x03", "3 trailing bytes");
}

// CheckKnownAnswer, with the value's expression in the failure messages.
#define EXPECT_KNOWN_ANSWER(value, hex, digest)            \
  do {                                                     \
    SCOPED_TRACE(#value);                                  \
    ::mlops::test::CheckKnownAnswer(value, hex, digest);   \
  } while (0)

// a == b; for protos, MessageDifferencer::Equals.
template <typename T>
bool Same(const T& a, const T& b) {
  return a == b;
}
bool Same(const TestMessage& a, const TestMessage& b);

// Hash(v) == Digest::Of(Encode(v)) (also with the size), Encode(v) decodes, `check(decoded,
// bytes)` holds, the re-encoding is identical, and the decoded value hashes alike.
template <typename T, typename Check>
void CheckRoundTrip(const T& v, Check check) {
  const std::string bytes = Encode(v);
  EXPECT_EQ(Hash(v), Digest::Of(bytes));
  size_t size = 12345;
  EXPECT_EQ(Hash(v, &size), Digest::Of(bytes));
  EXPECT_EQ(size, bytes.size());
  absl::StatusOr<T> back = DecodeExact<T>(bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  check(*back, bytes);
  EXPECT_TRUE(Encode(*back) == bytes) << CodecName<T>();
  EXPECT_EQ(Hash(*back), Digest::Of(bytes));
}

// Decode(Encode(v)) == v, the re-encoding is identical, and Hash == Digest::Of(Encode).
template <typename T>
void ExpectRoundTrip(const T& v) {
  CheckRoundTrip(v, [&v](const T& back, const std::string& bytes) {
    EXPECT_TRUE(Same(back, v)) << CodecName<T>() << " " << Hex(bytes.substr(0, 256));
  });
}

// For values containing NaNs (not equal to themselves): the bytes round-trip.
template <typename T>
void ExpectBytesRoundTrip(const T& v) {
  CheckRoundTrip(v, [](const T&, const std::string&) {});
}

// ---------------------------------------------------------------------------------------
// Allocations.

// The largest single allocation through a CountingAllocator since the test last reset it.
inline size_t g_largest_allocation = 0;

// A std::allocator that records its largest allocation in g_largest_allocation, to check
// that corrupt counts never make the decoder allocate.
template <typename T>
struct CountingAllocator {
  using value_type = T;
  CountingAllocator() = default;
  template <typename U>
  CountingAllocator(const CountingAllocator<U>&) {}  // NOLINT
  T* allocate(size_t n) {
    g_largest_allocation = std::max(g_largest_allocation, n * sizeof(T));
    return std::allocator<T>().allocate(n);
  }
  void deallocate(T* p, size_t n) { std::allocator<T>().deallocate(p, n); }
  friend bool operator==(const CountingAllocator&, const CountingAllocator&) { return true; }
  friend bool operator!=(const CountingAllocator&, const CountingAllocator&) { return false; }
};

}  // namespace test
}  // namespace mlops

#endif  // MLOPS_CODEC_CODEC_TESTING_H_
