#!/bin/bash
# Checks that a C++ snippet's marked lines do not compile, each for the stated reason.
#
# Usage: compile_error_test.sh [--cxx=COMPILER] [--flag=FLAG]... SNIPPET COUNT KIND=MESSAGE...
#   COMPILER defaults to g++; each --flag is passed to both compilations.
#   Without -DBAD the snippet must compile (a control that every header, including the
#   generated lineage.pb.h and action_result.pb.h, is found in the runfiles). With -DBAD each
#   line marked "// want: KIND" must fail, and the first error the compiler reports for that
#   line must contain KIND's MESSAGE; exactly COUNT lines must be marked. An error's line is
#   the last "SNIPPET:LINE:COL: required from here" note before it, or its own location when
#   it is in the snippet itself.
set -uo pipefail
cxx=g++
flags=()
while [[ $# -gt 0 && $1 == --* ]]; do
  case $1 in
    --cxx=*) cxx=${1#--cxx=} ;;
    --flag=*) flags+=("${1#--flag=}") ;;
    *) echo "FAIL: unknown option $1"; exit 1 ;;
  esac
  shift
done
src=$1
expected=$2
shift 2
declare -A messages
for pair in "$@"; do messages["${pair%%=*}"]="${pair#*=}"; done
compile() { "$cxx" -std=c++17 -fsyntax-only -I. "${flags[@]}" "$@" "$src" 2>&1; }
command -v "$cxx" >/dev/null || { echo "FAIL: no compiler $cxx on PATH"; exit 1; }

# A snippet of the workspace's API needs the generated headers: say so plainly if missing.
generated=()
if grep -qE '#include "mlops/(core|pipeline)/' "$src"; then
  generated=(mlops/lineage/lineage.pb.h mlops/store/action_result.pb.h)
fi
for header in "${generated[@]}"; do
  if [[ ! -f "$header" ]]; then
    echo "FAIL: generated header $header is not in the runfiles ($(pwd))"
    exit 1
  fi
done

tmp=${TEST_TMPDIR:-$(mktemp -d)}
(compile >"$tmp/control.out"; echo $? >"$tmp/control.rc") &
(compile -DBAD >"$tmp/bad.out"; echo $? >"$tmp/bad.rc") &
wait

if [[ $(cat "$tmp/control.rc") -ne 0 ]]; then
  echo "FAIL: the control snippet (without -DBAD) does not compile:"
  head -40 "$tmp/control.out"
  exit 1
fi
echo "ok (control): compiles"
if [[ $(cat "$tmp/bad.rc") -eq 0 ]]; then
  echo "FAIL: the snippet with -DBAD compiled"
  exit 1
fi

# "LINE<TAB>first error message" for each line of the snippet that errors were reported
# for: an error's line is the last "<src>:LINE:COL:   required from here" note before it,
# or its own location when it is in the snippet itself.
awk -v src="$src" '
  index($0, src ":") == 1 && /required from here/ { split($0, p, ":"); line = p[2]; next }
  / error: / {
    if (index($0, src ":") == 1) { split($0, p, ":"); line = p[2] }
    if (line != "" && !(line in first)) { first[line] = substr($0, index($0, "error: ")) }
    line = ""
  }
  END { for (l in first) print l "\t" first[l] }
' "$tmp/bad.out" >"$tmp/errors"

failed=0
checked=0
while IFS=: read -r line rest; do
  kind=$(sed -E 's/.*want: ([a-z]+).*/\1/' <<<"$rest")
  if [[ -z "${messages[$kind]+x}" ]]; then
    echo "FAIL: line $line is marked with an unknown kind '$kind'"
    exit 1
  fi
  want=${messages[$kind]}
  checked=$((checked + 1))
  got=$(awk -F'\t' -v l="$line" '$1 == l { print $2 }' "$tmp/errors")
  if [[ -z "$got" ]]; then
    echo "FAIL (line $line): no error reported for: $(sed -E 's/^ +//' <<<"$rest")"
    failed=1
  elif ! grep -qF "$want" <<<"$got"; then
    echo "FAIL (line $line): the first error does not say '$want': $got"
    failed=1
  else
    echo "ok (line $line, $kind): $(cut -c1-150 <<<"$got")"
  fi
done < <(grep -n "// want: " "$src")

if [[ $checked -ne $expected ]]; then
  echo "FAIL: expected $expected marked lines, found $checked"
  failed=1
fi
if [[ $failed -ne 0 ]]; then
  echo "--- compiler output (first 60 lines) ---"
  head -60 "$tmp/bad.out"
fi
exit $failed
