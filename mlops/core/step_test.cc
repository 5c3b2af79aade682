// Steps of every supported shape: lambdas, function pointers and functors; with and without
// a Context; returning T, StatusOr<T>, a tuple of outputs and a StatusOr of a tuple. Each is
// called through an in-memory Workspace and checked by its call counter, its result's
// digests and its lineage record.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "mlops/codec/codec.h"
#include "mlops/core/context.h"
#include "mlops/core/step.h"
#include "mlops/core/stored.h"
#include "mlops/core/workspace.h"
#include "mlops/lineage/lineage.pb.h"
#include "mlops/testing/workspace.h"

namespace steptest {

struct Point {
  double x = 0;
  double y = 0;
  std::string label;
};
MLOPS_CODEC_FIELDS(Point, x, y, label);

bool operator==(const Point& a, const Point& b) {
  return a.x == b.x && a.y == b.y && a.label == b.label;
}

}  // namespace steptest

namespace mlops {
namespace {

using ::mlops::test::Executions;
using ::mlops::test::InMemoryWorkspace;
using steptest::Point;

template <typename T>
void ExpectStoredMatches(const Stored<T>& s, const T& expected) {
  EXPECT_TRUE(s.value() == expected);
  EXPECT_EQ(s.digest(), Hash(expected));
  EXPECT_EQ(s.size(), static_cast<int64_t>(Encode(expected).size()));
}

// ---------------------------------------------------------------------------------------
// Compile-time properties of Step.

int PlainFunction(int x) { return x + 1; }
absl::StatusOr<std::string> StatusOrFunction(Context& ctx, const std::string& s) {
  (void)ctx;
  return s;
}

struct ConstFunctor {
  std::tuple<int, double> operator()(const std::vector<int>& v, double d) const {
    return {static_cast<int>(v.size()), d};
  }
};

struct NoexceptFunctor {
  int operator()(int x) const noexcept { return x; }
};

[[maybe_unused]] auto kLambda = [](Context&, const Point& p, int n) -> absl::StatusOr<std::tuple<Point, int>> {
  return std::make_tuple(p, n);
};

using LambdaStep = decltype(MakeStep("l", 1, kLambda));
using FnStep = decltype(MakeStep("f", 1, PlainFunction));
using FnPtrStep = decltype(MakeStep("f", 1, &PlainFunction));
using StatusOrFnStep = decltype(MakeStep("s", 1, &StatusOrFunction));
using FunctorStep = decltype(MakeStep("c", 1, ConstFunctor{}));
using NoexceptStep = decltype(MakeStep("n", 1, NoexceptFunctor{}));

static_assert(LambdaStep::kTakesContext);
static_assert(std::is_same_v<LambdaStep::Inputs, std::tuple<Point, int>>);
static_assert(std::is_same_v<LambdaStep::Output, std::tuple<Point, int>>);
static_assert(LambdaStep::kReturnsStatusOr);
static_assert(LambdaStep::kMultipleOutputs);

static_assert(std::is_same_v<FnStep, FnPtrStep>);
static_assert(!FnStep::kTakesContext);
static_assert(std::is_same_v<FnStep::Inputs, std::tuple<int>>);
static_assert(std::is_same_v<FnStep::Output, int>);
static_assert(!FnStep::kReturnsStatusOr);
static_assert(!FnStep::kMultipleOutputs);

static_assert(StatusOrFnStep::kTakesContext);
static_assert(std::is_same_v<StatusOrFnStep::Inputs, std::tuple<std::string>>);
static_assert(std::is_same_v<StatusOrFnStep::Output, std::string>);
static_assert(StatusOrFnStep::kReturnsStatusOr);

static_assert(!FunctorStep::kTakesContext);
static_assert(std::is_same_v<FunctorStep::Inputs, std::tuple<std::vector<int>, double>>);
static_assert(std::is_same_v<FunctorStep::Output, std::tuple<int, double>>);
static_assert(FunctorStep::kMultipleOutputs);
static_assert(!FunctorStep::kReturnsStatusOr);

static_assert(std::is_same_v<NoexceptStep::Inputs, std::tuple<int>>);

TEST(StepTest, NameVersionAndCallable) {
  const auto step = MakeStep("name", 7, &PlainFunction);
  EXPECT_EQ(step.name(), "name");
  EXPECT_EQ(step.version(), 7);
  EXPECT_EQ(step.fn()(1), 2);
  const Step ctad("ctad", 3, ConstFunctor{});  // class template argument deduction
  EXPECT_EQ(ctad.version(), 3);
}

// ---------------------------------------------------------------------------------------
// Callable kinds.

TEST(StepTest, LambdaWithoutContextReturningT) {
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  int calls = 0;
  const auto step = MakeStep("lambda", 1, [&calls](int a, const std::string& b) {
    ++calls;
    return b + ":" + std::to_string(a);
  });
  absl::StatusOr<Stored<std::string>> r = ws->Call(step, 3, std::string("x"));
  ASSERT_TRUE(r.ok()) << r.status();
  ExpectStoredMatches<std::string>(*r, "x:3");
  absl::StatusOr<Stored<std::string>> again = ws->Call(step, 3, std::string("x"));
  ASSERT_TRUE(again.ok()) << again.status();
  ExpectStoredMatches<std::string>(*again, "x:3");
  EXPECT_EQ(calls, 1);
}

std::atomic<int> g_function_calls{0};
int64_t SquareFunction(int64_t x) {
  g_function_calls.fetch_add(1);
  return x * x;
}

TEST(StepTest, FunctionPointer) {
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  g_function_calls = 0;
  const auto by_ptr = MakeStep("square_fn", 1, &SquareFunction);
  const auto by_ref = MakeStep("square_fn", 1, SquareFunction);  // decays to a pointer
  absl::StatusOr<Stored<int64_t>> a = ws->Call(by_ptr, int64_t{12});
  ASSERT_TRUE(a.ok()) << a.status();
  ExpectStoredMatches<int64_t>(*a, 144);
  absl::StatusOr<Stored<int64_t>> b = ws->Call(by_ref, int64_t{12});
  ASSERT_TRUE(b.ok()) << b.status();
  ExpectStoredMatches<int64_t>(*b, 144);
  EXPECT_EQ(g_function_calls.load(), 1);  // same name, version and input: one key
  absl::StatusOr<Stored<int64_t>> c = ws->Call(by_ptr, int64_t{5});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(**c, 25);
  EXPECT_EQ(g_function_calls.load(), 2);
}

struct CountingFunctor {
  std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);
  Point operator()(const Point& p, double scale) const {
    calls->fetch_add(1);
    return Point{p.x * scale, p.y * scale, p.label + "*"};
  }
};

TEST(StepTest, Functor) {
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  CountingFunctor functor;
  const auto step = MakeStep("scale", 1, functor);
  const Point in{1.5, -2, "p"};
  const Point want{3, -4, "p*"};
  absl::StatusOr<Stored<Point>> a = ws->Call(step, in, 2.0);
  ASSERT_TRUE(a.ok()) << a.status();
  ExpectStoredMatches(*a, want);
  absl::StatusOr<Stored<Point>> b = ws->Call(step, in, 2.0);
  ASSERT_TRUE(b.ok()) << b.status();
  ExpectStoredMatches(*b, want);
  EXPECT_EQ(functor.calls->load(), 1);
}

TEST(StepTest, NoexceptFunctor) {
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  absl::StatusOr<Stored<int>> n = ws->Call(MakeStep("noexcept", 1, NoexceptFunctor{}), 9);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(**n, 9);

  // (A step with no inputs does not compile: see core_compile_regression_test.)
}

TEST(StepTest, WithContext) {
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  int calls = 0;
  const auto step = MakeStep("with_ctx", 2, [&calls](Context& ctx, int x) {
    ++calls;
    EXPECT_EQ(ctx.step_name(), "with_ctx");
    return x * 2;
  });
  absl::StatusOr<Stored<int>> a = ws->Call(step, 21);
  ASSERT_TRUE(a.ok()) << a.status();
  ExpectStoredMatches(*a, 42);
  absl::StatusOr<Stored<int>> b = ws->Call(step, 21);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(**b, 42);
  EXPECT_EQ(calls, 1);

  // A function pointer taking a Context, returning StatusOr.
  absl::StatusOr<Stored<std::string>> s =
      ws->Call(MakeStep("statusor_fn", 1, &StatusOrFunction), std::string("hello"));
  ASSERT_TRUE(s.ok()) << s.status();
  ExpectStoredMatches<std::string>(*s, "hello");

  // A const Context& also counts as the Context parameter.
  const auto const_ctx = MakeStep("const_ctx", 1, [](const Context& ctx, int x) {
    return static_cast<int64_t>(ctx.seed() % 1000) + x;
  });
  static_assert(std::decay_t<decltype(const_ctx)>::kTakesContext);
  absl::StatusOr<Stored<int64_t>> c = ws->Call(const_ctx, 1);
  ASSERT_TRUE(c.ok()) << c.status();
}

TEST(StepTest, ReturningStatusOr) {
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  int calls = 0;
  const auto step = MakeStep("sqrt_int", 1, [&calls](int x) -> absl::StatusOr<int> {
    ++calls;
    if (x < 0) return absl::InvalidArgumentError("negative");
    int r = 0;
    while ((r + 1) * (r + 1) <= x) ++r;
    return r;
  });
  absl::StatusOr<Stored<int>> a = ws->Call(step, 17);
  ASSERT_TRUE(a.ok()) << a.status();
  ExpectStoredMatches(*a, 4);
  absl::StatusOr<Stored<int>> b = ws->Call(step, 17);
  ASSERT_TRUE(b.ok()) << b.status();
  ExpectStoredMatches(*b, 4);
  EXPECT_EQ(calls, 1);
  absl::StatusOr<Stored<int>> bad = ws->Call(step, -1);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(calls, 2);
}

TEST(StepTest, ReturningTupleGivesSeparateStoredOutputs) {
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  int calls = 0;
  const auto step = MakeStep("stats", 1, [&calls](const std::vector<double>& v) {
    ++calls;
    double sum = 0;
    for (double d : v) sum += d;
    return std::make_tuple(sum, static_cast<int64_t>(v.size()), std::string("done"));
  });
  const std::vector<double> in = {1, 2, 3.5};
  auto r = ws->Call(step, in);
  static_assert(std::is_same_v<decltype(r), absl::StatusOr<std::tuple<Stored<double>, Stored<int64_t>,
                                                                       Stored<std::string>>>>);
  ASSERT_TRUE(r.ok()) << r.status();
  ExpectStoredMatches(std::get<0>(*r), 6.5);
  ExpectStoredMatches<int64_t>(std::get<1>(*r), 3);
  ExpectStoredMatches<std::string>(std::get<2>(*r), "done");

  auto hit = ws->Call(step, in);
  ASSERT_TRUE(hit.ok()) << hit.status();
  ExpectStoredMatches(std::get<0>(*hit), 6.5);
  ExpectStoredMatches<int64_t>(std::get<1>(*hit), 3);
  ExpectStoredMatches<std::string>(std::get<2>(*hit), "done");
  EXPECT_EQ(calls, 1);

  // Lineage: three outputs named "0", "1", "2" with the digests of the values, in both the
  // computing and the cached execution.
  std::vector<Execution> execs = Executions(*ws);
  ASSERT_EQ(execs.size(), 2u);
  EXPECT_EQ(execs[0].status(), Execution::SUCCEEDED);
  EXPECT_EQ(execs[1].status(), Execution::CACHED);
  for (const Execution& e : execs) {
    ASSERT_EQ(e.outputs_size(), 3) << e.DebugString();
    EXPECT_EQ(e.outputs(0).name(), "0");
    EXPECT_EQ(e.outputs(1).name(), "1");
    EXPECT_EQ(e.outputs(2).name(), "2");
    EXPECT_EQ(e.outputs(0).digest(), Hash(6.5).ToHex());
    EXPECT_EQ(e.outputs(1).digest(), Hash(int64_t{3}).ToHex());
    EXPECT_EQ(e.outputs(2).digest(), Hash(std::string("done")).ToHex());
    EXPECT_EQ(e.outputs(0).type_name(), CodecName<double>());
    EXPECT_EQ(e.outputs(1).size(), static_cast<int64_t>(Encode(int64_t{3}).size()));
    ASSERT_EQ(e.inputs_size(), 1);
    EXPECT_EQ(e.inputs(0).digest(), Hash(in).ToHex());
  }
  // Each output is in the content store on its own.
  for (const std::string& bytes : {Encode(6.5), Encode(int64_t{3}), Encode(std::string("done"))}) {
    absl::StatusOr<Blob> blob = ws->store().Get(Digest::Of(bytes));
    ASSERT_TRUE(blob.ok()) << blob.status();
    EXPECT_EQ(blob->ToString(), bytes);
  }
}

TEST(StepTest, ReturningStatusOrTupleWithContext) {
  auto ws = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  int calls = 0;
  const auto split = MakeStep(
      "split", 1,
      [&calls](Context& ctx, const std::vector<double>& v)
          -> absl::StatusOr<std::tuple<std::vector<double>, std::vector<double>>> {
        ++calls;
        ctx.LogMetric("n", static_cast<double>(v.size()));
        if (v.empty()) return absl::InvalidArgumentError("nothing to split");
        const auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
        return std::make_tuple(std::vector<double>(v.begin(), mid),
                               std::vector<double>(mid, v.end()));
      });
  const std::vector<double> in = {1, 2, 3, 4, 5};
  const std::vector<double> left = {1, 2};
  const std::vector<double> right = {3, 4, 5};
  auto r = ws->Call(split, in);
  ASSERT_TRUE(r.ok()) << r.status();
  ExpectStoredMatches(std::get<0>(*r), left);
  ExpectStoredMatches(std::get<1>(*r), right);
  auto hit = ws->Call(split, in);
  ASSERT_TRUE(hit.ok()) << hit.status();
  ExpectStoredMatches(std::get<0>(*hit), left);
  ExpectStoredMatches(std::get<1>(*hit), right);
  EXPECT_EQ(calls, 1);

  auto err = ws->Call(split, std::vector<double>{});
  EXPECT_EQ(err.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(err.status().message().find("split"), std::string::npos) << err.status();
  EXPECT_NE(err.status().message().find("nothing to split"), std::string::npos) << err.status();
  EXPECT_EQ(calls, 2);
}

TEST(StepTest, InputsByValueAndByConstReferenceGiveTheSameKey) {
  // Two functions under one step in one workspace are refused (step_identity_test), so
  // each is called in a workspace of its own, and their action keys compared.
  auto ws = InMemoryWorkspace();
  auto other = InMemoryWorkspace();
  ASSERT_NE(ws, nullptr);
  ASSERT_NE(other, nullptr);
  int calls = 0;
  const auto by_value = MakeStep("len", 1, [&calls](std::string s) {
    ++calls;
    return static_cast<int64_t>(s.size());
  });
  const auto by_ref = MakeStep("len", 1, [&calls](const std::string& s) {
    ++calls;
    return static_cast<int64_t>(s.size());
  });
  const std::string text = "abcdef";
  absl::StatusOr<Stored<int64_t>> a = other->Call(by_value, text);
  ASSERT_TRUE(a.ok()) << a.status();
  absl::StatusOr<Stored<int64_t>> b = ws->Call(by_ref, text);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(**b, 6);
  absl::StatusOr<Execution> by_value_call = other->lineage().GetExecution(a->execution_id());
  absl::StatusOr<Execution> by_ref_call = ws->lineage().GetExecution(b->execution_id());
  ASSERT_TRUE(by_value_call.ok() && by_ref_call.ok());
  EXPECT_EQ(by_value_call->action_key(), by_ref_call->action_key());
  EXPECT_EQ(calls, 2);
  // An lvalue, an rvalue, a const lvalue and a converted argument (const char*) are all the
  // same input.
  const std::string& cref = text;
  ASSERT_TRUE(ws->Call(by_ref, cref).ok());
  ASSERT_TRUE(ws->Call(by_ref, std::string("abcdef")).ok());
  ASSERT_TRUE(ws->Call(by_ref, "abcdef").ok());
  EXPECT_EQ(calls, 2);
  // The argument is not moved from or modified.
  EXPECT_EQ(text, "abcdef");
}

}  // namespace
}  // namespace mlops
