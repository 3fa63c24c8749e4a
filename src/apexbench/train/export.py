"""Export the trained CNN to ONNX (FP32, then INT8 by onnxruntime dynamic quantisation) and check
that both agree with PyTorch on the validation images.

The FP32 graph must reproduce PyTorch's probabilities (max absolute difference <= ``FP32_ATOL``,
identical predictions); the INT8 graph must predict the same class as PyTorch on at least
``int8_min_agreement`` of the validation images (both run one face at a time). Accuracy, macro F1 and file sizes of all three go
to ``export.json``; the status records the infer rule reads (same fields as the model registry's)
are written only after the checks pass.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path
from typing import TextIO

import numpy as np
import onnx
import torch

from ..classifiers.cnn import INPUT_SIZE, ORDER_METADATA_KEY, TrainedCNN, to_model_input
from ..errors import ApexbenchError
from ..fsutil import atomic_path, sha256_of
from .data import load_image_folder
from .loop import evaluate, load_checkpoint
from .model import WithSoftmax

OPSET = 17
FP32_ATOL = 1e-4


class ExportCheckError(ApexbenchError):
    """An exported model does not agree with the PyTorch model."""


def export_fp32(model: torch.nn.Module, path: str | Path, metadata: dict[str, str]) -> None:
    """ONNX with a dynamic batch axis: input (N, 1, 48, 48) float in [-1, 1] -> probabilities (N, 7)."""
    dummy = torch.zeros(1, 1, INPUT_SIZE, INPUT_SIZE)
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript exporter needs no onnxscript
        torch.onnx.export(WithSoftmax(model).eval(), (dummy,), str(tmp), dynamo=False, opset_version=OPSET,
                          input_names=["input"], output_names=["probabilities"],
                          dynamic_axes={"input": {0: "batch"}, "probabilities": {0: "batch"}})
        proto = onnx.load(str(tmp))
        for key, value in metadata.items():
            proto.metadata_props.add(key=key, value=value)
        onnx.checker.check_model(proto)
        onnx.save(proto, str(tmp))


def quantize_int8(fp32_path: str | Path, int8_path: str | Path) -> None:
    """Dynamic quantisation: INT8 weights (Conv and Gemm), activations quantised at run time."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with atomic_path(int8_path) as tmp:
        quantize_dynamic(str(fp32_path), str(tmp), weight_type=QuantType.QUInt8)
        proto = onnx.load(str(tmp))  # quantize_dynamic keeps metadata_props; make sure of it
        if not any(p.key == ORDER_METADATA_KEY for p in proto.metadata_props):
            for prop in onnx.load(str(fp32_path)).metadata_props:
                proto.metadata_props.add(key=prop.key, value=prop.value)
            onnx.save(proto, str(tmp))


def _onnx_probabilities(path: str | Path, images: np.ndarray, batch_size: int = 1) -> np.ndarray:
    """One face per run by default: dynamic INT8 quantises activations with a scale computed over the
    whole input tensor, so its scores depend on what else is in the batch; one face at a time is
    what a per-face deployment sees (and FP32 is batch-independent anyway)."""
    clf = TrainedCNN(path, threads=1)
    return np.concatenate([clf.forward(clf.preprocess(images[b : b + batch_size]))
                           for b in range(0, len(images), batch_size)])


def _scores(probabilities: np.ndarray, labels: np.ndarray) -> dict:
    return {k: v for k, v in evaluate(np.log(np.clip(probabilities, 1e-12, 1.0)), labels).items() if k != "loss"}


def export_and_check(checkpoint: str | Path, val_root: str, labels, int8_min_agreement: float, outputs: dict,
                     train_root: str = "", log: TextIO = sys.stderr) -> dict:
    """The export rule: FP32 + INT8 ONNX, agreement checks on the validation set, report, status records."""
    model, state = load_checkpoint(checkpoint)
    val = load_image_folder(val_root, labels, key="train.val_root")
    metadata = {ORDER_METADATA_KEY: json.dumps(state["native_order"]),
                "input": "gray 48x48 face, (N, 1, 48, 48) float32, pixel / 127.5 - 1",
                "trained": json.dumps({"options": state["options"], "epoch": state["epoch"], "val": state["val"]})}
    export_fp32(model, outputs["fp32"], metadata)
    quantize_int8(outputs["fp32"], outputs["int8"])

    with torch.inference_mode():
        reference = np.concatenate([
            WithSoftmax(model)(torch.from_numpy(to_model_input(val.images[b : b + 256]))).numpy()
            for b in range(0, len(val.images), 256)])
    report = {"checkpoint_epoch": state["epoch"], "n_val": int(len(val.labels)),
              "pytorch": _scores(reference, val.labels), "int8_min_agreement": int8_min_agreement,
              "fp32_atol": FP32_ATOL}
    ref_pred = reference.argmax(axis=1)
    for precision in ("fp32", "int8"):
        path = Path(outputs[precision])
        t0 = time.perf_counter()
        probs = _onnx_probabilities(path, val.images)
        entry = _scores(probs, val.labels)
        entry.update(size_bytes=path.stat().st_size, sha256=sha256_of(path),
                     max_abs_diff=float(np.abs(probs - reference).max()),
                     agreement=float((probs.argmax(axis=1) == ref_pred).mean()),
                     seconds=time.perf_counter() - t0)
        report[precision] = entry
        print(f"[export] {precision}: {entry['size_bytes']} bytes; val acc {entry['acc']:.4f} "
              f"(PyTorch {report['pytorch']['acc']:.4f}); agreement with PyTorch {entry['agreement']:.4f}; "
              f"max |p - p_torch| {entry['max_abs_diff']:.2e}", file=log)
    fp32, int8 = report["fp32"], report["int8"]
    if fp32["max_abs_diff"] > FP32_ATOL or fp32["agreement"] < 1.0:
        raise ExportCheckError(
            f"{outputs['fp32']}: the FP32 ONNX export disagrees with PyTorch (max |diff| {fp32['max_abs_diff']:.2e}, "
            f"agreement {fp32['agreement']:.4f}); check the onnx/torch versions")
    if int8["agreement"] < int8_min_agreement:
        raise ExportCheckError(
            f"{outputs['int8']}: the INT8 model agrees with PyTorch on {int8['agreement']:.4f} of the validation "
            f"images, below train.int8_min_agreement {int8_min_agreement}; lower it or keep to cnn_fp32")
    with atomic_path(outputs["report"]) as tmp:
        Path(tmp).write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    for precision, status_path in zip(("fp32", "int8"), outputs["status"]):
        path = Path(outputs[precision])
        stat = path.stat()
        record = {"key": f"cnn_{precision}", "file": path.name, "path": str(path), "available": True,
                  "sha256": report[precision]["sha256"], "size": stat.st_size,
                  "license": f"trained by this workflow on {train_root or 'the configured training set'}; "
                             "the training data's terms apply",
                  "message": None}
        with atomic_path(status_path) as tmp:
            Path(tmp).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return report
