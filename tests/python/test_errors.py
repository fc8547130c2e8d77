"""Bad input raises the documented edgeopt.Error subclasses with the CLI's message."""

import numpy as np
import pytest

import edgeopt
from conftest import fashion_images, run_cli


def cli_error(*args):
    """The message `edgeopt ARGS` prints for bad input (exit 2, one line)."""
    code, _, err = run_cli(*args, check=False)
    assert code == 2, err
    prefix = "edgeopt: error: "
    assert err.startswith(prefix) and err.count("\n") == 1, err
    return err[len(prefix):].rstrip("\n")


def test_hierarchy():
    for cls in (edgeopt.InvalidInput, edgeopt.Unsupported, edgeopt.Internal):
        assert issubclass(cls, edgeopt.Error) and cls is not edgeopt.Error
    assert issubclass(edgeopt.Error, Exception)
    assert not issubclass(edgeopt.InvalidInput, edgeopt.Unsupported)


@pytest.mark.parametrize("content", [b"", b"not a model", b"\x08\x07\x12\x03abc"],
                         ids=["empty", "garbage", "truncated"])
def test_bad_model_file_same_message_as_cli(tmp_path, content):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(content)
    message = cli_error("inspect", bad)
    for call in (lambda: edgeopt.InferenceSession(str(bad)), lambda: edgeopt.inspect(bad)):
        with pytest.raises(edgeopt.InvalidInput) as e:
            call()
        assert str(e.value) == message
    assert bad.read_bytes() == content  # inputs are never modified


def test_missing_file_and_bad_path_type(tmp_path):
    missing = tmp_path / "missing.onnx"
    with pytest.raises(edgeopt.InvalidInput) as e:
        edgeopt.InferenceSession(missing)
    assert str(e.value) == cli_error("inspect", missing)
    with pytest.raises(edgeopt.InvalidInput, match="expected a path"):
        edgeopt.inspect(3.5)


def test_run_errors(resnet8):
    s = edgeopt.InferenceSession(resnet8)
    x = fashion_images(count=2)
    with pytest.raises(edgeopt.InvalidInput, match="missing input 'input'"):
        s.run(None, {})
    with pytest.raises(edgeopt.InvalidInput, match="no input named 'nope'"):
        s.run(None, {"input": x, "nope": x})
    with pytest.raises(edgeopt.InvalidInput, match="dtype f32, got f64"):
        s.run(None, {"input": x.astype(np.float64)})
    with pytest.raises(edgeopt.InvalidInput, match="input"):
        s.run(None, {"input": x.reshape(2, 28, 28, 1)})
    with pytest.raises(edgeopt.InvalidInput, match="no output named 'probs'"):
        s.run(["probs"], {"input": x})
    with pytest.raises(edgeopt.Unsupported, match="numpy dtype object"):
        s.run(None, {"input": np.array([object()] * 4)})
    with pytest.raises(edgeopt.InvalidInput, match="unknown provider 'cuda'"):
        edgeopt.InferenceSession(resnet8, providers=["cuda"])
    with pytest.raises(edgeopt.InvalidInput, match="threads"):
        edgeopt.InferenceSession(resnet8, threads=0)
    # The session still works after every error above.
    out, = s.run(None, {"input": x})
    assert out.shape == (2, 10)


def test_command_errors(resnet8, tmp_path):
    with pytest.raises(edgeopt.InvalidInput, match="needs calib"):
        edgeopt.quantize(resnet8, tmp_path / "q.onnx")
    with pytest.raises(edgeopt.InvalidInput) as e:
        edgeopt.quantize(resnet8, resnet8, mode="dynamic")
    assert str(e.value) == cli_error("quantize", resnet8, "-o", resnet8, "--mode", "dynamic")
    with pytest.raises(edgeopt.InvalidInput) as e:
        edgeopt.optimize(resnet8, tmp_path / "o.onnx", disable=["no_such_pass"])
    assert str(e.value) == cli_error("optimize", resnet8, "-o", tmp_path / "o.onnx", "--disable",
                                     "no_such_pass")
    with pytest.raises(edgeopt.InvalidInput, match="exactly one"):
        edgeopt.lowrank(resnet8, tmp_path / "l.onnx", energy=0.9, rank_ratio=0.5)
    with pytest.raises(edgeopt.InvalidInput) as e:
        edgeopt.inspect(resnet8, shapes={"input": (1, 0, 28, 28)})
    assert str(e.value) == cli_error("inspect", resnet8, "--shape", "input:1x0x28x28")
    np.savez(tmp_path / "d.npz", x=fashion_images(count=4), y=np.arange(4))
    spec = f"{tmp_path / 'd.npz'}?size=10"
    with pytest.raises(edgeopt.Unsupported) as e:
        edgeopt.evaluate(resnet8, data=spec)
    assert str(e.value) == cli_error("eval", resnet8, "--data", spec)
    for written in ("q.onnx", "o.onnx", "l.onnx"):
        assert not (tmp_path / written).exists()


def test_callback_exception_propagates(resnet8):
    def stop(done, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        edgeopt.benchmark(resnet8, runs=3, progress=stop)


def test_training_commands_without_edgeopt_train(monkeypatch, tmp_path):
    # A module built without libtorch has no edgeopt-train: every training command says so.
    monkeypatch.setenv("EDGEOPT_TRAIN_BINARY", str(tmp_path / "no-edgeopt-train"))
    for name, args in (("train", ("m.onnx", "o.onnx", "fashion-mnist:train")),
                       ("finetune", ("m.onnx", "o.onnx", "fashion-mnist:train")),
                       ("distill", ("m.onnx", "o.onnx", "fashion-mnist:train")),
                       ("qat", ("m.onnx", "o.onnx", "fashion-mnist:train")),
                       ("iterative_prune", ("m.onnx", "o.onnx", "fashion-mnist:train")),
                       ("zoo", ("lenet5", "o.onnx"))):
        kwargs = {"teacher": "t.onnx"} if name == "distill" else {}
        if name == "qat":
            kwargs = {"calib": "fashion-mnist:train"}
        with pytest.raises(edgeopt.Unsupported, match="edgeopt-train, built with libtorch"):
            getattr(edgeopt, name)(*args, **kwargs)
