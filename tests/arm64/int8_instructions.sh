#!/usr/bin/env bash
# An int8 model against its fp32 form on arm64, in guest instructions executed per inference
# (tests/arm64.cmake): time under qemu-aarch64 means nothing, an instruction count does. Each
# model is benchmarked twice by the arm64 `edgeopt bench` (default providers: xnnpack,
# reference; 1 thread), with R1 and R2 measured runs; the per-inference count is the difference
# over R2 - R1, so loading, packing and planning cancel out. Counted by tests/arm64/insn_count.c,
# a QEMU plugin compiled here with the host's C compiler.
# Fails unless the int8 model executes fewer instructions per inference than the fp32 one.
# Usage: int8_instructions.sh QEMU CPU EDGEOPT FP32_MODEL INT8_MODEL WORK_DIR
set -euo pipefail
if [[ $# -ne 6 ]]; then
  echo "usage: $0 QEMU CPU EDGEOPT FP32_MODEL INT8_MODEL WORK_DIR" >&2
  exit 2
fi
qemu=$1 cpu=$2 edgeopt=$3 fp32=$4 int8=$5 work=$6
here="$(cd "$(dirname "$0")" && pwd)"
for f in "$edgeopt" "$fp32" "$int8"; do
  [[ -f $f ]] || { echo "FAILED: $f not found" >&2; exit 1; }
done
mkdir -p "$work"
plugin="$work/insn_count.so"
cc -shared -fPIC -O2 -fvisibility=hidden "$here/insn_count.c" -o "$plugin"

r1=1 r2=3
count() {  # MODEL RUNS → instructions of the whole process
  local out="$work/count_$(basename "$1" .onnx)_$2.txt"
  rm -f "$out"
  "$qemu" -cpu "$cpu" -plugin "$plugin,out=$out" "$edgeopt" bench "$1" --threads 1 --warmup 0 \
    --runs "$2" >/dev/null
  cat "$out"
}
per_inference() {
  local a b
  a=$(count "$1" $r1)
  b=$(count "$1" $r2)
  echo $(((b - a) / (r2 - r1)))
}
f=$(per_inference "$fp32")
q=$(per_inference "$int8")
ratio=$(awk -v q="$q" -v f="$f" 'BEGIN { printf "%.3f", q / f }')
echo "qemu -cpu $cpu, guest instructions per inference: fp32 $f, int8 $q, int8/fp32 $ratio"
if ((q <= 0 || f <= 0 || q >= f)); then
  echo "FAILED: the int8 model is not cheaper than the fp32 one" >&2
  exit 1
fi
echo PASSED
