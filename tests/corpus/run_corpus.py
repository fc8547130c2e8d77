#!/usr/bin/python3
"""Runs the checks of the real-model corpus (tests/corpus/corpus.json) against ONNX Runtime.

  run_corpus.py MANIFEST CORPUS_DIR --edgeopt BIN --ort RUN_ORT_JS --model NAME
      runs every check of one model (made by scripts/make_corpus.py into CORPUS_DIR/NAME):
        ort       `edgeopt run` and onnxruntime-node on the same inputs; every output has ORT's
                  shape and max|edgeopt - ORT| <= tolerance.fp32 * max|ORT| (integers: equal);
                  with --python DIR, edgeopt.InferenceSession (the module in DIR) on the same
                  inputs too, whose outputs must be bit-identical to `edgeopt run`'s
        quantize  `edgeopt quantize --calib calib.npz` (unlabeled samples) writes a model that
                  edgeopt and ORT both run, agreeing within tolerance.int8 * max|ORT|
        prune     `edgeopt prune --structured --ratio R` writes a model that both run, agreeing
                  within the fp32 tolerance
      Each check's outcome is held against its `expect`: an expected pass that fails, an
      expected failure that passes, and a failure whose error line does not contain the
      manifest's `error` text all fail the test. Exits 1 then, or when not every check ran.
      Writes CORPUS_DIR/results/NAME.json.
  run_corpus.py MANIFEST CORPUS_DIR --summary --label LABEL --ort RUN_ORT_JS
      prints the model x check table of the results written since CORPUS_DIR/LABEL.stamp (which
      scripts/make_corpus.py --label LABEL writes) and fails unless every model of LABEL ran all
      its checks.
Both exit 77 (skipped) when onnxruntime-node cannot be loaded.
"""

import argparse
import json
import os
import subprocess
import sys
import time

CHECKS = ("ort", "quantize", "prune")
TIMEOUT_S = 900


class CheckFailed(Exception):
    pass


def first_error_line(text):
    """The line a user would read: the last non-empty line of stderr (edgeopt prints one)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "(no message)"


def call(what, cmd, corpus_dir):
    """Runs cmd; raises CheckFailed naming `what`, the exit status and the error line."""
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise CheckFailed("%s: timed out after %d s" % (what, TIMEOUT_S))
    if p.returncode != 0:
        status = "signal %d" % -p.returncode if p.returncode < 0 else "exit %d" % p.returncode
        line = first_error_line(p.stderr.decode(errors="replace"))
        # The manifest must not hold this machine's paths.
        line = line.replace(os.path.abspath(corpus_dir), "$CORPUS").replace(corpus_dir, "$CORPUS")
        raise CheckFailed("%s: %s: %s" % (what, status, line))


def run_edgeopt(args, model, d, out):
    import numpy as np

    call("edgeopt run", [args.edgeopt, "run", model, "--input", os.path.join(d, "inputs.npz"),
                         "--output", out], args.corpus_dir)
    with np.load(out) as z:
        return {k: z[k] for k in z.files}


def run_ort(args, model, d, n_inputs, out_dir):
    import onnx.numpy_helper

    cmd = ["node", args.ort, model, "--warmup", "0", "--runs", "1", "--save-outputs", out_dir]
    for i in range(n_inputs):
        cmd += ["--input", os.path.join(d, "input_%d.pb" % i)]
    for f in os.listdir(out_dir) if os.path.isdir(out_dir) else []:
        os.remove(os.path.join(out_dir, f))
    call("onnxruntime", cmd, args.corpus_dir)
    outs = {}
    for f in sorted(os.listdir(out_dir)):
        t = onnx.TensorProto()
        with open(os.path.join(out_dir, f), "rb") as fh:
            t.ParseFromString(fh.read())
        outs[t.name] = onnx.numpy_helper.to_array(t)
    return outs


def compare(ours, ref, tol, atol):
    """Raises CheckFailed unless every ORT output is matched; returns a line on the closest one.
    Floats: max|ours - ORT| <= tol * max|ORT| + atol (atol only matters for an output that ORT
    computes as all zeros, such as a saturated sigmoid); integers and booleans: equal."""
    import numpy as np

    worst, line = -1.0, "no float outputs"
    for name, r in ref.items():
        if name not in ours:
            raise CheckFailed("output %s: edgeopt did not write it (has %s)" % (name, sorted(ours)))
        o = ours[name]
        if o.shape != r.shape:
            raise CheckFailed("output %s: edgeopt shape %s, ORT %s" % (name, o.shape, r.shape))
        if r.size == 0:
            continue
        if r.dtype.kind in "fc":
            scale = float(np.max(np.abs(r)))
            diff = float(np.max(np.abs(o.astype(np.float64) - r.astype(np.float64))))
            allowed = tol * scale + atol
            if not np.isfinite(diff) or diff > allowed:
                raise CheckFailed("output %s: max|diff| %.3g > %g * max|ORT| (%.3g) + %g"
                                  % (name, diff, tol, scale, atol))
            if diff / allowed > worst:
                worst = diff / allowed
                line = "max|diff| %.2g = %.0f%% of the tolerance (output %s, max|ORT| %.3g)" % (
                    diff, 100 * worst, name, scale)
        elif not np.array_equal(o, r):
            raise CheckFailed("output %s: %d of %d values differ from ORT"
                              % (name, int(np.sum(o != r)), r.size))
    return line


PYTHON_RUN = """
import sys
import numpy as np
import edgeopt
model, inputs, out = sys.argv[1:4]
s = edgeopt.InferenceSession(model)
with np.load(inputs) as z:
    feed = {k: z[k] for k in z.files}
names = [o.name for o in s.get_outputs()]
np.savez(out, **dict(zip(names, s.run(None, feed))))
"""


def check_python(args, model, d, cli_outputs):
    """The Python module's InferenceSession on the same inputs: bit-identical to `edgeopt run`."""
    import numpy as np

    out = os.path.join(d, "python_out.npz")
    env = dict(os.environ, PYTHONPATH=args.python)
    try:
        p = subprocess.run([sys.executable, "-c", PYTHON_RUN, model, os.path.join(d, "inputs.npz"),
                            out], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=TIMEOUT_S, env=env)
    except subprocess.TimeoutExpired:
        raise CheckFailed("python InferenceSession: timed out after %d s" % TIMEOUT_S)
    if p.returncode != 0:
        raise CheckFailed("python InferenceSession: exit %d: %s" % (
            p.returncode, first_error_line(p.stderr.decode(errors="replace"))))
    with np.load(out) as z:
        py = {k: z[k] for k in z.files}
    if sorted(py) != sorted(cli_outputs):
        raise CheckFailed("python InferenceSession outputs %s, edgeopt run %s"
                          % (sorted(py), sorted(cli_outputs)))
    for name, o in cli_outputs.items():
        if py[name].dtype != o.dtype or py[name].shape != o.shape or \
                py[name].tobytes() != o.tobytes():
            raise CheckFailed("output %s: python InferenceSession differs from edgeopt run" % name)


def check_ort(args, e, d, manifest):
    model = os.path.join(d, "model.onnx")
    ref = run_ort(args, model, d, len(e["inputs"]), os.path.join(d, "ort_out"))
    ours = run_edgeopt(args, model, d, os.path.join(d, "edgeopt_out.npz"))
    line = compare(ours, ref, manifest["tolerance"]["fp32"], manifest["tolerance"]["atol"])
    if args.python:
        check_python(args, model, d, ours)
        line += "; Python session bit-identical to edgeopt run"
    return line


def check_written(args, e, d, written, tol, atol):
    ref = run_ort(args, written, d, len(e["inputs"]), os.path.join(d, "ort_out"))
    ours = run_edgeopt(args, written, d, os.path.join(d, "edgeopt_out.npz"))
    return compare(ours, ref, tol, atol)


def check_quantize(args, e, d, manifest):
    q = os.path.join(d, "quantized.onnx")
    if os.path.exists(q):
        os.remove(q)
    call("edgeopt quantize", [args.edgeopt, "quantize", os.path.join(d, "model.onnx"), "-o", q,
                              "--calib", os.path.join(d, "calib.npz"),
                              "--samples", str(manifest["calib_samples"])], args.corpus_dir)
    tol = manifest["tolerance"]
    return check_written(args, e, d, q, tol["int8"], tol["atol"])


def check_prune(args, e, d, manifest):
    p = os.path.join(d, "pruned.onnx")
    if os.path.exists(p):
        os.remove(p)
    # The figures prune prints depend on the input size: give the shapes the sample data has
    # (a symbolic spatial dim is an error otherwise, and the pruned model declares them).
    shapes = []
    for i in e["inputs"]:
        if i["shape"]:
            shapes += ["--shape", "%s:%s" % (i["name"], "x".join(str(v) for v in i["shape"]))]
    call("edgeopt prune", [args.edgeopt, "prune", os.path.join(d, "model.onnx"), "-o", p,
                           "--structured", "--ratio", str(manifest["prune_ratio"])] + shapes,
         args.corpus_dir)
    tol = manifest["tolerance"]
    line = check_written(args, e, d, p, tol["fp32"], tol["atol"])
    ratio = os.path.getsize(p) / os.path.getsize(os.path.join(d, "model.onnx"))
    return "%s; file %.2fx the original" % (line, ratio)


RUNNERS = {"ort": check_ort, "quantize": check_quantize, "prune": check_prune}


def verdict(expect, outcome, error):
    """(ok, word) for one check: does what happened match what the manifest expects?"""
    if expect["expect"] == "pass":
        return (outcome == "pass", "pass" if outcome == "pass" else "FAILED (expected pass)")
    if outcome == "pass":
        return (False, "PASSED (expected fail: update the manifest)")
    if expect["error"] not in error:
        return (False, "FAILED DIFFERENTLY (expected error containing %r)" % expect["error"])
    return (True, "fail (expected)")


def run_model(args, manifest):
    entries = [e for e in manifest["models"] if e["name"] == args.model]
    if len(entries) != 1:
        raise SystemExit("run_corpus: %s is not in the manifest once" % args.model)
    e = entries[0]
    d = os.path.join(args.corpus_dir, e["name"])
    if not os.path.exists(os.path.join(d, "model.onnx")):
        raise SystemExit("run_corpus: %s/model.onnx is missing (scripts/make_corpus.py)" % d)
    results, ok_all, ran = {}, True, 0
    for c in CHECKS:
        expect = e["checks"][c]
        t0 = time.time()
        try:
            outcome, error = "pass", RUNNERS[c](args, e, d, manifest)
        except CheckFailed as err:
            outcome, error = "fail", str(err)
        ran += 1
        ok, word = verdict(expect, outcome, error)
        ok_all &= ok
        results[c] = {"outcome": outcome, "error": error, "ok": ok, "seconds": time.time() - t0}
        print("%-32s %-9s %-5s %5.1f s  %s  | %s" % (e["name"], c, outcome, time.time() - t0,
                                                   word, error), flush=True)
    if ran != len(CHECKS):
        ok_all = False
    os.makedirs(os.path.join(args.corpus_dir, "results"), exist_ok=True)
    with open(os.path.join(args.corpus_dir, "results", e["name"] + ".json"), "w") as f:
        json.dump({"model": e["name"], "label": e["label"], "checks": results}, f, indent=1)
    print("%s: %d checks ran, %s" % (e["name"], ran,
                                     "as expected" if ok_all else "NOT as expected"))
    return 0 if ok_all else 1


def summary(args, manifest):
    stamp = os.path.join(args.corpus_dir, args.label + ".stamp")
    since = os.path.getmtime(stamp) if os.path.exists(stamp) else None
    entries = [e for e in manifest["models"] if e["label"] == args.label]
    print("| model | " + " | ".join(CHECKS) + " |")
    print("|---|" + "---|" * len(CHECKS))
    ran_models, ran_checks, bad = 0, 0, []
    for e in entries:
        path = os.path.join(args.corpus_dir, "results", e["name"] + ".json")
        if not os.path.exists(path) or since is None or os.path.getmtime(path) < since:
            bad.append(e["name"] + ": did not run")
            print("| %s | " % e["name"] + " | ".join(["(did not run)"] * len(CHECKS)) + " |")
            continue
        with open(path) as f:
            r = json.load(f)["checks"]
        ran_models += 1
        cells = []
        for c in CHECKS:
            if c not in r:
                bad.append("%s: %s did not run" % (e["name"], c))
                cells.append("(did not run)")
                continue
            ran_checks += 1
            if not r[c]["ok"]:
                bad.append("%s: %s not as expected" % (e["name"], c))
            passed = r[c]["outcome"] == "pass"
            cells.append(r[c]["outcome"] + ("" if passed else ": " + r[c]["error"]))
        print("| %s | " % e["name"] + " | ".join(cells) + " |")
    want = len(entries) * len(CHECKS)
    print("%s: %d of %d models, %d of %d checks ran" % (args.label, ran_models, len(entries),
                                                      ran_checks, want))
    for b in bad:
        print("  " + b)
    return 0 if not bad and ran_checks == want and want > 0 else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("manifest")
    parser.add_argument("corpus_dir")
    parser.add_argument("--edgeopt")
    parser.add_argument("--ort", help="bench/ort/run_ort.js")
    parser.add_argument("--model")
    parser.add_argument("--python", default="",
                        help="folder of the edgeopt Python module: the ort check also runs the "
                             "model through edgeopt.InferenceSession (bit-identical to edgeopt run)")
    parser.add_argument("--summary", action="store_true")
    parser.add_argument("--label")
    args = parser.parse_args()
    with open(args.manifest) as f:
        manifest = json.load(f)
    ort_module = os.path.join(os.path.dirname(os.path.abspath(args.ort)), "node_modules",
                              "onnxruntime-node")
    if subprocess.run(["node", "-e", "require(%s)" % json.dumps(ort_module)],
                      stderr=subprocess.DEVNULL).returncode != 0:
        print("run_corpus: onnxruntime-node is not installed (bench/ort/setup.sh): skipped")
        return 77
    if args.summary:
        return summary(args, manifest)
    return run_model(args, manifest)


if __name__ == "__main__":
    sys.exit(main())
