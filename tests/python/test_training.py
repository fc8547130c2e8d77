"""The training commands from Python (edgeopt-train as a process, `--json` as the result):
the model they write is the CLI's byte for byte, their figures are the CLI's, progress lines
arrive as they are logged, bad input raises InvalidInput with the CLI's message."""

import hashlib
import json
import os
import subprocess

import pytest

import edgeopt
from conftest import BINARY_DIR

TRAIN_CLI = BINARY_DIR / "edgeopt-train"

pytestmark = pytest.mark.skipif(not TRAIN_CLI.exists(),
                                reason="edgeopt built without libtorch (no edgeopt-train)")

# Small and deterministic (1 thread, fixed seed): a few seconds each.
SMALL = {"epochs": 1, "limit": 256, "val_limit": 200, "batch": 64, "seed": 3}


def sha256(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def cli(*args):
    # The environment the module gives edgeopt-train (OpenBLAS's kernels change the last bits).
    env = dict(os.environ)
    env.setdefault("OPENBLAS_CORETYPE", "SkylakeX")
    p = subprocess.run([str(TRAIN_CLI), *map(str, args), "--json"], capture_output=True,
                       text=True, env=env)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_finetune_equals_the_cli(tmp_path, resnet8):
    lines = []
    py = edgeopt.finetune(resnet8, tmp_path / "py.onnx", "fashion-mnist:train",
                          val="fashion-mnist:test", progress=lines.append, **SMALL)
    want = cli("finetune", resnet8, "-o", tmp_path / "cli.onnx", "--data", "fashion-mnist:train",
               "--val", "fashion-mnist:test", "--epochs", 1, "--limit", 256, "--val-limit", 200,
               "--batch", 64, "--seed", 3)
    assert sha256(tmp_path / "py.onnx") == sha256(tmp_path / "cli.onnx")
    assert py["command"] == "finetune" and len(py["epochs"]) == 1
    for key in ("loss", "train_top1", "val_top1", "lr"):
        assert py["epochs"][0][key] == want["epochs"][0][key], key
    assert 0.5 < py["val_top1"] <= 1.0  # the trained demo model stays a good classifier
    assert any(line.startswith("epoch 1/1") for line in lines), lines
    # The result runs: the module's own session on the written model.
    session = edgeopt.InferenceSession(tmp_path / "py.onnx")
    assert session.get_inputs()[0].name == "input"


def test_zoo_qat_and_iterative_prune(tmp_path, resnet8):
    z = edgeopt.zoo("lenet5", tmp_path / "lenet5.onnx", seed=1)
    assert z["arch"] == "lenet5" and z["parameters"] == 61706
    assert edgeopt.inspect(tmp_path / "lenet5.onnx")["params"] == z["parameters"]

    q = edgeopt.qat(resnet8, tmp_path / "qat.onnx", "fashion-mnist:train",
                    calib="fashion-mnist:train", calib_samples=64, val="fashion-mnist:test",
                    **SMALL)
    assert q["quantized_nodes"] > 0 and q["weight_bits"] in (7, 8)
    assert 0 <= q["val_top1_before"] <= 1 and 0 <= q["val_top1"] <= 1
    assert edgeopt.inspect(tmp_path / "qat.onnx")["quantized_share"] > 0.9

    p = edgeopt.iterative_prune(resnet8, tmp_path / "pruned.onnx", "fashion-mnist:train",
                                target_sparsity=0.5, steps=2, finetune_epochs=1,
                                **{k: v for k, v in SMALL.items() if k != "epochs"})
    assert [s["step"] for s in p["steps"]] == [1, 2]
    assert p["steps"][-1]["sparsity"] == pytest.approx(0.5, abs=0.01)
    assert len(p["epochs"]) == 2


def test_bad_input_raises_the_cli_message(tmp_path, resnet8):
    with pytest.raises(edgeopt.InvalidInput, match="no-such-set"):
        edgeopt.train(resnet8, tmp_path / "o.onnx", "no-such-set:train", epochs=1)
    with pytest.raises(edgeopt.InvalidInput, match="--epochs"):
        edgeopt.train(resnet8, tmp_path / "o.onnx", "fashion-mnist:train", epochs=0)
    assert not (tmp_path / "o.onnx").exists()
