"""The lightweight CNN trained by the workflow (``train_cnn.smk``), run from its ONNX export.

Input: gray 48x48 scaled to [-1, 1], shape (N, 1, 48, 48), the same ``gray_resize`` and scaling as
in training. Output: softmax over FER2013 order (angry, disgust, fear, happy, sad, surprise,
neutral); the export stores that order in the ONNX metadata and it is checked on load. The FP32 and
the INT8 (dynamically quantised) files load the same way on onnxruntime.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np

from ..errors import ModelUnavailableError
from ..labels import FER2013_ORDER
from .base import Classifier, gray_resize

INPUT_SIZE = 48
PRECISIONS = ("fp32", "int8")  # the two exports (config key ``precision``)
ORDER_METADATA_KEY = "native_order"


def to_model_input(gray: np.ndarray) -> np.ndarray:
    """uint8 (N, H, W) gray -> float32 (N, 1, H, W) in [-1, 1] (training uses this too)."""
    return (gray.astype(np.float32) / 127.5 - 1.0)[:, None, :, :]


class TrainedCNN(Classifier):
    kind = "cnn"
    native_order = FER2013_ORDER
    input_size = INPUT_SIZE

    def __init__(self, weights, threads: int = 1, **options):
        super().__init__(weights, threads, **options)
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(self.weights), options, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name
        stored = self._session.get_modelmeta().custom_metadata_map.get(ORDER_METADATA_KEY)
        if stored is None or tuple(json.loads(stored)) != self.native_order:
            raise ModelUnavailableError(
                f"{self.weights}: label order {stored} in the ONNX metadata is not {list(self.native_order)}; "
                "re-export it with `snakemake cnn`"
            )

    def preprocess(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        return to_model_input(gray_resize(crops, self.input_size))

    def forward(self, batch: np.ndarray) -> np.ndarray:
        return self._session.run(None, {self._input: batch})[0]
