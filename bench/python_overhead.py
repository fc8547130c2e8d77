#!/usr/bin/env python3
"""Per-call overhead of edgeopt.InferenceSession.run against edgeopt's in-process C++ timing
and against ONNX Runtime's Node binding (the table in docs/python.md).

    PYTHONPATH=build/python /usr/bin/python3 bench/python_overhead.py [--rounds 5] [--runs 2000]
        [MODEL.onnx ...]   (default: models/fashion_resnet8.onnx and a 1x1x28x28 Identity model)

For each model, `rounds` interleaved rounds of:
  python   p50 of `runs` timed sess.run(None, {name: x}) calls (time.perf_counter_ns around the
           call: feeds to numpy outputs, GIL release included), batch 1, 1 thread;
  c++      p50 of edgeopt.benchmark(...) (bench_model: Session::run timed in C++, the figure
           `edgeopt bench --json` prints) in the same process;
  cli      p50_ms of `edgeopt bench MODEL --json` in a fresh process;
  ort      p50 of `node bench/ort/run_ort.js MODEL --json` (await session.run() timed in JS).
Medians over the rounds are printed as a Markdown table; `added` = python - c++.
"""

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

import edgeopt

ROOT = pathlib.Path(__file__).resolve().parents[1]


def identity_model(folder):
    """A 1x1x28x28 float Identity: a run that does no work, so its time is the call itself."""
    from onnx import TensorProto, helper, save

    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 1, 28, 28])
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 1, 28, 28])
    graph = helper.make_graph([helper.make_node("Identity", ["input"], ["output"])], "identity",
                              [x], [y])
    path = folder / "identity.onnx"
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def python_p50_us(sess, feeds, runs):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter_ns()
        sess.run(None, feeds)
        times.append(time.perf_counter_ns() - t0)
    return statistics.median(times) / 1e3


def cli_p50_us(cli, model, runs):
    out = subprocess.run([str(cli), "bench", str(model), "--json", "--runs", str(runs),
                          "--warmup", "50"], capture_output=True, text=True, check=True).stdout
    return json.loads(out)["p50_ms"] * 1e3


def ort_p50_us(model, runs):
    script = ROOT / "bench" / "ort" / "run_ort.js"
    if not (ROOT / "bench" / "ort" / "node_modules" / "onnxruntime-node").is_dir():
        return float("nan")
    out = subprocess.run(["node", str(script), str(model), "--json", "--runs", str(runs),
                          "--warmup", "50"], capture_output=True, text=True, check=True).stdout
    return json.loads(out)["latency_ms"]["p50"] * 1e3


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="*")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--runs", type=int, default=2000)
    ap.add_argument("--cli", default=str(ROOT / "build" / "edgeopt"))
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        models = [pathlib.Path(m) for m in a.models] or [
            ROOT / "models" / "fashion_resnet8.onnx", identity_model(pathlib.Path(tmp))]
        print(f"edgeopt {edgeopt.__version__}, batch 1, 1 thread, p50 of {a.runs} runs, median "
              f"of {a.rounds} interleaved rounds, {os.cpu_count()} CPUs\n")
        print("| model | python run µs | C++ Session::run µs | added µs | CLI bench µs | "
              "ORT node µs |")
        print("|---|---:|---:|---:|---:|---:|")
        for model in models:
            sess = edgeopt.InferenceSession(str(model))
            name = sess.get_inputs()[0].name
            x = np.random.default_rng(0).random((1, 1, 28, 28), dtype=np.float32)
            feeds = {name: x}
            python_p50_us(sess, feeds, 200)  # warm up
            rows = []
            for _ in range(a.rounds):
                py = python_p50_us(sess, feeds, a.runs)
                cpp = edgeopt.benchmark(str(model), runs=a.runs, warmup=50)["p50_ms"] * 1e3
                rows.append((py, cpp, cli_p50_us(a.cli, model, a.runs), ort_p50_us(model, a.runs)))
            py, cpp, cli, ort = (statistics.median(c) for c in zip(*rows))
            print(f"| {model.name} | {py:.2f} | {cpp:.2f} | {py - cpp:.2f} | {cli:.2f} | "
                  f"{ort:.2f} |")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
