#include "mlops/core/workspace.h"

#include "gtest/gtest.h"

namespace mlops {
namespace {

TEST(WorkspaceSmoke, HitAndMiss) {
  auto ws = Workspace::Open(::testing::TempDir() + "/ws_smoke");
  ASSERT_TRUE(ws.ok()) << ws.status();
  int calls = 0;
  const auto square = MakeStep("square", 1, [&calls](int x) { ++calls; return x * x; });
  auto a = (*ws)->Call(square, 7);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(**a, 49);
  auto b = (*ws)->Call(square, 7);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(**b, 49);
  EXPECT_EQ(calls, 1);
  const auto split = MakeStep("split", 1, [](Context& ctx, const std::vector<double>& v)
                                              -> absl::StatusOr<std::tuple<double, double>> {
    ctx.LogMetric("n", static_cast<double>(v.size()));
    if (v.empty()) return absl::InvalidArgumentError("empty");
    return std::make_tuple(v.front(), v.back());
  });
  auto s = (*ws)->Call(split, std::vector<double>{1, 2, 3});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(*std::get<0>(*s), 1);
  EXPECT_EQ(*std::get<1>(*s), 3);
  auto e = (*ws)->Call(split, std::vector<double>{});
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(e.status().message().find("split"), std::string::npos) << e.status();
  auto hist = (*ws)->lineage().ExecutionsOfRun((*ws)->run_id());
  ASSERT_TRUE(hist.ok());
  EXPECT_EQ(hist->size(), 4u);
}

}  // namespace
}  // namespace mlops
