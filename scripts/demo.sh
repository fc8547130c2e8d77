#!/usr/bin/env bash
# The main job of `make demo`: the lecture's lab (baseline → fold/fuse → structured prune 30% →
# int8 → prune+int8, recipes/lab.json) with every row measured.
#   1. the bundled Fashion-MNIST model: size, latency, peak RAM and top-1 on the 10,000 test
#      images (calibration on the training images);
#   2. torchvision ResNet-18 with random weights (weights=None, exported by PyTorch into the
#      build folder): size and speed only — its accuracy means nothing and is not shown.
#   3. `edgeopt fit` on the bundled model for a Raspberry Pi 4 (BUILD/demo/fit/report.html);
#   4. on the device: fit's pick packaged for raspberry-pi-4 (the fp32 model as the fallback) with
#      the arm64 runtime, cross-built into ARM64_BUILD first; the bundle's example built by its
#      own build.sh, run under qemu-aarch64 on a Cortex-A72 (a Pi 4) on one test image, and its
#      top-1 checked against `edgeopt run` on x86 (the demo fails if they differ).
# Tables are also written to BUILD/demo/*.md and the reports to BUILD/demo/*.json.
# Usage: scripts/demo.sh [BUILD [ARM64_BUILD]]   (default: build, build-arm64 beside BUILD)
set -euo pipefail
build=${1:-build}
arm64_build=${2:-$(dirname "$build")/build-arm64}
cd "$(dirname "$0")/.."
edgeopt=$build/edgeopt
out=$build/demo
mkdir -p "$out"
model=models/fashion_resnet8.onnx  # trained by edgeopt itself (models/README.md)
recipe=recipes/lab.json
if [[ ! -x $build/edgeopt-train ]]; then
  # Built without the training backend (EDGEOPT_TRAIN=0): the same recipe minus fine-tuning;
  # steps that started from a fine-tuning step start from what it started from.
  recipe=$out/lab_no_finetune.json
  /usr/bin/python3 - recipes/lab.json "$recipe" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
origin, prev, kept = {}, "baseline", []
for s in r["steps"]:
    name, src = s.get("name", s["op"]), s.get("from", prev)
    src = origin.get(src, src)
    if s["op"] == "finetune":
        origin[name] = src
    else:
        s["from"] = src
        kept.append(s)
    prev = name
r["steps"] = kept
json.dump(r, open(sys.argv[2], "w"), indent=2)
PY
  echo "(no training backend: fine-tuning steps left out of the recipe)"
fi

echo "== edgeopt inspect $model"
"$edgeopt" inspect "$model"
echo
echo "== the lab recipe on $model (Fashion-MNIST)"
"$edgeopt" optimize "$model" -o "$out/fashion_resnet8_lab.onnx" --recipe "$recipe" \
  --calib fashion-mnist:train $([[ -x $build/edgeopt-train ]] && echo --train fashion-mnist:train) --eval fashion-mnist:test --bench --bench-runs 200 \
  --bench-warmup 20 --threads 1 --keep "$out/fashion_resnet8" --table "$out/fashion_resnet8.md" \
  --report "$out/fashion_resnet8.json"
echo
echo "== the lab recipe on torchvision resnet18 (random weights: size and speed only)"
/usr/bin/python3 scripts/make_torchvision_fixtures.py "$build/fixtures" --models resnet18 \
  --opsets 13
"$edgeopt" optimize "$build/fixtures/resnet18_op13.onnx" -o "$out/resnet18_lab.onnx" \
  --recipe "$recipe" --calib "$build/fixtures/resnet18_calib.npz" --bench \
  --bench-runs 20 --bench-warmup 3 --threads 1 --keep "$out/resnet18" \
  --table "$out/resnet18.md" --report "$out/resnet18.json"
echo
echo "== edgeopt fit: the best model for a Raspberry Pi 4 within 1 pp of top-1 and 0.2 MB"
# A small eval subset keeps this short; docs/fit.md explains the search and the report.
rc=0
"$edgeopt" fit "$model" --device raspberry-pi-4 --calib fashion-mnist:train \
  --calib-samples 500 --eval fashion-mnist:test --eval-limit 1000 --max-drop 1 --max-size 0.2 \
  --threads 1 -o "$out/fit" || rc=$?
if [[ $rc -ne 0 && $rc -ne 3 ]]; then exit "$rc"; fi
echo "fit report: $out/fit/report.html (also report.md and report.json; the pick: $out/fit/model.onnx)"
echo
echo "== on a Raspberry Pi 4: the pick packaged for raspberry-pi-4, its example run under qemu-aarch64"
pick=$out/fit/model.onnx fallback=(--fallback "$model")
if [[ ! -f $pick ]]; then
  pick=$model fallback=()
  echo "(fit found no model within the limits: packaging $model itself, without a fallback)"
fi
# The arm64 runtime library (what `make runtime-arm64` builds); the cross build's log is kept
# out of the way and shown only if it fails.
log=$out/runtime-arm64.log
start=$SECONDS
if ! bash scripts/build_arm64.sh "$arm64_build" "$build" "${JOBS:-$(nproc)}" edgeopt_rt edgeopt_rt_static \
  >"$log" 2>&1; then
  tail -n 20 "$log"
  echo "the arm64 runtime did not build (log: $log)"
  exit 1
fi
echo "arm64 runtime (libedgeopt_rt for aarch64) built in $((SECONDS - start)) s ($arm64_build; log: $log)"
bundle=$out/raspberry-pi-4
rm -rf "$bundle" "$out/raspberry-pi-4-example"
# package prints its checklist (also in the bundle's CHECKLIST.md): only its tally here.
"$edgeopt" package "$pick" --device raspberry-pi-4 -o "$bundle" "${fallback[@]}" \
  --runtime "$arm64_build" >"$out/package.log"
echo "packaged: $bundle ($(grep -c '^done:' "$out/package.log") checklist items done," \
  "$(grep -c '^not done:' "$out/package.log") not done: $bundle/CHECKLIST.md)"
exe=$("$bundle/example/build.sh" "$out/raspberry-pi-4-example")
echo "example built by the bundle's build.sh: $(file -b "$exe" | cut -d, -f1-2)"
# One Fashion-MNIST test image, as the model takes it: [1,1,28,28] float32, pixel/255.
image=$out/test_image.npy
label=$(/usr/bin/python3 - "$image" <<'PY'
import gzip, sys
import numpy as np
root, i = "/usr/share/datasets/fashion-mnist", 0
with gzip.open(f"{root}/t10k-images-idx3-ubyte.gz") as f:
    x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)[i:i + 1]
with gzip.open(f"{root}/t10k-labels-idx1-ubyte.gz") as f:
    y = np.frombuffer(f.read(), np.uint8, offset=8)[i]
np.save(sys.argv[1], (x / np.float32(255)).astype(np.float32))
print(y)
PY
)
# The example's last argument is the fallback model it switches to if the first fails.
run=(qemu-aarch64 -cpu cortex-a72 "$exe" "$bundle/$(basename "$pick")" "$image" "$out/y_arm64.npy")
((${#fallback[@]})) && run+=("$bundle/$(basename "$model")")
echo "\$ ${run[*]}"
"${run[@]}"
echo "(the latency is qemu's emulation on this host, not a Pi's)"
"$edgeopt" run "$pick" --input "$image" --output "$out/y_x86.npy" >/dev/null
/usr/bin/python3 - "$out/y_arm64.npy" "$out/y_x86.npy" "$label" <<'PY'
import sys
import numpy as np
classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
           "Bag", "Ankle boot"]
arm64, x86, label = np.load(sys.argv[1]), np.load(sys.argv[2]), int(sys.argv[3])
a, b = int(arm64[0].argmax()), int(x86[0].argmax())
print(f"top-1 on arm64 (qemu, Cortex-A72): {a} {classes[a]}; edgeopt run on x86: {b} {classes[b]}; "
      f"label: {label} {classes[label]}; max |logit diff| {np.abs(arm64 - x86).max():.3g}")
if a != b:
    sys.exit("FAILED: the arm64 example's top-1 differs from edgeopt run's on x86")
print("ok: the same top-1 on the device as on x86")
PY
