#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang with ASan + UBSan), replays the inputs that once
# crashed each target (fuzz/regressions/<target>/), then fuzzes each target for SECONDS from its
# committed seed corpus (fuzz/seeds/<target>/; the model loader also gets the small ONNX
# conformance models). Exit status is non-zero on any crash. The seed is fixed (FUZZ_SEED) so a
# run is repeatable.
# Usage: scripts/fuzz.sh [SECONDS] [BUILD_DIR] [TARGET...]
#   TARGET: model_loader npy npz idx image spec recipe (default: all)
# FUZZ_RUNS=N instead fuzzes each target for N executions (the long run in the README).
# Also: scripts/fuzz.sh --build-only BUILD_DIR TARGET... (configure and build only; the sanitized
# CLI and conformance runner of tests/sanitized/ are built this way).
set -euo pipefail
build_only=0
if [[ ${1:-} == --build-only ]]; then
  build_only=1
  shift
  set -- 0 "$@"
fi
seconds=${1:-30}
root=$(cd "$(dirname "$0")/.." && pwd)
build=${2:-$root/build-fuzz}
shift $(( $# < 2 ? $# : 2 ))
targets=("$@")
((${#targets[@]})) || targets=(model_loader npy npz idx image spec recipe)
seed=${FUZZ_SEED:-1}

# One build at a time: ctest runs one test per target in parallel, and they share the build.
mkdir -p "$build"
# Absolute: the spec target changes its working folder after the corpus is listed.
build=$(cd "$build" && pwd)
(
  flock 9
  if [[ ! -f $build/build.ninja ]]; then
    CXX=clang++ cmake -S "$root/fuzz" -B "$build" -G Ninja >/dev/null
  fi
  names=("${targets[@]/#/fuzz_}")
  ((build_only)) && names=("${targets[@]}")
  if ! ninja -C "$build" "${names[@]}" >"$build/build.log" 2>&1; then
    tail -n 40 "$build/build.log"
    echo "fuzz.sh: the sanitized build failed (log: $build/build.log)" >&2
    exit 1
  fi
) 9>"$build/.build.lock"
((build_only)) && exit 0

fuzz_one() {
  local t=$1 bin=$build/fuzz_$1
  # Regressions first: every file there crashed an earlier version.
  local reg=$root/fuzz/regressions/$t
  if [[ -d $reg ]] && compgen -G "$reg/*" >/dev/null; then
    if ! out=$("$bin" "$reg"/* 2>&1); then
      echo "$out" | tail -n 60
      echo "fuzz_$t: a regression input crashes again" >&2
      return 1
    fi
    echo "fuzz_$t: $(echo "$out" | grep -c '^Executed') regression inputs replayed, no crash"
  fi
  local corpus=$build/corpus/$t
  if [[ ! -d $corpus ]]; then
    # Built aside and renamed, so an interrupted run leaves no half corpus; `sed` reads all of
    # its input (unlike `head`), so no writer dies of SIGPIPE under pipefail.
    rm -rf "$corpus.tmp"
    mkdir -p "$corpus.tmp"
    cp "$root/fuzz/seeds/$t"/* "$corpus.tmp/"
    if [[ $t == model_loader ]]; then
      find /usr/share/libonnx-testdata/data -name model.onnx -size -16k | sort | sed -n '1,400p' |
        while read -r f; do cp "$f" "$corpus.tmp/$(echo "$f" | md5sum | cut -c1-16)"; done
    fi
    mv "$corpus.tmp" "$corpus"
  fi
  mkdir -p "$build/artifacts/$t"
  local limit=(-max_total_time="$seconds")
  [[ -n ${FUZZ_RUNS:-} ]] && limit=(-runs="$FUZZ_RUNS")
  # -malloc_limit_mb bounds memory; -timeout flags inputs that hang (60 s: a shared, loaded
  # machine runs the sanitized code many times slower). -rss_limit_mb=0: no RSS
  # watcher thread, because the loader forks (shape inference runs in a child) and a fork while
  # another thread holds the sanitizer allocator's lock would hang the child.
  local log=$build/fuzz_$t.log status=0
  "$bin" "$corpus" -seed="$seed" "${limit[@]}" -timeout=60 -rss_limit_mb=0 -malloc_limit_mb=2048 \
    -max_len=65536 -artifact_prefix="$build/artifacts/$t/" -print_final_stats=1 >"$log" 2>&1 ||
    status=$?
  if [[ $status -ne 0 ]]; then
    # The report, not the progress lines: the sanitizer's summary and the stack.
    grep -v -E '^#[0-9]+\s+(NEW|REDUCE|pulse|INITED)' "$log" | grep -v '^Warning: Checker' | tail -n 60
    echo "fuzz_$t: crash (seed $seed); the input is in $build/artifacts/$t/" >&2
    return "$status"
  fi
  local runs
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  # A run that executed nothing proves nothing.
  if [[ -z $runs || $runs -lt 1 ]]; then
    tail -n 20 "$log"
    echo "fuzz_$t: no input was executed" >&2
    return 1
  fi
  echo "fuzz_$t: $runs executions, $(sed -n 's/^stat::new_units_added: *//p' "$log") new units, no crash"
}

status=0
for t in "${targets[@]}"; do fuzz_one "$t" || status=1; done
exit $status
