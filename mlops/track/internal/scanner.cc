#include "mlops/track/internal/scanner.h"

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "mlops/track/filter.h"

namespace mlops {
namespace track {
namespace internal {
namespace {

// How many characters of a long input are shown each side of the caret.
constexpr size_t kContextChars = 50;

bool IsWordChar(char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool IsPlainKeyChar(char c) { return IsWordChar(c) || c == '.' || c == '-'; }
bool IsUtf8Continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

struct TypeName {
  absl::string_view name;
  Field field;
};
constexpr TypeName kTypes[] = {
    {"metrics", Field::kMetric},
    {"metric", Field::kMetric},
    {"params", Field::kParam},
    {"param", Field::kParam},
    {"parameters", Field::kParam},
    {"tags", Field::kTag},
    {"tag", Field::kTag},
    {"attributes", Field::kAttribute},
    {"attribute", Field::kAttribute},
    {"attr", Field::kAttribute},
    {"run", Field::kAttribute},
};

struct AttributeName {
  absl::string_view name;
  Attribute attribute;
  absl::string_view canonical;
};
constexpr AttributeName kAttributes[] = {
    {"status", Attribute::kStatus, "status"},
    {"run_name", Attribute::kRunName, "run_name"},
    {"name", Attribute::kRunName, "run_name"},
    {"run_id", Attribute::kRunId, "run_id"},
    {"id", Attribute::kRunId, "run_id"},
    {"experiment", Attribute::kExperiment, "experiment"},
    {"start_time", Attribute::kStartTime, "start_time"},
    {"end_time", Attribute::kEndTime, "end_time"},
};

}  // namespace

std::string QuoteWithCaret(absl::string_view input, size_t pos) {
  // Byte offsets where characters start, and the character the caret is under.
  std::vector<size_t> starts;
  size_t caret = 0;
  for (size_t i = 0; i < input.size(); ++i) {
    if (IsUtf8Continuation(input[i])) continue;
    if (i < pos) ++caret;
    starts.push_back(i);
  }
  starts.push_back(input.size());
  const size_t chars = starts.size() - 1;
  size_t first = 0;
  size_t last = chars;
  if (chars > 2 * kContextChars) {
    first = caret > kContextChars ? caret - kContextChars : 0;
    last = caret + kContextChars < chars ? caret + kContextChars : chars;
  }
  std::string line(input.substr(starts[first], starts[last] - starts[first]));
  for (char& c : line) {
    if (c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') c = ' ';
  }
  size_t column = caret - first;
  if (first > 0) {
    line.insert(0, "...");
    column += 3;
  }
  if (last < chars) line += "...";
  return absl::StrCat("  ", line, "\n  ", std::string(column, ' '), "^");
}

std::string Excerpt(absl::string_view text) {
  constexpr size_t kMaxExcerptBytes = 60;
  if (text.size() <= kMaxExcerptBytes) return std::string(text);
  size_t cut = kMaxExcerptBytes;
  while (cut > 0 && IsUtf8Continuation(text[cut])) --cut;
  return absl::StrCat(text.substr(0, cut), "...");
}

absl::string_view Scanner::NextChar() const {
  size_t end = pos_;
  if (end < input_.size()) ++end;
  while (end < input_.size() && IsUtf8Continuation(input_[end])) ++end;
  return input_.substr(pos_, end - pos_);
}

void Scanner::SkipSpace() {
  while (!AtEnd() && absl::ascii_isspace(static_cast<unsigned char>(input_[pos_]))) ++pos_;
}

bool Scanner::Consume(char c) {
  if (AtEnd() || input_[pos_] != c) return false;
  ++pos_;
  return true;
}

absl::string_view Scanner::ReadWord() {
  const size_t start = pos_;
  while (!AtEnd() && IsWordChar(input_[pos_])) ++pos_;
  return TextFrom(start);
}

bool Scanner::ConsumeKeyword(absl::string_view keyword) {
  const size_t start = pos_;
  if (absl::EqualsIgnoreCase(ReadWord(), keyword)) return true;
  pos_ = start;
  return false;
}

absl::Status Scanner::Error(size_t at, absl::string_view message) const {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid ", what_, ": ", message, "\n", QuoteWithCaret(input_, at)));
}

absl::StatusOr<Identifier> Scanner::ReadIdentifier() {
  const size_t start = pos_;
  const absl::string_view type = ReadWord();
  if (type.empty()) {
    return Error(start,
                 "expected an identifier such as metrics.auc, params.lr, tags.team "
                 "or attributes.status");
  }
  Identifier id;
  for (const TypeName& t : kTypes) {
    if (absl::EqualsIgnoreCase(type, t.name)) id.field = t.field;
  }
  if (id.field == Field::kUnknown) {
    if (Peek() != '.') {
      return Error(start, absl::StrCat("expected an identifier <type>.<key>, such as metrics.",
                                       type, ", not '", type, "'"));
    }
    return Error(start, absl::StrCat("unknown identifier type '", type,
                                     "': expected metrics, params, tags or attributes"));
  }
  if (!Consume('.')) {
    return Error(pos_, absl::StrCat("expected '.' and a key after '", type, "'"));
  }
  const size_t key_start = pos_;
  absl::StatusOr<std::string> key = ReadKey(type);
  if (!key.ok()) return key.status();
  if (key->size() > kMaxKeyBytes) {
    return Error(key_start, absl::StrCat("key is ", key->size(), " bytes long; at most ",
                                         kMaxKeyBytes, " are allowed"));
  }
  id.key = *std::move(key);
  if (id.field == Field::kAttribute) {
    for (const AttributeName& a : kAttributes) {
      if (id.key == a.name) {
        id.attribute = a.attribute;
        id.key = std::string(a.canonical);
        return id;
      }
    }
    return Error(key_start, absl::StrCat("unknown attribute '", id.key,
                                         "': expected status, run_name (or name), run_id (or "
                                         "id), experiment, start_time or end_time"));
  }
  return id;
}

absl::StatusOr<std::string> Scanner::ReadKey(absl::string_view type_text) {
  const size_t start = pos_;
  const char quote = Peek();
  if (quote == '`' || quote == '"') {
    ++pos_;
    const size_t close = input_.find(quote, pos_);
    if (close == absl::string_view::npos) {
      return Error(start, quote == '`' ? "unterminated backquoted key: no closing '`'"
                                       : "unterminated quoted key: no closing '\"'");
    }
    std::string key(input_.substr(pos_, close - pos_));
    pos_ = close + 1;
    if (key.empty()) return Error(start, absl::StrCat("empty key after '", type_text, ".'"));
    return key;
  }
  if (quote == '\'') {
    return Error(start,
                 "a key is quoted with backquotes (`a key`) or double quotes, not "
                 "single quotes");
  }
  while (!AtEnd() && IsPlainKeyChar(input_[pos_])) ++pos_;
  if (pos_ == start) return Error(start, absl::StrCat("empty key after '", type_text, ".'"));
  return std::string(TextFrom(start));
}

bool IsNumericAttribute(const Identifier& id) {
  return id.attribute == Attribute::kStartTime || id.attribute == Attribute::kEndTime;
}

}  // namespace internal
}  // namespace track
}  // namespace mlops
