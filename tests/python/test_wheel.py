"""The wheel (`make wheel`'s command) installs into a fresh venv and runs a model there, away
from the source and build trees."""

import os
import subprocess
import sys

import numpy as np
import pytest

import edgeopt
from conftest import BINARY_DIR, SOURCE_DIR, fashion_images


def test_wheel_installs_and_runs(tmp_path, resnet8):
    pytest.importorskip("build")
    env = dict(os.environ, EDGEOPT_BUILD_DIR=str(BINARY_DIR))
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir",
                    str(dist), str(SOURCE_DIR)], env=env, cwd=SOURCE_DIR, check=True,
                   capture_output=True)
    wheel, = dist.glob("edgeopt-*.whl")
    assert "-cp3" in wheel.name and "linux" in wheel.name  # tagged as the native module it holds
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv), "--system-site-packages"],
                   check=True)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--no-index", "-q", str(wheel)],
                   check=True, capture_output=True)
    x = fashion_images(count=3)
    np.save(tmp_path / "x.npy", x)
    script = (
        "import sys, numpy as np, edgeopt\n"
        "assert edgeopt.__file__.startswith(sys.prefix), edgeopt.__file__\n"
        f"s = edgeopt.InferenceSession({str(resnet8)!r})\n"
        f"np.save('y.npy', s.run(None, {{'input': np.load('x.npy')}})[0])\n")
    if (BINARY_DIR / "edgeopt-train").exists():
        # Built with libtorch: the wheel carries the training commands (its own edgeopt-train).
        script += ("z = edgeopt.zoo('lenet5', 'lenet5.onnx')\n"
                   "assert z['parameters'] == 61706, z\n")
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run([str(python), "-c", script], cwd=tmp_path, env=clean, check=True)
    want, = edgeopt.InferenceSession(resnet8).run(None, {"input": x})
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), want)
