"""Classifier registry: config ``kind`` -> adapter class."""

from __future__ import annotations

from ..errors import ConfigError
from .base import Classifier
from .cnn import TrainedCNN
from .deepface import DeepFaceEmotion, DeepFaceNative
from .ferplus import FerPlus
from .libreface import LibreFace
from .minixception import MiniXception

CLASSIFIERS: dict[str, type[Classifier]] = {
    cls.kind: cls for cls in (FerPlus, MiniXception, DeepFaceEmotion, DeepFaceNative, LibreFace, TrainedCNN)
}


def load_classifier(kind: str, weights, threads: int = 1, **options) -> Classifier:
    """An adapter of ``kind`` on ``weights``; ``options`` are its extra config keys (e.g. ``detector``)."""
    if kind not in CLASSIFIERS:
        raise ConfigError(f"unknown classifier kind {kind!r}; choose one of {sorted(CLASSIFIERS)}")
    return CLASSIFIERS[kind](weights, threads=threads, **options)
