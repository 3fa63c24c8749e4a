"""Small ONNX models with the real models' input/output signatures, built by the tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def ferplus_like(path: Path, weights: np.ndarray, fixed_batch: bool = False) -> Path:
    """emotion-ferplus-8.onnx's signature: Input3 (N,1,64,64) raw 0-255 -> Plus692_Output_0 (N,8).

    Computes ``flatten(x) @ weights`` (weights: 4096 x 8). With ``fixed_batch`` the graph reshapes to
    a hard-coded batch of 1, as the published model's graph does.
    """
    batch = 1 if fixed_batch else "N"
    x = helper.make_tensor_value_info("Input3", TensorProto.FLOAT, [batch, 1, 64, 64])
    y = helper.make_tensor_value_info("Plus692_Output_0", TensorProto.FLOAT, [batch, 8])
    w = numpy_helper.from_array(weights.astype(np.float32), "W")
    shape = numpy_helper.from_array(np.array([1 if fixed_batch else -1, 4096], dtype=np.int64), "shape")
    nodes = [
        helper.make_node("Reshape", ["Input3", "shape"], ["flat"]),
        helper.make_node("MatMul", ["flat", "W"], ["Plus692_Output_0"]),
    ]
    graph = helper.make_graph(nodes, "ferplus_like", [x], [y], initializer=[w, shape])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 8)])
    model.ir_version = 4  # the published file is IR 3 (opset 8); IR 4 lets initializers stay out of the inputs
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path
