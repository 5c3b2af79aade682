// The source revision recorded in every Run (issue 13, item 7b: it was empty in the
// quickstart, which `bazel run` starts outside the checkout): the commit git reports and
// whether tracked files had uncommitted changes; empty without git or a repository, and
// never a wait past the timeout.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "mlops/core/environment.h"
#include "mlops/core/workspace.h"
#include "mlops/lineage/lineage.pb.h"
#include "mlops/testing/files.h"

namespace mlops {
namespace {

using ::mlops::test::FreshDir;

// Runs git in `dir` through the shell (the test's own way, independent of the code under
// test) and returns its trimmed output; fails the test if git fails.
std::string Git(const std::string& dir, const std::string& args) {
  const std::string out = FreshDir() + "/git.out";
  const std::string cmd = absl::StrCat("git -C '", dir,
                                       "' -c user.name=mlops -c user.email=mlops@example.com "
                                       "-c init.defaultBranch=main ",
                                       args, " >'", out, "' 2>&1");
  const int rc = std::system(cmd.c_str());
  EXPECT_EQ(rc, 0) << cmd << "\n" << test::Slurp(out);
  return std::string(absl::StripAsciiWhitespace(test::Slurp(out)));
}

// Sets an environment variable for the life of the object, then restores it.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    const char* old = std::getenv(name);
    if (old != nullptr) old_ = old;
    had_ = old != nullptr;
    if (value == nullptr) {
      ::unsetenv(name);
    } else {
      ::setenv(name, value, 1);
    }
  }
  ~ScopedEnv() {
    if (had_) {
      ::setenv(name_, old_.c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::string old_;
  bool had_ = false;
};

class SourceRevisionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::system("git --version >/dev/null 2>&1") != 0) GTEST_SKIP() << "no git on PATH";
    // Whatever holds the test's directories is no repository of ours.
    root_ = FreshDir();
    ceiling_ = std::make_unique<ScopedEnv>("GIT_CEILING_DIRECTORIES", root_.c_str());
  }

  // A repository below root_ with one commit of a.txt; returns its path.
  std::string CommittedRepo() {
    const std::string repo = root_ + "/repo";
    test::WriteTree(repo, {{"a.txt", "one\n"}, {"sub/b.txt", "two\n"}});
    Git(repo, "init -q");
    Git(repo, "add a.txt sub/b.txt");
    Git(repo, "commit -q -m first");
    return repo;
  }

  std::string root_;
  std::unique_ptr<ScopedEnv> ceiling_;
};

TEST_F(SourceRevisionTest, ACommittedTreeHasItsCommitAndIsClean) {
  const std::string repo = CommittedRepo();
  const std::string head = Git(repo, "rev-parse HEAD");
  SourceRevision rev = GitSourceRevision(repo);
  EXPECT_EQ(rev.commit, head);
  EXPECT_EQ(rev.commit.size(), 40u);
  EXPECT_EQ(rev.state, Environment::SOURCE_CLEAN);
  // From a subdirectory, the same; an untracked file is no uncommitted change.
  test::Spit(repo + "/sub/untracked.txt", "new\n");
  rev = GitSourceRevision(repo + "/sub");
  EXPECT_EQ(rev.commit, head);
  EXPECT_EQ(rev.state, Environment::SOURCE_CLEAN);
  // Through a symbolic link from outside the repository, and in a worktree (whose .git is
  // a file), as git finds them.
  ASSERT_EQ(::symlink((repo + "/sub").c_str(), (root_ + "/link").c_str()), 0);
  EXPECT_EQ(GitSourceRevision(root_ + "/link").commit, head);
  Git(repo, absl::StrCat("worktree add -q --detach '", root_, "/worktree'"));
  EXPECT_EQ(GitSourceRevision(root_ + "/worktree").commit, head);
}

TEST_F(SourceRevisionTest, AModifiedTrackedFileMakesTheTreeModified) {
  const std::string repo = CommittedRepo();
  const std::string head = Git(repo, "rev-parse HEAD");
  test::Spit(repo + "/a.txt", "changed\n");
  SourceRevision rev = GitSourceRevision(repo);
  EXPECT_EQ(rev.commit, head);
  EXPECT_EQ(rev.state, Environment::SOURCE_MODIFIED);
  // Staged but not committed counts too; the repository's index is not rewritten by asking.
  Git(repo, "add a.txt");
  struct stat before;
  ASSERT_EQ(::stat((repo + "/.git/index").c_str(), &before), 0);
  rev = GitSourceRevision(repo);
  EXPECT_EQ(rev.state, Environment::SOURCE_MODIFIED);
  struct stat after;
  ASSERT_EQ(::stat((repo + "/.git/index").c_str(), &after), 0);
  EXPECT_EQ(before.st_mtim.tv_sec, after.st_mtim.tv_sec);
  EXPECT_EQ(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);
}

TEST_F(SourceRevisionTest, NoRepositoryNoCommitOrNoGitIsEmpty) {
  SourceRevision rev = GitSourceRevision(root_);  // a directory in no repository
  EXPECT_EQ(rev.commit, "");
  EXPECT_EQ(rev.state, Environment::SOURCE_STATE_UNKNOWN);
  EXPECT_EQ(GitSourceRevision(root_ + "/does-not-exist").commit, "");
  EXPECT_EQ(GitSourceRevision("").commit, "");

  const std::string empty = root_ + "/empty";  // a repository without a commit
  ::mkdir(empty.c_str(), 0755);
  Git(empty, "init -q");
  rev = GitSourceRevision(empty);
  EXPECT_EQ(rev.commit, "");
  EXPECT_EQ(rev.state, Environment::SOURCE_STATE_UNKNOWN);

  const std::string repo = CommittedRepo();
  ScopedEnv no_git("PATH", "/nonexistent-dir");
  EXPECT_EQ(GitSourceRevision(repo).commit, "");
}

TEST_F(SourceRevisionTest, AGitThatHangsIsKilledAtTheTimeout) {
  const std::string repo = CommittedRepo();
  const std::string bin = root_ + "/bin";
  test::WriteTree(bin, {{"git", "#!/bin/sh\nsleep 30\n"}});
  ASSERT_EQ(::chmod((bin + "/git").c_str(), 0755), 0);
  ScopedEnv hanging_git("PATH", absl::StrCat(bin, ":/bin:/usr/bin").c_str());
  const absl::Time start = absl::Now();
  const SourceRevision rev = GitSourceRevision(repo, absl::Milliseconds(300));
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  EXPECT_EQ(rev.commit, "");
}

TEST_F(SourceRevisionTest, RunsRecordTheSourceTreeUnderBazelRun) {
  const std::string repo = CommittedRepo();
  const std::string head = Git(repo, "rev-parse HEAD");
  test::Spit(repo + "/a.txt", "changed\n");
  ScopedEnv no_override("MLOPS_SOURCE_REVISION", nullptr);
  // `bazel run` starts the program in its runfiles, and names the source tree so.
  ScopedEnv source_tree("BUILD_WORKSPACE_DIRECTORY", repo.c_str());
  const Environment env = CaptureEnvironment();
  EXPECT_EQ(env.source_revision(), head);
  EXPECT_EQ(env.source_state(), Environment::SOURCE_MODIFIED);

  absl::StatusOr<std::unique_ptr<Workspace>> ws = Workspace::Open(FreshDir());
  ASSERT_TRUE(ws.ok()) << ws.status();
  absl::StatusOr<mlops::Run> run = (*ws)->lineage().GetRun((*ws)->run_id());
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->environment().source_revision(), head);
  EXPECT_EQ(run->environment().source_state(), Environment::SOURCE_MODIFIED);

  // $MLOPS_SOURCE_REVISION wins, and git is not asked.
  ScopedEnv given("MLOPS_SOURCE_REVISION", "release-1.2");
  const Environment overridden = CaptureEnvironment();
  EXPECT_EQ(overridden.source_revision(), "release-1.2");
  EXPECT_EQ(overridden.source_state(), Environment::SOURCE_STATE_UNKNOWN);
}

}  // namespace
}  // namespace mlops
