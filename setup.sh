#!/usr/bin/env bash
# Sets up a Debian 12 machine to build mlops, then runs the main example.
#
#   ./setup.sh                  install what is missing, then run the example
#   ./setup.sh --install-only   install what is missing, nothing else (used by .ci/run)
#
# Idempotent: packages already installed are left alone, and apt-get runs only when
# something is missing. Needs root or sudo for the install step.
set -euo pipefail
cd "$(dirname "$0")"

packages=(
  # Build: Bazel 4.2.3 (WORKSPACE mode) and the rule sets it loads offline.
  bazel-bootstrap bazel-platforms bazel-skylib bazel-rules-java
  g++ pkg-config
  # Libraries, all from Debian 12.
  libabsl-dev libprotobuf-dev protobuf-compiler libxxhash-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev libsqlite3-dev
  # Clang, for the thread-safety analysis (bazel build --config=thread_safety, and
  # //mlops/base:mutex_annotations_test).
  clang
  # To look at lineage by hand (the quickstart says how), and Graphviz's dot, which
  # `mlops lineage --format svg` renders through (tests/cli_test checks it for real).
  sqlite3 graphviz
  # gnuplot, which `mlops metrics --format svg` draws its line charts with (tests/cli_track_test
  # draws one for real: CI needs it, .ci/run installs it through this list).
  gnuplot-nox
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} > 0)); then
  echo "Installing: ${missing[*]}"
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "error: run as root, or install sudo" >&2; exit 1; }
    sudo=(sudo)
  fi
  "${sudo[@]}" apt-get update
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
else
  echo "All build dependencies are installed."
fi

if [[ "${1:-}" == "--install-only" ]]; then
  exit 0
fi

# The quickstart: a cached, traced training pipeline, run twice. The second run takes every
# step from the cache.
bazel run //examples/quickstart
bazel run //examples/quickstart
