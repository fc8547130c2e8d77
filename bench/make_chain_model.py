#!/usr/bin/python3
"""Writes a long single-path ONNX model for timing graph passes and loading.

  make_chain_model.py KIND NODES OUT.onnx

KIND: identity (Identity nodes then a Relu), convbn (Conv + BatchNormalization pairs),
constant (Constant + Add pairs on the input), transpose (Transpose pairs then a Relu), mixed
(a repeating Conv, BatchNormalization, Identity, Transpose, Transpose, Relu block). Values are
random: the model is for timing, correctness is checked by tests/passes_test.cpp (LongChain).
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def chain(kind, count):
    rng = np.random.default_rng(0)
    nodes, inits = [], []
    shape = [1, 2, 1, 1] if kind in ("convbn", "mixed") else [2, 3]
    prev = "x"

    def add(op, inputs, **attrs):
        nonlocal prev
        out = f"v{len(nodes)}"
        nodes.append(helper.make_node(op, inputs, [out], name=f"n{len(nodes)}", **attrs))
        prev = out

    def const(name, value):
        inits.append(numpy_helper.from_array(np.asarray(value, np.float32), name))
        return name

    if kind in ("convbn", "mixed"):
        for p in ("gamma", "beta", "mean", "var"):
            const(p, rng.uniform(0.5, 1.5, 2))
    while len(nodes) < count - 1:
        k = len(nodes)
        if kind == "identity":
            add("Identity", [prev])
        elif kind == "transpose":
            add("Transpose", [prev], perm=[1, 0])
        elif kind == "constant":
            c = f"c{k}"
            nodes.append(helper.make_node(
                "Constant", [], [c], name=f"n{k}",
                value=numpy_helper.from_array(np.full([3], k % 5, np.float32))))
            add("Add", [prev, c])
        else:
            w = const(f"w{k}", rng.uniform(-1, 1, [2, 2, 1, 1]))
            add("Conv", [prev, w])
            add("BatchNormalization", [prev, "gamma", "beta", "mean", "var"])
            if kind == "mixed":
                add("Identity", [prev])
                add("Transpose", [prev], perm=[0, 1, 3, 2])
                add("Transpose", [prev], perm=[0, 1, 3, 2])
                add("Relu", [prev])
    nodes.append(helper.make_node("Relu", [prev], ["y"], name="last"))
    transposes = sum(n.op_type == "Transpose" for n in nodes)
    out_shape = shape[::-1] if kind == "transpose" and transposes % 2 else shape
    graph = helper.make_graph(nodes, f"{kind}_chain",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
                              inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                             producer_name="make_chain_model")


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    model = chain(sys.argv[1], int(sys.argv[2]))
    onnx.save(model, sys.argv[3])
    print(f"{sys.argv[3]}: {len(model.graph.node)} nodes")


if __name__ == "__main__":
    main()
