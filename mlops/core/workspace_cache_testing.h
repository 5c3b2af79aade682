// What the workspace_cache_*_test files share: Ramp, a step output of any size whose every
// element is known.
//
// Example:
//   const auto make = MakeStep("make", 1, [](int n) { return Ramp(n, 0.5); });
//
// Thread safety: Ramp keeps no state.
#ifndef MLOPS_CORE_WORKSPACE_CACHE_TESTING_H_
#define MLOPS_CORE_WORKSPACE_CACHE_TESTING_H_

#include <cstddef>
#include <vector>

namespace mlops {
namespace test {

// {0, scale, 2 * scale, ..., (n - 1) * scale}. REQUIRES: n >= 0.
inline std::vector<double> Ramp(int n, double scale) {
  std::vector<double> v(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) v[static_cast<size_t>(i)] = i * scale;
  return v;
}

}  // namespace test
}  // namespace mlops

#endif  // MLOPS_CORE_WORKSPACE_CACHE_TESTING_H_
