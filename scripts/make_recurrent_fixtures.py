#!/usr/bin/python3
"""Exports small PyTorch models with recurrent layers and control flow as edgeopt fixtures.

Writes into OUT_DIR (random weights, torch.manual_seed(0), eval mode, opset 13):
  recurrent_op13.onnx       a bidirectional 2-layer LSTM then a GRU (torch.onnx.export: LSTM, GRU)
  control_flow_op13.onnx    a torch.jit.script'ed module with a data-dependent `if` and a
                            `for` loop over a runtime count (exported as If and Loop)
  <name>_input_<i>.pb       the fixed random inputs (onnx TensorProto)
  <name>_output_<i>.pb      PyTorch's outputs for them (onnx TensorProto)
Every file is written to a temporary name and renamed. Run with Debian's interpreter:
  /usr/bin/python3 scripts/make_recurrent_fixtures.py build/fixtures
"""

import io
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_torchvision_fixtures import write_atomic  # noqa: E402


def save_tensors(out_dir, name, kind, tensors):
    from onnx import numpy_helper

    for i, t in enumerate(tensors):
        proto = numpy_helper.from_array(t.detach().numpy())
        write_atomic(os.path.join(out_dir, "%s_%s_%d.pb" % (name, kind, i)),
                     proto.SerializeToString())


def recurrent():
    import torch

    class Recurrent(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = torch.nn.LSTM(8, 16, num_layers=2, bidirectional=True)
            self.gru = torch.nn.GRU(32, 12)

        def forward(self, x):
            y, _ = self.lstm(x)
            z, h = self.gru(y)
            return z, h

    x = torch.randn(7, 3, 8)
    return Recurrent(), (x,), ["x"], ["z", "h"]


def control_flow():
    import torch

    class Body(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(6, 6)

        def forward(self, x, n):
            # The branch and the trip count depend on the input data.
            if bool(x.sum() > 0):
                y = torch.relu(self.lin(x))
            else:
                y = torch.tanh(self.lin(x)) * 2.0
            for _ in range(int(n)):
                y = self.lin(y) * 0.5 + x
            return y

    x = torch.randn(4, 6)
    n = torch.tensor(3, dtype=torch.int64)
    return torch.jit.script(Body()), (x, n), ["x", "n"], ["y"]


def main():
    import torch

    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    for name, make in (("recurrent_op13", recurrent), ("control_flow_op13", control_flow)):
        torch.manual_seed(0)
        model, inputs, in_names, out_names = make()
        model.eval()
        with torch.no_grad():
            outputs = model(*inputs)
        if isinstance(outputs, torch.Tensor):
            outputs = (outputs,)
        buf = io.BytesIO()
        torch.onnx.export(model, inputs, buf, opset_version=13, input_names=in_names,
                          output_names=out_names)
        save_tensors(out_dir, name, "input", inputs)
        save_tensors(out_dir, name, "output", outputs)
        write_atomic(os.path.join(out_dir, name + ".onnx"), buf.getvalue())


if __name__ == "__main__":
    main()
