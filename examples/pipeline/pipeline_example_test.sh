#!/bin/bash
# The pipeline example: the first run computes all 14 nodes, the second takes all from the
# cache, and a changed learning rate recomputes only its branch and the comparison after it.
set -euo pipefail
bin="$1"
ws="${TEST_TMPDIR:-$(mktemp -d)}/ws"
run() { "$bin" --workspace="$ws" --parallelism=2 "$@" 2>&1; }
expect() {  # expect <output> <exact line>
  grep -qxF -- "$2" <<<"$1" || { echo "FAIL: expected the line: $2"; exit 1; }
}

out=$(run); echo "$out"
expect "$out" "computed: load standardize split train[lr=0.03] evaluate[lr=0.03] candidate[lr=0.03] train[lr=0.1] evaluate[lr=0.1] candidate[lr=0.1] better_1 train[lr=0.3] evaluate[lr=0.3] candidate[lr=0.3] better_2"
first_best=$(grep '^best:' <<<"$out")

out=$(run); echo "$out"
expect "$out" "computed: (none)"
grep -q "from the cache: 14; failed: 0" <<<"$out" || { echo "FAIL: not all hits"; exit 1; }
expect "$out" "$first_best"

out=$(run --learning_rates=0.03,0.1,0.5); echo "$out"
expect "$out" "computed: train[lr=0.5] evaluate[lr=0.5] candidate[lr=0.5] better_2"
grep -q "from the cache: 10; failed: 0" <<<"$out" || { echo "FAIL: expected 10 hits"; exit 1; }
[[ -s "$ws/pipeline.dot" ]] || { echo "FAIL: no pipeline.dot"; exit 1; }
echo PASS
