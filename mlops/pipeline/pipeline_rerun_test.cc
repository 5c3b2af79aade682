// Partial reruns and digest-only hits, checked through lineage: after a change to one node
// (a literal param, its step version, an input file), exactly the expected nodes run and
// the rest hit; a fully cached run decodes only the targets and hashes nothing; a value
// that cannot be read is recomputed, never returned wrong. Each run opens the workspace
// afresh, as a new process would (no memory tier).
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "gtest/gtest.h"
#include "mlops/core/workspace.h"
#include "mlops/lineage/lineage.pb.h"
#include "mlops/pipeline/pipeline.h"
#include "mlops/testing/files.h"
#include "mlops/testing/workspace.h"

// A value whose codec counts how often values are encoded or hashed (Write) and decoded.
struct Counted {
  int64_t v = 0;
};
std::atomic<int> counted_writes{0};
std::atomic<int> counted_reads{0};

namespace mlops {
template <>
struct Codec<Counted> {
  static constexpr bool kDefined = true;
  static constexpr uint32_t kVersion = 1;
  static constexpr size_t kMinSize = 8;
  static std::string Name() { return "Counted"; }
  static std::string Signature() { return "Counted/1"; }
  static void Write(const Counted& c, Encoder& out) {
    ++counted_writes;
    Codec<int64_t>::Write(c.v, out);
  }
  static bool Read(Decoder& in, Counted& c) {
    ++counted_reads;
    return Codec<int64_t>::Read(in, c.v);
  }
};

namespace {

using ::mlops::test::Executions;
using ::mlops::test::OpenWorkspace;
using ::mlops::test::ValuePath;

// The names of the nodes of `r` whose lineage execution (in the workspace's Run) has
// `status`; also checks that the Run holds no execution that is not a node's.
std::set<std::string> NodesWithStatus(Workspace& ws, const RunResult& r, Execution::Status status) {
  const std::vector<Execution> execs = Executions(ws);
  std::map<int64_t, std::string> node_of;
  for (const NodeResult& n : r.nodes()) node_of[n.execution_id] = n.name;
  std::set<std::string> out;
  for (const Execution& e : execs) {
    auto it = node_of.find(e.id());
    EXPECT_NE(it, node_of.end()) << "an execution of no node: " << e.step_name();
    if (it != node_of.end() && e.status() == status) out.insert(it->second);
  }
  EXPECT_EQ(execs.size(), r.nodes().size());
  return out;
}

const auto kReadInt = MakeStep("read_int", 1, [](const File& f) -> absl::StatusOr<int> {
  std::ifstream in(f.path());
  int v = 0;
  if (!(in >> v)) return absl::InvalidArgumentError("no int in " + f.path());
  return v;
});
const auto kRange = MakeStep("range", 1, [](int n) {
  std::vector<int64_t> v;
  for (int i = 0; i < n; ++i) v.push_back(i);
  return v;
});
const auto kSum = MakeStep("sum", 1, [](const std::vector<int64_t>& v) {
  int64_t s = 0;
  for (int64_t x : v) s += x;
  return s;
});
const auto kAdd = MakeStep("add", 1, [](int64_t a, int64_t b) { return a + b; });
auto ScaleStep(int version) {
  return MakeStep("scale", version, [](const std::vector<int64_t>& v, int64_t k) {
    std::vector<int64_t> out;
    for (int64_t x : v) out.push_back(x * k);
    return out;
  });
}

struct Config {
  int64_t left_k = 2;
  int left_version = 1;
};

// n.txt → read_n → range ─┬─ left (scale by left_k) ── left_sum ──┐
//                          └─ right (scale by offset.txt) ── right_sum ┴─ total
struct Built {
  Pipeline p{"rerun"};
  Handle<int64_t> total;
};
std::unique_ptr<Built> Build(const std::string& dir, const Config& c) {
  auto b = std::make_unique<Built>();
  Pipeline& p = b->p;
  auto n = p.Add("read_n", kReadInt, File(dir + "/n.txt"));
  auto range = p.Add("range", kRange, n);
  auto left = p.Add("left", ScaleStep(c.left_version), range, c.left_k);
  auto offset = p.Add("read_offset", kReadInt, File(dir + "/offset.txt"));
  auto offset64 = p.Add("widen", MakeStep("widen", 1, [](int x) { return int64_t{x}; }), offset);
  auto right = p.Add("right", ScaleStep(1), range, offset64);
  auto left_sum = p.Add("left_sum", kSum, left);
  auto right_sum = p.Add("right_sum", kSum, right);
  b->total = p.Add("total", kAdd, left_sum, right_sum);
  return b;
}

struct Ran {
  std::set<std::string> ran, hit;
  int64_t total = 0;
};

Ran RunOnce(const std::string& dir, const Config& c) {
  Ran out;
  auto b = Build(dir, c);
  auto ws = OpenWorkspace(dir);
  if (ws == nullptr) return out;
  absl::StatusOr<RunResult> r = b->p.Run(*ws, {b->total});
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok()) return out;
  EXPECT_TRUE(r->status().ok()) << r->status();
  out.ran = NodesWithStatus(*ws, *r, Execution::SUCCEEDED);
  out.hit = NodesWithStatus(*ws, *r, Execution::CACHED);
  absl::StatusOr<Stored<int64_t>> total = r->Get(b->total);
  EXPECT_TRUE(total.ok()) << total.status();
  if (total.ok()) out.total = **total;
  return out;
}

using Names = std::set<std::string>;
const Names kAll = {"read_n", "range",    "left",      "read_offset", "widen",
                    "right",  "left_sum", "right_sum", "total"};

Names Except(const Names& all, const Names& minus) {
  Names out;
  for (const std::string& n : all) {
    if (!minus.count(n)) out.insert(n);
  }
  return out;
}

TEST(PipelineRerunTest, OnlyTheChangedNodeAndItsDependentsRun) {
  const std::string dir = test::FreshDir();
  test::Spit(dir + "/n.txt", "10\n");
  test::Spit(dir + "/offset.txt", "3\n");
  Config c;
  Ran first = RunOnce(dir, c);
  EXPECT_EQ(first.ran, kAll);
  EXPECT_EQ(first.total, 45 * 2 + 45 * 3);

  Ran second = RunOnce(dir, c);
  EXPECT_TRUE(second.ran.empty());
  EXPECT_EQ(second.hit, kAll);
  EXPECT_EQ(second.total, first.total);

  c.left_k = 5;  // a param of one node
  Ran param = RunOnce(dir, c);
  EXPECT_EQ(param.ran, (Names{"left", "left_sum", "total"}));
  EXPECT_EQ(param.hit, Except(kAll, param.ran));
  EXPECT_EQ(param.total, 45 * 5 + 45 * 3);

  test::Spit(dir + "/offset.txt", "4\n");  // an input file of one branch
  Ran file = RunOnce(dir, c);
  EXPECT_EQ(file.ran, (Names{"read_offset", "widen", "right", "right_sum", "total"}));
  EXPECT_EQ(file.hit, Except(kAll, file.ran));
  EXPECT_EQ(file.total, 45 * 5 + 45 * 4);

  // A new step version reruns the node; its value is the same, so its dependents' keys are
  // unchanged and they hit.
  c.left_version = 2;
  Ran version = RunOnce(dir, c);
  EXPECT_EQ(version.ran, (Names{"left"}));
  EXPECT_EQ(version.hit, Except(kAll, version.ran));
  EXPECT_EQ(version.total, file.total);
}

TEST(PipelineRerunTest, FullyCachedRunDecodesOnlyTargetsAndHashesNothing) {
  const std::string dir = test::FreshDir();
  const auto make = MakeStep("make", 1, [](int x) { return Counted{x}; });
  const auto inc = MakeStep("inc", 1, [](const Counted& c) { return Counted{c.v + 1}; });
  const auto dec = MakeStep("dec", 1, [](const Counted& c) { return Counted{c.v - 1}; });
  const auto both = MakeStep(
      "both", 1, [](const Counted& a, const Counted& b) { return Counted{a.v * 100 + b.v}; });
  Pipeline p("counted");
  auto a = p.Add("a", make, 1);
  auto b = p.Add("b", inc, a);
  auto c = p.Add("c", inc, b);
  auto d = p.Add("d", dec, a);
  auto e = p.Add("e", both, c, d);
  {
    auto ws = OpenWorkspace(dir);
    absl::StatusOr<RunResult> r = p.Run(*ws, {e});
    ASSERT_TRUE(r.ok() && r->status().ok());
    EXPECT_EQ(r->ran(), 5);
  }
  auto ws = OpenWorkspace(dir);
  counted_writes = 0;
  counted_reads = 0;
  absl::StatusOr<RunResult> r = p.Run(*ws, {e});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->hits(), 5);
  EXPECT_EQ(counted_reads.load(), 1);   // the target only
  EXPECT_EQ(counted_writes.load(), 0);  // no value encoded or hashed
  EXPECT_EQ((*r->Get(e))->v, 300);
}

void Overwrite(const std::string& path, const std::string& bytes) {
  std::filesystem::permissions(path, std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::add);
  test::Spit(path, bytes);
}

TEST(PipelineRerunTest, UnreadableValuesAreRecomputedNeverReturned) {
  const std::string dir = test::FreshDir();
  test::Spit(dir + "/n.txt", "10\n");
  test::Spit(dir + "/offset.txt", "3\n");
  Config c;
  std::map<std::string, Digest> digest;
  {
    auto b = Build(dir, c);
    auto ws = OpenWorkspace(dir);
    absl::StatusOr<RunResult> r = b->p.Run(*ws, {b->total});
    ASSERT_TRUE(r.ok() && r->status().ok());
    for (const NodeResult& n : r->nodes()) digest[n.name] = n.digests[0];
  }

  // The target's value is gone: the target runs again (its inputs are read, not rerun).
  ASSERT_TRUE(std::filesystem::remove(ValuePath(dir, digest["total"])));
  Ran gone = RunOnce(dir, c);
  EXPECT_EQ(gone.ran, (Names{"total"}));
  EXPECT_EQ(gone.total, 45 * 2 + 45 * 3);

  // An upstream value is corrupt (still present, so its node hits digest-only) and a node
  // that needs it must run: the value is recomputed, not used.
  Overwrite(ValuePath(dir, digest["range"]), std::string(81, 'x'));
  c.left_k = 6;
  {
    auto b = Build(dir, c);
    auto ws = OpenWorkspace(dir);
    absl::StatusOr<RunResult> r = b->p.Run(*ws, {b->total});
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_TRUE(r->status().ok()) << r->status();
    const NodeResult* range = r->node("range");
    EXPECT_EQ(range->outcome, NodeOutcome::kRan);
    EXPECT_TRUE(range->recomputed);
    EXPECT_EQ(range->digests[0], digest["range"]);
    EXPECT_EQ(r->node("left")->outcome, NodeOutcome::kRan);
    EXPECT_EQ(r->node("right")->outcome, NodeOutcome::kHit);
    EXPECT_EQ(**r->Get(b->total), 45 * 6 + 45 * 3);
    absl::StatusOr<Execution> exec = ws->lineage().GetExecution(range->execution_id);
    ASSERT_TRUE(exec.ok());
    EXPECT_EQ(exec->status(), Execution::SUCCEEDED);
  }
  EXPECT_EQ(test::Slurp(ValuePath(dir, digest["range"])),
            Encode(std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));

  // An upstream value is missing: its node misses and runs again; what depends on it hits
  // (the same value, the same keys).
  ASSERT_TRUE(std::filesystem::remove(ValuePath(dir, digest["widen"])));
  Ran missing = RunOnce(dir, c);
  EXPECT_EQ(missing.ran, (Names{"widen"}));
  EXPECT_EQ(missing.total, 45 * 6 + 45 * 3);
}

}  // namespace
}  // namespace mlops
