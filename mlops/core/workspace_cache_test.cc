// Hits and misses, and what goes into the action key: step name, version, codec signatures
// and input digests; Stored<T> arguments keyed like their plain values.
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "mlops/codec/codec.h"
#include "mlops/core/step.h"
#include "mlops/core/stored.h"
#include "mlops/core/workspace.h"
#include "mlops/core/workspace_cache_testing.h"
#include "mlops/lineage/lineage.pb.h"
#include "mlops/testing/workspace.h"

namespace mlops {
namespace {

using ::mlops::test::Executions;
using ::mlops::test::InMemoryWorkspace;
using ::mlops::test::Ramp;

// The step "ramp" (version 1): Ramp(n, scale), counting its runs in `*calls`.
auto CountingRamp(int* calls) {
  return MakeStep("ramp", 1, [calls](int n, double scale) {
    ++*calls;
    return Ramp(n, scale);
  });
}

TEST(WorkspaceCacheTest, SameInputsComputeOnceAndHitsReturnEqualValues) {
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  int calls = 0;
  const auto ramp = CountingRamp(&calls);
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
  const auto ramp = CountingRamp(&calls);
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

}  // namespace
}  // namespace mlops
