// Test helpers for paged listings (mlops/lineage/page.h).
//
//   Whole(page)            the items of a page that must be the whole listing;
//   AllPages(fetch, size)  every item of a listing, fetched `size` at a time.
//
// Example:
//   absl::StatusOr<std::vector<Execution>> all = test::Whole(store->ExecutionsOfStep("train"));
//   absl::StatusOr<std::vector<Execution>> paged = test::AllPages<Execution>(
//       [&](const PageRequest& r) { return store->ExecutionsOfStep("train", r); }, 40);
//
// Thread safety: plain functions.
#ifndef MLOPS_TESTING_PAGES_H_
#define MLOPS_TESTING_PAGES_H_

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "mlops/lineage/page.h"

namespace mlops {
namespace test {

// The items of `page`; its error, or INTERNAL if it says that more items follow (a listing
// asked for without a page size must come back whole).
template <typename T>
absl::StatusOr<std::vector<T>> Whole(absl::StatusOr<Page<T>> page) {
  if (!page.ok()) return page.status();
  if (page->has_more()) {
    return absl::InternalError(absl::StrCat("a listing asked for whole came back cut after ",
                                            page->items.size(), " items"));
  }
  return std::move(page->items);
}

// Every item of a listing, in order, fetched through `fetch` (PageRequest ->
// StatusOr<Page<T>>) `page_size` at a time until a page has no next_page_token. The first
// error; INTERNAL if a page is larger than `page_size`, or if a page other than the last is
// short or empty (a listing that pages must not stall). `pages`, if given, gets the number
// of pages fetched.
template <typename T, typename Fetch>
absl::StatusOr<std::vector<T>> AllPages(Fetch fetch, int64_t page_size, int* pages = nullptr) {
  std::vector<T> all;
  PageRequest request;
  request.max_results = page_size;
  int n = 0;
  while (true) {
    absl::StatusOr<Page<T>> page = fetch(request);
    if (!page.ok()) return page.status();
    ++n;
    if (page->items.size() > static_cast<size_t>(page_size)) {
      return absl::InternalError(absl::StrCat("page ", n, " has ", page->items.size(),
                                              " items, more than the ", page_size, " asked"));
    }
    if (page->has_more() && page->items.size() != static_cast<size_t>(page_size)) {
      return absl::InternalError(absl::StrCat("page ", n, " has ", page->items.size(),
                                              " items of ", page_size, " yet says more follow"));
    }
    for (T& item : page->items) all.push_back(std::move(item));
    if (!page->has_more()) break;
    request.page_token = page->next_page_token;
  }
  if (pages != nullptr) *pages = n;
  return all;
}

}  // namespace test
}  // namespace mlops

#endif  // MLOPS_TESTING_PAGES_H_
