#!/usr/bin/env bash
# A selective build of the runtime library (docs/package.md): a CMake tree configured with
# -DEDGEOPT_OPS_FROM=MODEL and without oneDNN (the configuration of a device: XNNPACK and the
# reference provider), its libedgeopt_rt.so only. Checks:
# - the C API program (tests/c_api/c_api_test.c) built against it gives MODEL's output bit for
#   bit as `edgeopt run --provider xnnpack,reference` of the full build;
# - a model with an op left out (OTHER) is refused with one line naming the op and the node;
# - the selective library is smaller than the full one (sizes stripped; printed).
# Prints the peak RSS of running MODEL through it (informative).
#   selective_test.sh SOURCE_DIR EDGEOPT FULL_RT_SO MODEL OTHER WORK
set -euo pipefail
src=$1 edgeopt=$2 full_rt=$3 model=$4 other=$5 work=$6
fail() { echo "FAILED: $*"; exit 1; }
mkdir -p "$work"
cmake -S "$src" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DEDGEOPT_TESTS=OFF \
  -DEDGEOPT_ONEDNN=OFF "-DEDGEOPT_OPS_FROM=$model" | grep "Selective build" ||
  fail "no selective build configured"
ninja -C "$work/build" edgeopt_rt >/dev/null
cc -O2 -I"$src/include" "$src/tests/c_api/c_api_test.c" -o "$work/c_api_test" \
  -L"$work/build" -ledgeopt_rt -Wl,-rpath,"$work/build" -lpthread
"$work/c_api_test" input "$model" "$work/x.npy" >/dev/null
"$edgeopt" run "$model" --input "$work/x.npy" --output "$work/y.npy" \
  --provider xnnpack,reference >/dev/null
"$work/c_api_test" compare "$model" "$work/x.npy" "$work/y.npy" >"$work/compare.log" ||
  { grep FAILED "$work/compare.log"; fail "the selective library differs from edgeopt run"; }
echo "ok: same output as edgeopt run --provider xnnpack,reference"
if "$work/c_api_test" input "$other" "$work/x_other.npy" >"$work/other.log" 2>&1; then
  fail "a model with ops the build left out loaded"
fi
grep -q "no provider can run these ops: .*(node '" "$work/other.log" ||
  fail "the refusal does not name the op and node: $(cat "$work/other.log")"
[[ $(wc -l <"$work/other.log") -eq 1 ]] || fail "more than one line: $(cat "$work/other.log")"
echo "ok: $(cat "$work/other.log")"
strip -o "$work/selective.so" "$work/build/libedgeopt_rt.so"
strip -o "$work/full.so" "$full_rt"
sel=$(stat -c %s "$work/selective.so") full=$(stat -c %s "$work/full.so")
echo "libedgeopt_rt.so stripped: selective $sel bytes, all ops (with oneDNN) $full bytes"
((2 * sel < full)) || fail "the selective library is not under half the full one"
rss=$( { /usr/bin/time -f "%M" "$work/c_api_test" compare "$model" "$work/x.npy" "$work/y.npy" \
  >/dev/null; } 2>&1 | tail -1)
echo "peak RSS of the C API program on $(basename "$model"): $rss KiB"
echo "PASSED"
