"""A calibration data reader written in Python gives the same quantized model as the .npz of
the same arrays."""

import numpy as np
import pytest

import edgeopt
from conftest import fashion_images


@pytest.fixture(scope="module")
def images():
    return fashion_images(split="train", count=100)


class OrtStyleReader:
    """onnxruntime.quantization.CalibrationDataReader's shape: get_next() -> dict or None."""

    def __init__(self, x, batch):
        self.batches = iter([{"input": x[i:i + batch]} for i in range(0, len(x), batch)])

    def get_next(self):
        return next(self.batches, None)


def quantize(model, out, calib, **kw):
    return edgeopt.quantize(model, out, calib=calib, samples=70, batch=16, **kw)


@pytest.mark.parametrize("reader", ["batches", "dicts", "ort_reader", "one_array"])
def test_reader_equals_npz(resnet8, tmp_path, images, reader):
    # The .npz holds the first 70 samples (samples=70): what the reader is cut to.
    np.savez(tmp_path / "calib.npz", x=images[:70])
    from_npz = quantize(resnet8, tmp_path / "npz.onnx", str(tmp_path / "calib.npz"))
    calib = {
        # Uneven batches that do not line up with the calibration batch of 16.
        "batches": (images[i:i + 23] for i in range(0, 100, 23)),
        "dicts": [{"input": images[:40]}, {"input": images[40:]}],
        "ort_reader": OrtStyleReader(images, 10),
        "one_array": images,
    }[reader]
    from_reader = quantize(resnet8, tmp_path / "py.onnx", calib)
    assert from_reader["calibration_samples"] == from_npz["calibration_samples"] == 70
    assert from_reader["calibrated_tensors"] == from_npz["calibrated_tensors"] > 0
    assert (tmp_path / "py.onnx").read_bytes() == (tmp_path / "npz.onnx").read_bytes()


def test_reader_differs_from_other_data(resnet8, tmp_path, images):
    # The byte comparison above can fail: other samples give other scales, another file.
    quantize(resnet8, tmp_path / "a.onnx", images)
    quantize(resnet8, tmp_path / "b.onnx", images[::-1].copy() * np.float32(0.5))
    assert (tmp_path / "a.onnx").read_bytes() != (tmp_path / "b.onnx").read_bytes()


def test_reader_errors(resnet8, tmp_path, images):
    with pytest.raises(edgeopt.InvalidInput, match="float32"):
        quantize(resnet8, tmp_path / "q.onnx", images.astype(np.float64))
    with pytest.raises(edgeopt.InvalidInput, match="no batches"):
        quantize(resnet8, tmp_path / "q.onnx", [])
    with pytest.raises(edgeopt.InvalidInput, match="differ from the first"):
        quantize(resnet8, tmp_path / "q.onnx", [{"input": images[:10]}, images[10:20]])
    with pytest.raises(edgeopt.InvalidInput, match="model input 'input' is"):
        quantize(resnet8, tmp_path / "q.onnx", np.ascontiguousarray(images[:, :, :14]))
    with pytest.raises(edgeopt.InvalidInput):
        quantize(resnet8, tmp_path / "q.onnx", 42)
    assert not (tmp_path / "q.onnx").exists()
