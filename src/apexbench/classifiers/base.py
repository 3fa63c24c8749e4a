"""The one classifier interface: a native label order, a preprocessing step and batched scores."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from ..kinds import KINDS


class Classifier(ABC):
    """A facial-expression classifier that reads the shared square face crops (BGR uint8).

    Subclasses declare ``kind`` (their row in :data:`apexbench.kinds.KINDS`), ``native_order`` (the
    model's output order, as published) and implement ``preprocess`` (crops -> model input) and
    ``forward`` (model input -> probabilities).

    ``input_column`` names the frame-shard column a classifier reads (from its kind's row):
    ``face_crop`` (the shared crops) or ``apex_jpeg`` (the full APEX frame, for classifiers that
    detect faces themselves, ``own_detector``). A row of NaN scores means the classifier found no
    face in that image. ``options`` are the classifier's extra config keys (e.g. ``detector``).
    """

    kind: str
    native_order: tuple[str, ...]

    def __init__(self, weights: str | Path, threads: int = 1, **options):
        self.weights = Path(weights)
        self.threads = threads
        self.options = options

    @property
    def input_column(self) -> str:
        return KINDS[self.kind].input_column

    @property
    def own_detector(self) -> bool:
        return KINDS[self.kind].own_detector

    def run_info(self) -> dict:
        """What the predictions file's metadata should record about this run beyond the label order
        (e.g. the execution provider that ran); empty for most adapters."""
        return {}

    @abstractmethod
    def preprocess(self, crops: Sequence[np.ndarray]) -> np.ndarray: ...

    @abstractmethod
    def forward(self, batch: np.ndarray) -> np.ndarray: ...

    def predict(self, crops: Sequence[np.ndarray]) -> tuple[np.ndarray, float]:
        """Scores (N, len(native_order)) for a batch of crops, and the wall time per crop in ms."""
        start = time.perf_counter()
        scores = self.forward(self.preprocess(crops))
        elapsed_ms = (time.perf_counter() - start) * 1000.0
        scores = np.asarray(scores, dtype=np.float64).reshape(len(crops), len(self.native_order))
        return scores, elapsed_ms / max(1, len(crops))


def gray_resize(crops: Sequence[np.ndarray], size: int) -> np.ndarray:
    """(N, size, size) uint8 gray images, area-averaged when shrinking (the usual FER preprocessing)."""
    out = np.empty((len(crops), size, size), dtype=np.uint8)
    for i, crop in enumerate(crops):
        gray = crop if crop.ndim == 2 else cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
        interp = cv2.INTER_AREA if gray.shape[0] > size else cv2.INTER_LINEAR
        out[i] = cv2.resize(gray, (size, size), interpolation=interp)
    return out


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)
