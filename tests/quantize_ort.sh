#!/bin/bash
# ONNX Runtime agreement of `edgeopt quantize` outputs: every variant (static QDQ and QOperator,
# dynamic, fp16) of the Fashion-MNIST models is run by onnxruntime-node and by edgeopt on the
# first 1000 test images; fails when their top-1 classes agree on fewer than 99% of them.
# Weights use the default range for this host (7-bit on x86 without VNNI, where ONNX Runtime's
# AVX2 u8 x s8 kernels saturate int16 pair sums of 8-bit weights: 98.3% agreement measured).
# Exits 77 (skipped) when onnxruntime-node or the models are missing.
# Usage: quantize_ort.sh SOURCE_DIR BINARY_DIR
set -euo pipefail
src=$1
bin=$2
node -e "require('$src/bench/ort/node_modules/onnxruntime-node')" 2>/dev/null || exit 77
[ -f /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ] || exit 77
out=$bin/quantize_ort
mkdir -p "$out"
models=()
for name in resnet mobilenet; do
  model=$src/models/fashion_$name.onnx
  [ -f "$model" ] || continue
  q=(quantize "$model" --calib fashion-mnist:train --samples 200)
  "$bin/edgeopt" "${q[@]}" -o "$out/$name.qdq.onnx" >/dev/null
  "$bin/edgeopt" "${q[@]}" --format qoperator -o "$out/$name.qop.onnx" >/dev/null
  "$bin/edgeopt" quantize "$model" --mode dynamic -o "$out/$name.dyn.onnx" >/dev/null
  "$bin/edgeopt" quantize "$model" --mode fp16 -o "$out/$name.fp16.onnx" >/dev/null
  models+=("$out/$name".{qdq,qop,dyn,fp16}.onnx)
done
[ ${#models[@]} -gt 0 ] || exit 77
node "$src/bench/ort/quant_agree.js" --edgeopt "$bin/edgeopt" --count 1000 --min 0.99 \
  "${models[@]}"
