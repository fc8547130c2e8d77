#!/usr/bin/python3
"""Exports torchvision models to ONNX as test fixtures for edgeopt.

For each model (weights=None, torch.manual_seed(0), eval mode) writes into OUT_DIR:
  <model>_op<opset>.onnx   torch.onnx.export, do_constant_folding, dynamic batch axis
  <model>_input.pb         a fixed random 1x3x224x224 input (onnx TensorProto)
  <model>_output.pb        PyTorch's output for that input (onnx TensorProto)
Files that already exist are kept (a cache in the build folder); every file is written to a
temporary name and renamed, so an interrupted run never leaves a partial fixture.

Run with Debian's interpreter (python3-torch, python3-torchvision, python3-onnx):
  /usr/bin/python3 scripts/make_torchvision_fixtures.py build/fixtures
"""

import argparse
import os
import sys
import time

MODELS = ["resnet18", "mobilenet_v2", "squeezenet1_1", "efficientnet_b0"]
OPSETS = [13, 17]


def write_atomic(path, data):
    tmp = path + ".tmp%d" % os.getpid()
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


# Bump when what a fixture holds changes: fixtures of another version are made again.
FIXTURE_VERSION = "2"


def build_model(name):
    import torch
    import torchvision

    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(weights=None)
    # Freshly built BatchNorm layers are identities (mean 0, var 1, scale 1, shift 0), so
    # folding them into the convolutions would go untested: give them trained-looking
    # statistics. This also keeps activations away from the vanishing scale of a plain init.
    gen = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(0.1 * torch.randn(c, generator=gen))
            m.running_var.copy_(0.5 + torch.rand(c, generator=gen))
            with torch.no_grad():
                m.weight.copy_(0.5 + torch.rand(c, generator=gen))
                m.bias.copy_(0.1 * torch.randn(c, generator=gen))
    model.eval()
    return model


def fixed_input():
    import torch

    gen = torch.Generator().manual_seed(1234)
    return torch.randn(1, 3, 224, 224, generator=gen)


def export(model, x, path, opset):
    import io

    import torch

    buf = io.BytesIO()
    torch.onnx.export(
        model,
        x,
        buf,
        opset_version=opset,
        do_constant_folding=True,
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
    )
    write_atomic(path, buf.getvalue())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out_dir")
    parser.add_argument("--models", nargs="*", default=MODELS, choices=MODELS)
    parser.add_argument("--opsets", nargs="*", type=int, default=OPSETS)
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    stamp = os.path.join(args.out_dir, "VERSION")
    if not os.path.exists(stamp) or open(stamp).read().strip() != FIXTURE_VERSION:
        for f in os.listdir(args.out_dir):
            if f.endswith((".onnx", ".pb")):
                os.remove(os.path.join(args.out_dir, f))
        write_atomic(stamp, (FIXTURE_VERSION + "\n").encode())

    todo = []
    for name in args.models:
        files = [os.path.join(args.out_dir, "%s_op%d.onnx" % (name, op)) for op in args.opsets]
        files += [os.path.join(args.out_dir, name + s) for s in ("_input.pb", "_output.pb")]
        if not all(os.path.exists(f) for f in files):
            todo.append(name)
    if not todo:
        print("torchvision fixtures: all present in", args.out_dir)
        return 0

    import onnx.numpy_helper
    import torch

    # The machine is shared: one thread keeps the export from starving other jobs.
    torch.set_num_threads(1)
    for name in todo:
        t0 = time.time()
        model = build_model(name)
        x = fixed_input()
        with torch.no_grad():
            y = model(x)
        for suffix, t in (("_input.pb", x), ("_output.pb", y)):
            path = os.path.join(args.out_dir, name + suffix)
            if not os.path.exists(path):
                proto = onnx.numpy_helper.from_array(t.numpy(), name=suffix[1:-3])
                write_atomic(path, proto.SerializeToString())
        for op in args.opsets:
            path = os.path.join(args.out_dir, "%s_op%d.onnx" % (name, op))
            if not os.path.exists(path):
                export(model, x, path, op)
        print("torchvision fixtures: %s done in %.1f s" % (name, time.time() - t0), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
