#!/usr/bin/env bash
# The main job of `make demo`: the lecture's lab (baseline → fold/fuse → structured prune 30% →
# int8 → prune+int8, recipes/lab.json) with every row measured.
#   1. the bundled Fashion-MNIST model: size, latency, peak RAM and top-1 on the 10,000 test
#      images (calibration on the training images);
#   2. torchvision ResNet-18 with random weights (weights=None, exported by PyTorch into the
#      build folder): size and speed only — its accuracy means nothing and is not shown.
# Tables are also written to BUILD/demo/*.md and the reports to BUILD/demo/*.json.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
edgeopt=$build/edgeopt
out=$build/demo
mkdir -p "$out"
model=models/fashion_resnet.onnx

echo "== edgeopt inspect $model"
"$edgeopt" inspect "$model"
echo
echo "== the lab recipe on $model (Fashion-MNIST)"
"$edgeopt" optimize "$model" -o "$out/fashion_resnet_lab.onnx" --recipe recipes/lab.json \
  --calib fashion-mnist:train --train fashion-mnist:train --eval fashion-mnist:test --bench --bench-runs 200 \
  --bench-warmup 20 --threads 1 --keep "$out/fashion_resnet" --table "$out/fashion_resnet.md" \
  --report "$out/fashion_resnet.json"
echo
echo "== the lab recipe on torchvision resnet18 (random weights: size and speed only)"
/usr/bin/python3 scripts/make_torchvision_fixtures.py "$build/fixtures" --models resnet18 \
  --opsets 13
"$edgeopt" optimize "$build/fixtures/resnet18_op13.onnx" -o "$out/resnet18_lab.onnx" \
  --recipe recipes/lab.json --calib "$build/fixtures/resnet18_calib.npz" --bench \
  --bench-runs 20 --bench-warmup 3 --threads 1 --keep "$out/resnet18" \
  --table "$out/resnet18.md" --report "$out/resnet18.json"
