#include "mlops/codec/codec_testing.h"

#include <google/protobuf/util/message_differencer.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"

namespace mlops {
namespace test {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  ADD_FAILURE() << "bad hex character '" << c << "'";
  return 0;
}

}  // namespace

TestMessage FullMessage() {
  TestMessage m;
  m.set_name("x");
  m.set_count(3);
  m.add_values(1.5);
  (*m.mutable_tags())["b"] = 2;  // inserted out of order: the serialization sorts them
  (*m.mutable_tags())["a"] = 1;
  m.set_kind(TestMessage::KIND_B);
  m.mutable_child()->set_name("y");
  return m;
}

std::string Hex(absl::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * bytes.size());
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 0xf];
  }
  return out;
}

std::string Unhex(absl::string_view hex) {
  std::string digits;
  for (char c : hex) {
    if (c != ' ') digits += c;
  }
  EXPECT_EQ(digits.size() % 2, 0u) << hex;
  std::string out;
  for (size_t i = 0; i + 1 < digits.size(); i += 2) {
    out += static_cast<char>(16 * HexValue(digits[i]) + HexValue(digits[i + 1]));
  }
  return out;
}

std::string U64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(v >> (8 * i));
  return out;
}
std::string U32(uint32_t v) {
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>(v >> (8 * i));
  return out;
}
std::string Str(absl::string_view s) { return absl::StrCat(U64(s.size()), s); }

double F64(uint64_t bits) {
  double d;
  std::memcpy(&d, &bits, sizeof(d));
  return d;
}
float F32(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}
uint64_t Bits(double d) {
  uint64_t b;
  std::memcpy(&b, &d, sizeof(b));
  return b;
}
std::string F64Bytes(double d) { return U64(Bits(d)); }

bool Same(const TestMessage& a, const TestMessage& b) {
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

}  // namespace test
}  // namespace mlops
