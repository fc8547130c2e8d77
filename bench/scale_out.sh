#!/usr/bin/env bash
# Wall time of data-parallel fine-tuning and of fit on workers, side by side with one process
# (docs/scale-out.md). Run from the repository root after building: bench/scale_out.sh [OUT_DIR]
# Uses farm-bench (paired A/B runs, medians of 3); each comparison takes a few minutes.
set -euo pipefail
root=$(pwd)
out=${1:-/tmp/edgeopt-scale-out}
mkdir -p "$out"
cd "$root/build"
model=../models/fashion_resnet8.onnx
ft="--data fashion-mnist:train --limit 12000 --epochs 2 --seed 1 --threads 1"
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}

# fit with N local workers (0: none) on the bundled model: bench/scale_out.sh fit N DIR
if [[ "${1:-}" == "fit" ]]; then
  n=$2 dir=$3
  rm -rf "$dir"
  args=(fit "$model" --device host --calib fashion-mnist:train --eval fashion-mnist:test
        --eval-limit 2000 --objective size --bench-rounds 1 --bench-runs 20 -o "$dir")
  [[ "$n" == 0 ]] && exec ./edgeopt "${args[@]}"
  port=$((30000 + RANDOM % 20000))
  for _ in $(seq 1 "$n"); do ./edgeopt fit-worker "tcp://127.0.0.1:$port" 2>/dev/null & done
  ./edgeopt "${args[@]}" --workers "tcp://127.0.0.1:$port"
  rc=$?
  wait
  exit $rc
fi

self="$root/bench/scale_out.sh"
one="./edgeopt-train finetune $model -o $out/one.onnx $ft"
two="./edgeopt launch -n 2 -- edgeopt-train finetune $model -o $out/two.onnx $ft"
farm-bench -n 3 --warmup 0 --timeout 1500 --vs "$one" -- $two | tee "$out/finetune_2ranks_vs_1.txt"
farm-bench -n 3 --warmup 0 --timeout 1500 --vs "$one" -- $two --sync-bn |
  tee "$out/finetune_2ranks_syncbn_vs_1.txt"
OMP_WAIT_POLICY=PASSIVE farm-bench -n 3 --warmup 0 --timeout 1500 \
  --vs "./edgeopt-train finetune $model -o $out/one2.onnx ${ft/--threads 1/--threads 2}" -- $two |
  tee "$out/finetune_2ranks_vs_1_2threads.txt"
farm-bench -n 3 --warmup 0 --timeout 1500 --vs "$self fit 1 $out/fit1" -- "$self" fit 2 "$out/fit2" |
  tee "$out/fit_2workers_vs_1.txt"
farm-bench -n 3 --warmup 0 --timeout 1500 --vs "$self fit 0 $out/fit0" -- "$self" fit 2 "$out/fit2" |
  tee "$out/fit_2workers_vs_none.txt"
