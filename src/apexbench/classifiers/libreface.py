"""LibreFace's facial-expression head (Chang et al., WACV 2024) on onnxruntime.

The network (timm RepVGG-A0 encoder + MLP head, 8 AffectNet classes with sigmoid outputs) is
converted from LibreFace's published PyTorch checkpoint by the ``convert`` rule
(:mod:`apexbench.convert`); this adapter runs the resulting ONNX in the main environment.

Preprocessing, as in LibreFace 0.2.0 (``solver_inference_image.read_and_transform_image``): an RGB
image resized to 224x224 with PIL's default (bicubic) filter, scaled to [0, 1], normalised with the
ImageNet mean/std, shape (N, 3, 224, 224). LibreFace feeds its own aligned face crops; we feed the
shared crops. Output: 8 sigmoid scores in AffectNet order (neutral, happiness, sadness, surprise,
fear, disgust, anger, contempt); LibreFace takes their argmax. We divide them by their sum so that
scores are shares like the other classifiers' probabilities (the argmax is unchanged, and the
``merge`` contempt strategy adds shares).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
from PIL import Image

from ..labels import AFFECTNET_ORDER
from .base import Classifier

INPUT_NAME = "image"
OUTPUT_NAME = "scores"
INPUT_SIZE = 224
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def preprocess_libreface(crops: Sequence[np.ndarray]) -> np.ndarray:
    """BGR uint8 crops -> (N, 3, 224, 224) float32, as LibreFace's PIL/torchvision pipeline does."""
    out = np.empty((len(crops), 3, INPUT_SIZE, INPUT_SIZE), dtype=np.float32)
    for i, crop in enumerate(crops):
        rgb = cv2.cvtColor(crop, cv2.COLOR_GRAY2RGB if crop.ndim == 2 else cv2.COLOR_BGR2RGB)
        image = Image.fromarray(rgb).resize((INPUT_SIZE, INPUT_SIZE))  # PIL default: bicubic
        x = np.asarray(image, dtype=np.float32) / 255.0
        out[i] = ((x - MEAN) / STD).transpose(2, 0, 1)
    return out


class LibreFace(Classifier):
    kind = "libreface"
    native_order = AFFECTNET_ORDER

    def __init__(self, weights, threads: int = 1, **options):
        super().__init__(weights, threads, **options)
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(self.weights), sess_options=opts,
                                             providers=["CPUExecutionProvider"])

    def preprocess(self, crops):
        return preprocess_libreface(crops)

    def forward(self, batch):
        sigmoid = np.asarray(self._session.run([OUTPUT_NAME], {INPUT_NAME: batch})[0], dtype=np.float64)
        return sigmoid / np.maximum(sigmoid.sum(axis=1, keepdims=True), 1e-12)
