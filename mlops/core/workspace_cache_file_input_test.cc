// File inputs: keyed by content, not path (also in a reopened workspace, whose saved stat
// cache must not hide an edit); a missing file or a directory is an error naming the path.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "mlops/core/step.h"
#include "mlops/core/stored.h"
#include "mlops/core/workspace.h"
#include "mlops/lineage/lineage.pb.h"
#include "mlops/testing/files.h"
#include "mlops/testing/workspace.h"

namespace mlops {
namespace {

namespace fs = std::filesystem;

using ::mlops::test::Executions;
using ::mlops::test::FreshDir;
using ::mlops::test::OpenWorkspace;
using ::mlops::test::Spit;

TEST(WorkspaceCacheTest, FileInputKeyFollowsContentNotPath) {
  const std::string dir = FreshDir();
  const std::string a = dir + "/a.txt";
  const std::string b = dir + "/b.txt";
  Spit(a, "hello, file");
  auto ws = OpenWorkspace(dir + "/ws");
  ASSERT_NE(ws, nullptr);
  std::atomic<int> calls{0};
  const auto read = MakeStep("read", 1, [&calls](const File& f) -> absl::StatusOr<std::string> {
    calls.fetch_add(1);
    std::ifstream in(f.path(), std::ios::binary);
    if (!in) return absl::NotFoundError(f.path());
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  });
  absl::StatusOr<Stored<std::string>> r = ws->Call(read, File(a));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(**r, "hello, file");
  EXPECT_EQ(calls.load(), 1);

  // The same content at another path: a hit.
  fs::copy_file(a, b);
  absl::StatusOr<Stored<std::string>> copy = ws->Call(read, File(b));
  ASSERT_TRUE(copy.ok()) << copy.status();
  EXPECT_EQ(**copy, "hello, file");
  EXPECT_EQ(calls.load(), 1);

  // New content at the same path (same size, right away): a miss.
  Spit(a, "HELLO, FILE");
  absl::StatusOr<Stored<std::string>> changed = ws->Call(read, File(a));
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_EQ(**changed, "HELLO, FILE");
  EXPECT_EQ(calls.load(), 2);

  // Back to the old content: a hit on the first result.
  Spit(a, "hello, file");
  absl::StatusOr<Stored<std::string>> back = ws->Call(read, File(a));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(**back, "hello, file");
  EXPECT_EQ(calls.load(), 2);

  // Lineage: the input is the file, by path and content digest.
  const std::vector<Execution> execs = Executions(*ws);
  ASSERT_EQ(execs.size(), 4u);
  const std::vector<std::string> paths = {a, b, a, a};
  const std::vector<std::string> contents = {"hello, file", "hello, file", "HELLO, FILE",
                                             "hello, file"};
  for (size_t i = 0; i < execs.size(); ++i) {
    ASSERT_EQ(execs[i].inputs_size(), 1);
    const ArtifactRef& in = execs[i].inputs(0);
    EXPECT_EQ(in.label(), paths[i]);
    EXPECT_EQ(in.uri(), paths[i]);
    EXPECT_EQ(in.type_name(), "file");
    EXPECT_EQ(in.digest(), Digest::Of(contents[i]).ToHex());
  }
  EXPECT_EQ(execs[1].status(), Execution::CACHED);
  EXPECT_EQ(execs[2].status(), Execution::SUCCEEDED);
  absl::StatusOr<Artifact> art = ws->lineage().GetArtifact(Digest::Of("HELLO, FILE"));
  ASSERT_TRUE(art.ok()) << art.status();
  EXPECT_EQ(art->type_name(), "file");
  EXPECT_EQ(art->uri(), a);
}

TEST(WorkspaceCacheTest, FileInputKeyCarriesOverToAReopenedWorkspace) {
  const std::string dir = FreshDir();
  const std::string path = dir + "/data.bin";
  Spit(path, std::string(100000, 'x'));
  std::atomic<int> calls{0};
  const auto size = MakeStep("size", 1, [&calls](const File& f) {
    calls.fetch_add(1);
    return static_cast<int64_t>(fs::file_size(f.path()));
  });
  {
    auto ws = OpenWorkspace(dir + "/ws");
    ASSERT_NE(ws, nullptr);
    absl::StatusOr<Stored<int64_t>> r = ws->Call(size, File(path));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(**r, 100000);
  }
  {
    auto ws = OpenWorkspace(dir + "/ws");
    ASSERT_NE(ws, nullptr);
    absl::StatusOr<Stored<int64_t>> r = ws->Call(size, File(path));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(calls.load(), 1);
    Spit(path, std::string(100000, 'y'));
  }
  {
    auto ws = OpenWorkspace(dir + "/ws");
    ASSERT_NE(ws, nullptr);
    absl::StatusOr<Stored<int64_t>> r = ws->Call(size, File(path));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(calls.load(), 2);  // the saved stat cache did not hide the edit
  }
}

TEST(WorkspaceCacheTest, MissingFileIsNotFoundNamingThePath) {
  const std::string dir = FreshDir();
  auto ws = OpenWorkspace(dir + "/ws");
  ASSERT_NE(ws, nullptr);
  int calls = 0;
  const auto read = MakeStep("read", 1, [&calls](const File& f, int n) {
    ++calls;
    return f.path().size() + static_cast<size_t>(n);
  });
  const std::string missing = dir + "/no/such/file.csv";
  auto r = ws->Call(read, File(missing), 1);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound) << r.status();
  EXPECT_NE(r.status().message().find(missing), std::string::npos) << r.status();
  EXPECT_EQ(calls, 0);
  // Nothing was recorded as executed.
  const std::vector<Execution> execs = Executions(*ws);
  EXPECT_TRUE(execs.empty());
  // A directory is not a file input.
  auto d = ws->Call(read, File(dir), 1);
  EXPECT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find(dir), std::string::npos) << d.status();
  EXPECT_EQ(calls, 0);
}

}  // namespace
}  // namespace mlops
