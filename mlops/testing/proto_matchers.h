// Exact comparison of protobuf messages for tests: EqualsProto matches a message equal to
// the expected one field for field and bit for bit (so -0.0 differs from 0.0, which
// MessageDifferencer alone would let pass), and on failure prints MessageDifferencer's
// report of the differences and both messages.
//
// Example:
//   EXPECT_THAT(store->Get(key), EqualsProto(expected));
//
// Thread safety: as any matcher; the functions keep no state.
#ifndef MLOPS_TESTING_PROTO_MATCHERS_H_
#define MLOPS_TESTING_PROTO_MATCHERS_H_

#include <google/protobuf/message.h>

#include <string>
#include <vector>

#include "gmock/gmock.h"

namespace mlops {
namespace test {

// The message's deterministic serialization: equal exactly when the messages are equal
// field for field, bit for bit (map entries in key order).
std::string Canonical(const google::protobuf::Message& m);
// The messages' serializations, each followed by "|".
template <typename M>
std::string Canonical(const std::vector<M>& ms) {
  std::string out;
  for (const M& m : ms) out += Canonical(m) + "|";
  return out;
}

// Why `got` is not `expected`, for a failure message; empty if they are equal.
std::string ProtoDifference(const google::protobuf::Message& expected,
                            const google::protobuf::Message& got);

// Matches a message equal to `expected`, bit for bit (see Canonical).
MATCHER_P(EqualsProto, expected, "equals the expected message") {
  const std::string difference = ::mlops::test::ProtoDifference(expected, arg);
  if (difference.empty()) return true;
  *result_listener << difference;
  return false;
}

}  // namespace test
}  // namespace mlops

#endif  // MLOPS_TESTING_PROTO_MATCHERS_H_
