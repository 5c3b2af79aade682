// Compiled by core_compile_regression_test.sh, never by the build: a step with no inputs
// (e.g. one that downloads a fixed data set) must compile and be callable.
#include <string>

#include "mlops/core/workspace.h"

void Use(mlops::Workspace& ws) {
  const auto constant = mlops::MakeStep("constant", 1, [] { return std::string("c"); });
  (void)ws.Call(constant);
  const auto with_context =
      mlops::MakeStep("with_context", 1, [](mlops::Context& ctx) { return ctx.seed(); });
  (void)ws.Call(with_context);
}
