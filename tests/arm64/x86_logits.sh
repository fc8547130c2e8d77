#!/usr/bin/env bash
# The x86 side of the arm64 int8 comparison (tests/arm64.cmake): the first N inputs of the FX
# int8 ResNet-18 fixture, and the logits the x86 build's `edgeopt run` computes for them with
# its default providers and with the reference provider.
# Usage: x86_logits.sh X86_EDGEOPT FIXTURES_DIR OUT_DIR N
set -euo pipefail
edgeopt="$1" fixtures="$2" out="$3" n="$4"
if [[ ! -x "$edgeopt" ]]; then
  echo "x86_logits: $edgeopt not found: build the x86 tree first (make build)" >&2
  exit 1
fi
mkdir -p "$out"
/usr/bin/python3 - "$fixtures/resnet18_fxq_inputs.npy" "$out/inputs.npy" "$n" <<'PY'
import sys

import numpy as np

x = np.load(sys.argv[1])
n = int(sys.argv[3])
if x.shape[0] < n:
    sys.exit("x86_logits: %s has %d inputs, fewer than %d" % (sys.argv[1], x.shape[0], n))
np.save(sys.argv[2], np.ascontiguousarray(x[:n]))
PY
# The x86 build's default providers (onednn's int8 kernels) and its reference provider.
"$edgeopt" run "$fixtures/resnet18_fxq_op13.onnx" --input "$out/inputs.npy" \
  --output "$out/logits_default.npy"
"$edgeopt" run "$fixtures/resnet18_fxq_op13.onnx" --input "$out/inputs.npy" \
  --output "$out/logits_reference.npy" --provider reference
