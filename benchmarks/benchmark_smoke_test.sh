#!/bin/bash
# Runs a benchmark binary for a moment and checks that it ran every benchmark and printed its
# ratios. No timing is checked.
set -euo pipefail
bin="$1"
out=$("$bin" --benchmark_min_time=0.001 2>&1) || { echo "$out"; exit 1; }
echo "$out"
grep -q "Ratios measured in this run" <<<"$out" || { echo "no ratios printed"; exit 1; }
if grep -q "ERROR OCCURRED" <<<"$out"; then echo "a benchmark reported an error"; exit 1; fi
