#!/usr/bin/python3
"""Derives the relative speeds of the bundled device profiles (devices/*.json) on this host.

A device's speed relative to this host, per node class, is a ratio of times of the same network:
ncnn's published benchmark on the device (Tencent/ncnn benchmark/README.md, benchncnn, 224x224
inputs, one thread) against edgeopt on this host (`edgeopt bench --threads 1`, the fastest run of
--rounds rounds of 20: this host is shared, and the fastest run is the one least disturbed by
other processes; on a quiet host it is within a few percent of the p50). Derivation networks:
GoogLeNet and SqueezeNet 1.1, fp32 and int8. ResNet-18 and MobileNetV2 are held out: they check
the method (docs/fit_devices.md, tests/device_test.cpp).

  fp32 (conv_f32, matmul_f32, memory):  s_f32 = sum host_ms(net) / sum device_ms(net)
  int8 (conv_int8, matmul_int8):        sum device_ms(net_int8)
                                          = sum host_ms(net_int8) * (q / s_int8 + (1 - q) / s_f32)
                                        with q the int8 share of the host's per-node profile
  parallel_fraction p (Amdahl):         S = sum t_1(net) / sum t_n(net) over the fp32 networks,
                                        p = (1 - 1/S) / (1 - 1/n)

With --write, updates relative_speed, parallel_fraction, relative_to and sources.relative_speed /
sources.parallel_fraction of devices/*.json (and the host's parallel_fraction); every other field
is hand-written with its own source. Prints the held-out comparison table of the docs.

Usage (from the source tree, after a build and scripts/make_torchvision_fixtures.py):
  /usr/bin/python3 scripts/device_speeds.py build [--rounds 3] [--write]
"""

import argparse
import datetime
import json
import os
import subprocess
import sys

NCNN_COMMIT = "a4d2ea1d4422c9e849f166fd7a4aefb52f942f6a"

# benchncnn averages (ms) from ncnn's benchmark/README.md at NCNN_COMMIT, CPU only
# (gpu_device = -1), by thread count. Section titles as in the file.
NCNN = {
    "raspberry-pi-4": {
        "section": "Raspberry Pi 4 Model B Broadcom BCM2711B0, Cortex-A72 (ARMv8) (1.8GHz x 4)",
        "n": 4,
        1: {"googlenet": 235.94, "squeezenet": 73.96, "googlenet_int8": 210.00,
            "squeezenet_int8": 69.42, "resnet18": 191.10, "mobilenet_v2": 93.48,
            "resnet18_int8": 158.50},
        4: {"googlenet": 114.35, "squeezenet": 46.65, "resnet18": 123.12, "mobilenet_v2": 61.88,
            "resnet18_int8": 83.92},
    },
    "raspberry-pi-5": {
        "section": "Raspberry Pi 5 Broadcom BCM2712, Cortex-A76 (ARMv8) (2.4GHz x 4)",
        "n": 4,
        1: {"googlenet": 48.71, "squeezenet": 11.87, "googlenet_int8": 49.15,
            "squeezenet_int8": 11.82, "resnet18": 29.68, "mobilenet_v2": 16.38,
            "resnet18_int8": 36.42},
        4: {"googlenet": 25.35, "squeezenet": 7.38, "resnet18": 19.96, "mobilenet_v2": 10.52,
            "resnet18_int8": 16.74},
    },
    "raspberry-pi-zero-2": {
        "section": "Raspberry Pi Zero 2 W Broadcom BCM2710A1, Cortex-A53 (ARMv8) (1.0GHz x 4)",
        "n": 4,
        1: {"googlenet": 780.39, "squeezenet": 240.77, "googlenet_int8": 664.15,
            "squeezenet_int8": 212.94, "resnet18": 654.69, "mobilenet_v2": 274.23,
            "resnet18_int8": 479.40},
        4: {"googlenet": 324.45, "squeezenet": 119.93, "resnet18": 353.45, "mobilenet_v2": 147.39,
            "resnet18_int8": 195.51},
    },
    "jetson-nano": {
        "section": "NVIDIA Jetson Nano (the gpu_device = -1 runs: 4x Cortex-A57 1.43 GHz)",
        "n": 4,
        1: {"googlenet": 287.11, "squeezenet": 86.14, "googlenet_int8": 256.53,
            "squeezenet_int8": 77.69, "resnet18": 221.60, "mobilenet_v2": 93.99,
            "resnet18_int8": 190.74},
        4: {"googlenet": 93.12, "squeezenet": 30.59, "resnet18": 83.44, "mobilenet_v2": 33.83,
            "resnet18_int8": 60.70},
    },
    "x86-mini-pc": {
        "section": "Intel Celeron N5105",
        "n": 4,
        1: {"googlenet": 195.52, "squeezenet": 54.46, "googlenet_int8": 275.98,
            "squeezenet_int8": 79.43, "resnet18": 161.03, "mobilenet_v2": 62.57,
            "resnet18_int8": 224.03},
        4: {"googlenet": 65.01, "squeezenet": 18.12, "resnet18": 54.07, "mobilenet_v2": 22.65,
            "resnet18_int8": 64.06},
    },
    "arm64-phone-midrange": {
        "section": "Qualcomm MSM6150 Snapdragon 675 (Kyro460 2.0GHz x 2 + Kyro460 1.7GHz x 6 + "
                   "Adreno 612)",
        "n": 2,
        1: {"googlenet": 165.34, "squeezenet": 36.48, "googlenet_int8": 160.12,
            "squeezenet_int8": 43.13, "resnet18": 136.98, "mobilenet_v2": 38.97,
            "resnet18_int8": 141.92},
        2: {"googlenet": 94.86, "squeezenet": 23.95, "resnet18": 86.50, "mobilenet_v2": 26.08,
            "resnet18_int8": 78.00},
    },
}

DERIVE = ["googlenet", "squeezenet"]
LOADED = (". It read 0.0 (clamped): a second thread bought nothing, the host was shared with "
          "other work; re-run the script on a quiet host")
HELD_OUT = ["resnet18", "mobilenet_v2", "resnet18_int8"]
# ncnn's network name -> the torchvision export edgeopt runs here.
FILES = {"googlenet": "googlenet_op13", "squeezenet": "squeezenet1_1_op13",
         "resnet18": "resnet18_op13", "mobilenet_v2": "mobilenet_v2_op13"}
INT8 = {"conv_int8", "matmul_int8"}


def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit("%s failed: %s" % (" ".join(cmd), r.stderr.strip()))
    return r.stdout


def export_googlenet(path):
    """torchvision GoogLeNet (weights=None, seed 0) at opset 13, as the fixtures are made."""
    if os.path.exists(path):
        return
    import torch
    import torchvision
    torch.manual_seed(0)
    m = torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=True).eval()
    tmp = path + ".tmp%d" % os.getpid()
    torch.onnx.export(m, torch.rand(1, 3, 224, 224), tmp, opset_version=13,
                      do_constant_folding=True, input_names=["input"], output_names=["output"])
    os.replace(tmp, path)


def models(build):
    """Paths of the fp32 and int8 models, quantized by edgeopt (static, per channel, minmax)."""
    fix = os.path.join(build, "fixtures")
    export_googlenet(os.path.join(fix, "googlenet_op13.onnx"))
    out = {}
    for net, stem in FILES.items():
        fp32 = os.path.join(fix, stem + ".onnx")
        int8 = os.path.join(fix, stem + ".edgeopt_int8.onnx")
        if not os.path.exists(int8):
            run([os.path.join(build, "edgeopt"), "quantize", fp32, "-o", int8, "--calib",
                 os.path.join(fix, "resnet18_calib.npz"), "--samples", "8", "--batch", "8"])
        out[net] = fp32
        out[net + "_int8"] = int8
    return out


def measure(build, path, threads, rounds):
    """Fastest run over rounds, and the int8 share of the per-node profile (summed)."""
    mins, classes = [], {}
    for _ in range(rounds):
        j = json.loads(run([os.path.join(build, "edgeopt"), "bench", path, "--threads",
                            str(threads), "--runs", "20", "--device", "host", "--json"]))
        mins.append(j["min_ms"])
        for c, ms in j["device"]["host_class_ms"].items():
            classes[c] = classes.get(c, 0) + ms
    total = sum(classes.values())
    q = sum(ms for c, ms in classes.items() if c in INT8) / total
    return min(mins), q, {c: ms / total for c, ms in classes.items()}


def calibration(build, rounds):
    """This host's calibration conv times (fastest over rounds), as estimate_on_device sees them."""
    model = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models",
                         "fashion_resnet8.onnx")
    best = {}
    for _ in range(rounds):
        j = json.loads(run([os.path.join(build, "edgeopt"), "bench", model, "--runs", "1",
                            "--device", "raspberry-pi-4", "--json"]))
        for k, ms in j["device"]["host_calibration_ms"].items():
            best[k] = round(min(ms, best.get(k, ms)), 4)
    return best


def amdahl_p(t1, tn, n):
    s = t1 / tn
    return max(0.0, min(1.0, (1 - 1 / s) / (1 - 1 / n)))


def cpu_name():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


def isa():
    flags = set()
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    for f in ["avx512_vnni", "avx512f", "avx_vnni", "avx2"]:
        if f in flags:
            return f
    return "none of avx2/avx512"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--write", action="store_true")
    a = ap.parse_args()
    paths = models(a.build)
    host = {}
    for net in DERIVE + ["resnet18", "mobilenet_v2"]:
        for v in [net, net + "_int8"]:
            host[v] = measure(a.build, paths[v], 1, a.rounds)
            print("host %-20s min %8.3f ms  int8 share %.2f" % (v, host[v][0], host[v][1]),
                  file=sys.stderr)
    host2 = {net: measure(a.build, paths[net], 2, a.rounds)[0] for net in DERIVE}
    host_p = amdahl_p(sum(host[n][0] for n in DERIVE), sum(host2[n] for n in DERIVE), 2)
    if host_p < 0.05:
        print("warning: a second thread bought nothing here (a loaded host?): the host's "
              "parallel_fraction reads %.3f" % host_p, file=sys.stderr)
    calib = calibration(a.build, a.rounds)
    relative_to = {
        "cpu": "%s (%s), %d logical CPUs" % (cpu_name(), isa(), os.cpu_count()),
        "runtime": "edgeopt default providers (oneDNN on x86), 1 thread",
        "measured": datetime.date.today().isoformat(),
        "host_min_ms_1_thread": {v: round(host[v][0], 3) for v in host},
        # The calibration convs of src/search/host_calibration.cpp on this host: estimates on
        # another host scale the speeds by its own calibration over these.
        "calibration_ms": calib,
    }
    profiles = {}
    for dev, t in NCNN.items():
        d1 = t[1]
        s_f32 = sum(host[n][0] for n in DERIVE) / sum(d1[n] for n in DERIVE)
        host_int8 = sum(host[n + "_int8"][0] * host[n + "_int8"][1] for n in DERIVE)
        host_rest = sum(host[n + "_int8"][0] * (1 - host[n + "_int8"][1]) for n in DERIVE)
        dev_int8 = sum(d1[n + "_int8"] for n in DERIVE)
        s_int8 = host_int8 / (dev_int8 - host_rest / s_f32)
        n = t["n"]
        p = amdahl_p(sum(d1[x] for x in DERIVE), sum(t[n][x] for x in DERIVE), n)
        profiles[dev] = {"s_f32": s_f32, "s_int8": s_int8, "p": p}
    print(json.dumps({"host_parallel_fraction": host_p, "relative_to": relative_to,
                      "profiles": profiles}, indent=2))
    print_table(host, host_p, profiles)
    if a.write:
        write_profiles(host_p, relative_to, profiles)


def estimate(host_entry, prof, host_p, threads, cores):
    """The estimator of src/search/device.cpp for these two speeds (doc table only)."""
    p50, q, _ = host_entry
    factor = q / prof["s_int8"] + (1 - q) / prof["s_f32"]
    amd = lambda p, k: 1 / ((1 - p) + p / k)
    return p50 * factor * amd(host_p, 1) / amd(prof["p"], min(threads, cores))


def print_table(host, host_p, profiles):
    print("\n| device | network | threads | published (ncnn) ms | estimated ms | est / pub |")
    print("|---|---|---|---|---|---|")
    for dev, prof in profiles.items():
        for net in HELD_OUT:
            for th in [1, NCNN[dev]["n"]]:
                pub = NCNN[dev][th].get(net)
                if pub is None:
                    continue
                # Host figures are single-thread; the device's Amdahl term scales to `th`.
                est = estimate(host[net], prof, host_p, th, NCNN[dev]["n"])
                print("| %s | %s | %d | %.1f | %.1f | %.2f |" % (dev, net, th, pub, est, est / pub))


def write_profiles(host_p, relative_to, profiles):
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "devices")
    hp = os.path.join(root, "host.json")
    with open(hp) as f:
        h = json.load(f)
    h["parallel_fraction"] = round(host_p, 3)
    h["sources"]["parallel_fraction"] = (
        "measured by scripts/device_speeds.py on %s: edgeopt bench of GoogLeNet + SqueezeNet 1.1 "
        "at 2 threads vs 1 (Amdahl fit)%s" % (relative_to["measured"], LOADED if host_p < 0.05
                                               else "; re-run it on another host"))
    dump(hp, h)
    for dev, prof in profiles.items():
        path = os.path.join(root, dev + ".json")
        with open(path) as f:
            j = json.load(f)
        s = {"conv_f32": prof["s_f32"], "matmul_f32": prof["s_f32"], "memory": prof["s_f32"],
             "conv_int8": prof["s_int8"], "matmul_int8": prof["s_int8"]}
        if j.get("dotprod"):
            s["conv_int8_dotprod"] = prof["s_int8"]
            s["matmul_int8_dotprod"] = prof["s_int8"]
        j["relative_speed"] = {k: round(v, 4) for k, v in s.items()}
        j["parallel_fraction"] = round(prof["p"], 3)
        j["relative_to"] = relative_to
        t = NCNN[dev]
        j["sources"]["relative_speed"] = (
            "scripts/device_speeds.py: ncnn benchmark/README.md @ %s, section \"%s\", 1 thread: "
            "googlenet %.2f, squeezenet %.2f, googlenet_int8 %.2f, squeezenet_int8 %.2f ms; vs "
            "edgeopt on relative_to.cpu, 1 thread (relative_to.host_min_ms_1_thread). fp32 classes "
            "(conv, matmul, memory) share one ratio; int8 classes one ratio. ResNet-18 and "
            "MobileNetV2 are held out for the check in docs/fit_devices.md"
            % (NCNN_COMMIT[:7], t["section"], t[1]["googlenet"], t[1]["squeezenet"],
               t[1]["googlenet_int8"], t[1]["squeezenet_int8"]))
        j["sources"]["parallel_fraction"] = (
            "Amdahl fit of the same ncnn section: googlenet + squeezenet at %d threads (%.2f + "
            "%.2f ms) vs 1 thread" % (t["n"], t[t["n"]]["googlenet"], t[t["n"]]["squeezenet"]))
        dump(path, j)


def dump(path, j):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(j, f, indent=2, ensure_ascii=False)
        f.write("\n")
    os.replace(tmp, path)


if __name__ == "__main__":
    main()
