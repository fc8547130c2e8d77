#!/usr/bin/env python3
"""What data-parallel training (edgeopt launch) costs on N hosts: an estimate, not a measurement.

Usage: scripts/scale_out.py --edgeopt build/edgeopt --sample-ms MS --reference MODEL MODEL...

For each MODEL (its parameters, MACs and BatchNormalization nodes from `edgeopt inspect --json`)
and each world size W, one training step of a fixed per-rank batch b (weak scaling) costs:

  compute     t_c = b * sample_ms * MACs / MACs(reference)
              (sample_ms: the measured training time per sample of the reference model on one
              rank; other models scaled by their MACs, which ignores how well each layer shape
              uses the core)
  gradients   G = 4 bytes * parameters, all-reduced by a ring in buckets of `bucket` bytes:
              t_g = 2 (W-1)/W * G / bandwidth + buckets * 2 (W-1) * latency
              buckets start during the backward pass (about 2/3 of t_c), so what shows is
              max(t_g / buckets, t_g - 2/3 t_c)
  BN sync     with --sync-bn, 2 blocking all-reduces of 2C+1 doubles per BatchNormalization
              node per step (one in the forward pass, one in the backward pass):
              2 * nodes * 2 (W-1) * latency

speed-up(W) = W * t_c / (t_c + shown gradient time [+ BN sync with --sync-bn]);
efficiency = speed-up / W.
Prints a Markdown table per model. Defaults: 10 Gb/s Ethernet (1.25e9 bytes/s), 50 us per
message (TCP across one switch), b = 32, 4 MiB buckets (edgeopt's default).
"""
import argparse
import json
import math
import os
import subprocess
import sys


def inspect(edgeopt, model):
    out = subprocess.run([edgeopt, "inspect", model, "--json"], check=True, capture_output=True,
                         text=True).stdout
    d = json.loads(out)
    ops = d.get("ops") or {}
    bn = ops.get("BatchNormalization", 0) if isinstance(ops, dict) else 0
    return {"params": d["params"], "macs": d["macs"], "bn": bn}


def step_costs(m, ref_macs, a, w):
    t_c = a.batch * a.sample_ms * 1e-3 * m["macs"] / ref_macs
    grad_bytes = 4 * m["params"]
    if w == 1:
        return t_c, 0.0, 0.0, grad_bytes, 0.0
    buckets = max(1, math.ceil(grad_bytes / (a.bucket_mb * 2**20)))
    lat = a.latency_us * 1e-6
    bw = a.gbps * 1e9 / 8
    t_g = 2 * (w - 1) / w * grad_bytes / bw + buckets * 2 * (w - 1) * lat
    shown = max(t_g / buckets, t_g - 2.0 / 3.0 * t_c)
    t_bn = 2 * m["bn"] * 2 * (w - 1) * lat
    sent = 2 * (w - 1) / w * grad_bytes
    return t_c, shown, t_bn, grad_bytes, sent


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("models", nargs="+")
    p.add_argument("--edgeopt", default="build/edgeopt")
    p.add_argument("--reference", required=True, help="the model sample-ms was measured on")
    p.add_argument("--sample-ms", type=float, required=True,
                   help="measured training ms per sample of the reference model on one rank")
    p.add_argument("--batch", type=int, default=32, help="per-rank batch")
    p.add_argument("--gbps", type=float, default=10.0)
    p.add_argument("--latency-us", type=float, default=50.0)
    p.add_argument("--bucket-mb", type=float, default=4.0)
    p.add_argument("--ranks", default="1,4,16,64")
    a = p.parse_args()
    ranks = [int(x) for x in a.ranks.split(",")]
    ref = inspect(a.edgeopt, a.reference)
    print(f"Estimate: {a.gbps:g} Gb/s, {a.latency_us:g} us per message, per-rank batch "
          f"{a.batch}, {a.bucket_mb:g} MiB buckets, {a.sample_ms:g} ms per training sample of "
          f"{os.path.basename(a.reference)} on one rank, other models scaled by MACs.\n")
    for model in a.models:
        m = inspect(a.edgeopt, model)
        print(f"**{os.path.basename(model)}**: {m['params']:,} parameters "
              f"({4 * m['params'] / 1e6:.2f} MB of gradients per step), {m['macs'] / 1e6:.1f} "
              f"MMACs, {m['bn']} BatchNormalization nodes\n")
        print("| ranks | compute ms/step | gradient all-reduce ms (not hidden) "
              "| sent per rank per step | speed-up | efficiency "
              "| `--sync-bn`: BN ms | speed-up | efficiency |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for w in ranks:
            t_c, shown, t_bn, _, sent = step_costs(m, ref["macs"], a, w)
            s1 = w * t_c / (t_c + shown)
            s2 = w * t_c / (t_c + shown + t_bn)
            print(f"| {w} | {t_c * 1e3:.1f} | {shown * 1e3:.1f} | {sent / 1e6:.2f} MB | "
                  f"{s1:.1f}x | {s1 / w * 100:.0f}% | {t_bn * 1e3:.1f} | {s2:.1f}x | "
                  f"{s2 / w * 100:.0f}% |")
        # Where efficiency falls below 50%, searched over powers of two up to 4096 ranks.
        for label, with_bn in (("", False), (" with `--sync-bn`", True)):
            if with_bn and m["bn"] == 0:
                continue
            w = 2
            while w <= 4096:
                t_c, shown, t_bn, _, _ = step_costs(m, ref["macs"], a, w)
                if t_c / (t_c + shown + (t_bn if with_bn else 0)) < 0.5:
                    break
                w *= 2
            print(f"\nEfficiency{label} falls below 50% at "
                  f"{w if w <= 4096 else 'more than 4096'} ranks.")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
