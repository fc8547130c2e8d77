#!/usr/bin/python3
"""Writes the committed seed corpus of the fuzz targets (fuzz/seeds/<target>/): small valid
inputs of each format, so every fuzzer starts from files that reach deep into its parser.
Deterministic; run from the repository root: /usr/bin/python3 scripts/make_fuzz_seeds.py"""
import io
import json
import os
import struct
import zipfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fuzz", "seeds")


def put(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def npy(a):
    b = io.BytesIO()
    np.save(b, a)
    return b.getvalue()


def npz(compressed=False, **arrays):
    b = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(b, **arrays)
    return b.getvalue()


def two_files(first, second):
    """The split format of fuzz_util.h: 2-byte little-endian length of the first file."""
    return struct.pack("<H", len(first)) + first + second


rng = np.random.default_rng(7)
x = rng.standard_normal((3, 1, 4, 4)).astype(np.float32)
y = np.array([0, 2, 1], dtype=np.int64)

# .npy: several dtypes and ranks.
put("npy", "f32_3x1x4x4.npy", npy(x))
put("npy", "u8_2x3.npy", npy(np.arange(6, dtype=np.uint8).reshape(2, 3)))
put("npy", "f16_5.npy", npy(np.linspace(-1, 1, 5).astype(np.float16)))
put("npy", "i64_scalar.npy", npy(np.array(42, dtype=np.int64)))
put("npy", "bool_4.npy", npy(np.array([True, False, True, True])))
put("npy", "f64_empty.npy", npy(np.zeros((0, 3))))

# .npz: labelled, unlabelled, compressed, named after inputs.
put("npz", "xy.npz", npz(x=x, y=y))
put("npz", "xy_deflated.npz", npz(True, x=x, y=y))
put("npz", "x_only.npz", npz(x=x))
put("npz", "u8_images.npz", npz(x=(x * 40 + 128).clip(0, 255).astype(np.uint8), y=y))
put("npz", "two_inputs.npz", npz(input=x, mask=np.ones((3, 4), np.float32)))

# IDX: 3 images of 4x4 (idx3, u8) and 3 labels (idx1).
img = struct.pack(">HBBIII", 0, 8, 3, 3, 4, 4) + bytes(range(48))
lab = struct.pack(">HBBI", 0, 8, 1, 3) + bytes([0, 2, 1])
put("idx", "mnist_3x4x4", two_files(img, lab))

# Images: the first byte selects the extension and query (image_fuzz.cpp): byte % 6 is one of
# png, jpg, bmp, gif, tga, pgm.
pixels = (rng.random((5, 7, 3)) * 255).astype(np.uint8)
for idx, fmt in [(0, "PNG"), (1, "JPEG"), (2, "BMP"), (3, "GIF"), (4, "TGA"), (5, "PPM")]:
    b = io.BytesIO()
    im = Image.fromarray(pixels)
    if fmt == "PPM":
        im = im.convert("L")
    im.save(b, format=fmt)
    for q in range(2):
        put("image", f"{fmt.lower()}_{q}", bytes([idx + 6 * q]) + b.getvalue())
b = io.BytesIO()
Image.fromarray(pixels[:, :, 0]).save(b, format="PNG")
put("image", "png_gray", bytes([0]) + b.getvalue())

# Dataset SPEC strings, against the scratch datasets spec_fuzz.cpp makes.
for i, s in enumerate(["d.npz", "d.npz?scale=2&mean=0.5&std=0.25", "imgs?size=3&crop=2",
                       "imgs?channels=3&crop=1x2", "mnist:m", "mnist:m:test?channels=3",
                       "x.npy", "m", "d.npz?size=2"]):
    put("spec", f"spec_{i}", s.encode())

# Recipes: the lab recipe and variants of every step kind.
with open(os.path.join(ROOT, "..", "..", "recipes", "lab.json"), "rb") as f:
    put("recipe", "lab.json", f.read())
recipes = [
    {"name": "r", "steps": [{"name": "p", "op": "passes", "level": 1}]},
    {"name": "r", "steps": [{"name": "s", "op": "prune", "sparsity": 0.5, "scope": "global"},
                            {"name": "q", "op": "quantize", "from": "baseline", "samples": 8}]},
    {"name": "r", "steps": [{"name": "l", "op": "lowrank", "energy": 0.9}]},
    {"name": "r", "steps": [{"name": "q", "op": "quantize", "mode": "dynamic"}]},
]
for i, r in enumerate(recipes):
    put("recipe", f"recipe_{i}.json", json.dumps(r).encode())

# Models: a Conv with its weight inline, and the same with the weight in external data
# ("w.bin", the split format behind a leading 0xED byte, see model_loader_fuzz.cpp).
w = rng.standard_normal((2, 1, 3, 3)).astype(np.float32)


def conv_model(external):
    wt = numpy_helper.from_array(w, "w")
    if external:
        wt.ClearField("raw_data")
        wt.data_location = TensorProto.EXTERNAL
        for k, v in [("location", "w.bin"), ("offset", "0"), ("length", str(w.nbytes))]:
            e = wt.external_data.add()
            e.key, e.value = k, v
    g = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1]),
         helper.make_node("Relu", ["y"], ["z"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 4, 4])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", 2, 4, 4])], [wt])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()


put("model_loader", "conv_inline.onnx", conv_model(False))
put("model_loader", "conv_external", b"\xed" + two_files(conv_model(True), w.tobytes()))
