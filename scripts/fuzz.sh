#!/usr/bin/env bash
# Builds the loader fuzzer with clang, replays the inputs that once crashed it (fuzz/regressions),
# then fuzzes for a while from a corpus seeded with the ONNX conformance models. Exit status is
# non-zero on any crash. The seed is fixed (FUZZ_SEED) so that a run is repeatable.
# Usage: scripts/fuzz.sh [SECONDS] [BUILD_DIR]
set -euo pipefail
seconds=${1:-30}
root=$(cd "$(dirname "$0")/.." && pwd)
build=${2:-$root/build-fuzz}
seed=${FUZZ_SEED:-1}
if [[ ! -x $build/fuzz_model_loader || -n $(find "$root/src/ir" "$root/fuzz" -newer "$build/fuzz_model_loader" -print -quit) ]]; then
  CXX=clang++ cmake -S "$root/fuzz" -B "$build" -G Ninja >/dev/null
  ninja -C "$build" >/dev/null
fi
# Regressions first: every file there crashed an earlier version.
if ! out=$("$build/fuzz_model_loader" "$root"/fuzz/regressions/* 2>&1); then
  echo "$out" | tail -n 60
  echo "fuzz_model_loader: a regression input crashes again" >&2
  exit 1
fi
echo "regressions: $(echo "$out" | grep -c '^Executed') inputs replayed, no crash"
corpus=$build/corpus
if [[ ! -d $corpus ]]; then
  # Seed with the small conformance models (each is a distinct, valid starting point). Built
  # aside and renamed, so an interrupted run leaves no half corpus; `sed` reads all of its
  # input (unlike `head`), so no writer dies of SIGPIPE under pipefail.
  rm -rf "$corpus.tmp"
  mkdir -p "$corpus.tmp"
  find /usr/share/libonnx-testdata/data -name model.onnx -size -16k | sort | sed -n '1,400p' |
    while read -r f; do cp "$f" "$corpus.tmp/$(echo "$f" | md5sum | cut -c1-16)"; done
  mv "$corpus.tmp" "$corpus"
fi
mkdir -p "$build/artifacts"
# -malloc_limit_mb bounds memory; -timeout flags inputs that hang. -rss_limit_mb=0: no RSS
# watcher thread, because the loader forks (shape inference runs in a child) and a fork while
# another thread holds the sanitizer allocator's lock would hang the child.
log=$build/fuzz.log
status=0
"$build/fuzz_model_loader" "$corpus" -seed="$seed" -max_total_time="$seconds" -timeout=10 \
  -rss_limit_mb=0 -malloc_limit_mb=2048 -max_len=65536 -artifact_prefix="$build/artifacts/" -print_final_stats=1 \
  >"$log" 2>&1 || status=$?
if [[ $status -ne 0 ]]; then
  # The report, not the progress lines: the sanitizer's summary and the stack.
  grep -v -E '^#[0-9]+\s+(NEW|REDUCE|pulse|INITED)' "$log" | grep -v '^Warning: Checker' | tail -n 60
  echo "fuzz_model_loader: crash (seed $seed); the input is in $build/artifacts/" >&2
  exit "$status"
fi
grep -E '^(Done|stat::number_of_executed_units|stat::new_units_added)' "$log"
