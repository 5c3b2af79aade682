#!/bin/bash
# A type with no codec must not compile, and the error must name the type and say how to add
# a codec: directly (Hash(NoCodecType)) and nested (Encode(std::vector<NoCodecType>)).
set -uo pipefail
src=mlops/codec/testdata/no_codec.cc
for define in "" "-DNESTED"; do
  out=$(g++ -std=c++17 -fsyntax-only -I. $define "$src" 2>&1)
  if [[ $? -eq 0 ]]; then
    echo "FAIL ($define): a type with no codec compiled"
    exit 1
  fi
  for want in "has no mlops::Codec" "MLOPS_CODEC_FIELDS" "user::NoCodecType"; do
    if ! grep -qF "$want" <<<"$out"; then
      echo "FAIL ($define): compiler output lacks '$want':"
      echo "$out" | head -40
      exit 1
    fi
  done
  echo "ok ($define): $(grep -m1 -F 'has no mlops::Codec' <<<"$out" | cut -c1-160)"
done
