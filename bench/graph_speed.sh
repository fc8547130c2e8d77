#!/bin/bash
# Wall time of graph-heavy commands: model load (`inspect`) and `optimize` (default passes) on
# long generated chains (bench/make_chain_model.py), beside ONNX Runtime's load of the same chain
# (bench/ort/run_ort.js: session creation with graph optimizations `all`, one run). Prints the
# median of ROUNDS runs per case (a run cut by TIMEOUT seconds prints ">TIMEOUT").
#
#   bench/graph_speed.sh EDGEOPT CHAIN_DIR [ROUNDS] [TIMEOUT]
#
# CHAIN_DIR holds identity_50000.onnx, identity_200000.onnx, mixed_20000.onnx and
# mixed_200000.onnx (bench/make_chain_model.py KIND NODES); run from the source tree with the
# build in build/.
set -u
bin=${1:?edgeopt binary}
chains=${2:?folder of chain models}
rounds=${3:-3}
limit=${4:-900}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# Median wall seconds of `rounds` runs of the command.
median() {
  local times=()
  for ((r = 0; r < rounds; r++)); do
    local t0=$(date +%s.%N)
    if ! timeout "$limit" "$@" > /dev/null 2>&1; then
      echo ">$limit (or failed)"
      return
    fi
    times+=($(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {print b - a}'))
  done
  printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR] = $1} END {printf "%.2f s\n", a[int((NR + 1) / 2)]}'
}

echo "inspect resnet18_fxq_op13 (FX int8): $(median "$bin" inspect build/fixtures/resnet18_fxq_op13.onnx)"
echo "inspect corpus fasterrcnn_mnv3_320_op11_dyn: $(median "$bin" inspect \
  build/corpus/fasterrcnn_mnv3_320_op11_dyn/model.onnx --shape images:3x320x320)"
echo "inspect corpus r3d_18_op13_dyn: $(median "$bin" inspect \
  build/corpus/r3d_18_op13_dyn/model.onnx --shape input:1x3x16x56x56)"
for c in identity_50000 identity_200000 mixed_20000 mixed_200000; do
  echo "optimize $c: $(median "$bin" optimize "$chains/$c.onnx" -o "$out/$c.onnx")" \
    "| ORT load+run: $(median node bench/ort/run_ort.js "$chains/$c.onnx" --runs 1 --warmup 0)"
done
