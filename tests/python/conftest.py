"""Shared helpers of the Python binding tests: where things are, the CLI and ONNX Runtime.

Run by ctest (label `python`) with PYTHONPATH=build/python, EDGEOPT_SOURCE_DIR and
EDGEOPT_BINARY_DIR set; by hand: PYTHONPATH=build/python /usr/bin/python3 -m pytest tests/python
"""

import gzip
import json
import os
import pathlib
import shutil
import subprocess

import numpy as np
import pytest

SOURCE_DIR = pathlib.Path(os.environ.get("EDGEOPT_SOURCE_DIR",
                                         pathlib.Path(__file__).resolve().parents[2]))
BINARY_DIR = pathlib.Path(os.environ.get("EDGEOPT_BINARY_DIR", SOURCE_DIR / "build"))
CLI = BINARY_DIR / "edgeopt"
MODELS = SOURCE_DIR / "models"
# The bundled Fashion-MNIST models (models/README.md).
FASHION_MODELS = sorted(MODELS.glob("fashion_*.onnx"))
FASHION_DIR = pathlib.Path("/usr/share/datasets/fashion-mnist")
ORT_DIR = SOURCE_DIR / "bench" / "ort"


@pytest.fixture(scope="session")
def resnet8():
    return MODELS / "fashion_resnet8.onnx"


def run_cli(*args, check=True):
    """`edgeopt ARGS`: (exit code, stdout, stderr)."""
    p = subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True)
    if check and p.returncode != 0:
        raise AssertionError(f"edgeopt {' '.join(map(str, args))} exited {p.returncode}: "
                             f"{p.stderr}")
    return p.returncode, p.stdout, p.stderr


def cli_json(*args):
    return json.loads(run_cli(*args, "--json")[1])


def fashion_images(split="t10k", count=64):
    """The first `count` Fashion-MNIST images as float32 N x 1 x 28 x 28 in [0, 1], read from
    Debian's dataset-fashion-mnist (IDX: 16-byte header, then u8 pixels)."""
    path = FASHION_DIR / f"{split}-images-idx3-ubyte.gz"
    if not path.exists():
        pytest.skip(f"{path} missing (Debian package dataset-fashion-mnist)")
    with gzip.open(path, "rb") as f:
        raw = f.read(16 + count * 28 * 28)
    pixels = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(count, 1, 28, 28)
    return (pixels.astype(np.float32) / np.float32(255)).astype(np.float32)


def fashion_labels(split="t10k", count=64):
    """The labels of fashion_images(split, count) as int64 (IDX: 8-byte header, then u8)."""
    path = FASHION_DIR / f"{split}-labels-idx1-ubyte.gz"
    if not path.exists():
        pytest.skip(f"{path} missing (Debian package dataset-fashion-mnist)")
    with gzip.open(path, "rb") as f:
        raw = f.read(8 + count)
    return np.frombuffer(raw, dtype=np.uint8, offset=8).astype(np.int64)


def ort_available():
    return shutil.which("node") is not None and (ORT_DIR / "node_modules" /
                                                 "onnxruntime-node").is_dir()


def run_ort(model, inputs, tmp_path):
    """Outputs of `model` run by ONNX Runtime (bench/ort/run_ort.js, CPU provider) on
    `inputs` (numpy arrays in the model's input order), as a list of numpy arrays."""
    from onnx import numpy_helper

    args = ["node", str(ORT_DIR / "run_ort.js"), str(model), "--json", "--runs", "1",
            "--warmup", "0"]
    for i, x in enumerate(inputs):
        pb = tmp_path / f"ort_input_{i}.pb"
        pb.write_bytes(numpy_helper.from_array(x).SerializeToString())
        args += ["--input", str(pb)]
    p = subprocess.run(args, capture_output=True, text=True, check=True)
    outs = json.loads(p.stdout)["outputs"]
    return [np.array(o["data"], dtype=np.float32).reshape(o["dims"]) for o in outs.values()]


def identity_model(folder, shape):
    """A float Identity model of `shape` written to folder/identity.onnx: a run that does no
    work, so what a test sees is the call itself."""
    from onnx import TensorProto, helper, save

    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, list(shape))
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, list(shape))
    graph = helper.make_graph([helper.make_node("Identity", ["input"], ["output"])], "identity",
                              [x], [y])
    path = folder / "identity.onnx"
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path
