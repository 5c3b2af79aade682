// `mlops show run:N` prints the run's source revision (issue 13, item 7b: it printed
// `source` with nothing): the commit, marked when the tree had uncommitted changes, and in
// --json `source_revision` and `source_modified`.
//
// The runs are recorded by opening a Workspace with $BUILD_WORKSPACE_DIRECTORY naming a
// fresh git repository, as `bazel run` names the source tree.
//
// Argument: the mlops binary (a runfiles path).
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/core/workspace.h"
#include "mlops/testing/files.h"
#include "tests/cli_testing.h"

namespace mlops {
namespace {

using ::testing::HasSubstr;

std::string g_mlops;

// Runs `git args` in `dir`; returns its output, trimmed.
std::string Git(const std::string& dir, const std::string& args) {
  const std::string out = test::MakeTempDir("git") + "/out";
  const std::string cmd =
      absl::StrCat("git -C '", dir, "' -c user.name=t -c user.email=t@example.com ", args,
                   " >'", out, "' 2>&1");
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd << "\n" << test::Slurp(out);
  return std::string(absl::StripAsciiWhitespace(test::Slurp(out)));
}

// The id of the run a workspace opened in `ws` records, with the source tree `repo`.
int64_t RecordRun(const std::string& ws, const std::string& repo) {
  ::unsetenv("MLOPS_SOURCE_REVISION");
  ::setenv("BUILD_WORKSPACE_DIRECTORY", repo.c_str(), 1);
  absl::StatusOr<std::unique_ptr<Workspace>> w = Workspace::Open(ws);
  ::unsetenv("BUILD_WORKSPACE_DIRECTORY");
  EXPECT_TRUE(w.ok()) << w.status();
  return w.ok() ? (*w)->run_id() : 0;
}

// What the `source` line of `show run:N`'s text says.
std::string SourceLine(const std::string& out) {
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    if (absl::ConsumePrefix(&line, "source ")) {
      return std::string(absl::StripAsciiWhitespace(line));
    }
  }
  ADD_FAILURE() << "no source line in:\n" << out;
  return "";
}

TEST(CliSourceTest, ShowRunPrintsTheCommitAndUncommittedChanges) {
  if (std::system("git --version >/dev/null 2>&1") != 0) GTEST_SKIP() << "no git on PATH";
  const std::string root = test::MakeTempDir("cli_source");
  ::setenv("GIT_CEILING_DIRECTORIES", root.c_str(), 1);
  const std::string repo = root + "/repo";
  test::WriteTree(repo, {{"train.cc", "int main() {}\n"}});
  Git(repo, "init -q");
  Git(repo, "add train.cc");
  Git(repo, "commit -q -m first");
  const std::string head = Git(repo, "rev-parse HEAD");
  const std::string ws = root + "/ws";
  const int64_t clean = RecordRun(ws, repo);
  test::Spit(repo + "/train.cc", "int main() { return 1; }\n");
  const int64_t modified = RecordRun(ws, repo);
  const int64_t none = RecordRun(ws, root);  // no repository there

  const auto show = [&](int64_t run, bool json) {
    std::vector<std::string> args = {"--workspace", ws, "show", absl::StrCat("run:", run)};
    if (json) args.push_back("--json");
    const test::Result r = test::Spawn(g_mlops, args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  };
  EXPECT_EQ(SourceLine(show(clean, false)), head);
  EXPECT_EQ(SourceLine(show(modified, false)), absl::StrCat(head, " (uncommitted changes)"));
  EXPECT_THAT(SourceLine(show(none, false)), HasSubstr("unknown"));

  const auto environment = [&](int64_t run) {
    return test::Field(test::Field(test::ParseJson(show(run, true)), "run"), "environment");
  };
  EXPECT_EQ(test::Field(environment(clean), "source_revision").string_value(), head);
  EXPECT_EQ(test::Field(environment(clean), "source_modified").bool_value(), false);
  EXPECT_TRUE(test::Field(environment(clean), "source_modified").has_bool_value());
  EXPECT_EQ(test::Field(environment(modified), "source_modified").bool_value(), true);
  EXPECT_EQ(test::Field(environment(none), "source_revision").string_value(), "");
  EXPECT_TRUE(test::Field(environment(none), "source_modified").has_null_value());
}

}  // namespace
}  // namespace mlops

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s MLOPS\n", argv[0]);
    return 2;
  }
  mlops::g_mlops = argv[1];
  return RUN_ALL_TESTS();
}
