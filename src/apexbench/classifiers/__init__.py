"""Classifier adapters behind one interface (:class:`Classifier`).

Which adapter a config ``kind`` uses, and everything else about the kind, is one row of the table in
:mod:`apexbench.kinds`; adapters are imported when loaded, so importing this package stays light.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ..kinds import adapter_class

# deepface picks its engine once per process, when first imported (TensorFlow, else torch, else
# onnxruntime); the registry's DeepFace file is its ONNX graph, so ask for onnxruntime before anything
# imports deepface (the adapters themselves are imported only when loaded).
DEEPFACE_ENGINE_ENV = "DEEPFACE_BACKEND_ENGINE"
os.environ[DEEPFACE_ENGINE_ENV] = "onnx"

if TYPE_CHECKING:
    from .base import Classifier

__all__ = ["Classifier", "load_classifier"]


def __getattr__(name: str):
    # ``Classifier`` (with OpenCV and numpy) is imported on first use, so that the config check can
    # import ``apexbench.classifiers.spec`` without them.
    if name == "Classifier":
        from .base import Classifier

        return Classifier
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def load_classifier(kind: str, weights, threads: int = 1, **options) -> Classifier:
    """An adapter of ``kind`` on ``weights``; ``options`` are its extra config keys (e.g. ``detector``;
    see :func:`apexbench.kinds.adapter_options`). ConfigError (one line) for an unknown kind."""
    return adapter_class(kind)(weights, threads=threads, **options)
