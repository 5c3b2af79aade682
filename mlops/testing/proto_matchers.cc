#include "mlops/testing/proto_matchers.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/message_differencer.h>

#include "absl/strings/str_cat.h"

namespace mlops {
namespace test {

std::string Canonical(const google::protobuf::Message& m) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    m.SerializeToCodedStream(&coded);
  }
  return out;
}

std::string ProtoDifference(const google::protobuf::Message& expected,
                            const google::protobuf::Message& got) {
  if (Canonical(got) == Canonical(expected)) return "";
  std::string diff;
  google::protobuf::util::MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&diff);
  differencer.Compare(expected, got);
  return absl::StrCat("differs: ", diff.empty() ? "(bitwise only, e.g. -0.0 against 0.0)\n" : diff,
                      "expected: ", expected.ShortDebugString(),
                      "\n     got: ", got.ShortDebugString());
}

}  // namespace test
}  // namespace mlops
