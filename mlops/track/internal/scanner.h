// mlops/track/internal/scanner.h — the cursor that ParseFilter and ParseOrderBy share: it
// walks the input, reads the identifiers both grammars use, and builds INVALID_ARGUMENT
// errors that quote the input with a caret under a position.
//
// Thread safety: a Scanner is used by one thread at a time.
#ifndef MLOPS_TRACK_INTERNAL_SCANNER_H_
#define MLOPS_TRACK_INTERNAL_SCANNER_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "mlops/track/filter.h"

namespace mlops {
namespace track {
namespace internal {

// MLflow's limits: names (keys) and string values, in bytes.
inline constexpr size_t kMaxKeyBytes = 250;
inline constexpr size_t kMaxStringValueBytes = 6000;

// `input` on one line (tabs and line breaks as spaces), shortened around `pos` when long,
// and a caret under the character at byte offset `pos` (or just past the end when `pos` is
// input.size()), each line indented by two spaces: "  <input>\n  <spaces>^".
std::string QuoteWithCaret(absl::string_view input, size_t pos);

// `text` for quoting inside a message: itself if at most 60 bytes, else its first
// characters (cut at a UTF-8 character boundary) and "...".
std::string Excerpt(absl::string_view text);

class Scanner {
 public:
  // `what` names the input in errors: "filter" or "order_by". `input` must outlive this.
  Scanner(absl::string_view input, absl::string_view what) : input_(input), what_(what) {}

  size_t pos() const { return pos_; }
  bool AtEnd() const { return pos_ >= input_.size(); }
  // The byte at pos(); '\0' at the end.
  char Peek() const { return AtEnd() ? '\0' : input_[pos_]; }
  // The UTF-8 character at pos() (all its bytes); empty at the end.
  absl::string_view NextChar() const;
  // The input from byte `from` to pos().
  absl::string_view TextFrom(size_t from) const { return input_.substr(from, pos_ - from); }

  // Moves back to byte `pos`, one returned by pos() earlier.
  void Rewind(size_t pos) { pos_ = pos; }
  void SkipSpace();
  // Consumes `c` if it is next.
  bool Consume(char c);
  // Consumes and returns the run of [A-Za-z0-9_] at pos() (empty if there is none).
  absl::string_view ReadWord();
  // Consumes the word at pos() if it equals `keyword` ignoring case.
  bool ConsumeKeyword(absl::string_view keyword);

  // INVALID_ARGUMENT "invalid <what>: <message>\n<QuoteWithCaret(input, at)>".
  absl::Status Error(size_t at, absl::string_view message) const;

  // Reads `type.key` at pos() (see filter.h). On failure the position is unspecified.
  absl::StatusOr<Identifier> ReadIdentifier();

 private:
  absl::StatusOr<std::string> ReadKey(absl::string_view type_text);

  absl::string_view input_;
  absl::string_view what_;
  size_t pos_ = 0;
};

// Whether `id` is an attribute compared as a number (start_time, end_time).
bool IsNumericAttribute(const Identifier& id);

}  // namespace internal
}  // namespace track
}  // namespace mlops

#endif  // MLOPS_TRACK_INTERNAL_SCANNER_H_
