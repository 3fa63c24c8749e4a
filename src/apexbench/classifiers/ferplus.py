"""FER+ (Barsoum et al. 2016) via OpenCV DNN on ``emotion-ferplus-8.onnx``, as the CMED seed runs it.

Input: gray 64x64, raw 0-255 values, shape (N, 1, 64, 64). Output: 8 unnormalised scores in FER+
order (neutral, happiness, surprise, sadness, anger, disgust, fear, contempt); softmax gives
probabilities. The published model declares batch 1; OpenCV runs a whole batch when the graph
allows it and falls back to one forward pass per crop otherwise.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..labels import FERPLUS_ORDER
from .base import Classifier, gray_resize, softmax


class FerPlus(Classifier):
    kind = "ferplus"
    native_order = FERPLUS_ORDER
    input_size = 64

    def __init__(self, weights, threads: int = 1, **options):
        super().__init__(weights, threads, **options)
        cv2.setNumThreads(threads)
        self._net = cv2.dnn.readNetFromONNX(str(self.weights))
        self._batched = True

    def preprocess(self, crops):
        gray = gray_resize(crops, self.input_size).astype(np.float32)
        return gray[:, None, :, :]

    def _run(self, blob: np.ndarray) -> np.ndarray:
        self._net.setInput(blob)
        return np.asarray(self._net.forward()).reshape(blob.shape[0], -1)

    def forward(self, batch):
        if self._batched and batch.shape[0] > 1:
            try:
                out = self._run(batch)
                if out.shape == (batch.shape[0], len(self.native_order)):
                    return softmax(out)
            except cv2.error:
                pass
            self._batched = False
        return softmax(np.concatenate([self._run(batch[i : i + 1]) for i in range(batch.shape[0])]))
