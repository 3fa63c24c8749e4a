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


def _linear_onnx(path: Path, name: str, in_shape: list, in_name: str, out_name: str, weights: np.ndarray,
                 bias: np.ndarray, activation: str) -> Path:
    """flatten(x) @ weights + bias, then ``activation`` (Softmax over classes, or Sigmoid)."""
    n_in, n_out = weights.shape
    x = helper.make_tensor_value_info(in_name, TensorProto.FLOAT, ["N", *in_shape])
    y = helper.make_tensor_value_info(out_name, TensorProto.FLOAT, ["N", n_out])
    inits = [numpy_helper.from_array(weights.astype(np.float32), "W"),
             numpy_helper.from_array(bias.astype(np.float32), "B"),
             numpy_helper.from_array(np.array([-1, n_in], dtype=np.int64), "shape")]
    act = (helper.make_node("Softmax", ["logits"], [out_name], axis=1) if activation == "softmax"
           else helper.make_node("Sigmoid", ["logits"], [out_name]))
    nodes = [helper.make_node("Reshape", [in_name, "shape"], ["flat"]),
             helper.make_node("MatMul", ["flat", "W"], ["mm"]),
             helper.make_node("Add", ["mm", "B"], ["logits"]), act]
    graph = helper.make_graph(nodes, name, [x], [y], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, path)
    return path


def deepface_emotion_like(path: Path, weights: np.ndarray, bias: np.ndarray | None = None) -> Path:
    """facial_expression_model_weights.onnx's signature: (N, 48, 48, 1) gray in [0, 1] -> softmax (N, 7).

    ``weights``: 2304 x 7.
    """
    bias = np.zeros(7) if bias is None else bias
    return _linear_onnx(path, "deepface_emotion_like", [48, 48, 1], "input", "output", weights, bias, "softmax")


def libreface_like(path: Path, weights: np.ndarray, bias: np.ndarray | None = None) -> Path:
    """The converted LibreFace ONNX's signature: ``image`` (N, 3, 224, 224) -> sigmoid ``scores`` (N, 8).

    ``weights``: 150528 x 8.
    """
    bias = np.zeros(8) if bias is None else bias
    return _linear_onnx(path, "libreface_like", [3, 224, 224], "image", "scores", weights, bias, "sigmoid")
