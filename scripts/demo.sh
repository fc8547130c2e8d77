#!/usr/bin/env bash
# The main job of `make demo`, on the bundled default model and data.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
model=models/fashion_resnet.onnx
echo "== edgeopt inspect $model"
"$build/edgeopt" inspect "$model"
