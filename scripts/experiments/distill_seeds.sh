#!/usr/bin/env bash
# Knowledge distillation against training alone, over several seeds (docs/training.md,
# "Distillation"). For every seed S: a fresh student (`edgeopt zoo ARCH --seed S`) is trained
# once alone and once distilled from TEACHER, with the same data, epochs, schedule and seed;
# both are evaluated on the whole test set by edgeopt's runtime. Prints a Markdown table with
# the mean over the seeds.
#
#   scripts/experiments/distill_seeds.sh TEACHER.onnx OUT_DIR [BUILD]
# Environment (defaults in brackets): STUDENT [lenet5], WIDTH [1], SEEDS ["1 2 3"],
# LIMIT [10000] training images, EPOCHS [5], ALPHA [0.3], TEMPERATURE [4], THREADS [1].
set -euo pipefail
teacher=${1:?usage: distill_seeds.sh TEACHER.onnx OUT_DIR [BUILD]}
out=${2:?usage: distill_seeds.sh TEACHER.onnx OUT_DIR [BUILD]}
build=${3:-build}
student=${STUDENT:-lenet5}
width=${WIDTH:-1}
seeds=${SEEDS:-1 2 3}
limit=${LIMIT:-10000}
epochs=${EPOCHS:-5}
alpha=${ALPHA:-0.3}
temperature=${TEMPERATURE:-4}
threads=${THREADS:-1}
train=$build/edgeopt-train
[[ -x $train ]] || { echo "distill_seeds.sh: $train not found (build with the training backend)" >&2; exit 2; }
mkdir -p "$out"
export OMP_WAIT_POLICY=PASSIVE

# Top-1 on the 10,000 test images, by edgeopt's runtime.
top1() { "$build/edgeopt" eval "$1" --data fashion-mnist:test --json |
           /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["top1"])'; }

common=(--data fashion-mnist:train --limit "$limit" --epochs "$epochs" --batch 64
        --optimizer adamw --lr 0.003 --weight-decay 0.01 --schedule cosine --threads "$threads")
rows=()
for s in $seeds; do
  "$train" zoo "$student" -o "$out/student_s$s.onnx" --width "$width" --seed "$s" >/dev/null
  "$train" train "$out/student_s$s.onnx" -o "$out/alone_s$s.onnx" --seed "$s" "${common[@]}" \
    > "$out/alone_s$s.log"
  "$train" distill "$out/student_s$s.onnx" --teacher "$teacher" -o "$out/distilled_s$s.onnx" \
    --alpha "$alpha" --temperature "$temperature" --seed "$s" "${common[@]}" \
    > "$out/distilled_s$s.log"
  rows+=("$s $(top1 "$out/alone_s$s.onnx") $(top1 "$out/distilled_s$s.onnx")")
done

printf 'teacher %s: top-1 %s\n\n' "$(basename "$teacher")" "$(top1 "$teacher")"
printf '%s\n' "${rows[@]}" | /usr/bin/python3 -c '
import sys
rows = [l.split() for l in sys.stdin if l.strip()]
print("| seed | student alone | distilled | gain (pp) |")
print("|---:|---:|---:|---:|")
for s, a, d in rows:
    print(f"| {s} | {float(a):.2%} | {float(d):.2%} | {100 * (float(d) - float(a)):+.2f} |")
ma = sum(float(r[1]) for r in rows) / len(rows)
md = sum(float(r[2]) for r in rows) / len(rows)
print(f"| mean | {ma:.2%} | {md:.2%} | {100 * (md - ma):+.2f} |")
'
