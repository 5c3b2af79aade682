// mlops/lineage/page.h — one page of a listing, and the token that continues it.
//
// Every query that can return many records pages the same way, as MLflow's search APIs do
// (`max_results`, `page_token`, `next_page_token`): the caller asks for at most
// `max_results` items (0, the default, means all of them), and the result says whether
// there are more. When there are, `next_page_token` is a non-empty opaque string; passing
// it back as `page_token`, with the same query, returns the items after those. Nothing is
// ever cut silently: a result with an empty `next_page_token` is the whole rest of the
// listing.
//
// Example:
//   mlops::PageRequest request;
//   request.max_results = 40;
//   do {
//     absl::StatusOr<mlops::Page<mlops::Execution>> page =
//         store->ExecutionsOfStep("train", request);
//     if (!page.ok()) return page.status();
//     for (const mlops::Execution& e : page->items) Use(e);
//     request.page_token = page->next_page_token;
//   } while (!request.page_token.empty());
//
// Tokens name a position in the listing's order (keyset paging), not an offset: records
// added while a caller pages through never make it see an item twice. A token is tied to
// the query it came from (method and arguments, not the page size, which may change from
// page to page); a token that is malformed or from another query is INVALID_ARGUMENT.
//
// The second half of this header is for implementations of paged queries (the lineage
// store; later mlops/track): the token format and the cutting of a fetched page.
//
// Thread safety: these are plain values and pure functions.
#ifndef MLOPS_LINEAGE_PAGE_H_
#define MLOPS_LINEAGE_PAGE_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mlops {

// Which page of a listing to return.
struct PageRequest {
  // At most this many items; 0 (the default) returns every item. Negative is
  // INVALID_ARGUMENT.
  int64_t max_results = 0;
  // Empty for the first page, else the `next_page_token` of the page before.
  std::string page_token;
};

// One page of a listing.
template <typename T>
struct Page {
  std::vector<T> items;
  // Empty when `items` reach the end of the listing; else the token of the next page.
  std::string next_page_token;

  bool has_more() const { return !next_page_token.empty(); }
};

// --- For implementations of paged queries. ---

// A token for the page after `position` (the sort key of the last item returned, as
// strings) of the listing `query` (a description of the query and its arguments, e.g.
// "ExecutionsOfStep\n" + step name, hashed into the token). Never empty.
std::string MakePageToken(absl::string_view query, const std::vector<std::string>& position);

// The position in `token`, which must come from MakePageToken(query, p) with p of
// `position_size` strings. INVALID_ARGUMENT, quoting the token (shortened), if it is not a
// token at all, or is one of another query or with another number of keys.
absl::StatusOr<std::vector<std::string>> ParsePageToken(absl::string_view token,
                                                        absl::string_view query,
                                                        size_t position_size);

// OK if `request.max_results` is not negative, else INVALID_ARGUMENT.
absl::Status CheckPageRequest(const PageRequest& request);

// How many rows to fetch for `request` to know whether more follow: max_results + 1, or
// -1 (SQLite's LIMIT for "all") for max_results 0. REQUIRES: CheckPageRequest(request).
int64_t RowsToFetch(const PageRequest& request);

// `rows` (fetched with RowsToFetch(request), in the listing's order) as a page: at most
// max_results items, and if rows were left over, the token after the last item kept.
// `position_of(item)` gives an item's sort key for MakePageToken.
template <typename T, typename PositionOf>
Page<T> CutPage(std::vector<T> rows, const PageRequest& request, absl::string_view query,
                PositionOf position_of) {
  Page<T> page;
  page.items = std::move(rows);
  if (request.max_results > 0 && page.items.size() > static_cast<size_t>(request.max_results)) {
    page.items.resize(static_cast<size_t>(request.max_results));
    page.next_page_token = MakePageToken(query, position_of(page.items.back()));
  }
  return page;
}

}  // namespace mlops

#endif  // MLOPS_LINEAGE_PAGE_H_
