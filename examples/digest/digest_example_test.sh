#!/bin/bash
# The digest example prints the CSV's digest exactly as xxh128sum prints it.
set -euo pipefail
out=$(examples/digest/digest)
echo "$out"
# `xxh128sum examples/data/breast_cancer.csv` (Debian's xxhash 0.8.1) prints this digest.
grep -q "85d34af5369d71c348efe04d7ebc2c36" <<<"$out" || { echo "wrong CSV digest"; exit 1; }
grep -q "TrainParams/1{f64/1,i32/1,f64/1}" <<<"$out" || { echo "missing signature"; exit 1; }
