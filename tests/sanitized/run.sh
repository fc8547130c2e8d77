#!/usr/bin/env bash
# edgeopt built with AddressSanitizer + UndefinedBehaviorSanitizer (LeakSanitizer included), on
# what users run. The sanitized CLI and conformance runner come from the fuzz tree (fuzz/,
# clang; built once and shared with the fuzz tests). PART is one of:
#   cli          the lab on the bundled model: inspect, run, bench, quantize (static, dynamic,
#                fp16), prune (unstructured, structured), lowrank, optimize with the lab recipe,
#                eval, fit; outputs and accuracy checked against the regular build's
#   bad_input    every case of tests/bad_input (exit 2, one line, inputs unchanged)
#   conformance  the ONNX backend node tests on onednn, xnnpack and reference
# Any sanitizer report ends the run with a non-zero exit (halt_on_error), so a case that
# "passes" while memory is misused fails here.
# Usage: tests/sanitized/run.sh PART FUZZ_BUILD_DIR EDGEOPT (the regular build's CLI)
set -euo pipefail
part=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$2"
fuzz_build=$(cd "$2" && pwd)
edgeopt=$(cd "$(dirname "$3")" && pwd)/$(basename "$3")
"$root/scripts/fuzz.sh" --build-only "$fuzz_build" edgeopt_asan conformance_asan
asan=$fuzz_build/edgeopt_asan
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0:allocator_may_return_null=1:max_allocation_size_mb=3072
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
work=$fuzz_build/sanitized_$part
rm -rf "$work"
mkdir -p "$work"
cd "$root"

case $part in
bad_input)
  # ASan reserves terabytes of address space for its shadow: the suite's RLIMIT_AS cannot
  # apply; ASan's own allocation limit (above) stands in for it.
  BAD_INPUT_NO_AS_LIMIT=1 /usr/bin/python3 tests/bad_input/run_bad_input.py "$asan" "$work"
  ;;
conformance)
  "$fuzz_build/conformance_asan" --data /usr/share/libonnx-testdata/data/node \
    --provider onednn,xnnpack,reference --skip tests/conformance_skip.txt
  ;;
cli)
  model=models/fashion_resnet8.onnx
  w=$work
  run() { echo "+ edgeopt $*" >&2; "$asan" "$@"; }
  run inspect "$model" --providers >/dev/null
  /usr/bin/python3 -c "import numpy as np; np.save('$w/x.npy', np.random.RandomState(0).rand(8, 1, 28, 28).astype(np.float32))"
  run run "$model" -i "$w/x.npy" -o "$w/y_asan.npy"
  "$edgeopt" run "$model" -i "$w/x.npy" -o "$w/y.npy" >/dev/null
  run bench "$model" --runs 20 --warmup 2 >/dev/null
  run quantize "$model" -o "$w/int8.onnx" --calib fashion-mnist:train --samples 200
  run quantize "$model" -o "$w/dyn.onnx" --mode dynamic
  run quantize "$model" -o "$w/fp16.onnx" --mode fp16
  run prune "$model" -o "$w/pruned.onnx" --sparsity 0.5
  run prune "$model" -o "$w/structured.onnx" --ratio 0.3 --structured
  run lowrank "$model" -o "$w/lowrank.onnx" --rank-ratio 0.5
  run run "$w/int8.onnx" -i "$w/x.npy" -o "$w/y_int8_asan.npy"
  "$edgeopt" run "$w/int8.onnx" -i "$w/x.npy" -o "$w/y_int8.npy" >/dev/null
  run eval "$w/int8.onnx" --data fashion-mnist:test --limit 500 --json >"$w/eval_asan.json"
  "$edgeopt" eval "$w/int8.onnx" --data fashion-mnist:test --limit 500 --json >"$w/eval.json"
  # The lab recipe without its fine-tuning step (this CLI has no training backend).
  cat >"$w/recipe.json" <<'JSON'
{"name": "lab", "steps": [
  {"name": "fold/fuse", "op": "passes", "level": 2},
  {"name": "prune 30%", "op": "prune", "structured": true, "ratio": 0.3},
  {"name": "int8", "op": "quantize", "from": "fold/fuse", "samples": 200},
  {"name": "prune+int8", "op": "quantize", "from": "prune 30%", "samples": 200},
  {"name": "lowrank", "op": "lowrank", "from": "fold/fuse", "rank_ratio": 0.5}]}
JSON
  run optimize "$model" -o "$w/lab.onnx" --recipe "$w/recipe.json" --calib fashion-mnist:train \
    --eval fashion-mnist:test --eval-limit 200 --report "$w/lab_report.json"
  run fit "$model" --device raspberry-pi-4 --calib fashion-mnist:train --calib-samples 200 \
    --eval fashion-mnist:test --eval-limit 200 --budget 4 -o "$w/fit" >/dev/null || [[ $? == 3 ]]
  # The sanitized build (clang) against the regular one (the default compiler): the same
  # outputs to float rounding, the same accuracy.
  /usr/bin/python3 - "$w" <<'PY'
import json, sys
import numpy as np
w = sys.argv[1]
for a, b, tol in (("y_asan", "y", 1e-4), ("y_int8_asan", "y_int8", 1e-4)):
    x, y = np.load(f"{w}/{a}.npy"), np.load(f"{w}/{b}.npy")
    d = float(np.abs(x - y).max()) / max(float(np.abs(y).max()), 1e-30)
    print(f"{a} vs {b}: max |diff| / max |y| = {d:.2e}")
    assert x.shape == y.shape and d <= tol, (a, d)
ea, eb = json.load(open(f"{w}/eval_asan.json")), json.load(open(f"{w}/eval.json"))
ta, tb = ea["top1"], eb["top1"]
print(f"int8 top-1: sanitized {ta}, regular {tb}")
assert abs(ta - tb) <= 0.004, (ta, tb)
PY
  ;;
*)
  echo "unknown part: $part" >&2
  exit 2
  ;;
esac
echo "sanitized $part: passed"
