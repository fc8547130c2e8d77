#!/bin/bash
# Old opsets in, valid ONNX out: torchvision ResNet-18 and MobileNetV2 exported at opsets 9 to 12
# (scripts/make_torchvision_fixtures.py --legacy-opsets) are quantized per-channel (which
# converts them to opset 13 with ONNX's version converter, and says so) and per-tensor (opset 10
# is enough: converted from 9 only, and no `axis` attribute below 13). Every output must pass
# onnx.checker, and bench/ort/quant_agree.js runs it with ONNX Runtime and with edgeopt on 8
# random inputs: top-1 agreement of the two >= 7/8, and both ONNX Runtime's quantized outputs
# against its fp32 ones and edgeopt's against ONNX Runtime's within relative L2 error 0.1.
# Exits 77 (skipped) when onnxruntime-node or the fixtures are missing.
# Usage: opset_ort.sh SOURCE_DIR BINARY_DIR
set -euo pipefail
src=$1
bin=$2
fix=$bin/fixtures
node -e "require('$src/bench/ort/node_modules/onnxruntime-node')" 2>/dev/null || exit 77
[ -f "$fix/resnet18_op9.onnx" ] && [ -f "$fix/resnet18_fxq_inputs.npy" ] || exit 77
out=$bin/opset_ort
mkdir -p "$out"
fail=0
for name in resnet18 mobilenet_v2; do
  for op in 9 10 11 12; do
    model=$fix/${name}_op$op.onnx
    models=()
    for mode in channel tensor; do
      q=$out/${name}_op$op.$mode.onnx
      extra=()
      [ $mode = tensor ] && extra=(--per-tensor)
      "$bin/edgeopt" quantize "$model" --calib "$fix/resnet18_calib.npz" --samples 4 \
        "${extra[@]}" -o "$q" >/dev/null 2>"$out/log"
      want=13
      [ $mode = tensor ] && want=$((op < 10 ? 10 : op))
      if [ "$want" != "$op" ]; then
        grep -q "^quantize: converted model from opset $op to $want" "$out/log" ||
          { echo "$q: no conversion note: $(cat "$out/log")"; fail=1; }
      fi
      /usr/bin/python3 - "$q" "$want" <<'PY' || fail=1
import sys
import onnx
m = onnx.load(sys.argv[1])
onnx.checker.check_model(m, full_check=True)
opset = [o.version for o in m.opset_import if o.domain in ("", "ai.onnx")][0]
assert opset == int(sys.argv[2]), "%s: opset %d, expected %s" % (sys.argv[1], opset, sys.argv[2])
if opset < 13:
    for n in m.graph.node:
        qdq = n.op_type in ("QuantizeLinear", "DequantizeLinear")
        assert not (qdq and any(a.name == "axis" for a in n.attribute)), \
            "%s: %s has an axis attribute at opset %d" % (sys.argv[1], n.name, opset)
PY
      models+=("$q")
    done
    node "$src/bench/ort/quant_agree.js" --edgeopt "$bin/edgeopt" --npy "$fix/resnet18_fxq_inputs.npy" \
      --count 8 --min 0.875 --fp32 "$model" --max-err 0.1 "${models[@]}" || fail=1
  done
done
exit $fail
