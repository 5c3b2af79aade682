// EqualsProto: a gMock matcher of protobuf messages that prints the differences.
//
// Example:
//   EXPECT_THAT(store->Get(key), EqualsProto(expected));
//
// Thread safety: as any matcher.
#ifndef MLOPS_TESTING_PROTO_MATCHERS_H_
#define MLOPS_TESTING_PROTO_MATCHERS_H_

#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"

namespace mlops {
namespace test {

// Matches a message equal to `expected` (field by field; maps as maps).
MATCHER_P(EqualsProto, expected, "equals the expected message") {
  std::string diff;
  google::protobuf::util::MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&diff);
  if (differencer.Compare(expected, arg)) return true;
  *result_listener << "differences:\n" << diff;
  return false;
}

}  // namespace test
}  // namespace mlops

#endif  // MLOPS_TESTING_PROTO_MATCHERS_H_
