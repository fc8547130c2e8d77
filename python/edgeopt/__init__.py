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

The training commands (zoo, train, finetune, iterative-prune, distill, qat) run on libtorch
and are not part of this module: calling edgeopt.train & co. raises Unsupported; use the
`edgeopt-train` CLI.
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
    fit,
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
    "lowrank", "evaluate", "fit", "__version__",
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


def _training_command(name):
    def absent(*args, **kwargs):
        raise Unsupported(
            f"edgeopt.{name}: the training commands run on libtorch and are not in the Python "
            f"module; use the edgeopt-train CLI (edgeopt-train {name.replace('_', '-')} --help)")
    absent.__name__ = name
    absent.__doc__ = f"Not available in Python: raises Unsupported (use `edgeopt-train {name}`)."
    return absent


zoo = _training_command("zoo")
train = _training_command("train")
finetune = _training_command("finetune")
iterative_prune = _training_command("iterative_prune")
distill = _training_command("distill")
qat = _training_command("qat")
