#!/usr/bin/env bash
# The main job of `make demo`, on the bundled default model and data: inspect the model,
# measure its accuracy on the 10,000 Fashion-MNIST test images, and benchmark it.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
model=models/fashion_resnet.onnx
edgeopt=$build/edgeopt
echo "== edgeopt inspect $model"
"$edgeopt" inspect "$model"
echo
echo "== edgeopt eval $model --data fashion-mnist:test"
"$edgeopt" eval "$model" --data fashion-mnist:test
echo
echo "== edgeopt bench $model --threads 1"
"$edgeopt" bench "$model" --threads 1 --warmup 20 --runs 200
