// Internal: how the lineage store's paged queries (ExecutionsOfStep, FindRuns,
// FindArtifactsByPrefix) describe themselves in page tokens (mlops/lineage/page.h) and
// where their tokens resume.
//
// ExecutionsOfStep and FindRuns list newest first, by start time in whole microseconds
// (the *_us columns), then by id, both descending; a page resumes strictly after the last
// (start, id) returned. FindArtifactsByPrefix lists by digest and resumes after the last
// digest.
//
// Thread safety: these are pure functions.
#ifndef MLOPS_LINEAGE_INTERNAL_PAGING_H_
#define MLOPS_LINEAGE_INTERNAL_PAGING_H_

#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "mlops/hash/digest.h"
#include "mlops/lineage/lineage.pb.h"
#include "mlops/lineage/lineage_store.h"
#include "mlops/lineage/page.h"

namespace mlops {
namespace lineage_internal {

// The descriptions hashed into each query's tokens: the method and every argument but the
// page.
std::string StepQuery(absl::string_view step_name);
std::string RunsQuery(const RunFilter& filter);
std::string PrefixQuery(absl::string_view lowercase_prefix);

// A position in a newest-first listing: the items strictly older than (start_us, id) come
// next. The default is before the newest item, i.e. the first page.
struct NewestFirst {
  int64_t start_us = std::numeric_limits<int64_t>::max();
  int64_t id = std::numeric_limits<int64_t>::max();
};

// Where `request` resumes a newest-first listing `query`: the first page for an empty
// token. INVALID_ARGUMENT for a negative max_results or a token that is malformed or of
// another query.
absl::StatusOr<NewestFirst> ResumeNewestFirst(const PageRequest& request,
                                              absl::string_view query);
// The token position of an execution or a run in a newest-first listing.
std::vector<std::string> PositionOf(const Execution& e);
std::vector<std::string> PositionOf(const Run& r);

// Where `request` resumes FindArtifactsByPrefix(`query`): nullopt for the first page, else
// the last digest returned. Errors as ResumeNewestFirst.
absl::StatusOr<std::optional<Digest>> ResumeAfterDigest(const PageRequest& request,
                                                        absl::string_view query);

}  // namespace lineage_internal
}  // namespace mlops

#endif  // MLOPS_LINEAGE_INTERNAL_PAGING_H_
