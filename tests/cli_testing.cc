#include "tests/cli_testing.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <google/protobuf/util/json_util.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "mlops/testing/files.h"

extern char** environ;

namespace mlops {
namespace test {

Result Spawn(const std::string& program, const std::vector<std::string>& args,
             const std::vector<std::string>& env) {
  const std::string dir = test::MakeTempDir("cli_run");
  const std::string out_path = dir + "/out", err_path = dir + "/err";
  std::vector<std::string> argv_s = {program};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_s) argv.push_back(&a[0]);
  argv.push_back(nullptr);
  std::vector<std::string> env_s;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    bool replaced = false;
    for (const std::string& mine : env) {
      if (entry.substr(0, entry.find('=') + 1) == mine.substr(0, mine.find('=') + 1)) {
        replaced = true;
      }
    }
    if (!replaced) env_s.push_back(entry);
  }
  env_s.insert(env_s.end(), env.begin(), env.end());
  std::vector<char*> envp;
  for (std::string& e : env_s) envp.push_back(&e[0]);
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, program.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  Result r;
  if (rc != 0) {
    r.err = absl::StrCat("posix_spawn ", program, ": ", std::strerror(rc));
    return r;
  }
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = test::Slurp(out_path);
  r.err = test::Slurp(err_path);
  return r;
}

google::protobuf::Struct ParseJson(const std::string& text) {
  google::protobuf::Struct s;
  const auto status = google::protobuf::util::JsonStringToMessage(text, &s);
  EXPECT_TRUE(status.ok()) << status.ToString() << "\n" << text;
  return s;
}

const google::protobuf::Value& Field(const google::protobuf::Struct& s, const std::string& name) {
  static const google::protobuf::Value* const kNull = new google::protobuf::Value();
  auto it = s.fields().find(name);
  EXPECT_TRUE(it != s.fields().end()) << "no field " << name;
  return it == s.fields().end() ? *kNull : it->second;
}

const google::protobuf::Value& Field(const google::protobuf::Value& v, const std::string& name) {
  return Field(v.struct_value(), name);
}

}  // namespace test
}  // namespace mlops
