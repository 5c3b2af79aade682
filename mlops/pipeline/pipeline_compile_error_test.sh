#!/bin/bash
# Pipeline::Add with inputs that do not fit the step must not compile, and the first
# error for the offending line must say why: "input does not match the step's parameter type"
# for a wrong type, "wrong number of inputs" for a wrong count, "conversion from" for a handle
# assigned to a handle of another type (see testdata/pipeline_errors.cc).
# The snippet without -DBAD must compile: a control that every header, including the
# generated lineage.pb.h and action_result.pb.h, is found in the runfiles.
set -uo pipefail
src=mlops/pipeline/testdata/pipeline_errors.cc
compile() { g++ -std=c++17 -fsyntax-only -I. "$@" "$src" 2>&1; }

for header in mlops/lineage/lineage.pb.h mlops/store/action_result.pb.h; do
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

type_msg="a pipeline input does not match the step's parameter type"
count_msg="the step is given the wrong number of inputs"
convert_msg="conversion from"
failed=0
checked=0
while IFS=: read -r line rest; do
  kind=$(sed -E 's/.*want: ([a-z]+).*/\1/' <<<"$rest")
  case "$kind" in
    type) want="$type_msg" ;;
    count) want="$count_msg" ;;
    convert) want="$convert_msg" ;;
    *) echo "FAIL: bad marker on line $line"; exit 1 ;;
  esac
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

if [[ $checked -ne 9 ]]; then
  echo "FAIL: expected 9 marked calls, found $checked"
  failed=1
fi
if [[ $failed -ne 0 ]]; then
  echo "--- compiler output (first 60 lines) ---"
  head -60 "$tmp/bad.out"
fi
exit $failed
