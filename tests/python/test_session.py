"""edgeopt.InferenceSession against the CLI (`edgeopt run`) and ONNX Runtime."""

import numpy as np
import pytest

import edgeopt
from conftest import FASHION_MODELS, fashion_images, ort_available, run_cli, run_ort


def test_bundled_models_present():
    # The comparisons below are parametrized over these: none may silently vanish.
    assert len(FASHION_MODELS) >= 3, FASHION_MODELS


def test_io_metadata_like_ort(resnet8):
    s = edgeopt.InferenceSession(str(resnet8))
    (i,), (o,) = s.get_inputs(), s.get_outputs()
    assert (i.name, i.shape, i.type) == ("input", ["N", 1, 28, 28], "tensor(float)")
    assert (o.name, o.shape, o.type) == ("logits", ["N", 10], "tensor(float)")
    assert s.get_providers()[-1] == "reference"
    assert set(s.get_providers()) <= set(edgeopt.get_available_providers())


def test_providers_and_bytes(resnet8):
    x = fashion_images(count=5)
    ref = edgeopt.InferenceSession(resnet8, providers=["reference"])
    assert ref.get_providers() == ["reference"]
    # ORT's CPU provider name stands for this platform's default list.
    cpu = edgeopt.InferenceSession(resnet8.read_bytes(), providers=["CPUExecutionProvider"])
    assert cpu.get_providers() == edgeopt.InferenceSession(resnet8).get_providers()
    a, = ref.run(None, {"input": x})
    b, = cpu.run(["logits"], {"input": x})
    assert a.shape == (5, 10)
    np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-4)
    assert edgeopt.benchmark(resnet8, runs=2, providers=["CPUExecutionProvider"])["runs"] == 2


@pytest.mark.parametrize("model", FASHION_MODELS, ids=lambda p: p.stem)
def test_run_equals_cli(model, tmp_path):
    x = fashion_images(count=8)
    np.save(tmp_path / "x.npy", x)
    run_cli("run", model, "--input", tmp_path / "x.npy", "--output", tmp_path / "y.npy")
    cli = np.load(tmp_path / "y.npy")
    s = edgeopt.InferenceSession(model)
    out, = s.run(None, {s.get_inputs()[0].name: x})
    assert out.dtype == cli.dtype and out.shape == cli.shape
    # Same runtime, providers and thread count: the same bits.
    np.testing.assert_array_equal(out, cli)


def test_run_equals_onnxruntime(tmp_path):
    if not ort_available():
        pytest.skip("node or onnxruntime-node (bench/ort) missing")
    x = fashion_images(count=8)
    compared = 0
    for model in FASHION_MODELS:
        s = edgeopt.InferenceSession(model)
        out, = s.run(None, {s.get_inputs()[0].name: x})
        ort, = run_ort(model, [x], tmp_path)
        np.testing.assert_allclose(out, ort, rtol=1e-4, atol=1e-4, err_msg=model.name)
        assert (out.argmax(1) == ort.argmax(1)).all()
        compared += 1
    # ORT is here: every bundled model must have been compared.
    assert compared == len(FASHION_MODELS) >= 3


def test_strided_and_list_inputs_are_copied_correctly(resnet8):
    s = edgeopt.InferenceSession(resnet8, providers=["reference"])
    x = fashion_images(count=6)
    expected, = s.run(None, {"input": x})
    strided = np.ascontiguousarray(x[::-1])[::-1]  # a reversed view: not C-contiguous
    assert not strided.flags["C_CONTIGUOUS"]
    got, = s.run(None, {"input": strided})
    np.testing.assert_array_equal(got, expected)
    # A nested list becomes an array of the input's dtype (float32), as numpy would make it.
    first, = s.run(None, {"input": x[:1].tolist()})
    np.testing.assert_array_equal(first, expected[:1])


def test_inputs_not_modified_and_outputs_independent(resnet8):
    s = edgeopt.InferenceSession(resnet8)
    x = fashion_images(count=4)
    before = x.copy()
    a, = s.run(None, {"input": x})
    b, = s.run(None, {"input": x})
    np.testing.assert_array_equal(x, before)
    assert not np.shares_memory(a, b)
    a[:] = 0  # the caller owns the outputs
    c, = s.run(None, {"input": x})
    np.testing.assert_array_equal(b, c)


def test_gil_released_while_running(resnet8):
    import threading
    import time

    s = edgeopt.InferenceSession(resnet8, providers=["reference"])
    x = np.repeat(fashion_images(count=8), 32, axis=0)  # 256 images: a long run
    stamps, stop = [], threading.Event()

    def tick():  # Python code: it advances only while nobody holds the GIL
        while not stop.is_set():
            stamps.append(time.perf_counter())

    ticker = threading.Thread(target=tick)
    ticker.start()
    t0 = time.perf_counter()
    s.run(None, {"input": x})
    t1 = time.perf_counter()
    stop.set()
    ticker.join()
    # Holding the GIL through the run would leave the ticker only the edges of [t0, t1] (the
    # switches before the call and after it returns); its middle fifth must see it tick.
    lo, hi = t0 + 0.4 * (t1 - t0), t0 + 0.6 * (t1 - t0)
    assert any(lo < t < hi for t in stamps), (t1 - t0, len(stamps))


def test_concurrent_runs_of_one_session(resnet8):
    import threading

    s = edgeopt.InferenceSession(resnet8)
    x = fashion_images(count=4)
    want, = s.run(None, {"input": x})
    results = []

    def work():
        for _ in range(20):
            results.append(s.run(None, {"input": x})[0])

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 60
    for r in results:
        np.testing.assert_array_equal(r, want)
