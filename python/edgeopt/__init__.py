"""edgeopt: make trained ONNX models fit small devices, measure them, and run them.

The Python face of the edgeopt CLI, shaped like ONNX Runtime's API:

    import edgeopt
    sess = edgeopt.InferenceSession("model.onnx")          # providers=None, threads=1
    logits, = sess.run(None, {sess.get_inputs()[0].name: x})

    edgeopt.inspect("model.onnx")                           # dict of `edgeopt inspect --json`
    edgeopt.quantize("model.onnx", "int8.onnx", calib="fashion-mnist:train")
    edgeopt.benchmark("int8.onnx", runs=50)                 # dict of `edgeopt bench --json`
    edgeopt.fit("model.onnx", "fit_out", device="host", calib="fashion-mnist:train",
                eval="fashion-mnist:test", max_size=0.2)    # dict of report.json

Every command returns the figures of the same CLI command's `--json` as a dict. Errors raise
edgeopt.Error: InvalidInput (bad model, data or argument), Unsupported (valid, but edgeopt
cannot handle it) or Internal (a bug), with the CLI's message.

The training commands (zoo, train, finetune, iterative_prune, distill, qat) run on libtorch in
the edgeopt-train CLI, which the build (and the wheel) puts next to this module when libtorch is
there; they return its `--json` dict and pass its log lines to progress(line). Without it they
raise Unsupported saying so.
"""

import os as _os

# The oneDNN provider runs on GNU OpenMP, whose idle threads spin for ~3 ms by default and take
# the cores the working threads need on a busy machine. As the CLI does (tools/edgeopt/main.cpp),
# ask for a short spin and then sleep; libgomp reads these when the native module loads it, and
# a value the user set is kept.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
_os.environ.setdefault("GOMP_SPINCOUNT", "3000")

from ._edgeopt import (  # noqa: E402
    Error,
    InferenceSession,
    Internal,
    InvalidInput,
    NodeArg,
    Unsupported,
    __version__,
    benchmark,
    evaluate,
    get_available_providers,
    inspect,
    lowrank,
    optimize,
    prune,
)
from . import _edgeopt  # noqa: E402

__all__ = [
    "Error", "InvalidInput", "Unsupported", "Internal", "InferenceSession", "NodeArg",
    "get_available_providers", "inspect", "benchmark", "optimize", "quantize", "prune",
    "lowrank", "evaluate", "fit", "zoo", "train", "finetune", "distill", "qat",
    "iterative_prune", "__version__",
]


def _batches(calib):
    """The batches of a calibration reader: an ORT-style object with get_next() (None at the
    end), one array or dict, or an iterable of either."""
    if hasattr(calib, "get_next"):
        return iter(calib.get_next, None)
    if isinstance(calib, dict) or hasattr(calib, "__array__"):
        return iter([calib])
    try:
        return iter(calib)
    except TypeError:
        raise InvalidInput(
            "calib must be a dataset SPEC, an array, a dict of arrays, an iterable of them or "
            f"a reader with get_next(); got {type(calib).__name__}") from None


def _gather_calibration(calib, samples):
    """Concatenates the reader's batches (numpy arrays N x ..., or dicts input name -> array)
    up to `samples` samples: one array, or a dict of arrays with the same N."""
    import numpy as np

    parts, keys, count = {}, None, 0
    for i, batch in enumerate(_batches(calib)):
        named = isinstance(batch, dict)
        arrays = {str(k): np.asarray(v) for k, v in batch.items()} if named else {
            None: np.asarray(batch)}
        batch_keys = sorted(arrays, key=str) if named else [None]
        if keys is None:
            keys = batch_keys
        elif batch_keys != keys:
            raise InvalidInput(f"calibration batch {i}: arrays {batch_keys} differ from the "
                               f"first batch's {keys}")
        sizes = {a.shape[0] if a.ndim else 0 for a in arrays.values()}
        if len(sizes) != 1 or 0 in sizes:
            raise InvalidInput(f"calibration batch {i}: every array needs the same leading "
                               f"dim of samples >= 1, got {sorted(sizes)}")
        take = min(sizes.pop(), samples - count)
        for k, a in arrays.items():
            parts.setdefault(k, []).append(a[:take])
        count += take
        if count >= samples:
            break
    if not parts:
        raise InvalidInput("calibration reader gave no batches")
    joined = {k: np.concatenate(v) if len(v) > 1 else v[0] for k, v in parts.items()}
    if keys == [None]:
        return joined[None]
    # In the order of the first batch's dict (the .npz equivalent keeps its archive order).
    return joined


def quantize(path, out, calib=None, *, mode="static", method="minmax", percentile=99.99,
             samples=1000, batch=32, per_tensor=False, activations="uint8", symmetric=False,
             reduce_range=None, format="qdq", exclude=None, cle=False, bias_correction=False,
             eval=None, max_drop=None, eval_limit=0, report=False, shapes=None, progress=None):
    """Post-training quantization written to `out`; returns `edgeopt quantize --json`'s dict.

    calib (static mode): a dataset SPEC ("fashion-mnist:train", "calib.npz", an image folder
    with a query string), or a calibration data reader: a float32 array N x ..., a dict
    {input name: array}, an iterable of such batches, or an object with get_next() returning
    them and None at the end (onnxruntime.quantization's CalibrationDataReader). The reader is
    read up to `samples` samples and gives the same model as the .npz of the same arrays.
    reduce_range None: 7-bit weights on x86 without VNNI, 8-bit elsewhere (as the CLI).
    progress: called as progress(done, total, stage).
    """
    calib_spec = calib_arrays = None
    if mode == "static" and calib is not None:
        if isinstance(calib, (str, bytes, _os.PathLike)):
            calib_spec = _os.fsdecode(calib)
        else:
            calib_arrays = _gather_calibration(calib, samples)
    return _edgeopt._quantize(
        path, out, calib_spec, calib_arrays, mode, method, percentile, samples, batch,
        per_tensor, activations, symmetric, reduce_range, format, exclude, cle,
        bias_correction, eval, -1.0 if max_drop is None else float(max_drop), eval_limit,
        report, shapes, progress)


# ---- training commands: the edgeopt-train CLI (libtorch) as a process --------------------------

_TRAIN_BINARY_ENV = "EDGEOPT_TRAIN_BINARY"


def _train_binary():
    """edgeopt-train: $EDGEOPT_TRAIN_BINARY, else the copy next to this module (the build puts
    one there, and the wheel carries it, when edgeopt is built with libtorch)."""
    path = _os.environ.get(_TRAIN_BINARY_ENV) or _os.path.join(
        _os.path.dirname(_os.path.abspath(__file__)), "edgeopt-train")
    if not (_os.path.isfile(path) and _os.access(path, _os.X_OK)):
        raise Unsupported(
            f"the training commands need edgeopt-train, built with libtorch (Debian's "
            f"libtorch-dev; CMake EDGEOPT_TRAIN=ON): none at {path} (set {_TRAIN_BINARY_ENV})")
    return path


def _option_args(options):
    """Keyword arguments as CLI options: epochs=3 -> --epochs 3, augment=True -> --augment,
    None and False left out, lists repeated or comma-joined as the option takes them."""
    args = []
    for key, value in options.items():
        if value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        if value is True:
            args.append(flag)
        elif isinstance(value, (list, tuple)):
            args += [flag, ",".join(str(v) for v in value)]
        else:
            args += [flag, _os.fsdecode(value) if isinstance(value, _os.PathLike) else str(value)]
    return args


def _run_train(command, positional, options, progress, json_result=True, ok_codes=(0,)):
    """Runs `edgeopt-train COMMAND ...`: its log lines go to progress(line) as they come. With
    json_result (`--json`), the JSON object it prints is the result; otherwise the result is
    None (the caller reads what it wrote). Exit 2 raises InvalidInput, any other code not in
    ok_codes Internal, with the CLI's message. Returns (result, exit code)."""
    import json
    import subprocess

    argv = [_train_binary(), command] + [_os.fspath(p) for p in positional]
    argv += _option_args(options) + (["--json"] if json_result else [])
    env = dict(_os.environ)
    env.setdefault("OPENBLAS_CORETYPE", "SkylakeX")  # Debian's libtorch BLAS: see docs/training.md
    # --json: the log is on stderr and stdout holds only the final object (no pipe fills up);
    # otherwise both go to one pipe, read line by line.
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE if json_result else subprocess.STDOUT,
                            text=True, env=env)
    lines = []
    for line in (proc.stderr if json_result else proc.stdout):
        line = line.rstrip("\n")
        lines.append(line)
        if progress is not None:
            progress(line)
    out = proc.stdout.read() if json_result else ""
    code = proc.wait()
    if code not in ok_codes:
        message = lines[-1] if lines else f"edgeopt-train {command} exited {code}"
        for prefix in ("edgeopt: error: ", "edgeopt: internal error: "):
            if message.startswith(prefix):
                message = message[len(prefix):]
        raise (InvalidInput if code == 2 else Internal)(message)
    if not json_result:
        return None, code
    try:
        return json.loads(out), code
    except ValueError:
        raise Internal(f"edgeopt-train {command}: no JSON result ({out[:200]!r})") from None


def fit(model, out_dir, *, train=None, progress=None, **options):
    """The best model that fits a device's limits (edgeopt fit); returns report.json as a dict.

    Without train, it runs in this process (see the native fit's documentation:
    help(edgeopt._edgeopt.fit)). With train (a dataset SPEC: fine-tuned candidates too), it runs
    `edgeopt-train fit` (libtorch) with the same options and returns the report.json it writes;
    no fitting candidate is not an error (the report's "pick" is None)."""
    if train is None:
        return _edgeopt.fit(model, out_dir, progress=progress, **options)
    import json

    _run_train("fit", [model], dict(options, output=out_dir, train=train), progress,
               json_result=False, ok_codes=(0, 3))
    with open(_os.path.join(_os.fspath(out_dir), "report.json")) as f:
        return json.load(f)


def zoo(arch, out, *, progress=None, **options):
    """A freshly initialised model of `arch` (lenet5, mlp, resnet8, ...) written to `out`;
    options as `edgeopt-train zoo` (classes, input="1x1x28x28", width, seed). Returns
    `zoo --json`'s dict (architecture, nodes, parameters)."""
    return _run_train("zoo", [arch], dict(options, output=out), progress)[0]


def train(model, out, data, *, val=None, progress=None, **options):
    """Trains every float weight of `model` on the dataset SPEC `data` and writes `out`.

    options as `edgeopt-train train` (epochs, batch, lr, optimizer, schedule, augment, seed,
    threads, limit, val_limit, checkpoint, resume, ...). progress(line) gets each log line.
    Returns `train --json`'s dict: one entry per epoch (loss, train_top1, val_top1, lr,
    seconds) and the last val_top1."""
    return _run_train("train", [model], dict(options, output=out, data=data, val=val),
                      progress)[0]


def finetune(model, out, data, *, val=None, progress=None, **options):
    """train() keeping zero (pruned) weights at zero; the structure is kept."""
    return _run_train("finetune", [model], dict(options, output=out, data=data, val=val),
                      progress)[0]


def distill(student, out, data, *, teacher, val=None, progress=None, **options):
    """Trains `student` from `teacher`'s logits (alpha, temperature, teacher_provider and the
    training options of train())."""
    return _run_train("distill", [student],
                      dict(options, output=out, data=data, val=val, teacher=teacher), progress)[0]


def qat(model, out, data, *, calib, val=None, progress=None, **options):
    """Quantization-aware training exported as a QDQ int8 model (calib_samples, reduce_range,
    full_range and the training options). The dict adds quantized_nodes, weight_bits and
    val_top1_before."""
    return _run_train("qat", [model],
                      dict(options, output=out, data=data, val=val, calib=calib), progress)[0]


def iterative_prune(model, out, data, *, val=None, progress=None, **options):
    """Prune and fine-tune in steps (target_sparsity, or structured=True with target_ratio;
    steps, finetune_epochs). The dict adds one entry per step."""
    return _run_train("iterative-prune", [model],
                      dict(options, output=out, data=data, val=val), progress)[0]
