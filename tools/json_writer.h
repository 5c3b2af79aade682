// tools/json_writer.h — a small JSON writer for the command line's --json output.
//
// Writes indented JSON (two spaces), keys in the order they are given, strings escaped per
// RFC 8259 (control characters as \u00XX; valid UTF-8 passed through as it is, each
// ill-formed UTF-8 sequence replaced by \ufffd, so the output is always valid JSON),
// integers exactly, doubles in their shortest round-trip form (NaN and infinities, which
// JSON lacks, as null). The same calls give the same text.
//
// Example:
//   mlops::cli::JsonWriter w;
//   w.BeginObject().Key("id").Int(3).Key("tags").BeginArray().String("a").EndArray();
//   w.EndObject();
//   std::string text = w.str();   // {"id": 3, "tags": ["a"]}, indented
//
// Thread safety: a JsonWriter is not shared between threads.
#ifndef TOOLS_JSON_WRITER_H_
#define TOOLS_JSON_WRITER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace mlops {
namespace cli {

class JsonWriter {
 public:
  // REQUIRES (not checked): calls form one well-nested value; Key only inside an object,
  // directly before its value.
  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(absl::string_view key);
  JsonWriter& String(absl::string_view value);
  JsonWriter& Int(int64_t value);
  JsonWriter& Double(double value);
  JsonWriter& Bool(bool value);
  JsonWriter& Null();

  // The text so far, with a final newline once the top-level value is complete.
  std::string str() const;

  // `s` as a quoted, escaped JSON string (invalid UTF-8 as \ufffd, see above: one per
  // maximal ill-formed subpart, as Unicode recommends and Python's "replace" does).
  static std::string Quote(absl::string_view s);

 private:
  // Before a value or key: a comma if needed, a newline and the indentation.
  void Separate();
  void Open(char bracket);
  void Close(char bracket);

  std::string out_;
  // One entry per open container: whether it has no element yet.
  std::vector<bool> empty_;
  bool after_key_ = false;
};

}  // namespace cli
}  // namespace mlops

#endif  // TOOLS_JSON_WRITER_H_
