#!/usr/bin/env bash
# `edgeopt package` end to end (ctest entries in tests/CMakeLists.txt):
#   package_test.sh host    EDGEOPT MODEL FALLBACK WORK
#     packages MODEL for the host profile, builds the example with the bundle's own build.sh,
#     runs it on an .npy and compares its output with `edgeopt run` on the same input (exactly:
#     same binary providers); the fallback path (a corrupt first model: the fallback runs, says
#     so, and its output equals `edgeopt run FALLBACK`); bad input to the example and to package
#     (one line, exit 2, the existing output folder untouched), and to `fit --package`.
#   package_test.sh shapes  EDGEOPT - - WORK
#     a model someone else exported (PyTorch, made here): two inputs with a symbolic dim.
#     package refuses it in one line naming --shape; with --shape for both, the bundle holds the
#     model with the dims fixed and one example input per model input, and the example, given
#     both .npy files joined by a comma, equals `edgeopt run` on the original; one input file
#     or the wrong length: one line, exit 2.
#   package_test.sh arm64   EDGEOPT MODEL FALLBACK WORK RUNTIME_DIR
#     packages MODEL for raspberry-pi-4 with the arm64 runtime of RUNTIME_DIR, cross-builds the
#     example with build.sh, checks that `file` says AArch64, runs it under qemu-aarch64 on a
#     Cortex-A72 and compares its top-1 with `edgeopt run` on x86. Exits 77 (skipped, with the
#     reason printed) only when RUNTIME_DIR has no arm64 runtime library.
set -euo pipefail
mode=$1 edgeopt=$2 model=$3 fallback=$4 work=$5
py=/usr/bin/python3
rm -rf "$work"
mkdir -p "$work"

fail() {
  echo "FAILED: $*"
  exit 1
}

# `cmd...` must exit 2 with exactly one line on stderr and nothing on stdout.
expect_one_line_exit2() {
  local rc=0
  "$@" >"$work/stdout" 2>"$work/stderr" || rc=$?
  [[ $rc -eq 2 ]] || fail "$* exited $rc, not 2: $(cat "$work/stderr")"
  [[ $(wc -l <"$work/stderr") -eq 1 ]] || fail "$* printed $(wc -l <"$work/stderr") lines on stderr"
  [[ ! -s "$work/stdout" ]] || fail "$* printed on stdout: $(cat "$work/stdout")"
  echo "ok (exit 2): $(cat "$work/stderr")"
}

# The arrays of two .npy files: "equal" (dtype, shape and every bit) or "top1" (same argmax).
compare_npy() {
  "$py" - "$1" "$2" "$3" <<'PY'
import sys
import numpy as np
how, a, b = sys.argv[1], np.load(sys.argv[2]), np.load(sys.argv[3])
assert a.dtype == b.dtype and a.shape == b.shape, (a.dtype, a.shape, b.dtype, b.shape)
if how == "equal":
    assert a.tobytes() == b.tobytes(), f"max |diff| {np.abs(a - b).max()}"
    print(f"ok: {a.size} values equal bit for bit")
else:
    ta, tb = int(a.reshape(-1, a.shape[-1])[0].argmax()), int(b.reshape(-1, b.shape[-1])[0].argmax())
    assert ta == tb, f"top-1 {ta} vs {tb}"
    print(f"ok: top-1 {ta} equal, max |diff| {np.abs(a - b).max():.3g}")
PY
}

case "$mode" in
  host)
    bundle=$work/bundle
    "$edgeopt" package "$model" --device host -o "$bundle" --fallback "$fallback" --bench-runs 5
    for f in CHECKLIST.md manifest.json lib/libedgeopt_rt.so include/edgeopt/c_api.h \
        example/main.cpp example/CMakeLists.txt example/build.sh "$(basename "$model")"; do
      [[ -f "$bundle/$f" ]] || fail "the bundle has no $f"
    done
    # The manifest's checksum is the model's.
    want=$(sha256sum "$model" | cut -d' ' -f1)
    grep -q "\"$(basename "$model")\": \"$want\"" "$bundle/manifest.json" ||
      fail "manifest.json does not hold the model's sha256 $want"
    exe=$("$bundle/example/build.sh" "$work/example")
    # The example loads the bundle's runtime, not the build tree's.
    # (ldd's whole output first: with pipefail, grep -q quitting at its match can fail ldd with
    # SIGPIPE.)
    grep -q "$bundle/lib/libedgeopt_rt.so" <<<"$(ldd "$exe")" || fail "the example does not load lib/"
    "$py" -c "import numpy as np; np.save('$work/x.npy', np.random.default_rng(7).random((1, 1, 28, 28), dtype=np.float32))"
    "$exe" "$bundle/$(basename "$model")" "$work/x.npy" "$work/y.npy"
    "$edgeopt" run "$model" --input "$work/x.npy" --output "$work/y_ref.npy"
    compare_npy equal "$work/y.npy" "$work/y_ref.npy"

    echo "not an ONNX model" >"$work/corrupt.onnx"
    "$exe" "$work/corrupt.onnx" "$work/x.npy" "$work/y_fb.npy" "$bundle/$(basename "$fallback")" \
      2>"$work/fallback.log"
    grep -q "falling back to" "$work/fallback.log" || fail "no fallback message"
    echo "ok: $(cat "$work/fallback.log")"
    "$edgeopt" run "$fallback" --input "$work/x.npy" --output "$work/y_fb_ref.npy"
    compare_npy equal "$work/y_fb.npy" "$work/y_fb_ref.npy"

    # The memory limit: the example built for 200 kB (weights + activations) falls back from the
    # ResNet-8 (0.3 MB of weights) to a linear model of 31 kB.
    "$py" - "$work/linear.onnx" <<'PY'
import sys
import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto
w = numpy_helper.from_array(np.random.default_rng(3).standard_normal((784, 10)).astype(np.float32), "w")
shape = numpy_helper.from_array(np.array([1, 784], np.int64), "shape")
graph = helper.make_graph(
    [helper.make_node("Reshape", ["x", "shape"], ["flat"]), helper.make_node("MatMul", ["flat", "w"], ["y"])],
    "linear", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 28, 28])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])], [w, shape])
onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), sys.argv[1])
PY
    cmake -S "$bundle/example" -B "$work/example_200k" -DMEMORY_LIMIT_BYTES=200000 >/dev/null
    cmake --build "$work/example_200k" >/dev/null
    "$work/example_200k/example" "$bundle/$(basename "$model")" "$work/x.npy" "$work/y_lin.npy" \
      "$work/linear.onnx" 2>"$work/memory.log"
    grep -q "over the memory limit of 200000" "$work/memory.log" || fail "no fallback on memory"
    echo "ok: $(cat "$work/memory.log")"
    "$edgeopt" run "$work/linear.onnx" --input "$work/x.npy" --output "$work/y_lin_ref.npy"
    compare_npy equal "$work/y_lin.npy" "$work/y_lin_ref.npy"
    grep -q '"memory_limit_bytes"' "$bundle/manifest.json" || fail "no memory limit in manifest"

    # Bad input to the example: not an .npy, the wrong shape, a missing file.
    expect_one_line_exit2 "$exe" "$bundle/$(basename "$model")" "$bundle/CHECKLIST.md" "$work/o.npy"
    "$py" -c "import numpy as np; np.save('$work/x3.npy', np.zeros((1, 3, 28, 28), np.float32))"
    expect_one_line_exit2 "$exe" "$bundle/$(basename "$model")" "$work/x3.npy" "$work/o.npy"
    expect_one_line_exit2 "$exe" "$bundle/$(basename "$model")" "$work/none.npy" "$work/o.npy"
    [[ ! -e "$work/o.npy" ]] || fail "the example wrote an output on bad input"

    # Bad input to package: unknown profile, an existing non-empty output folder (left as it
    # was), no arm64 runtime where it is looked for, a corrupt model.
    expect_one_line_exit2 "$edgeopt" package "$model" --device no-such-device -o "$work/b1"
    before=$(cd "$bundle" && find . -type f | sort | xargs sha256sum)
    expect_one_line_exit2 "$edgeopt" package "$model" --device host -o "$bundle"
    [[ "$(cd "$bundle" && find . -type f | sort | xargs sha256sum)" == "$before" ]] ||
      fail "package changed an existing output folder"
    expect_one_line_exit2 "$edgeopt" package "$model" --device raspberry-pi-4 -o "$work/b2" \
      --runtime "$work"
    grep -q "make runtime-arm64" "$work/stderr" || fail "the message does not say how to build it"
    expect_one_line_exit2 "$edgeopt" package "$work/corrupt.onnx" --device host -o "$work/b3"
    # fit --package checks the bundle's folder before its search.
    expect_one_line_exit2 "$edgeopt" fit "$model" --device host --calib fashion-mnist:train \
      --eval fashion-mnist:test -o "$work/fit" --package "$bundle"
    [[ ! -e "$work/fit" ]] || fail "fit ran its search with an unusable --package folder"
    for b in b1 b2 b3; do [[ ! -e "$work/$b" ]] || fail "package left $work/$b behind"; done
    [[ -z "$(find "$work" -maxdepth 1 -name '.b*')" ]] || fail "package left a temporary folder"
    ;;
  shapes)
    bundle=$work/bundle
    m=$work/two_inputs.onnx
    "$py" - "$m" <<'PY'
import sys
import torch
class TwoInputs(torch.nn.Module):
    def forward(self, a, b):
        return torch.relu(a * 2.0 - b).cumsum(dim=1)
a, b = torch.rand(1, 8), torch.rand(1, 8)
torch.onnx.export(TwoInputs(), (a, b), sys.argv[1], input_names=["a", "b"], output_names=["y"],
                  dynamic_axes={"a": {1: "n"}, "b": {1: "n"}}, opset_version=13)
PY
    expect_one_line_exit2 "$edgeopt" package "$m" --device host -o "$work/b0"
    grep -q -- "--shape" "$work/stderr" || fail "the message does not name --shape"
    [[ ! -e "$work/b0" ]] || fail "package left $work/b0 behind"
    "$edgeopt" package "$m" --device host -o "$bundle" --shape a:1x8 --shape b:1x8 --bench-runs 3
    for f in example/input_0.npy example/input_1.npy two_inputs.onnx; do
      [[ -f "$bundle/$f" ]] || fail "the bundle has no $f"
    done
    # The bundled model has the dims fixed: it needs no --shape to be inspected.
    "$edgeopt" inspect "$bundle/two_inputs.onnx" >/dev/null
    exe=$("$bundle/example/build.sh" "$work/example")
    "$py" -c "import numpy as np; r = np.random.default_rng(3); np.save('$work/a.npy', r.random((1, 8), dtype=np.float32)); np.save('$work/b.npy', r.random((1, 8), dtype=np.float32)); np.save('$work/a9.npy', np.zeros((1, 9), np.float32))"
    "$exe" "$bundle/two_inputs.onnx" "$work/a.npy,$work/b.npy" "$work/y.npy"
    "$edgeopt" run "$m" --input "a=$work/a.npy" --input "b=$work/b.npy" --output "$work/y_ref.npy"
    compare_npy equal "$work/y.npy" "$work/y_ref.npy"
    expect_one_line_exit2 "$exe" "$bundle/two_inputs.onnx" "$work/a.npy" "$work/o.npy"
    expect_one_line_exit2 "$exe" "$bundle/two_inputs.onnx" "$work/a9.npy,$work/b.npy" "$work/o.npy"
    [[ ! -e "$work/o.npy" ]] || fail "the example wrote an output on bad input"
    ;;
  arm64)
    runtime=$6
    if [[ ! -f "$runtime/libedgeopt_rt.so" ]]; then
      echo "SKIPPED: no arm64 runtime library in $runtime (make runtime-arm64 builds it)"
      exit 77
    fi
    bundle=$work/bundle
    "$edgeopt" package "$model" --device raspberry-pi-4 -o "$bundle" --fallback "$fallback" \
      --runtime "$runtime" --bench-runs 5
    file -L "$bundle/lib/libedgeopt_rt.so" | grep -q "ARM aarch64" || fail "lib/ is not AArch64"
    # lib/ is no larger than the libraries stripped (RUNPATH set in place, or not at all), and
    # the loader finds every one of them in lib/.
    bundled=0
    while read -r soname path; do
      [[ -f "$bundle/lib/$soname" ]] || continue
      aarch64-linux-gnu-strip --strip-unneeded -o "$work/stripped.so" "$path"
      size=$(stat -c %s "$bundle/lib/$soname") want=$(stat -c %s "$work/stripped.so")
      ((size <= want)) || fail "lib/$soname is $size bytes, stripped $path $want"
      bundled=$((bundled + 1))
    done < <(echo "libedgeopt_rt.so $runtime/libedgeopt_rt.so"
      qemu-aarch64 /lib/ld-linux-aarch64.so.1 --list "$runtime/libedgeopt_rt.so" |
        awk '$2 == "=>" {print $1, $3}')
    ((bundled == $(ls "$bundle/lib" | wc -l))) || fail "compared $bundled of $(ls "$bundle/lib")"
    listed=$(qemu-aarch64 /lib/ld-linux-aarch64.so.1 --list "$bundle/lib/libedgeopt_rt.so")
    for soname in $(ls "$bundle/lib"); do
      [[ $soname == libedgeopt_rt.so ]] && continue
      grep -q "$soname => $bundle/lib/$soname" <<<"$listed" ||
        fail "lib/libedgeopt_rt.so does not load lib/$soname: $listed"
    done
    echo "ok: lib/ $(du -cb "$bundle"/lib/* | tail -1 | cut -f1) bytes, $bundled libraries from lib/"
    exe=$("$bundle/example/build.sh" "$work/example")
    file "$exe" | grep -q "ARM aarch64" || fail "the example is not AArch64: $(file "$exe")"
    echo "ok: $(file "$exe" | cut -d, -f1-2)"
    "$py" -c "import numpy as np; np.save('$work/x.npy', np.random.default_rng(7).random((1, 1, 28, 28), dtype=np.float32))"
    qemu-aarch64 -cpu cortex-a72 "$exe" "$bundle/$(basename "$model")" "$work/x.npy" "$work/y.npy"
    "$edgeopt" run "$model" --input "$work/x.npy" --output "$work/y_ref.npy"
    compare_npy top1 "$work/y.npy" "$work/y_ref.npy"
    ;;
  *)
    fail "unknown mode $mode"
    ;;
esac
echo "PASSED"
