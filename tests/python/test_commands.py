"""edgeopt.inspect / optimize / prune / lowrank / quantize / evaluate / benchmark return the
figures of the same CLI command's --json, and write the same models."""

import pytest

import edgeopt
from conftest import cli_json

# Wall-clock figures differ from run to run; everything else must be equal.
TIMES = {"ms", "load_ms", "first_ms", "mean_ms", "std_ms", "min_ms", "max_ms", "p50_ms", "p90_ms",
         "p95_ms", "p99_ms", "throughput_ips", "peak_rss_bytes", "total_ms"}


def without(d, keys):
    if isinstance(d, dict):
        return {k: without(v, keys) for k, v in d.items() if k not in keys}
    if isinstance(d, list):
        return [without(v, keys) for v in d]
    return d


def same_report(py, cli, paths=("output",)):
    """Equal but for timings and the output path (each side wrote its own file)."""
    assert without(py, TIMES | set(paths)) == without(cli, TIMES | set(paths))
    assert py.keys() == cli.keys()


def test_inspect(resnet8):
    py = edgeopt.inspect(str(resnet8))
    assert py == cli_json("inspect", resnet8)
    assert py["macs"] > 0 and py["params"] > 0 and len(py["nodes"]) > 10
    assert edgeopt.inspect(resnet8, batch=4) == cli_json("inspect", resnet8, "--batch", "4")
    assert edgeopt.inspect(resnet8, shapes={"input": (2, 1, 28, 28)}) == cli_json(
        "inspect", resnet8, "--shape", "input:2x1x28x28")


def test_optimize(resnet8, tmp_path):
    py = edgeopt.optimize(resnet8, tmp_path / "py.onnx", disable=["conv_bn_fold"])
    cli = cli_json("optimize", resnet8, "-o", tmp_path / "cli.onnx", "--disable", "conv_bn_fold")
    same_report(py, cli)
    assert py["output"] == str(tmp_path / "py.onnx")
    assert (tmp_path / "py.onnx").read_bytes() == (tmp_path / "cli.onnx").read_bytes()


@pytest.mark.parametrize("py_args,cli_args", [
    ({"sparsity": 0.5}, ["--sparsity", "0.5"]),
    ({"pattern": "2:4", "scope": "global"}, ["--pattern", "2:4", "--scope", "global"]),
    ({"structured": True, "ratio": 0.3}, ["--structured", "--ratio", "0.3"]),
], ids=["unstructured", "2of4", "structured"])
def test_prune(resnet8, tmp_path, py_args, cli_args):
    py = edgeopt.prune(resnet8, tmp_path / "py.onnx", **py_args)
    cli = cli_json("prune", resnet8, "-o", tmp_path / "cli.onnx", *cli_args)
    same_report(py, cli)
    assert py["after"]["file_bytes"] == (tmp_path / "py.onnx").stat().st_size
    assert (tmp_path / "py.onnx").read_bytes() == (tmp_path / "cli.onnx").read_bytes()


def test_lowrank(resnet8, tmp_path):
    py = edgeopt.lowrank(resnet8, tmp_path / "py.onnx", energy=0.9)
    cli = cli_json("lowrank", resnet8, "-o", tmp_path / "cli.onnx", "--energy", "0.9")
    same_report(py, cli)
    assert py["macs_after"] < py["macs_before"]
    assert (tmp_path / "py.onnx").read_bytes() == (tmp_path / "cli.onnx").read_bytes()


def test_quantize_static_spec(resnet8, tmp_path):
    stages = []
    py = edgeopt.quantize(resnet8, tmp_path / "py.onnx", calib="fashion-mnist:train",
                          samples=64, report=True,
                          progress=lambda done, total, stage: stages.append(stage))
    cli = cli_json("quantize", resnet8, "-o", tmp_path / "cli.onnx", "--calib",
                   "fashion-mnist:train", "--samples", "64", "--report")
    same_report(py, cli)
    assert py["calibration_samples"] == 64 and py["quantized_nodes"] > 0
    assert "calibrate" in " ".join(stages)
    assert (tmp_path / "py.onnx").read_bytes() == (tmp_path / "cli.onnx").read_bytes()


def test_quantize_dynamic_and_fp16(resnet8, tmp_path):
    for mode in ("dynamic", "fp16"):
        py = edgeopt.quantize(resnet8, tmp_path / f"py_{mode}.onnx", mode=mode)
        cli = cli_json("quantize", resnet8, "-o", tmp_path / f"cli_{mode}.onnx", "--mode", mode)
        same_report(py, cli)


def test_evaluate(resnet8, tmp_path):
    done = []
    py = edgeopt.evaluate(resnet8, data="fashion-mnist:test", limit=300,
                          reference=resnet8, progress=lambda d, t: done.append((d, t)))
    cli = cli_json("eval", resnet8, "--data", "fashion-mnist:test", "--limit", "300",
                   "--reference", resnet8)
    assert py == cli
    assert py["count"] == 300 and py["top1"] > 0.8 and py["agreement"] == 1.0
    assert done and done[-1] == (300, 300)


def test_benchmark(resnet8):
    ticks = []
    py = edgeopt.benchmark(resnet8, runs=7, warmup=2, profile=True,
                           progress=lambda d, t: ticks.append((d, t)))
    cli = cli_json("bench", resnet8, "--runs", "7", "--warmup", "2", "--profile")
    same_report(py, cli, paths=())
    assert py["runs"] == 7 and py["p50_ms"] > 0 and py["arena_bytes"] > 0
    assert ticks[-1] == (9, 9)
