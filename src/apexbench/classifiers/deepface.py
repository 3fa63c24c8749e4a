"""DeepFace's emotion model (Serengil), run through the ``deepface`` package itself.

deepface 0.0.103 runs its emotion model on onnxruntime when asked to
(``DEEPFACE_BACKEND_ENGINE=onnx``; otherwise it would pick TensorFlow or torch when installed).
It reads ``$DEEPFACE_HOME/.deepface/weights/facial_expression_model_weights.onnx`` and downloads
the file when it is missing; we point ``DEEPFACE_HOME`` at the registry's copy
(``resources/models/deepface``) and check the file is there first, so DeepFace never downloads.

Two adapters:

- ``deepface``: our shared face crops, as ``DeepFace.analyze(crop, detector_backend="skip")``
  prepares them (BGR scaled to [0, 1], letterboxed to 224x224), scored in batches by DeepFace's
  emotion client, which converts to gray 48x48 itself. Native order: angry, disgust, fear, happy,
  sad, surprise, neutral (softmax).
- ``deepface_native``: DeepFace as its users call it, ``DeepFace.analyze`` on the full APEX frame
  with its own detector (``opencv`` or ``mediapipe``: both offline, their weights ship inside the
  pinned wheels). When DeepFace finds no face the sample is ``no_face``; with several faces the
  largest one is scored.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import ConfigError, ModelUnavailableError
from ..kinds import KINDS
from . import DEEPFACE_ENGINE_ENV
from ..labels import FER2013_ORDER
from .base import Classifier

# Set to onnx when this package is imported (see apexbench.classifiers), before deepface picks its engine.
ENGINE_ENV = DEEPFACE_ENGINE_ENV

WEIGHTS_NAME = "facial_expression_model_weights.onnx"
HOME_SUFFIX = (".deepface", "weights", WEIGHTS_NAME)  # DeepFace's path below DEEPFACE_HOME
NATIVE_DETECTORS = ("opencv", "mediapipe")


def deepface_home(weights: str | os.PathLike) -> Path:
    """The ``DEEPFACE_HOME`` under which DeepFace finds ``weights``; ConfigError if the layout is wrong."""
    weights = Path(weights).resolve()
    if weights.parts[-3:] != HOME_SUFFIX:
        raise ConfigError(f"{weights}: DeepFace only reads <DEEPFACE_HOME>/{'/'.join(HOME_SUFFIX)}; "
                          "fix the 'file' of the deepface entry in the model registry")
    return weights.parents[2]


def _use_onnx_engine() -> None:
    """Make deepface run on onnxruntime (the registry's file is its ONNX graph), before it picks an engine."""
    from deepface.commons import backend_utils

    os.environ[ENGINE_ENV] = backend_utils.ONNX
    engine = backend_utils.get_backend_engine()
    if engine != backend_utils.ONNX:
        raise ModelUnavailableError(f"deepface already runs on {engine} in this process; set "
                                    f"{ENGINE_ENV}=onnx before importing it")


def load_emotion_client(weights: str | os.PathLike):
    """DeepFace's own emotion client reading ``weights`` (never downloading); one-line errors."""
    weights = Path(weights)
    home = deepface_home(weights)
    if not weights.is_file():
        raise ModelUnavailableError(f"DeepFace emotion weights missing: put {WEIGHTS_NAME} at {weights}")
    os.environ["DEEPFACE_HOME"] = str(home)
    _use_onnx_engine()
    from deepface.models.demography.onnx.Emotion import EmotionClient

    try:
        return EmotionClient()
    except ValueError as err:  # deepface's download/load failures
        raise ModelUnavailableError(f"DeepFace could not load {weights}: {' '.join(str(err).split())}") from err


class DeepFaceEmotion(Classifier):
    kind = "deepface"
    native_order = FER2013_ORDER

    def __init__(self, weights, threads: int = 1, **options):
        super().__init__(weights, threads, **options)
        self._client = load_emotion_client(self.weights)

    def preprocess(self, crops):
        from deepface.modules.preprocessing import resize_image

        # What DeepFace.analyze(detector_backend="skip") feeds the emotion model: the image as RGB
        # in [0, 1], flipped back to BGR, letterboxed to 224x224.
        return np.concatenate([resize_image(np.asarray(crop, dtype=np.float32) / 255.0, (224, 224))
                               for crop in crops])

    def forward(self, batch):
        scores = np.asarray(self._client.predict(batch), dtype=np.float64)
        return scores.reshape(batch.shape[0], len(self.native_order))


class DeepFaceNative(Classifier):
    kind = "deepface_native"
    native_order = FER2013_ORDER

    def __init__(self, weights, threads: int = 1, **options):
        super().__init__(weights, threads, **options)
        self.detector = options.get("detector", KINDS[self.kind].defaults["detector"])
        if self.detector not in NATIVE_DETECTORS:
            raise ConfigError(f"deepface_native: detector {self.detector!r} needs weights from the internet; "
                              f"choose one of {NATIVE_DETECTORS}")
        # Sets DEEPFACE_HOME and checks the file loads. DeepFace.analyze builds its emotion model and
        # detector on first use and caches them for the process: build them now, so the latency of
        # the first frame does not include loading them.
        load_emotion_client(self.weights)
        from deepface.modules import modeling

        modeling.build_model(task="facial_attribute", model_name="Emotion")
        modeling.build_model(task="face_detector", model_name=self.detector)

    def preprocess(self, crops):
        return list(crops)

    def forward(self, batch):
        from deepface import DeepFace
        from deepface.modules.exceptions import FaceNotDetected

        out = np.full((len(batch), len(self.native_order)), np.nan)
        for i, frame in enumerate(batch):
            try:
                faces = DeepFace.analyze(frame, actions=("emotion",), detector_backend=self.detector,
                                         enforce_detection=True, silent=True)
            except FaceNotDetected:
                continue
            face = max(faces, key=lambda f: f["region"]["w"] * f["region"]["h"])
            out[i] = [face["emotion"][label] / 100.0 for label in self.native_order]
        return out
