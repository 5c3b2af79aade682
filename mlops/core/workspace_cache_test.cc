// Hits and misses: what goes into the action key (step name, version, codec signatures,
// input digests), Stored<T> arguments, file inputs, a workspace reopened as a second run
// of a program, and corrupt stored outputs and records.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include <sqlite3.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "mlops/codec/codec.h"
#include "mlops/core/context.h"
#include "mlops/core/step.h"
#include "mlops/core/stored.h"
#include "mlops/core/workspace.h"
#include "mlops/core/workspace_layout.h"
#include "mlops/lineage/lineage.pb.h"
#include "mlops/testing/files.h"
#include "mlops/testing/workspace.h"

namespace mlops {
namespace {

namespace fs = std::filesystem;

using ::mlops::test::Executions;
using ::mlops::test::Exists;
using ::mlops::test::FreshDir;
using ::mlops::test::InMemoryWorkspace;
using ::mlops::test::OpenWorkspace;
using ::mlops::test::Slurp;
using ::mlops::test::Spit;
using ::mlops::test::ValuePath;

std::vector<double> Ramp(int n, double scale) {
  std::vector<double> v(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) v[static_cast<size_t>(i)] = i * scale;
  return v;
}

// ---------------------------------------------------------------------------------------

TEST(WorkspaceCacheTest, SameInputsComputeOnceAndHitsReturnEqualValues) {
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  int calls = 0;
  const auto ramp = MakeStep("ramp", 1, [&calls](int n, double scale) {
    ++calls;
    return Ramp(n, scale);
  });
  const std::vector<double> want = Ramp(1000, 0.5);
  absl::StatusOr<Stored<std::vector<double>>> first = ws->Call(ramp, 1000, 0.5);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(**first, want);
  EXPECT_EQ(first->digest(), Hash(want));
  EXPECT_EQ(first->size(), static_cast<int64_t>(Encode(want).size()));
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<Stored<std::vector<double>>> again = ws->Call(ramp, 1000, 0.5);
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(**again, want);
    EXPECT_EQ(again->digest(), first->digest());
    EXPECT_EQ(again->size(), first->size());
  }
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(ws->stats().misses, 1);
  EXPECT_EQ(ws->stats().hits, 3);
  EXPECT_EQ(ws->stats().failures, 0);

  const std::vector<Execution> execs = Executions(*ws);
  ASSERT_EQ(execs.size(), 4u);
  EXPECT_EQ(execs[0].status(), Execution::SUCCEEDED);
  EXPECT_FALSE(execs[0].cache_hit());
  for (size_t i = 1; i < execs.size(); ++i) {
    EXPECT_EQ(execs[i].status(), Execution::CACHED);
    EXPECT_TRUE(execs[i].cache_hit());
    EXPECT_EQ(execs[i].action_key(), execs[0].action_key());
    ASSERT_EQ(execs[i].outputs_size(), 1);
    EXPECT_EQ(execs[i].outputs(0).digest(), Hash(want).ToHex());
  }
  for (const Execution& e : execs) {
    EXPECT_EQ(e.run_id(), ws->run_id());
    EXPECT_EQ(e.step_name(), "ramp");
    EXPECT_EQ(e.step_version(), "1");
    ASSERT_EQ(e.inputs_size(), 2);
    EXPECT_EQ(e.inputs(0).name(), "arg0");
    EXPECT_EQ(e.inputs(0).digest(), Hash(1000).ToHex());
    EXPECT_EQ(e.inputs(0).type_name(), CodecName<int>());
    EXPECT_EQ(e.inputs(0).size(), static_cast<int64_t>(Encode(1000).size()));
    EXPECT_EQ(e.inputs(1).name(), "arg1");
    EXPECT_EQ(e.inputs(1).digest(), Hash(0.5).ToHex());
  }
}

TEST(WorkspaceCacheTest, DifferentInputsRecompute) {
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  int calls = 0;
  const auto ramp = MakeStep("ramp", 1, [&calls](int n, double scale) {
    ++calls;
    return Ramp(n, scale);
  });
  ASSERT_TRUE(ws->Call(ramp, 10, 1.0).ok());
  ASSERT_TRUE(ws->Call(ramp, 11, 1.0).ok());
  ASSERT_TRUE(ws->Call(ramp, 10, 2.0).ok());
  ASSERT_TRUE(ws->Call(ramp, 10, -0.0).ok());
  ASSERT_TRUE(ws->Call(ramp, 10, 0.0).ok());  // -0.0 and 0.0 encode differently
  EXPECT_EQ(calls, 5);
  absl::StatusOr<Stored<std::vector<double>>> r = ws->Call(ramp, 11, 1.0);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(**r, Ramp(11, 1.0));
  EXPECT_EQ(calls, 5);
}

TEST(WorkspaceCacheTest, VersionAndNameArePartOfTheKey) {
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  int calls = 0;
  auto fn = [&calls](int x) {
    ++calls;
    return x + 100 * calls;  // tells which computation a result came from
  };
  const auto v1 = MakeStep("add", 1, fn);
  const auto v2 = MakeStep("add", 2, fn);
  const auto other = MakeStep("add2", 1, fn);
  absl::StatusOr<Stored<int>> a = ws->Call(v1, 1);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(**a, 101);
  absl::StatusOr<Stored<int>> b = ws->Call(v2, 1);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(**b, 201);
  absl::StatusOr<Stored<int>> c = ws->Call(other, 1);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(**c, 301);
  EXPECT_EQ(calls, 3);
  // Each keeps its own result.
  EXPECT_EQ(**ws->Call(v1, 1), 101);
  EXPECT_EQ(**ws->Call(v2, 1), 201);
  EXPECT_EQ(**ws->Call(other, 1), 301);
  EXPECT_EQ(calls, 3);

  const std::vector<Execution> execs = Executions(*ws);
  ASSERT_EQ(execs.size(), 6u);
  EXPECT_NE(execs[0].action_key(), execs[1].action_key());
  EXPECT_NE(execs[0].action_key(), execs[2].action_key());
  EXPECT_NE(execs[1].action_key(), execs[2].action_key());
  EXPECT_EQ(execs[1].step_version(), "2");
  EXPECT_EQ(execs[2].step_name(), "add2");
}

TEST(WorkspaceCacheTest, ActionKeyIsAFunctionOfTheRequest) {
  ActionRequest r;
  r.step_name = "s";
  r.step_version = 1;
  r.inputs.resize(1);
  r.inputs[0].signature = CodecSignature<int32_t>();
  r.inputs[0].digest = Hash(int32_t{5});
  r.output_signature = CodecSignature<std::tuple<int32_t>>();
  const Digest base = Workspace::ActionKey(r);
  EXPECT_EQ(Workspace::ActionKey(r), base);
  // What does not go into the key: names, labels, type names, sizes, the mode.
  ActionRequest same = r;
  same.inputs[0].name = "x";
  same.inputs[0].label = "label";
  same.inputs[0].uri = "uri";
  same.inputs[0].type_name = "whatever";
  same.inputs[0].size = 1234;
  same.mode = CacheMode::kForce;
  EXPECT_EQ(Workspace::ActionKey(same), base);
  // What does.
  ActionRequest changed = r;
  changed.step_name = "t";
  EXPECT_NE(Workspace::ActionKey(changed), base);
  changed = r;
  changed.step_version = 2;
  EXPECT_NE(Workspace::ActionKey(changed), base);
  changed = r;
  changed.inputs[0].signature = CodecSignature<uint32_t>();
  EXPECT_NE(Workspace::ActionKey(changed), base);
  changed = r;
  changed.inputs[0].digest = Hash(int32_t{6});
  EXPECT_NE(Workspace::ActionKey(changed), base);
  changed = r;
  changed.output_signature = CodecSignature<std::tuple<uint32_t>>();
  EXPECT_NE(Workspace::ActionKey(changed), base);
  changed = r;
  changed.inputs.push_back(r.inputs[0]);
  EXPECT_NE(Workspace::ActionKey(changed), base);
  // Field boundaries are unambiguous: ("ab", "c") vs ("a", "bc").
  ActionRequest x = r, y = r;
  x.step_name = "ab";
  x.inputs[0].signature = "c";
  y.step_name = "a";
  y.inputs[0].signature = "bc";
  EXPECT_NE(Workspace::ActionKey(x), Workspace::ActionKey(y));
}

TEST(WorkspaceCacheTest, CodecSignatureIsPartOfTheKey) {
  // int32 5 and uint32 5 have the same bytes and digest...
  ASSERT_EQ(Encode(int32_t{5}), Encode(uint32_t{5}));
  ASSERT_EQ(Hash(int32_t{5}), Hash(uint32_t{5}));
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  int calls = 0;
  // ...but a step taking one is a different action from a step (same name and version)
  // taking the other.
  const auto signed_step = MakeStep("twice", 1, [&calls](int32_t x) {
    ++calls;
    return int64_t{2} * x;
  });
  const auto unsigned_step = MakeStep("twice", 1, [&calls](uint32_t x) {
    ++calls;
    return int64_t{2} * x;
  });
  ASSERT_TRUE(ws->Call(signed_step, int32_t{5}).ok());
  ASSERT_TRUE(ws->Call(unsigned_step, uint32_t{5}).ok());
  EXPECT_EQ(calls, 2);

  // The same for outputs: a step that now returns another type with the same bytes must
  // not be answered with the old type's record.
  const auto out_signed = MakeStep("out", 1, [&calls](int x) {
    ++calls;
    return static_cast<int32_t>(-x);
  });
  const auto out_unsigned = MakeStep("out", 1, [&calls](int x) {
    ++calls;
    return static_cast<uint32_t>(x);
  });
  absl::StatusOr<Stored<int32_t>> s = ws->Call(out_signed, 7);
  ASSERT_TRUE(s.ok()) << s.status();
  absl::StatusOr<Stored<uint32_t>> u = ws->Call(out_unsigned, 7);
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(**u, 7u);
  EXPECT_EQ(calls, 4);

  const std::vector<Execution> execs = Executions(*ws);
  ASSERT_EQ(execs.size(), 4u);
  EXPECT_EQ(execs[0].inputs(0).digest(), execs[1].inputs(0).digest());
  EXPECT_NE(execs[0].action_key(), execs[1].action_key());
  EXPECT_EQ(execs[0].inputs(0).type_name(), CodecName<int32_t>());
  EXPECT_EQ(execs[1].inputs(0).type_name(), CodecName<uint32_t>());
  EXPECT_NE(execs[2].action_key(), execs[3].action_key());
}

TEST(WorkspaceCacheTest, StoredArgumentHasTheSameKeyAsThePlainValue) {
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  int make_calls = 0;
  int sum_calls = 0;
  const auto make = MakeStep("make", 1, [&make_calls](int n) {
    ++make_calls;
    return Ramp(n, 0.25);
  });
  const auto sum = MakeStep("sum", 1, [&sum_calls](const std::vector<double>& v, double bias) {
    ++sum_calls;
    double s = bias;
    for (double d : v) s += d;
    return s;
  });
  absl::StatusOr<Stored<std::vector<double>>> made = ws->Call(make, 100);
  ASSERT_TRUE(made.ok()) << made.status();
  // Stored<T> for T, as an lvalue, a const lvalue and an rvalue.
  absl::StatusOr<Stored<double>> a = ws->Call(sum, *made, 1.0);
  ASSERT_TRUE(a.ok()) << a.status();
  const Stored<std::vector<double>>& cref = *made;
  absl::StatusOr<Stored<double>> b = ws->Call(sum, cref, 1.0);
  ASSERT_TRUE(b.ok()) << b.status();
  absl::StatusOr<Stored<double>> c = ws->Call(sum, Stored<std::vector<double>>(*made), 1.0);
  ASSERT_TRUE(c.ok()) << c.status();
  // The plain value: same key.
  absl::StatusOr<Stored<double>> d = ws->Call(sum, Ramp(100, 0.25), 1.0);
  ASSERT_TRUE(d.ok()) << d.status();
  // A Stored<T> built from a value (it hashes the value) for the second argument too.
  absl::StatusOr<Stored<double>> e = ws->Call(sum, *made, Stored<double>(1.0));
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(make_calls, 1);
  EXPECT_EQ(sum_calls, 1);
  double want = 1.0;
  for (double x : Ramp(100, 0.25)) want += x;
  EXPECT_EQ(**a, want);
  EXPECT_EQ(**d, want);
  EXPECT_EQ(**e, want);

  const std::vector<Execution> execs = Executions(*ws);
  ASSERT_EQ(execs.size(), 6u);
  for (size_t i = 1; i < execs.size(); ++i) {
    EXPECT_EQ(execs[i].step_name(), "sum");
    EXPECT_EQ(execs[i].action_key(), execs[1].action_key());
    ASSERT_EQ(execs[i].inputs_size(), 2);
    // The output of `make` is the input of `sum`: one artifact.
    EXPECT_EQ(execs[i].inputs(0).digest(), execs[0].outputs(0).digest());
    EXPECT_EQ(execs[i].inputs(0).size(), made->size());
  }
  // The lineage links them: `sum`'s computing execution consumed `make`'s output.
  absl::StatusOr<std::vector<Execution>> consumers = ws->lineage().Consumers(made->digest());
  ASSERT_TRUE(consumers.ok()) << consumers.status();
  ASSERT_FALSE(consumers->empty());
  EXPECT_EQ((*consumers)[0].step_name(), "sum");
}

TEST(WorkspaceCacheTest, ReopenedWorkspaceHitsAsASecondRun) {
  const std::string dir = FreshDir();
  std::atomic<int> calls{0};
  const auto step = MakeStep("pair", 3, [&calls](const std::string& s, int n)
                                            -> absl::StatusOr<std::tuple<std::string, int64_t>> {
    calls.fetch_add(1);
    std::string out;
    for (int i = 0; i < n; ++i) out += s;
    return std::make_tuple(out, static_cast<int64_t>(out.size()));
  });
  int64_t first_run = 0;
  std::vector<std::string> first_digests;
  {
    auto ws = OpenWorkspace(dir);
    ASSERT_NE(ws, nullptr);
    first_run = ws->run_id();
    auto r = ws->Call(step, std::string("ab"), 3);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(*std::get<0>(*r), "ababab");
    EXPECT_EQ(*std::get<1>(*r), 6);
    first_digests = {std::get<0>(*r).digest().ToHex(), std::get<1>(*r).digest().ToHex()};
  }
  EXPECT_EQ(calls.load(), 1);
  {
    auto ws = OpenWorkspace(dir);
    ASSERT_NE(ws, nullptr);
    EXPECT_NE(ws->run_id(), first_run);
    auto r = ws->Call(step, std::string("ab"), 3);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(calls.load(), 1);  // answered from the disk
    EXPECT_EQ(*std::get<0>(*r), "ababab");
    EXPECT_EQ(*std::get<1>(*r), 6);
    EXPECT_EQ(std::get<0>(*r).digest(), Hash(std::string("ababab")));
    EXPECT_EQ(std::get<1>(*r).digest(), Hash(int64_t{6}));
    EXPECT_EQ(std::get<0>(*r).size(), static_cast<int64_t>(Encode(std::string("ababab")).size()));
    EXPECT_EQ(ws->stats().hits, 1);
    EXPECT_EQ(ws->stats().misses, 0);

    const std::vector<Execution> execs = Executions(*ws);
    ASSERT_EQ(execs.size(), 1u);
    EXPECT_EQ(execs[0].run_id(), ws->run_id());
    EXPECT_TRUE(execs[0].cache_hit());
    EXPECT_EQ(execs[0].status(), Execution::CACHED);
    ASSERT_EQ(execs[0].outputs_size(), 2);
    EXPECT_EQ(execs[0].outputs(0).digest(), first_digests[0]);
    EXPECT_EQ(execs[0].outputs(1).digest(), first_digests[1]);

    // The first run's record is in the same database, as a computing execution.
    absl::StatusOr<std::vector<Execution>> old = ws->lineage().ExecutionsOfRun(first_run);
    ASSERT_TRUE(old.ok()) << old.status();
    ASSERT_EQ(old->size(), 1u);
    EXPECT_EQ((*old)[0].status(), Execution::SUCCEEDED);
    EXPECT_FALSE((*old)[0].cache_hit());
    EXPECT_EQ((*old)[0].action_key(), execs[0].action_key());
    ASSERT_EQ((*old)[0].outputs_size(), 2);
    EXPECT_EQ((*old)[0].outputs(0).digest(), first_digests[0]);
  }
  // A workspace in another directory shares nothing.
  {
    auto ws = OpenWorkspace(dir + "_other");
    ASSERT_NE(ws, nullptr);
    ASSERT_TRUE(ws->Call(step, std::string("ab"), 3).ok());
    EXPECT_EQ(calls.load(), 2);
  }
}

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

TEST(WorkspaceCacheTest, CorruptStoredOutputIsRecomputedNeverReturned) {
  const std::string dir = FreshDir();
  std::atomic<int> calls{0};
  const auto make = MakeStep("make", 1, [&calls](int n) {
    calls.fetch_add(1);
    return Ramp(n, 1.5);
  });
  const std::vector<double> want = Ramp(500, 1.5);
  std::string path;
  {
    auto ws = OpenWorkspace(dir);
    ASSERT_NE(ws, nullptr);
    absl::StatusOr<Stored<std::vector<double>>> r = ws->Call(make, 500);
    ASSERT_TRUE(r.ok()) << r.status();
    path = ValuePath(dir, r->digest());
    ASSERT_TRUE(ws->Flush().ok());  // the value is written behind
    ASSERT_TRUE(Exists(path)) << path;
    ASSERT_EQ(Slurp(path), Encode(want));
  }
  // Flip one bit of one element: still a valid encoding of a vector<double>, but not the
  // value that was stored.
  {
    std::string bytes = Slurp(path);
    bytes[bytes.size() / 2] ^= 0x01;
    fs::permissions(path, fs::perms::owner_write, fs::perm_options::add);
    Spit(path, bytes);
  }
  {
    auto ws = OpenWorkspace(dir);
    ASSERT_NE(ws, nullptr);
    absl::StatusOr<Stored<std::vector<double>>> r = ws->Call(make, 500);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(**r, want);
    EXPECT_EQ(r->digest(), Hash(want));
    EXPECT_EQ(calls.load(), 2);
    const std::vector<Execution> execs = Executions(*ws);
    ASSERT_EQ(execs.size(), 1u);
    EXPECT_EQ(execs[0].status(), Execution::SUCCEEDED);
  }
  // The repaired entry serves the next run.
  {
    auto ws = OpenWorkspace(dir);
    ASSERT_NE(ws, nullptr);
    absl::StatusOr<Stored<std::vector<double>>> r = ws->Call(make, 500);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(**r, want);
    EXPECT_EQ(calls.load(), 2);
    ASSERT_TRUE(Exists(path)) << path;
    EXPECT_EQ(Slurp(path), Encode(want));
  }
  // Truncated and deleted outputs are misses too.
  for (int kind = 0; kind < 2; ++kind) {
    if (kind == 0) {
      fs::resize_file(path, 3);
    } else {
      fs::remove(path);
    }
    auto ws = OpenWorkspace(dir);
    ASSERT_NE(ws, nullptr);
    absl::StatusOr<Stored<std::vector<double>>> r = ws->Call(make, 500);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(**r, want);
    EXPECT_EQ(calls.load(), 3 + kind);
  }
}

TEST(WorkspaceCacheTest, CorruptOutputOfATupleStepIsRecomputed) {
  const std::string dir = FreshDir();
  std::atomic<int> calls{0};
  const auto step = MakeStep("two", 1, [&calls](int n) {
    calls.fetch_add(1);
    return std::make_tuple(std::string(static_cast<size_t>(n), 'a'), Ramp(n, 2.0));
  });
  std::string path;
  {
    auto ws = OpenWorkspace(dir);
    ASSERT_NE(ws, nullptr);
    auto r = ws->Call(step, 64);
    ASSERT_TRUE(r.ok()) << r.status();
    path = ValuePath(dir, std::get<1>(*r).digest());
  }
  {
    ASSERT_TRUE(Exists(path)) << path;
    std::string bytes = Slurp(path);
    bytes.back() ^= 0x40;
    fs::permissions(path, fs::perms::owner_write, fs::perm_options::add);
    Spit(path, bytes);
  }
  auto ws = OpenWorkspace(dir);
  ASSERT_NE(ws, nullptr);
  auto r = ws->Call(step, 64);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*std::get<0>(*r), std::string(64, 'a'));
  EXPECT_EQ(*std::get<1>(*r), Ramp(64, 2.0));
  EXPECT_EQ(calls.load(), 2);
}

TEST(WorkspaceCacheTest, CorruptActionRecordIsAMiss) {
  const std::string dir = FreshDir();
  std::atomic<int> calls{0};
  const auto step = MakeStep("neg", 1, [&calls](int x) {
    calls.fetch_add(1);
    return -x;
  });
  std::string key;
  {
    auto ws = OpenWorkspace(dir);
    ASSERT_NE(ws, nullptr);
    ASSERT_TRUE(ws->Call(step, 4).ok());
    const std::vector<Execution> execs = Executions(*ws);
    ASSERT_EQ(execs.size(), 1u);
    key = execs[0].action_key();
  }
  // Garble the key's record in <dir>/ac/records.db.
  {
    const std::string db_path = WorkspaceLayout(dir).records_db();
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK) << db_path;
    sqlite3_stmt* q = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT key, record FROM records", -1, &q, nullptr),
              SQLITE_OK);
    ASSERT_EQ(sqlite3_step(q), SQLITE_ROW) << "no action record in " << db_path;
    const std::string row_key(static_cast<const char*>(sqlite3_column_blob(q, 0)),
                              static_cast<size_t>(sqlite3_column_bytes(q, 0)));
    std::string bytes(static_cast<const char*>(sqlite3_column_blob(q, 1)),
                      static_cast<size_t>(sqlite3_column_bytes(q, 1)));
    EXPECT_EQ(sqlite3_step(q), SQLITE_DONE) << "more than one record";
    sqlite3_finalize(q);
    ASSERT_EQ(Digest::FromBytes(reinterpret_cast<const unsigned char*>(row_key.data())).ToHex(),
              key);
    ASSERT_FALSE(bytes.empty());
    for (char& c : bytes) c = static_cast<char>(c ^ 0x5a);
    ASSERT_EQ(sqlite3_prepare_v2(db, "UPDATE records SET record = ?1", -1, &q, nullptr),
              SQLITE_OK);
    sqlite3_bind_blob(q, 1, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
    ASSERT_EQ(sqlite3_step(q), SQLITE_DONE);
    sqlite3_finalize(q);
    sqlite3_close(db);
  }
  auto ws = OpenWorkspace(dir);
  ASSERT_NE(ws, nullptr);
  absl::StatusOr<Stored<int>> r = ws->Call(step, 4);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(**r, -4);
  EXPECT_EQ(calls.load(), 2);
  absl::StatusOr<Stored<int>> again = ws->Call(step, 4);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(calls.load(), 2);
}

TEST(WorkspaceCacheTest, MemoryTierServesHitsWhenTheDiskEntryIsGone) {
  // Within one Workspace a hit may come from process memory; what it returns is still the
  // value that was computed.
  const std::string dir = FreshDir();
  auto ws = OpenWorkspace(dir);
  ASSERT_NE(ws, nullptr);
  int calls = 0;
  const auto step = MakeStep("s", 1, [&calls](int x) {
    ++calls;
    return std::to_string(x);
  });
  absl::StatusOr<Stored<std::string>> r = ws->Call(step, 12345);
  ASSERT_TRUE(r.ok()) << r.status();
  fs::remove(ValuePath(dir, r->digest()));
  absl::StatusOr<Stored<std::string>> again = ws->Call(step, 12345);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(**again, "12345");
  EXPECT_LE(calls, 2);
}

TEST(WorkspaceCacheTest, NoMemoryTierStillHitsFromDisk) {
  const std::string dir = FreshDir();
  WorkspaceOptions options;
  options.memory_cache_bytes = 0;
  auto ws = OpenWorkspace(dir, options);
  ASSERT_NE(ws, nullptr);
  int calls = 0;
  const auto step = MakeStep("s", 1, [&calls](int x) {
    ++calls;
    return Ramp(x, 1.0);
  });
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<Stored<std::vector<double>>> r = ws->Call(step, 50);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(**r, Ramp(50, 1.0));
  }
  EXPECT_EQ(calls, 1);
}

TEST(WorkspaceCacheTest, SmallMemoryTierEvictsButNeverReturnsWrongValues) {
  // A memory tier that holds about two results: hits keep coming (from the disk once
  // evicted) and each is the value of its own key.
  const std::string dir = FreshDir();
  WorkspaceOptions options;
  options.memory_cache_bytes = 2 * static_cast<int64_t>(Encode(Ramp(20, 1.0)).size()) + 4;
  auto ws = OpenWorkspace(dir, options);
  ASSERT_NE(ws, nullptr);
  int calls = 0;
  const auto step = MakeStep("ramp", 1, [&calls](double scale) {
    ++calls;
    return Ramp(20, scale);
  });
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 10; ++i) {
      absl::StatusOr<Stored<std::vector<double>>> r = ws->Call(step, 1.0 + i);
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_EQ(**r, Ramp(20, 1.0 + i));
      EXPECT_EQ(r->digest(), Hash(Ramp(20, 1.0 + i)));
    }
    // Most recent first, too.
    for (int i = 9; i >= 0; --i) {
      absl::StatusOr<Stored<std::vector<double>>> r = ws->Call(step, 1.0 + i);
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_EQ(**r, Ramp(20, 1.0 + i));
    }
  }
  EXPECT_EQ(calls, 10);
  EXPECT_EQ(ws->stats().hits, 50);
}

TEST(WorkspaceCacheTest, OpenErrorsNameThePath) {
  const std::string dir = FreshDir();
  absl::StatusOr<std::unique_ptr<Workspace>> empty = Workspace::Open("");
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string file = dir + "/a_file";
  Spit(file, "not a directory");
  absl::StatusOr<std::unique_ptr<Workspace>> ws = Workspace::Open(file);
  EXPECT_FALSE(ws.ok());
  EXPECT_NE(ws.status().message().find(file), std::string::npos) << ws.status();
}

}  // namespace
}  // namespace mlops
