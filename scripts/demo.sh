#!/usr/bin/env bash
# The main job of `make demo`: the lecture's lab (baseline → fold/fuse → structured prune 30% →
# int8 → prune+int8, recipes/lab.json) with every row measured.
#   1. the bundled Fashion-MNIST model: size, latency, peak RAM and top-1 on the 10,000 test
#      images (calibration on the training images);
#   2. torchvision ResNet-18 with random weights (weights=None, exported by PyTorch into the
#      build folder): size and speed only — its accuracy means nothing and is not shown.
#   3. `edgeopt fit` on the bundled model for a Raspberry Pi 4 (BUILD/demo/fit/report.html).
# Tables are also written to BUILD/demo/*.md and the reports to BUILD/demo/*.json.
set -euo pipefail
build=${1:-build}
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
