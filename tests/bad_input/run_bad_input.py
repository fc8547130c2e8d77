#!/usr/bin/python3
"""Hostile and malformed inputs, each run as a user would run it, under a memory limit and a
timeout. Every case must end with exit code 2 and exactly one line on stderr
("edgeopt: error: ..."), leave every input byte for byte as it was, and leave nothing behind:
no output file, no half-written folder, no temporary file.

Usage: run_bad_input.py EDGEOPT WORK_DIR [CASE_SUBSTRING]
The hostile files are generated here (onnx, numpy); nothing is downloaded.
"""
import hashlib
import os
import resource
import shutil
import struct
import subprocess
import sys
import zipfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

MEMORY_LIMIT = 3 << 30  # address space of each run
TIMEOUT_S = 120


def model(nodes, inputs, outputs, inits=(), opset=17, name="m"):
    g = helper.make_graph(nodes, name, inputs, outputs, initializer=list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def vi(name, dims, t=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, t, dims)


def save(m, path):
    with open(path, "wb") as f:
        f.write(m.SerializeToString())


def npy_header(shape, descr="<f4"):
    h = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape)
    h = h.ljust(117) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode()


def make_files(w, models_dir):
    """Writes every input the cases use into w."""
    os.makedirs(w, exist_ok=True)
    good = os.path.join(models_dir, "fashion_resnet8.onnx")
    shutil.copy(good, os.path.join(w, "good.onnx"))
    data = open(good, "rb").read()
    open(os.path.join(w, "truncated.onnx"), "wb").write(data[: len(data) // 2])
    open(os.path.join(w, "empty.onnx"), "wb").write(b"")
    open(os.path.join(w, "garbage.onnx"), "wb").write(os.urandom(4096))
    np.save(os.path.join(w, "x.npy"), np.zeros((1, 1, 28, 28), np.float32))
    # 10^18 elements declared over 16 bytes of data.
    open(os.path.join(w, "huge_shape.npy"), "wb").write(
        npy_header("(1000000000, 1000000000)") + b"\0" * 16)
    open(os.path.join(w, "bad_header.npy"), "wb").write(b"\x93NUMPY\x01\x00\x10\x00{'descr': \n")
    # A zip bomb as an input, named after the model's input: 1 GiB of zeros deflated to 1 MB.
    with zipfile.ZipFile(os.path.join(w, "bomb.npz"), "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("input.npy", "w", force_zip64=True) as f:
            n = (1 << 30) // 4
            f.write(npy_header("(%d,)" % n))
            chunk = b"\0" * (1 << 22)
            for _ in range((n * 4) // len(chunk)):
                f.write(chunk)
    # IDX with dims 0xFFFFFFFF.
    d = os.path.join(w, "idx")
    os.makedirs(d, exist_ok=True)
    open(os.path.join(d, "t10k-images-idx3-ubyte"), "wb").write(
        b"\0\0\x08\x03" + b"\xff\xff\xff\xff" * 3 + b"\0" * 64)
    open(os.path.join(d, "t10k-labels-idx1-ubyte"), "wb").write(
        b"\0\0\x08\x01" + b"\xff\xff\xff\xff" + b"\0" * 16)
    # An image folder whose class folder links back to itself.
    d = os.path.join(w, "loop", "a")
    os.makedirs(d, exist_ok=True)
    if not os.path.islink(os.path.join(d, "again")):
        os.symlink("..", os.path.join(d, "again"))
    # Recipes.
    recipes = {
        "overflow.json": '{"name":"r","steps":[{"op":"passes","level":1e400}]}',
        "level_string.json": '{"name":"r","steps":[{"op":"passes","level":"high"}]}',
        "samples_negative.json":
            '{"name":"r","steps":[{"op":"passes"},{"op":"quantize","samples":-5}]}',
        "samples_huge.json":
            '{"name":"r","steps":[{"op":"passes"},{"op":"quantize","samples":1e30}]}',
        "unknown_op.json": '{"name":"r","steps":[{"op":"magic"}]}',
        "not_json.json": '{"name":',
    }
    for k, v in recipes.items():
        open(os.path.join(w, k), "w").write(v)
    os.makedirs(os.path.join(w, "a_folder"), exist_ok=True)
    open(os.path.join(w, "a_file"), "w").write("x")

    # Hostile models.
    x = vi("x", [1, 4])
    save(model([helper.make_node("Relu", ["y"], ["z"]), helper.make_node("Relu", ["z"], ["y"])],
               [x], [vi("y", [1, 4])]), os.path.join(w, "cycle.onnx"))
    big = numpy_helper.from_array(np.array([1 << 20, 1 << 20], np.int64), "shape")
    save(model([helper.make_node("Expand", ["x", "shape"], ["y"])], [vi("x", [1, 1])],
               [vi("y", ["a", "b"])], [big]), os.path.join(w, "expand_huge.onnx"))
    save(model([helper.make_node("ConstantOfShape", ["shape"], ["y"])], [vi("x", [1, 1])],
               [vi("y", ["a", "b"])], [big]), os.path.join(w, "constant_of_shape_huge.onnx"))
    reps = numpy_helper.from_array(np.array([1 << 20, 1 << 20], np.int64), "reps")
    save(model([helper.make_node("Tile", ["x", "reps"], ["y"])], [vi("x", [1, 1])],
               [vi("y", ["a", "b"])], [reps]), os.path.join(w, "tile_huge.onnx"))
    pads = numpy_helper.from_array(np.array([0, 0, 1 << 20, 1 << 20], np.int64), "pads")
    save(model([helper.make_node("Pad", ["x", "pads"], ["y"])], [vi("x", [1, 1])],
               [vi("y", ["a", "b"])], [pads]), os.path.join(w, "pad_huge.onnx"))
    wt = numpy_helper.from_array(np.ones((1, 1, 3, 3), np.float32), "w")
    save(model([helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[1 << 40, 1 << 40])],
               [vi("x", [1, 1, 8, 8])], [vi("y", ["a", "b"])], [wt]),
         os.path.join(w, "kernel_shape_lie.onnx"))
    inf_w = numpy_helper.from_array(np.full((4, 4), np.inf, np.float32), "w")
    save(model([helper.make_node("MatMul", ["x", "w"], ["y"])], [x], [vi("y", [1, 4])], [inf_w]),
         os.path.join(w, "inf_weights.onnx"))
    ext = numpy_helper.from_array(np.ones((4, 4), np.float32), "w")
    ext.ClearField("raw_data")
    ext.data_location = TensorProto.EXTERNAL
    ext.external_data.add(key="location", value="../../etc/passwd")
    save(model([helper.make_node("MatMul", ["x", "w"], ["y"])], [x], [vi("y", [1, 4])], [ext]),
         os.path.join(w, "external_escape.onnx"))
    save(model([helper.make_node("FancyOp", ["x"], ["y"], domain="com.nobody")], [x],
               [vi("y", [1, 4])]), os.path.join(w, "unknown_op.onnx"))
    # The output aliases the input by symlink and by hard link.
    for link, fn in (("symlink.onnx", os.symlink), ("hardlink.onnx", os.link)):
        p = os.path.join(w, link)
        if not os.path.lexists(p):
            fn("good.onnx" if fn is os.symlink else os.path.join(w, "good.onnx"), p)


def cases():
    """(name, args) with paths relative to the work folder; every case must exit 2."""
    c = [
        ("missing model", ["inspect", "nothere.onnx"]),
        ("empty model", ["inspect", "empty.onnx"]),
        ("garbage model", ["inspect", "garbage.onnx"]),
        ("truncated model", ["run", "truncated.onnx", "-i", "x.npy"]),
        ("newline in path", ["inspect", "no\nsuch\rfile.onnx"]),
        ("cyclic graph", ["run", "cycle.onnx", "-i", "x.npy"]),
        ("external data escapes the folder", ["inspect", "external_escape.onnx"]),
        ("unknown op", ["run", "unknown_op.onnx", "-i", "x.npy"]),
        ("npy declares 10^18 elements", ["run", "good.onnx", "-i", "huge_shape.npy"]),
        ("npy bad header", ["run", "good.onnx", "-i", "bad_header.npy"]),
        ("npz zip bomb input", ["run", "good.onnx", "-i", "bomb.npz"]),
        ("IDX dims 0xFFFFFFFF", ["eval", "good.onnx", "--data", "mnist:idx"]),
        ("image folder symlink loop", ["eval", "good.onnx", "--data", "loop"]),
        ("spec unknown option", ["eval", "good.onnx", "--data", "loop?zoom=2"]),
        ("Expand to 2^40 elements", ["run", "expand_huge.onnx", "-i", "x1.npy"]),
        ("ConstantOfShape to 2^40", ["run", "constant_of_shape_huge.onnx", "-i", "x1.npy"]),
        ("Tile to 2^40", ["run", "tile_huge.onnx", "-i", "x1.npy"]),
        ("Pad to 2^40", ["run", "pad_huge.onnx", "-i", "x1.npy"]),
        ("kernel_shape 2^40 on a 3x3 weight", ["run", "kernel_shape_lie.onnx", "-i", "x8.npy"]),
        ("dynamic quantize of inf weights",
         ["quantize", "inf_weights.onnx", "-o", "out.onnx", "--mode", "dynamic"]),
        ("recipe number overflows", ["optimize", "good.onnx", "--recipe", "overflow.json",
                                     "-o", "out.onnx"]),
        ("recipe not JSON", ["optimize", "good.onnx", "--recipe", "not_json.json", "-o", "out.onnx"]),
        ("recipe unknown op", ["optimize", "good.onnx", "--recipe", "unknown_op.json",
                               "-o", "out.onnx"]),
        ("recipe level a string", ["optimize", "good.onnx", "--recipe", "level_string.json",
                                   "-o", "out.onnx", "--report", "r.json"]),
        ("recipe samples -5", ["optimize", "good.onnx", "--recipe", "samples_negative.json",
                               "-o", "out.onnx", "--calib", "x.npy", "--keep", "kept"]),
        ("recipe samples 1e30", ["optimize", "good.onnx", "--recipe", "samples_huge.json",
                                 "-o", "out.onnx", "--calib", "x.npy"]),
        ("report path is a folder", ["optimize", "good.onnx", "--recipe", "level_ok.json",
                                     "-o", "out.onnx", "--report", "a_folder"]),
        ("keep path is a file", ["optimize", "good.onnx", "--recipe", "level_ok.json",
                                 "-o", "out.onnx", "--keep", "a_file"]),
        ("output is the input by symlink", ["optimize", "good.onnx", "-o", "symlink.onnx"]),
        ("output is the input by hard link", ["optimize", "good.onnx", "-o", "hardlink.onnx"]),
        ("output folder missing", ["optimize", "good.onnx", "-o", "nowhere/out.onnx"]),
        ("--samples overflows", ["quantize", "good.onnx", "-o", "out.onnx", "--calib", "x.npy",
                                 "--samples", "99999999999999999999"]),
        ("--threads 0", ["bench", "good.onnx", "--threads", "0"]),
        ("--ratio out of range", ["prune", "good.onnx", "-o", "out.onnx", "--structured",
                                  "--ratio", "1.5"]),
        ("unknown calibration file", ["quantize", "good.onnx", "-o", "out.onnx", "--calib",
                                      "nothere.npz"]),
    ]
    return c


def snapshot(w):
    """Path → sha256 (or link target) of everything under w."""
    out = {}
    for root, dirs, files in os.walk(w, followlinks=False):
        for n in dirs + files:
            p = os.path.join(root, n)
            rel = os.path.relpath(p, w)
            if os.path.islink(p):
                out[rel] = "link:" + os.readlink(p)
            elif os.path.isfile(p):
                out[rel] = hashlib.sha256(open(p, "rb").read()).hexdigest()
            else:
                out[rel] = "dir"
    return out


def limit():
    # A sanitized build (tests/sanitized/run.sh) reserves terabytes of address space for its
    # shadow memory; it limits its allocations itself (ASAN_OPTIONS max_allocation_size_mb).
    if not os.environ.get("BAD_INPUT_NO_AS_LIMIT"):
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def main():
    edgeopt, work = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    only = sys.argv[3] if len(sys.argv) > 3 else ""
    models_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "models")
    make_files(work, models_dir)
    np.save(os.path.join(work, "x1.npy"), np.zeros((1, 1), np.float32))
    np.save(os.path.join(work, "x8.npy"), np.zeros((1, 1, 8, 8), np.float32))
    open(os.path.join(work, "level_ok.json"), "w").write(
        '{"name":"r","steps":[{"op":"passes","level":1}]}')
    before = snapshot(work)
    failures, ran = [], 0
    for name, args in cases():
        if only and only not in name:
            continue
        ran += 1
        try:
            p = subprocess.run([edgeopt] + args, cwd=work, capture_output=True,
                               timeout=TIMEOUT_S, preexec_fn=limit)
            code, err = p.returncode, p.stderr.decode(errors="replace")
        except subprocess.TimeoutExpired:
            code, err = "timeout", ""
        lines = err.rstrip("\n").split("\n") if err.strip() else []
        problems = []
        if code != 2:
            problems.append("exit %s, expected 2" % code)
        if len(lines) != 1 or not lines[0].startswith("edgeopt: error: "):
            problems.append("stderr is not one 'edgeopt: error:' line: %r" % err[-400:])
        after = snapshot(work)
        changed = sorted(k for k in before if after.get(k) != before[k])
        left = sorted(k for k in after if k not in before)
        if changed:
            problems.append("inputs changed: %s" % ", ".join(changed))
        if left:
            problems.append("left behind: %s" % ", ".join(left))
            for k in left:
                p = os.path.join(work, k)
                if os.path.isdir(p) and not os.path.islink(p):
                    shutil.rmtree(p, ignore_errors=True)
                elif os.path.lexists(p):
                    os.remove(p)
        status = "ok  " if not problems else "FAIL"
        print("%s %-40s %s" % (status, name, lines[0][:110] if lines else ""))
        for pr in problems:
            print("       " + pr)
        if problems:
            failures.append(name)
    print("%d cases, %d failed" % (ran, len(failures)))
    if ran == 0:
        print("no case ran")
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
