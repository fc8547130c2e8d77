#!/usr/bin/env python3
"""PyTorch FX post-training quantization of the Fashion-MNIST fixtures next to edgeopt's.

The ONNX fixture's weights (BatchNorm already folded into the convs by the export) are loaded
into the PyTorch definition from scripts/train_fashion_fixtures.py with its BatchNorms replaced
by identities, the fp32 top-1 is checked against the ONNX model's, then FX graph mode PTQ
(backend 'onednn': u8 activations with histogram observers, s8 per-channel weights; torch 1.13
has no 'x86' engine here) is calibrated on the same first N training images that
`edgeopt quantize --calib fashion-mnist:train --samples N` uses, and evaluated on the 10,000
test images. With --edgeopt BIN, the same is done with edgeopt for each --methods entry.

Usage: /usr/bin/python3 bench/compare_ptq.py [--models resnet,mobilenet] [--samples 1000]
           [--edgeopt build-quant/edgeopt] [--methods minmax,entropy,percentile,mse]
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "scripts"))
import train_fashion_fixtures as fx  # noqa: E402


# --- a minimal ONNX reader: just the nodes and the float initializers -------------------------
# Protobuf wire format: key = (field << 3) | wire type; 0 varint, 1 fixed64, 2 bytes, 5 fixed32.
def _varint(buf, pos):
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _fields(buf):
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            val, pos = _varint(buf, pos)
        elif wire == 1:
            val, pos = buf[pos:pos + 8], pos + 8
        elif wire == 2:
            n, pos = _varint(buf, pos)
            val, pos = buf[pos:pos + n], pos + n
        elif wire == 5:
            val, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        yield field, wire, val


def _tensor(buf):
    dims, name, raw, floats, dtype = [], "", None, [], 0
    for f, w, v in _fields(buf):
        if f == 1:
            if w == 2:  # packed
                p = 0
                while p < len(v):
                    d, p = _varint(v, p)
                    dims.append(d)
            else:
                dims.append(v)
        elif f == 2:
            dtype = v
        elif f == 8:
            name = v.decode()
        elif f == 9:
            raw = bytes(v)
        elif f == 4:
            packed = w == 2
            floats.extend(struct.unpack(f"<{len(v) // 4}f" if packed else "<f", v))
    if dtype != 1:
        return name, None
    arr = np.frombuffer(raw, dtype="<f4") if raw is not None else np.array(floats, np.float32)
    return name, arr.reshape(dims).copy()


def read_onnx(path):
    with open(path, "rb") as f:
        model = f.read()
    graph = next(v for f, w, v in _fields(model) if f == 7)
    nodes, inits = [], {}
    for f, w, v in _fields(graph):
        if f == 1:
            ins, outs, op = [], [], ""
            for nf, nw, nv in _fields(v):
                if nf == 1:
                    ins.append(nv.decode())
                elif nf == 2:
                    outs.append(nv.decode())
                elif nf == 4:
                    op = nv.decode()
            nodes.append((op, ins, outs))
        elif f == 5:
            name, arr = _tensor(v)
            if arr is not None:
                inits[name] = arr
    return nodes, inits


# --- the PyTorch model with the ONNX weights -------------------------------------------------
def folded_model(name, onnx_path):
    model = fx.MODELS[name]()
    for mod_name, mod in list(model.named_modules()):
        for child_name, child in list(mod.named_children()):
            if isinstance(child, nn.BatchNorm2d):
                setattr(mod, child_name, nn.Identity())
    for mod in model.modules():
        if isinstance(mod, nn.Conv2d) and mod.bias is None:
            mod.bias = nn.Parameter(torch.zeros(mod.out_channels))
    # Execution order of the weighted modules = order of Conv/Gemm nodes in the exported graph.
    order = []
    hooks = [m.register_forward_hook(lambda m, i, o: order.append(m))
             for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 1, 28, 28))
    for h in hooks:
        h.remove()
    nodes, inits = read_onnx(onnx_path)
    weighted = [n for n in nodes if n[0] in ("Conv", "Gemm")]
    if len(weighted) != len(order):
        raise SystemExit(f"{onnx_path}: {len(weighted)} Conv/Gemm nodes, {len(order)} modules")
    with torch.no_grad():
        for mod, (op, ins, _) in zip(order, weighted):
            mod.weight.copy_(torch.from_numpy(inits[ins[1]]).reshape(mod.weight.shape))
            if len(ins) > 2:
                mod.bias.copy_(torch.from_numpy(inits[ins[2]]))
            else:
                mod.bias.zero_()
    return model


def top1(model, x, y, batch=1000):
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            correct += (model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    return correct / len(x)


def pytorch_ptq(model, calib):
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx
    torch.backends.quantized.engine = "onednn"
    mapping = get_default_qconfig_mapping("onednn")
    prepared = prepare_fx(model, mapping, example_inputs=(calib[:1],))
    with torch.no_grad():
        for i in range(0, len(calib), 100):
            prepared(calib[i:i + 100])
    return convert_fx(prepared)


def edgeopt_top1(binary, onnx_path, method, samples):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "q.onnx")
        subprocess.run([binary, "quantize", onnx_path, "-o", out, "--calib", "fashion-mnist:train",
                        "--samples", str(samples), "--method", method], check=True,
                       stdout=subprocess.DEVNULL)
        r = subprocess.run([binary, "eval", out, "--data", "fashion-mnist:test", "--json"],
                           check=True, capture_output=True, text=True)
        return json.loads(r.stdout)["top1"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="resnet,mobilenet")
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--edgeopt", default="")
    ap.add_argument("--methods", default="minmax,entropy,percentile,mse")
    a = ap.parse_args()
    torch.set_num_threads(1)
    xtest, ytest = fx.load_split("t10k")
    xtrain, _ = fx.load_split("train")
    calib = xtrain[:a.samples]
    rows = []
    for name in a.models.split(","):
        path = os.path.join(REPO, "models", f"fashion_{name}.onnx")
        if not os.path.exists(path):
            print(f"{name}: {path} missing, skipped")
            continue
        model = folded_model(name, path)
        fp32 = top1(model, xtest, ytest)
        q = pytorch_ptq(model, calib)
        row = {"model": name, "fp32": fp32, "pytorch_fx_onednn": top1(q, xtest, ytest)}
        if a.edgeopt:
            for m in a.methods.split(","):
                row[f"edgeopt_{m}"] = edgeopt_top1(a.edgeopt, path, m, a.samples)
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(f"\ncalibration: first {a.samples} training images; test: 10,000 images; top-1")
    for row in rows:
        print("  " + "  ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}"
                               for k, v in row.items()))


if __name__ == "__main__":
    main()
