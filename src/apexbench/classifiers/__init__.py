"""Classifier registry: config ``kind`` -> adapter class."""

from __future__ import annotations

from ..errors import ConfigError
from .base import Classifier
from .cnn import TrainedCNN
from .ferplus import FerPlus
from .minixception import MiniXception

CLASSIFIERS: dict[str, type[Classifier]] = {cls.kind: cls for cls in (FerPlus, MiniXception)}
CLASSIFIERS[TrainedCNN.kind] = TrainedCNN  # trained by the workflow (train.smk)


def load_classifier(kind: str, weights, threads: int = 1) -> Classifier:
    if kind not in CLASSIFIERS:
        raise ConfigError(f"unknown classifier kind {kind!r}; choose one of {sorted(CLASSIFIERS)}")
    return CLASSIFIERS[kind](weights, threads=threads)
