// Status assertions shared by tests:
//   ASSERT_OK(status_expr);  EXPECT_OK(status_expr);
//   ASSERT_OK_AND_ASSIGN(auto value, status_or_expr);   // fails the test (returns) on error
//   EXPECT_THAT(status_or_status_or, StatusIs(absl::StatusCode::kNotFound));
// Each failure message shows the expression and the status it gave.
#ifndef MLOPS_TESTING_STATUS_MATCHERS_H_
#define MLOPS_TESTING_STATUS_MATCHERS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mlops {
namespace test {

inline absl::Status StatusOf(const absl::Status& s) { return s; }
template <typename T>
absl::Status StatusOf(const absl::StatusOr<T>& s) {
  return s.status();
}

// Matches an absl::Status, or an absl::StatusOr<T>, whose code is `code`.
MATCHER_P(StatusIs, code, absl::StrCat("has status code ", absl::StatusCodeToString(code))) {
  const absl::Status s = ::mlops::test::StatusOf(arg);
  *result_listener << "whose status is " << s;
  return s.code() == code;
}

}  // namespace test
}  // namespace mlops

#define MLOPS_TEST_CONCAT_INNER(a, b) a##b
#define MLOPS_TEST_CONCAT(a, b) MLOPS_TEST_CONCAT_INNER(a, b)

#define ASSERT_OK(expr)                                                   \
  do {                                                                    \
    const absl::Status _mlops_status = (expr);                            \
    ASSERT_TRUE(_mlops_status.ok()) << #expr << " -> " << _mlops_status; \
  } while (0)

#define EXPECT_OK(expr)                                                   \
  do {                                                                    \
    const absl::Status _mlops_status = (expr);                            \
    EXPECT_TRUE(_mlops_status.ok()) << #expr << " -> " << _mlops_status; \
  } while (0)

#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  ASSERT_OK_AND_ASSIGN_IMPL(MLOPS_TEST_CONCAT(_mlops_status_or_, __LINE__), lhs, expr)
#define ASSERT_OK_AND_ASSIGN_IMPL(so, lhs, expr)          \
  auto so = (expr);                                       \
  ASSERT_TRUE(so.ok()) << #expr << " -> " << so.status(); \
  lhs = std::move(*so)

#endif  // MLOPS_TESTING_STATUS_MATCHERS_H_
