#!/usr/bin/python3
"""Trains the small Fashion-MNIST fixture models that edgeopt's demo and tests use.

Writes to models/ (relative to the repo root unless --out is given):
  fashion_resnet.onnx            small ResNet (basic blocks, 16/32/64 channels)
  fashion_mobilenet.onnx         small MobileNetV2 (inverted residuals, depthwise 3x3, ReLU6)
  fashion_<name>.expected.json   PyTorch top-1 accuracy and per-image predicted class on the
                                 10,000 test images, so edgeopt's `eval` can be checked
                                 image by image.

Model contract: input `input` float32 [N,1,28,28] holding pixel/255 (no mean/std), output
`logits` float32 [N,10], dynamic batch axis, ONNX opset 13, constant folding on, eval() mode.

Runs on ONE CPU core on purpose (the machine is shared):
  OMP_NUM_THREADS=1 /usr/bin/python3 scripts/train_fashion_fixtures.py
(Do not force OPENBLAS_CORETYPE=SkylakeX on CPUs without AVX-512: OpenBLAS then dies with
SIGILL. Its own CPU detection is fine.)

Deterministic given the seed (single thread, fixed torch generator for shuffling and
augmentation).
"""
import argparse
import gzip
import hashlib
import json
import os
import struct
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)
torch.set_num_interop_threads(1)

DATA_DIR = "/usr/share/datasets/fashion-mnist"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---------------------------------------------------------------------------------------------
# Data: IDX files (big-endian header: magic = 0x0000 | type(0x08=uint8) | ndim, then dims).
# ---------------------------------------------------------------------------------------------
def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not a uint8 IDX file")
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    return data.reshape(dims)


def load_split(prefix):
    images = read_idx(os.path.join(DATA_DIR, f"{prefix}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(DATA_DIR, f"{prefix}-labels-idx1-ubyte.gz"))
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)  # N,1,28,28
    y = torch.from_numpy(labels.astype(np.int64))
    return x, y


def augment(x, gen):
    """Random crop of 28x28 out of the image zero-padded by 2, then random horizontal flip."""
    n = x.shape[0]
    padded = F.pad(x, (2, 2, 2, 2))
    oy = torch.randint(0, 5, (n,), generator=gen)
    ox = torch.randint(0, 5, (n,), generator=gen)
    ar = torch.arange(28)
    rows = (oy[:, None] + ar)[:, :, None]  # n,28,1
    cols = (ox[:, None] + ar)[:, None, :]  # n,1,28
    out = padded[torch.arange(n)[:, None, None], 0, rows, cols].unsqueeze(1)
    flip = torch.rand(n, generator=gen) < 0.5
    return torch.where(flip[:, None, None, None], out.flip(-1), out)


# ---------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------
class BasicBlock(nn.Module):
    """y = relu(bn(conv(relu(bn(conv(x))))) + shortcut(x)); shortcut is 1x1 conv+BN on downsample."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                          nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class FashionResNet(nn.Module):
    def __init__(self, widths=(16, 32, 64), blocks=(1, 1, 1), num_classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, widths[0], 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True))
        layers = []
        cin = widths[0]
        for i, (w, b) in enumerate(zip(widths, blocks)):
            for j in range(b):
                stride = 2 if (i > 0 and j == 0) else 1
                layers.append(BasicBlock(cin, w, stride))
                cin = w
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        x = self.layers(self.stem(x))
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(x)


class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1x1 expand (ReLU6) -> depthwise 3x3 (ReLU6) -> 1x1 linear projection."""

    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hidden = cin * expand
        self.use_res = stride == 1 and cin == cout
        layers = []
        if expand != 1:
            layers += [nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden),
                       nn.ReLU6(inplace=True)]
        layers += [nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
                   nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True),
                   nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        y = self.conv(x)
        return x + y if self.use_res else y


class FashionMobileNet(nn.Module):
    # (expansion t, output channels c, repeats n, first stride s), as in the MobileNetV2 paper.
    # The first block (t=1) already downsamples 28->14: expanding at full resolution made an
    # epoch ~3x slower (batch norm and ReLU6 on 28x28x64 maps dominate on a CPU core).
    CFG = ((1, 16, 1, 2), (4, 24, 2, 1), (4, 32, 2, 2), (4, 64, 2, 1))

    def __init__(self, stem=16, last=128, num_classes=10):
        super().__init__()
        layers = [nn.Conv2d(1, stem, 3, 1, 1, bias=False), nn.BatchNorm2d(stem),
                  nn.ReLU6(inplace=True)]
        cin = stem
        for t, c, n, s in self.CFG:
            for i in range(n):
                layers.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        layers += [nn.Conv2d(cin, last, 1, bias=False), nn.BatchNorm2d(last),
                   nn.ReLU6(inplace=True)]
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(last, num_classes)

    def forward(self, x):
        x = self.features(x)
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(x)


MODELS = {"resnet": FashionResNet, "mobilenet": FashionMobileNet}


# ---------------------------------------------------------------------------------------------
# Training / evaluation / export
# ---------------------------------------------------------------------------------------------
def log(f, msg):
    line = f"[{time.strftime('%H:%M:%S')}] {msg}"
    print(line, flush=True)
    if f:
        f.write(line + "\n")
        f.flush()


@torch.no_grad()
def predict(model, x, batch=1000):
    model.eval()
    preds = []
    for i in range(0, x.shape[0], batch):
        preds.append(model(x[i:i + batch]).argmax(1))
    return torch.cat(preds)


def train(name, args, data, logf):
    xtr, ytr, xte, yte = data
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    # channels_last lets oneDNN run the depthwise/pointwise convs ~1.4x faster on one core.
    model = MODELS[name]().to(memory_format=torch.channels_last)
    nparams = sum(p.numel() for p in model.parameters())
    epochs = args.epochs[name]
    steps_per_epoch = xtr.shape[0] // args.batch
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, nesterov=True,
                          weight_decay=args.wd)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, epochs=epochs,
                                                steps_per_epoch=steps_per_epoch,
                                                pct_start=0.25, div_factor=10,
                                                final_div_factor=100)
    log(logf, f"{name}: {nparams} params, {epochs} epochs x {steps_per_epoch} steps, "
              f"batch {args.batch}, SGD nesterov lr {args.lr} wd {args.wd}, OneCycle, "
              f"label smoothing {args.smoothing}")
    t0 = time.time()
    for ep in range(epochs):
        model.train()
        perm = torch.randperm(xtr.shape[0], generator=gen)
        tl, tc, te = 0.0, 0, time.time()
        for s in range(steps_per_epoch):
            idx = perm[s * args.batch:(s + 1) * args.batch]
            xb = augment(xtr[idx], gen) if args.augment else xtr[idx]
            xb = xb.contiguous(memory_format=torch.channels_last)
            yb = ytr[idx]
            out = model(xb)
            loss = F.cross_entropy(out, yb, label_smoothing=args.smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            tl += loss.item()
            tc += (out.argmax(1) == yb).sum().item()
            if args.max_steps and s + 1 >= args.max_steps:
                dt = time.time() - te
                log(logf, f"{name}: {s + 1} steps in {dt:.1f}s -> "
                          f"{dt / (s + 1) * steps_per_epoch:.0f}s per epoch")
                return model, None
        acc = (predict(model, xte) == yte).float().mean().item()
        log(logf, f"{name}: epoch {ep + 1}/{epochs} loss {tl / steps_per_epoch:.4f} "
                  f"train {tc / (steps_per_epoch * args.batch):.4f} test {acc:.4f} "
                  f"({time.time() - te:.0f}s, total {time.time() - t0:.0f}s)")
    return model.to(memory_format=torch.contiguous_format), time.time() - t0


def export(model, path):
    model.eval()
    dummy = torch.zeros(1, 1, 28, 28)
    torch.onnx.export(model, dummy, path, opset_version=13, do_constant_folding=True,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def settings(args, name):
    return {"epochs": args.epochs[name], "batch": args.batch, "optimizer": "SGD nesterov m=0.9",
            "max_lr": args.lr, "weight_decay": args.wd, "schedule": "OneCycle pct_start=0.25 "
            "div_factor=10 final_div_factor=100", "label_smoothing": args.smoothing,
            "augment": "random crop pad 2 + horizontal flip" if args.augment else "none",
            "seed": args.seed}


README_HEAD = """# Fashion-MNIST fixture models

Small CNNs trained on Fashion-MNIST for edgeopt's demo and tests. Generated, do not edit by
hand: `scripts/train_fashion_fixtures.py --readme` rewrites this file from the
`*.expected.json` files and the `.onnx` files beside it.

## How they were made

    OMP_NUM_THREADS=1 /usr/bin/python3 scripts/train_fashion_fixtures.py --log models/train.log \\
        --resnet-epochs {resnet_epochs} --mobilenet-epochs {mobilenet_epochs}
    /usr/bin/python3 scripts/train_fashion_fixtures.py --readme

(Debian 12 python3-torch {torch}, one CPU thread; the training wall times below were measured
on a 2-core machine shared with parallel C++ builds, ~3x the uncontended time; data from the Debian package
dataset-fashion-mnist in /usr/share/datasets/fashion-mnist. One model alone:
`--models resnet` or `--models mobilenet`; each model seeds its own generators, so training
one alone gives the same weights as training both. `models/train.log` is the training log.)

Contract of both models: input `input` float32 `[N,1,28,28]` = pixel/255 (no mean/std),
output `logits` float32 `[N,10]`, dynamic batch `N`, ONNX opset 13, exported with
`torch.onnx.export(..., do_constant_folding=True)` in eval() mode (BatchNorm folded into Conv).
Classes: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal, 6 Shirt, 7 Sneaker,
8 Bag, 9 Ankle boot.

`fashion_<name>.expected.json` holds the PyTorch top-1 on the 10,000 test images and
`predictions`, the predicted class of every test image in file order, so a test can check
that edgeopt's `eval` predicts the same class image by image. Check with ONNX Runtime:
`bench/ort/setup.sh && node bench/ort/eval_ort.js models/fashion_<name>.onnx`.

## fashion_resnet8.onnx: trained by edgeopt itself (the demo's model)

The same architecture as `fashion_resnet.onnx` (`edgeopt zoo resnet8`), trained by edgeopt's
training backend; BatchNormalization is kept in the file (the demo's fold/fuse step folds it).
`make demo` runs the lab on this model.

    edgeopt zoo resnet8 -o resnet8.onnx
    OMP_WAIT_POLICY=PASSIVE edgeopt train resnet8.onnx -o models/fashion_resnet8.onnx \\
        --data fashion-mnist:train --val fashion-mnist:test --epochs 10 --batch 128 --lr 0.1 \\
        --optimizer sgd --momentum 0.9 --schedule cosine --weight-decay 5e-4 \\
        --label-smoothing 0.1 --augment --seed 0 --threads 2

Test top-1 92.12% (9212/10000) in edgeopt (`edgeopt eval models/fashion_resnet8.onnx --data
fashion-mnist:test`) and in ONNX Runtime (`node bench/ort/eval_ort.js
models/fashion_resnet8.onnx`); 317,813 bytes; 24 min wall on the shared 2-core machine
(docs/training.md, "resnet8 on Fashion-MNIST", has the per-epoch log). sha256
`6889207feacc2a5c48fda9f678d843dfb01e96d4142cfd93310a6d38c8695aa1`.

## Architectures

- `fashion_resnet.onnx`: stem conv3x3 16 + BN + ReLU at 28x28; three stages of one basic
  residual block each (conv3x3-BN-ReLU-conv3x3-BN, add, ReLU) with 16/32/64 channels at
  28/14/7; stages 2 and 3 downsample with stride 2 and a 1x1 conv+BN shortcut; global average
  pool; linear 64->10.
- `fashion_mobilenet.onnx`: MobileNetV2-style: stem conv3x3 16 + BN + ReLU6; inverted residual
  blocks (1x1 expand + BN + ReLU6, depthwise 3x3 + BN + ReLU6, 1x1 linear projection + BN,
  residual add when shape allows) with (expansion, channels, repeats, stride) =
  (1,16,1,2) (4,24,2,1) (4,32,2,2) (4,64,2,1), i.e. 28->14->7; 1x1 conv 128 + BN + ReLU6;
  global average pool; linear 128->10.

## Results

Targets: test top-1 >= 92% for the ResNet and >= 90.5% for the MobileNet, each file <= 1 MB.
"""


def write_readme(out, args):
    rows, details, epochs = [], [], {}
    for name in MODELS:
        onnx_path = os.path.join(out, f"fashion_{name}.onnx")
        exp_path = os.path.join(out, f"fashion_{name}.expected.json")
        if not (os.path.exists(onnx_path) and os.path.exists(exp_path)):
            rows.append(f"| fashion_{name}.onnx | not trained yet | | | |")
            continue
        with open(exp_path) as f:
            e = json.load(f)
        digest = sha256(onnx_path)
        if digest != e.get("onnx_sha256"):
            raise SystemExit(f"{onnx_path}: sha256 differs from {exp_path}; retrain or fix")
        # Files from before settings were recorded: they were made with the defaults.
        st = e.get("settings") or settings(args, name)
        epochs[name] = st["epochs"]
        rows.append(f"| fashion_{name}.onnx | {100 * e['top1']:.2f}% ({e['correct']}/"
                    f"{e['count']}) | {os.path.getsize(onnx_path)} | "
                    f"{e['train_seconds'] / 60:.1f} min | {st.get('epochs', '?')} |")
        details.append(f"- `fashion_{name}.onnx` sha256 `{digest}`")
        details.append(f"- `fashion_{name}.expected.json` sha256 `{sha256(exp_path)}`")
        details.append(f"- {name} settings: " + ", ".join(f"{k} {v}" for k, v in st.items()))
    text = README_HEAD.format(torch=torch.__version__,
                              resnet_epochs=epochs.get("resnet", args.resnet_epochs),
                              mobilenet_epochs=epochs.get("mobilenet", args.mobilenet_epochs))
    text += ("\n| file | test top-1 (PyTorch) | bytes | training time (wall, 1 thread) | "
             "epochs |\n| --- | --- | --- | --- | --- |\n")
    text += "\n".join(rows) + "\n\n" + "\n".join(details) + "\n"
    text += ("\nONNX Runtime check (onnxruntime-node, CPU): `node bench/ort/eval_ort.js "
             "models/fashion_<name>.onnx` compares its top-1 class on all 10,000 test images with "
             "`predictions` and exits 1 on any difference.\n")
    with open(os.path.join(out, "README.md"), "w") as f:
        f.write(text)
    print(f"wrote {os.path.join(out, 'README.md')}")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="resnet,mobilenet")
    ap.add_argument("--out", default=os.path.join(REPO, "models"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.2)
    ap.add_argument("--wd", type=float, default=5e-4)
    ap.add_argument("--smoothing", type=float, default=0.1)
    ap.add_argument("--resnet-epochs", type=int, default=7)
    ap.add_argument("--mobilenet-epochs", type=int, default=6)
    ap.add_argument("--no-augment", dest="augment", action="store_false")
    ap.add_argument("--max-steps", type=int, default=0,
                    help="time this many steps per model and stop (sizing run, no output)")
    ap.add_argument("--log", default=None, help="also append progress to this file")
    ap.add_argument("--readme", action="store_true",
                    help="only rewrite OUT/README.md from the existing models and json files")
    args = ap.parse_args()
    args.epochs = {"resnet": args.resnet_epochs, "mobilenet": args.mobilenet_epochs}
    if args.readme:
        write_readme(args.out, args)
        return

    logf = open(args.log, "a") if args.log else None
    log(logf, f"torch {torch.__version__}, threads {torch.get_num_threads()}, "
              f"args {' '.join(sys.argv[1:])}")
    xtr, ytr = load_split("train")
    xte, yte = load_split("t10k")
    data = (xtr, ytr, xte, yte)
    os.makedirs(args.out, exist_ok=True)

    for name in args.models.split(","):
        model, seconds = train(name, args, data, logf)
        if seconds is None:
            continue
        model.eval()
        preds = predict(model, xte)
        acc = (preds == yte).float().mean().item()
        onnx_path = os.path.join(args.out, f"fashion_{name}.onnx")
        export(model, onnx_path)
        expected = {
            "model": os.path.basename(onnx_path),
            "dataset": "fashion-mnist t10k (10000 images), input = pixel/255, NCHW 1x28x28",
            "top1": round(acc, 6),
            "correct": int((preds == yte).sum().item()),
            "count": int(yte.shape[0]),
            "train_seconds": round(seconds, 1),
            "settings": settings(args, name),
            "onnx_sha256": sha256(onnx_path),
            "predictions": [int(p) for p in preds.tolist()],
        }
        with open(os.path.join(args.out, f"fashion_{name}.expected.json"), "w") as f:
            json.dump(expected, f)
            f.write("\n")
        log(logf, f"{name}: test top-1 {acc:.4f}, {os.path.getsize(onnx_path)} bytes, "
                  f"sha256 {expected['onnx_sha256']}, trained in {seconds:.0f}s")


if __name__ == "__main__":
    main()
