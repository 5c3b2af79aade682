#include "mlops/lineage/export.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/type_resolver_util.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace mlops {
namespace {

// A DOT double-quoted string's contents.
std::string Quote(absl::string_view s) {
  return absl::StrCat("\"", absl::StrReplaceAll(s, {{"\\", "\\\\"}, {"\"", "\\\""}, {"\n", "\\n"}}),
                      "\"");
}

std::string ExecutionNode(int64_t id) { return Quote(absl::StrCat("e", id)); }
std::string ArtifactNode(absl::string_view digest) { return Quote(absl::StrCat("a", digest)); }

}  // namespace

std::string ToDot(const Subgraph& graph) {
  std::string out =
      "digraph lineage {\n"
      "  rankdir=LR;\n"
      "  node [fontname=\"Helvetica\", fontsize=10];\n"
      "  edge [fontname=\"Helvetica\", fontsize=9];\n";
  for (const Execution& e : graph.executions()) {
    const char* fill = "#d6eaf8";  // computed
    std::string note;
    if (e.cache_hit() || e.status() == Execution::CACHED) {
      fill = "#e8f8f5";
      note = "\ncache hit";
    } else if (e.status() == Execution::FAILED) {
      fill = "#f5b7b1";
      note = "\nfailed";
    } else if (e.status() == Execution::RUNNING) {
      fill = "#fcf3cf";
      note = "\nrunning";
    }
    if (e.nondeterministic()) note += "\nNONDETERMINISTIC";
    absl::StrAppend(&out, "  ", ExecutionNode(e.id()), " [shape=box, style=filled, fillcolor=\"",
                    fill, "\", label=",
                    Quote(absl::StrCat(e.step_name(), " #", e.id(),
                                       e.step_version().empty() ? "" : " v",
                                       e.step_version(), note)),
                    "];\n");
  }
  for (const Artifact& a : graph.artifacts()) {
    std::string label = a.type_name().empty() ? "value" : a.type_name();
    if (!a.label().empty()) absl::StrAppend(&label, "\n", a.label());
    absl::StrAppend(&label, "\n", a.digest().substr(0, 12));
    absl::StrAppend(&out, "  ", ArtifactNode(a.digest()), " [shape=ellipse, label=",
                    Quote(label), "];\n");
  }
  for (const Event& ev : graph.events()) {
    const std::string exec = ExecutionNode(ev.execution_id());
    const std::string art = ArtifactNode(ev.digest());
    const bool input = ev.kind() == Event::INPUT;
    absl::StrAppend(&out, "  ", input ? art : exec, " -> ", input ? exec : art,
                    " [label=", Quote(ev.name()), "];\n");
  }
  out += "}\n";
  return out;
}

absl::StatusOr<std::string> ToJson(const Subgraph& graph) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  // MessageToJsonString prints map entries (params, metrics) in hash order, which differs
  // between runs. Printing from the deterministic binary form keeps them in key order.
  std::string binary;
  {
    google::protobuf::io::StringOutputStream stream(&binary);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    graph.SerializeToCodedStream(&coded);
  }
  static google::protobuf::util::TypeResolver* const resolver =
      google::protobuf::util::NewTypeResolverForDescriptorPool(
          "type.googleapis.com", google::protobuf::DescriptorPool::generated_pool());
  std::string out;
  const auto status = google::protobuf::util::BinaryToJsonString(
      resolver, "type.googleapis.com/" + Subgraph::descriptor()->full_name(), binary, &out,
      options);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("cannot print lineage as JSON: ", status.ToString()));
  }
  return out;
}

}  // namespace mlops
