"""Native label orders (each declared once) and the contempt strategies on 8-class models."""

from __future__ import annotations

import numpy as np
import pytest

from apexbench.kinds import KINDS, adapter_class
from apexbench.labels import (
    AFFECTNET_ORDER,
    CANONICAL,
    FER2013_ORDER,
    FERPLUS_ORDER,
    NATIVE_TO_CANONICAL,
    predict_canonical,
    to_canonical_scores,
)


def test_every_adapter_names_one_declared_order():
    """Each built-in adapter's order is one declared in labels.py (the generic kinds take theirs from
    the config: tests/test_generic_classifiers.py)."""
    orders = {"ferplus": FERPLUS_ORDER, "minixception": FER2013_ORDER, "deepface": FER2013_ORDER,
              "deepface_native": FER2013_ORDER, "libreface": AFFECTNET_ORDER, "cnn": FER2013_ORDER}
    built_in = [k for k, row in KINDS.items() if row.adapter and not row.generic]
    assert set(orders) <= set(built_in)
    for kind in built_in:
        order = adapter_class(kind).native_order
        assert order in (FERPLUS_ORDER, FER2013_ORDER, AFFECTNET_ORDER), kind
        if kind in orders:
            assert order is orders[kind], kind


def test_deepface_order_is_the_packages_own():
    from deepface.models.demography.DemographyUtils import EMOTION_LABELS

    assert tuple(EMOTION_LABELS) == FER2013_ORDER


def test_affectnet_order_is_libreface_index_order():
    # libreface 0.2.0, Facial_Expression_Recognition/inference.py, facial_expr_idx_to_class:
    # 0 Neutral, 1 Happiness, 2 Sadness, 3 Surprise, 4 Fear, 5 Disgust, 6 Anger, 7 Contempt.
    assert AFFECTNET_ORDER == ("neutral", "happiness", "sadness", "surprise", "fear", "disgust", "anger",
                               "contempt")


@pytest.mark.parametrize("order", [FERPLUS_ORDER, FER2013_ORDER, AFFECTNET_ORDER])
def test_each_native_class_lands_on_its_canonical_column(order):
    eye = np.eye(len(order))
    canon = to_canonical_scores(eye, order)
    for j, name in enumerate(order):
        assert CANONICAL[int(np.argmax(canon[j]))] == NATIVE_TO_CANONICAL[name]
    assert len({NATIVE_TO_CANONICAL[n] for n in order}) == len(order)


@pytest.mark.parametrize("order", [FERPLUS_ORDER, AFFECTNET_ORDER])
def test_contempt_strategies_apply_to_8_class_models(order):
    def row(**shares):
        out = np.zeros(len(order))
        for name, value in shares.items():
            out[order.index(name)] = value
        return out

    anger = "anger"
    scores = np.stack([
        row(contempt=0.5, disgust=0.2, **{anger: 0.3}),  # contempt top; disgust+contempt beats anger
        row(contempt=0.4, disgust=0.05, happiness=0.55),  # contempt second
        row(contempt=0.5, disgust=0.1, neutral=0.4),  # merge: 0.6 disgust beats neutral
    ])
    assert predict_canonical(scores, order, "canonical7", "mask") == ["anger", "happiness", "neutral"]
    assert predict_canonical(scores, order, "canonical7", "wrong") == ["contempt", "happiness", "contempt"]
    assert predict_canonical(scores, order, "canonical7", "merge") == ["disgust", "happiness", "disgust"]
