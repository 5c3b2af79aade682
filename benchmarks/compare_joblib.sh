#!/usr/bin/env bash
# The same small step shape, cached with Python's joblib.Memory and with mlops, measured in
# one run on this machine; prints per-call times and their ratio.
#
#   benchmarks/compare_joblib.sh
#
# The step: an int and a short string in, a short string out (label(x, prefix)). "hit" is a
# call whose result is cached (1024 distinct inputs, cycled); "miss" a call on new inputs.
# joblib uses a fresh on-disk cache directory; mlops a fresh on-disk workspace with lineage
# recording on and durability off. Needs Debian's python3-joblib (installed if missing).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! /usr/bin/python3 -c "import joblib" 2>/dev/null; then
  echo "Installing python3-joblib..."
  sudo=()
  [[ $(id -u) -ne 0 ]] && sudo=(sudo)
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y python3-joblib >/dev/null
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

joblib_json=$(/usr/bin/python3 - "$work/joblib" <<'PY'
import json, sys, time
import joblib

memory = joblib.Memory(location=sys.argv[1], verbose=0)

@memory.cache
def label(x, prefix):
    return f"{prefix}{x * 2 + 1}"

for i in range(1024):          # warm: every input cached
    label(i, "run-")

def per_call(fn, n):
    start = time.perf_counter()
    for i in range(n):
        fn(i)
    return (time.perf_counter() - start) / n * 1e6

plain = per_call(lambda i: f"run-{(i & 1023) * 2 + 1}", 200000)
hit = per_call(lambda i: label(i & 1023, "run-"), 20000)
miss = per_call(lambda i: label(1_000_000 + i, "run-"), 2000)
print(json.dumps({"plain_us": plain, "hit_us": hit, "miss_us": miss}))
PY
)

bazel build //benchmarks:step_benchmark >/dev/null 2>&1
bazel-bin/benchmarks/step_benchmark \
  --benchmark_filter='BM_PlainCall|BM_CallHitSmall$|BM_CallHitSmallFromDisk|BM_CallMissSmall' \
  --benchmark_out="$work/mlops.json" --benchmark_out_format=json >/dev/null 2>&1
mlops_json=$(cat "$work/mlops.json")

/usr/bin/python3 - "$joblib_json" "$mlops_json" <<'PY'
import json, sys
jl = json.loads(sys.argv[1])
ml = {b["name"]: b for b in json.loads(sys.argv[2])["benchmarks"]}
def us(name, field="real_time"):
    b = ml[name]
    scale = {"ns": 1e-3, "us": 1.0, "ms": 1e3}[b["time_unit"]]
    return b[field] * scale
rows = [
    ("plain call", jl["plain_us"], us("BM_PlainCall")),
    ("cache hit", jl["hit_us"], us("BM_CallHitSmall")),
    ("cache hit, read from disk", jl["hit_us"], us("BM_CallHitSmallFromDisk")),
    ("cache miss", jl["miss_us"], us("BM_CallMissSmall")),
]
print(f"{'per call (us)':<28}{'joblib.Memory':>15}{'mlops':>12}{'joblib / mlops':>17}")
for name, j, m in rows:
    print(f"{name:<28}{j:>15.2f}{m:>12.2f}{j / m:>16.1f}x")
print(f"\nmlops hit, caller's CPU only (lineage written by a background thread): "
      f"{us('BM_CallHitSmall', 'cpu_time'):.2f} us")
PY
