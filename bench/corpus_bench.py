#!/usr/bin/python3
"""edgeopt vs ONNX Runtime on the real-model corpus (tests/corpus/corpus.json), on the inputs the
corpus tests use (<build>/corpus/NAME/inputs.npz, made by `ctest -L corpus`'s setup).

  bench/corpus_bench.py [--build DIR] [--label corpus] [--rounds R] [--runs N] [--warmup W]
                        [--threads "1 2"] [--model model.onnx] [NAME ...]

--model quantized.onnx times the int8 QDQ model the corpus test's quantize check wrote
(`edgeopt quantize model.onnx --calib calib.npz`); both runtimes run that same file.

For every model and thread count the two runtimes alternate for R rounds (load from other
processes hits both alike); each round is one process timing N runs after W warm-up runs on the
same input data (`edgeopt bench --input inputs.npz`, `run_ort.js --input x.pb ...`); the table
gives the median over rounds of those p50s, and ratio = edgeopt / ORT (below 1: edgeopt is
faster). "reference" is the share of edgeopt's time spent in the reference provider's kernels at
1 thread (`edgeopt bench --profile`, one extra process), with the ops it ran; the last column
leaves out the ops no accelerated provider has by nature (HOST_OPS: detection post-processing,
control flow). Prints one Markdown
table on stdout; a model edgeopt or ORT refuses gets its error line instead of figures.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_json(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        lines = (p.stderr or p.stdout).strip().splitlines()
        raise RuntimeError(lines[-1] if lines else f"exit {p.returncode}")
    return json.loads(p.stdout)


def ort_inputs(model_path, npz_path, tmp):
    """The inputs as TensorProto files in the model's input order (run_ort.js --input)."""
    model = onnx.load(model_path, load_external_data=False)
    inits = {i.name for i in model.graph.initializer}
    arrays = np.load(npz_path)
    files = []
    for k, vi in enumerate(i for i in model.graph.input if i.name not in inits):
        path = os.path.join(tmp, f"input_{k}.pb")
        with open(path, "wb") as f:
            f.write(numpy_helper.from_array(arrays[vi.name], vi.name).SerializeToString())
        files.append(path)
    return files


# Ops that have no oneDNN or XNNPACK counterpart by nature: a detector's post-processing (box
# selection and gathering) and control flow (an If / Loop / Scan node's own time, its body's
# nodes counted where they run). The table gives the reference share without them too.
HOST_OPS = {"NonMaxSuppression", "TopK", "NonZero", "RoiAlign", "ScatterElements", "ScatterND",
            "GatherND", "GatherElements", "If", "Loop", "Scan"}


def reference_share(edgeopt, model, npz):
    j = run_json([edgeopt, "bench", model, "--input", npz, "--threads", "1", "--warmup", "2",
                  "--runs", "10", "--profile", "--json"])
    total = sum(n["total_ms"] for n in j["profile"])
    ref = {}
    for n in j["profile"]:
        if n["provider"] == "reference":
            ref[n["op"]] = ref.get(n["op"], 0) + n["total_ms"]
    share = sum(ref.values()) / total if total else 0
    rest = sum(t for op, t in ref.items() if op not in HOST_OPS) / total if total else 0
    ops = ", ".join(f"{op} {100 * t / total:.1f}%" for op, t in
                    sorted(ref.items(), key=lambda kv: -kv[1])[:3] if total and t / total >= 0.001)
    return share, rest, ops


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--label", default="corpus")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--threads", default="1 2")
    ap.add_argument("--model", default="model.onnx", help="file in build/corpus/NAME to time")
    ap.add_argument("names", nargs="*")
    a = ap.parse_args()
    edgeopt = os.path.join(a.build, "edgeopt")
    run_ort = os.path.join(ROOT, "bench", "ort", "run_ort.js")
    manifest = json.load(open(os.path.join(ROOT, "tests", "corpus", "corpus.json")))
    models = [m for m in manifest["models"]
              if (m["name"] in a.names if a.names else m.get("label") == a.label)]
    subprocess.run(["bash", os.path.join(ROOT, "bench", "ort", "setup.sh")], check=True,
                   stdout=sys.stderr)
    print("| model | threads | edgeopt p50 ms | ORT p50 ms | ratio | reference share (1 thread) "
          "| without post-processing and control flow |")
    print("|---|---:|---:|---:|---:|---|---:|")
    for m in models:
        name = m["name"]
        folder = os.path.join(a.build, "corpus", name)
        model, npz = os.path.join(folder, a.model), os.path.join(folder, "inputs.npz")
        if not (os.path.exists(model) and os.path.exists(npz)):
            print(f"| {name} | | | | | no {a.model} (ctest -L {m.get('label', 'corpus')}) |")
            continue
        with tempfile.TemporaryDirectory() as tmp:
            pbs = ort_inputs(model, npz, tmp)
            try:
                share, rest, ops = reference_share(edgeopt, model, npz)
                ref = f"{100 * share:.1f}%" + (f" ({ops})" if ops else "")
                ref += f" | {100 * rest:.1f}%"
            except RuntimeError as e:
                print(f"| {name} | | | | | edgeopt: {e} |")
                continue
            for t in a.threads.split():
                e_p50, o_p50, err = [], [], ""
                for _ in range(a.rounds):
                    try:
                        e = run_json([edgeopt, "bench", model, "--input", npz, "--threads", t,
                                      "--warmup", str(a.warmup), "--runs", str(a.runs), "--json"])
                        e_p50.append(e["p50_ms"])
                        cmd = ["node", run_ort, model, "--threads", t, "--warmup", str(a.warmup),
                               "--runs", str(a.runs), "--no-spin", "--json"]
                        for p in pbs:
                            cmd += ["--input", p]
                        o = run_json(cmd)
                        o_p50.append(o["latency_ms"]["p50"])
                    except RuntimeError as ex:
                        err = str(ex)
                        break
                if err:
                    print(f"| {name} | {t} | | | | {err} |")
                    continue
                em, om = statistics.median(e_p50), statistics.median(o_p50)
                print(f"| {name} | {t} | {em:.3f} | {om:.3f} | {em / om:.2f} | "
                      f"{ref if t == '1' else ' | '} |", flush=True)


if __name__ == "__main__":
    main()
