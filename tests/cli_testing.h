// Helpers for the end-to-end tests of the `mlops` command line (cli_*_test.cc): running a
// program with its output captured, and reading the JSON the CLI prints.
//
// Example:
//   const test::Result r = test::Spawn(mlops_binary, {"--workspace", ws, "runs", "--json"});
//   const google::protobuf::Struct runs = test::ParseJson(r.out);
//   EXPECT_EQ(test::List(test::Field(runs, "runs")).values_size(), 2);
//
// Thread safety: Spawn may be called from one thread at a time; the rest are pure.
#ifndef TESTS_CLI_TESTING_H_
#define TESTS_CLI_TESTING_H_

#include <google/protobuf/struct.pb.h>

#include <string>
#include <vector>

namespace mlops {
namespace test {

struct Result {
  int exit_code = -1;  // 128 + the signal if killed
  std::string out, err;
};

// Runs `program` with `args`, standard input /dev/null, and returns its exit code and what
// it wrote. `env` entries ("NAME=value") replace or add to this process's environment.
Result Spawn(const std::string& program, const std::vector<std::string>& args,
             const std::vector<std::string>& env = {});

// The JSON text as a Struct; fails the test if it does not parse.
google::protobuf::Struct ParseJson(const std::string& text);

// The field `name` of an object (a null Value, failing the test, if there is none), and a
// list's elements.
const google::protobuf::Value& Field(const google::protobuf::Struct& s, const std::string& name);
const google::protobuf::Value& Field(const google::protobuf::Value& v, const std::string& name);
inline const google::protobuf::ListValue& List(const google::protobuf::Value& v) {
  return v.list_value();
}

}  // namespace test
}  // namespace mlops

#endif  // TESTS_CLI_TESTING_H_
