#!/usr/bin/env python3
"""Exports the segmentation benchmark models of bench/README.md into OUT_DIR (random weights,
weights=None: nothing is downloaded), fixed input 1x3x640x640, opset 13:
  lraspp_mobilenet_v3_large.onnx  torchvision LR-ASPP (bilinear Resize, SE blocks, HardSwish)
  fcn_resnet50.onnx               torchvision FCN (a final 8x bilinear Resize of 21 classes)
  unet_small.onnx                 a small U-Net: 4 levels, ConvTranspose 2x2/2 up-sampling,
                                  skip Concats, a nearest Resize on the last skip
usage: make_seg_models.py OUT_DIR [--only NAME]"""
import argparse
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision


class Block(nn.Sequential):
    def __init__(self, cin, cout):
        super().__init__(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(),
                         nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU())


class UNetSmall(nn.Module):
    def __init__(self, classes=3, w=(16, 32, 64, 128)):
        super().__init__()
        self.enc = nn.ModuleList()
        cin = 3
        for c in w:
            self.enc.append(Block(cin, c))
            cin = c
        self.up = nn.ModuleList()
        self.dec = nn.ModuleList()
        for c in reversed(w[:-1]):
            self.up.append(nn.ConvTranspose2d(cin, c, 2, stride=2))
            self.dec.append(Block(2 * c, c))
            cin = c
        self.head = nn.Conv2d(cin + 3, classes, 1)

    def forward(self, x):
        skips = []
        h = x
        for i, e in enumerate(self.enc):
            h = e(h)
            if i < len(self.enc) - 1:
                skips.append(h)
                h = F.max_pool2d(h, 2)
        for up, dec in zip(self.up, self.dec):
            h = up(h)
            h = dec(torch.cat([h, skips.pop()], 1))
        x_small = F.interpolate(x, scale_factor=0.5, mode="nearest")
        x_back = F.interpolate(x_small, size=h.shape[-2:], mode="nearest")
        return self.head(torch.cat([h, x_back], 1))


def export(model, path):
    model.eval()
    x = torch.rand(1, 3, 640, 640)
    torch.onnx.export(model, x, path, opset_version=13, input_names=["input"],
                      output_names=["out"])
    print(path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--only")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.manual_seed(0)
    seg = torchvision.models.segmentation
    models = {
        "lraspp_mobilenet_v3_large": lambda: seg.lraspp_mobilenet_v3_large(
            weights=None, weights_backbone=None),
        "fcn_resnet50": lambda: seg.fcn_resnet50(weights=None, weights_backbone=None,
                                                 aux_loss=False),
        "unet_small": UNetSmall,
    }

    class OutOnly(nn.Module):  # torchvision's segmentation models return a dict
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, x):
            y = self.m(x)
            return y["out"] if isinstance(y, dict) else y

    for name, make in models.items():
        if a.only and name != a.only:
            continue
        export(OutOnly(make()), os.path.join(a.out, name + ".onnx"))


if __name__ == "__main__":
    main()
