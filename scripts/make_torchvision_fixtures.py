#!/usr/bin/python3
"""Exports torchvision models to ONNX as test fixtures for edgeopt.

For each model (weights=None, torch.manual_seed(0), eval mode) writes into OUT_DIR:
  <model>_op<opset>.onnx   torch.onnx.export, do_constant_folding, dynamic batch axis
  <model>_input.pb         a fixed random 1x3x224x224 input (onnx TensorProto; --size sets 224)
  <model>_output.pb        PyTorch's output for that input (onnx TensorProto)
  resnet18_calib.npz       16 random 3x224x224 samples (x) and zero labels (y): calibration data
                           for quantizing the random-weight model (size and speed demos only)
  resnet18_b1_op13.onnx    ResNet-18 exported without dynamic axes: a fixed batch of 1, what
                           torch.onnx.export writes by default
and, with --fx-int8, an int8 ResNet-18 quantized by PyTorch FX post-training quantization
(engine onednn):
  resnet18_fxq_op13.onnx   its QDQ export
  resnet18_fxq_inputs.npy  100 random 1x3x224x224 inputs, stacked (100x3x224x224)
  resnet18_fxq_logits.npy  PyTorch's int8 logits for them (100x1000)
and, with --fx-int8-all, the same FX int8 QDQ export of every model of --models (for the peer
benchmark; no inputs or logits): <model>_fxq_op13.onnx;
and, with --prune-models, the grouped-conv and channel-shuffle families the structured pruner is
tested on (opset 13 only, fixed batch 1 so that the channel-shuffle Reshapes keep constant shapes;
<model>_input.pb / <model>_output.pb as above):
  <model>_op13.onnx        regnet_x_400mf, regnet_y_400mf, shufflenet_v2_x1_0, and
                           resnext26_32x8d: torchvision's ResNeXt bottleneck (32 groups of 8,
                           as in resnext101_32x8d) with 2 blocks per stage instead of
                           resnext50_32x4d's 3-4-6-3, to keep CI fast.
and, with --legacy-opsets, exports of ResNet-18 and MobileNetV2 at the opsets older exporters
write (9 to 12; the oldest torch.onnx supports is 9), for the opset conversion tests:
  <model>_op<9..12>.onnx
With --size N (e.g. 64, for the arm64 tests under qemu, where a 224x224 ResNet-18 takes
minutes) every input is 1x3xNxN, and the FX int8 export has a dynamic batch axis so that the
x86 build's `edgeopt run` can write its outputs for all inputs at once; use another OUT_DIR.
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
PRUNE_MODELS = ["regnet_x_400mf", "regnet_y_400mf", "shufflenet_v2_x1_0", "resnext26_32x8d"]
LEGACY_MODELS = ["resnet18", "mobilenet_v2"]
LEGACY_OPSETS = [9, 10, 11, 12]


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
    if name == "resnext26_32x8d":
        resnet = torchvision.models.resnet
        model = resnet.ResNet(resnet.Bottleneck, [2, 2, 2, 2], groups=32, width_per_group=8)
    else:
        model = getattr(torchvision.models, name)(weights=None)
    trained_looking_batchnorm(model)
    model.eval()
    return model


def trained_looking_batchnorm(model):
    """Freshly built BatchNorm layers are identities (mean 0, var 1, scale 1, shift 0), so
    folding them into the convolutions would go untested: give them trained-looking
    statistics. This also keeps activations away from the vanishing scale of a plain init."""
    import torch

    gen = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, (torch.nn.BatchNorm2d, torch.nn.BatchNorm3d)):
            c = m.num_features
            m.running_mean.copy_(0.1 * torch.randn(c, generator=gen))
            m.running_var.copy_(0.5 + torch.rand(c, generator=gen))
            with torch.no_grad():
                m.weight.copy_(0.5 + torch.rand(c, generator=gen))
                m.bias.copy_(0.1 * torch.randn(c, generator=gen))


# Input height and width (--size).
SIZE = 224


def fixed_input():
    import torch

    gen = torch.Generator().manual_seed(1234)
    return torch.randn(1, 3, SIZE, SIZE, generator=gen)


def export(model, x, path, opset, dynamic=True):
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
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}} if dynamic else None,
    )
    write_atomic(path, buf.getvalue())


CALIB_FILE = "resnet18_calib.npz"
FIXED_BATCH_FILE = "resnet18_b1_op13.onnx"


def write_calibration(path):
    import io

    import numpy as np

    rng = np.random.default_rng(11)
    x = rng.standard_normal((16, 3, SIZE, SIZE), dtype=np.float32)
    buf = io.BytesIO()
    np.savez(buf, x=x, y=np.zeros(16, dtype=np.int64))
    write_atomic(path, buf.getvalue())


FXQ_FILES = ["resnet18_fxq_op13.onnx", "resnet18_fxq_inputs.npy", "resnet18_fxq_logits.npy"]
FXQ_SAMPLES = 100


def fx_quantize(name):
    """The model through FX static quantization (per-channel weights, onednn engine), calibrated
    on 32 random inputs; returns it and the generator that drew them. SqueezeNet's concats run
    in float (dequantize → cat → quantize): torch.onnx cannot export a concat of quantized
    tensors."""
    import torch
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    torch.backends.quantized.engine = "onednn"
    model = build_model(name)
    qconfig = get_default_qconfig_mapping("onednn")
    custom = None
    if name == "squeezenet1_1":

        class FloatCat(torch.nn.Module):
            def forward(self, a, b):
                return torch.cat([a, b], 1)

        def fire_forward(self, x):
            x = self.squeeze_activation(self.squeeze(x))
            a = self.expand1x1_activation(self.expand1x1(x))
            return self.cat(a, self.expand3x3_activation(self.expand3x3(x)))

        for m in model.modules():
            if type(m).__name__ == "Fire":
                m.cat = FloatCat()
                m.forward = fire_forward.__get__(m)
        qconfig.set_object_type(FloatCat, None)
        custom = {"non_traceable_module_class": [FloatCat]}
    prepared = prepare_fx(
        model, qconfig, example_inputs=(fixed_input(),), prepare_custom_config=custom
    )
    gen = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for _ in range(8):  # calibration
            prepared(torch.randn(4, 3, SIZE, SIZE, generator=gen))
    return convert_fx(prepared), gen


def make_fx_int8_export(out_dir, name):
    """<name>_fxq_op13.onnx only (benchmark models)."""
    quantized, _ = fx_quantize(name)
    export(quantized, fixed_input(), os.path.join(out_dir, name + "_fxq_op13.onnx"), 13, False)


def make_fx_int8(out_dir):
    """ResNet-18 through FX static quantization, with inputs and PyTorch's int8 logits."""
    import io

    import numpy as np
    import torch

    quantized, gen = fx_quantize("resnet18")
    x = fixed_input()
    inputs = torch.randn(FXQ_SAMPLES, 3, SIZE, SIZE, generator=gen)
    with torch.no_grad():
        logits = torch.cat([quantized(inputs[i : i + 1]) for i in range(FXQ_SAMPLES)])
    for name, arr in (("resnet18_fxq_inputs.npy", inputs), ("resnet18_fxq_logits.npy", logits)):
        buf = io.BytesIO()
        np.save(buf, arr.numpy().astype(np.float32))
        write_atomic(os.path.join(out_dir, name), buf.getvalue())
    export(quantized, x, os.path.join(out_dir, FXQ_FILES[0]), 13, dynamic=SIZE != 224)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out_dir")
    parser.add_argument("--models", nargs="*", default=MODELS, choices=MODELS)
    parser.add_argument("--opsets", nargs="*", type=int, default=OPSETS)
    parser.add_argument("--size", type=int, default=224, help="input height and width")
    parser.add_argument("--fx-int8", action="store_true", help="also the FX int8 ResNet-18")
    parser.add_argument(
        "--fx-int8-all", action="store_true", help="also FX int8 exports of every model"
    )
    parser.add_argument(
        "--prune-models",
        action="store_true",
        help="also the grouped-conv / channel-shuffle models (opset 13, batch 1)",
    )
    parser.add_argument(
        "--legacy-opsets",
        action="store_true",
        help="also %s at opsets %s" % (", ".join(LEGACY_MODELS), LEGACY_OPSETS),
    )
    args = parser.parse_args()
    global SIZE
    SIZE = args.size
    os.makedirs(args.out_dir, exist_ok=True)
    stamp = os.path.join(args.out_dir, "VERSION")
    version = FIXTURE_VERSION if SIZE == 224 else "%s size %d" % (FIXTURE_VERSION, SIZE)
    if not os.path.exists(stamp) or open(stamp).read().strip() != version:
        for f in os.listdir(args.out_dir):
            if f.endswith((".onnx", ".pb", ".npy", ".npz")):
                os.remove(os.path.join(args.out_dir, f))
        write_atomic(stamp, (version + "\n").encode())

    def opsets_of(name):
        if name in PRUNE_MODELS:
            return [13]
        legacy = args.legacy_opsets and name in LEGACY_MODELS
        return args.opsets + (LEGACY_OPSETS if legacy else [])

    todo = []
    for name in args.models + (PRUNE_MODELS if args.prune_models else []):
        files = [os.path.join(args.out_dir, "%s_op%d.onnx" % (name, op)) for op in opsets_of(name)]
        files += [os.path.join(args.out_dir, name + s) for s in ("_input.pb", "_output.pb")]
        if name == "resnet18":
            files.append(os.path.join(args.out_dir, CALIB_FILE))
            files.append(os.path.join(args.out_dir, FIXED_BATCH_FILE))
        if not all(os.path.exists(f) for f in files):
            todo.append(name)
    fxq = args.fx_int8 and not all(os.path.exists(os.path.join(args.out_dir, f)) for f in FXQ_FILES)
    fxq_all = [
        n
        for n in (args.models if args.fx_int8_all else [])
        if not os.path.exists(os.path.join(args.out_dir, n + "_fxq_op13.onnx"))
    ]
    if not todo and not fxq and not fxq_all:
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
        if name == "resnet18" and not os.path.exists(os.path.join(args.out_dir, CALIB_FILE)):
            write_calibration(os.path.join(args.out_dir, CALIB_FILE))
        for op in opsets_of(name):
            path = os.path.join(args.out_dir, "%s_op%d.onnx" % (name, op))
            if not os.path.exists(path):
                export(model, x, path, op, dynamic=name not in PRUNE_MODELS)
        if name == "resnet18" and not os.path.exists(os.path.join(args.out_dir, FIXED_BATCH_FILE)):
            export(model, x, os.path.join(args.out_dir, FIXED_BATCH_FILE), 13, dynamic=False)
        print("torchvision fixtures: %s done in %.1f s" % (name, time.time() - t0), flush=True)
    if fxq:
        t0 = time.time()
        make_fx_int8(args.out_dir)
        print("torchvision fixtures: resnet18 FX int8 done in %.1f s" % (time.time() - t0))
    for name in fxq_all:
        t0 = time.time()
        make_fx_int8_export(args.out_dir, name)
        print("torchvision fixtures: %s FX int8 done in %.1f s" % (name, time.time() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
