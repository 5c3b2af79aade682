// `mlops diff <run> <run>`: what differs between two runs, step by step.
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "fmt/format.h"
#include "absl/strings/str_join.h"
#include "tools/cli_workspace.h"
#include "tools/commands.h"
#include "tools/ids.h"
#include "tools/records.h"

namespace mlops {
namespace cli {
namespace {

// One name whose value differs between the runs; nullopt where one side lacks it.
struct Change {
  std::string name;
  std::optional<std::string> a, b;
};

// The executions of two runs paired by step name and occurrence (the k-th execution of a
// step in one run with the k-th in the other, in id order).
struct StepPair {
  std::string step;
  int occurrence = 0;
  const Execution* a = nullptr;
  const Execution* b = nullptr;
  std::vector<Change> inputs, outputs, params, metrics;

  bool changed() const {
    return !inputs.empty() || !outputs.empty() || !params.empty() || !metrics.empty();
  }
  std::string state() const {
    if (a == nullptr) return "only_b";
    if (b == nullptr) return "only_a";
    return changed() ? "changed" : "same";
  }
};

template <typename Map>
std::vector<Change> Compare(const Map& a, const Map& b) {
  std::vector<Change> out;
  for (const auto& [k, v] : a) {
    auto it = b.find(k);
    if (it == b.end()) {
      out.push_back({k, v, std::nullopt});
    } else if (it->second != v) {
      out.push_back({k, v, it->second});
    }
  }
  for (const auto& [k, v] : b) {
    if (a.find(k) == a.end()) out.push_back({k, std::nullopt, v});
  }
  return out;
}

std::map<std::string, std::string> Digests(
    const google::protobuf::RepeatedPtrField<ArtifactRef>& refs) {
  std::map<std::string, std::string> m;
  for (const ArtifactRef& r : refs) m[r.name()] = r.digest();
  return m;
}

std::map<std::string, std::string> Params(const Execution& e) {
  return std::map<std::string, std::string>(e.params().begin(), e.params().end());
}

std::map<std::string, std::string> Metrics(const Execution& e) {
  std::map<std::string, std::string> m;
  for (const auto& [k, v] : e.metrics()) m[k] = fmt::format("{}", v);
  return m;
}

std::vector<StepPair> Pair(const std::vector<Execution>& a, const std::vector<Execution>& b) {
  std::vector<StepPair> pairs;
  std::map<std::pair<std::string, int>, size_t> index;
  const auto add = [&](const std::vector<Execution>& execs, bool first) {
    std::map<std::string, int> seen;
    for (const Execution& e : execs) {
      const int k = seen[e.step_name()]++;
      auto [it, inserted] = index.emplace(std::make_pair(e.step_name(), k), pairs.size());
      if (inserted) {
        StepPair& p = pairs.emplace_back();
        p.step = e.step_name();
        p.occurrence = k;
      }
      (first ? pairs[it->second].a : pairs[it->second].b) = &e;
    }
  };
  add(a, true);
  add(b, false);
  for (StepPair& p : pairs) {
    if (p.a == nullptr || p.b == nullptr) continue;
    p.inputs = Compare(Digests(p.a->inputs()), Digests(p.b->inputs()));
    p.outputs = Compare(Digests(p.a->outputs()), Digests(p.b->outputs()));
    p.params = Compare(Params(*p.a), Params(*p.b));
    // Metrics are compared by their printed form (shortest round trip: exact).
    p.metrics = Compare(Metrics(*p.a), Metrics(*p.b));
  }
  return pairs;
}

void WriteChanges(JsonWriter& w, const char* key, const std::vector<Change>& changes,
                  const Execution* a, const Execution* b, bool metrics) {
  w.Key(key).BeginArray();
  for (const Change& c : changes) {
    w.BeginObject().Key("name").String(c.name);
    for (const auto& [side, value, e] : {std::make_tuple("a", &c.a, a),
                                         std::make_tuple("b", &c.b, b)}) {
      w.Key(side);
      if (!value->has_value()) {
        w.Null();
      } else if (metrics) {
        w.Double(e->metrics().at(c.name));
      } else {
        w.String(**value);
      }
    }
    w.EndObject();
  }
  w.EndArray();
}

std::string Show(const std::optional<std::string>& v) { return v ? *v : "(none)"; }

}  // namespace

absl::Status Diff(const Args& args, const std::string& workspace) {
  int64_t ids[2];
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<Target> t = ParseTarget(args.positional[i]);
    if (!t.ok()) return t.status();
    if (t->kind != Target::kRun && t->kind != Target::kRunOrExecution) {
      return UsageError(absl::StrCat("diff compares two runs; \"", args.positional[i],
                                     "\" is not a run id"));
    }
    ids[i] = t->id;
  }
  absl::StatusOr<std::unique_ptr<CliWorkspace>> ws =
      CliWorkspace::Open(workspace, CliWorkspace::Access::kRead);
  if (!ws.ok()) return ws.status();
  Run runs[2];
  std::vector<Execution> execs[2];
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<Run> r = (*ws)->lineage().GetRun(ids[i]);
    if (!r.ok()) return r.status();
    runs[i] = *std::move(r);
    absl::StatusOr<std::vector<Execution>> e = (*ws)->lineage().ExecutionsOfRun(ids[i]);
    if (!e.ok()) return e.status();
    execs[i] = *std::move(e);
  }
  const std::vector<StepPair> pairs = Pair(execs[0], execs[1]);

  if (args.has("json")) {
    JsonWriter w;
    w.BeginObject();
    for (int i = 0; i < 2; ++i) {
      w.Key(i == 0 ? "run_a" : "run_b").BeginObject();
      w.Key("id").Int(runs[i].id()).Key("program").String(runs[i].program());
      w.Key("args").BeginArray();
      for (const std::string& a : runs[i].args()) w.String(a);
      w.EndArray().EndObject();
    }
    w.Key("steps").BeginArray();
    for (const StepPair& p : pairs) {
      w.BeginObject();
      w.Key("step").String(p.step).Key("occurrence").Int(p.occurrence);
      w.Key("state").String(p.state());
      w.Key("execution_a");
      p.a ? w.Int(p.a->id()) : w.Null();
      w.Key("execution_b");
      p.b ? w.Int(p.b->id()) : w.Null();
      WriteChanges(w, "inputs_changed", p.inputs, p.a, p.b, false);
      WriteChanges(w, "outputs_changed", p.outputs, p.a, p.b, false);
      WriteChanges(w, "params_changed", p.params, p.a, p.b, false);
      WriteChanges(w, "metrics_changed", p.metrics, p.a, p.b, true);
      w.EndObject();
    }
    w.EndArray().EndObject();
    return Print(w.str());
  }

  std::string out;
  for (int i = 0; i < 2; ++i) {
    absl::StrAppend(&out, i == 0 ? "a: " : "b: ", "run ", runs[i].id(), "  ", runs[i].program(),
                    " ", absl::StrJoin(runs[i].args(), " "), "\n");
  }
  std::vector<std::vector<std::string>> rows = {{"STEP", "STATE", "A", "B"}};
  std::string details;
  for (const StepPair& p : pairs) {
    const std::string step = p.occurrence == 0 ? p.step : absl::StrCat(p.step, "[", p.occurrence, "]");
    rows.push_back({step, p.state(), p.a ? absl::StrCat("#", p.a->id()) : "-",
                    p.b ? absl::StrCat("#", p.b->id()) : "-"});
    for (const auto& [what, changes] :
         {std::make_pair("input", &p.inputs), std::make_pair("output", &p.outputs),
          std::make_pair("param", &p.params), std::make_pair("metric", &p.metrics)}) {
      for (const Change& c : *changes) {
        absl::StrAppend(&details, "  ", step, " ", what, " ", c.name, ": ", Show(c.a), " -> ",
                        Show(c.b), "\n");
      }
    }
  }
  absl::Status s = Print(out + "\n");
  if (!s.ok()) return s;
  PrintTable(stdout, rows, {Align::kLeft, Align::kLeft, Align::kRight, Align::kRight});
  if (!details.empty()) return Print("\nchanges (a -> b):\n" + details);
  return absl::OkStatus();
}

}  // namespace cli
}  // namespace mlops
