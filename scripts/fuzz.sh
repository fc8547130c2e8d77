#!/usr/bin/env bash
# Builds the loader fuzzer with clang and runs it for a while from a corpus seeded with the
# ONNX conformance models. Exit status is non-zero on any crash.
# Usage: scripts/fuzz.sh [SECONDS] [BUILD_DIR]
set -euo pipefail
seconds=${1:-30}
root=$(cd "$(dirname "$0")/.." && pwd)
build=${2:-$root/build-fuzz}
if [[ ! -x $build/fuzz_model_loader || -n $(find "$root/src/ir" "$root/fuzz" -newer "$build/fuzz_model_loader" -print -quit) ]]; then
  CXX=clang++ cmake -S "$root/fuzz" -B "$build" -G Ninja >/dev/null
  ninja -C "$build" >/dev/null
fi
corpus=$build/corpus
if [[ ! -d $corpus ]]; then
  mkdir -p "$corpus"
  # Seed with the small conformance models (each is a distinct, valid starting point).
  find /usr/share/libonnx-testdata/data -name model.onnx -size -16k | sort | head -400 |
    while read -r f; do cp "$f" "$corpus/$(echo "$f" | md5sum | cut -c1-16)"; done
fi
mkdir -p "$build/artifacts"
# -rss_limit_mb bounds memory; -timeout flags inputs that hang.
"$build/fuzz_model_loader" "$corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -max_len=65536 -artifact_prefix="$build/artifacts/" -print_final_stats=1 2>&1 | tail -n 12
