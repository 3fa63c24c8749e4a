"""Trained baselines: features on hand-checkable inputs, and out-of-fold training that never lets the
held-out subject reach the model."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest

from apexbench.baselines import (
    FLOW_GRID,
    LANDMARK_PCA,
    Embedder,
    MeshReader,
    compute_features,
    flow_features,
    fold_splits,
    landmark_features,
    make_model,
    not_applicable,
    pooled_inputs,
    out_of_fold,
    train_predictions,
)
from apexbench.extract import decode_image, face_columns
from apexbench.faces import make_detector
from apexbench.models import load_registry, resolve
from apexbench.video import read_image

from conftest import REPO, shared_path

CLASSES = ["negative", "positive", "surprise"]


def texture(size: int = 64, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (size // 4, size // 4), dtype=np.uint8)
    return cv2.GaussianBlur(cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC), (5, 5), 1.5)


def test_flow_features_measure_a_known_shift():
    onset = texture(96)
    apex = np.roll(onset, 2, axis=1)  # everything moves 2 px to the right
    feats = flow_features(onset[16:80, 16:80], apex[16:80, 16:80])
    cells = FLOW_GRID * FLOW_GRID
    u, v, mag, strain = (feats[i * cells:(i + 1) * cells].reshape(FLOW_GRID, FLOW_GRID) for i in range(4))
    inner = (slice(2, -2), slice(2, -2))
    assert np.median(u[inner]) == pytest.approx(2.0, abs=0.3)
    assert np.abs(np.median(v[inner])) < 0.3
    assert np.median(strain[inner]) < 0.2  # a pure translation has no strain
    # No motion: next to no flow (Farneback leaves a few hundredths of a pixel on identical frames).
    assert np.abs(flow_features(onset, onset)).max() < 0.1


def test_landmark_features_are_shape_normalised():
    rng = np.random.default_rng(1)
    mesh = rng.normal(0.5, 0.1, (468, 3))
    moved = mesh * 2.0 + 0.3  # same face, twice as large and shifted: same shape features
    np.testing.assert_allclose(landmark_features(mesh, None), landmark_features(moved, None) / 1.0, atol=1e-9)
    both = landmark_features(mesh, mesh - 0.01)
    assert both.shape == (2 * 468 * 3,) and np.allclose(both[468 * 3:], both[468 * 3])


def synthetic(n_subjects: int = 8, per_subject: int = 12, n_features: int = 80, seed: int = 0):
    """Features with a class signal plus a per-subject offset, 3 classes, subjects s0..s7."""
    rng = np.random.default_rng(seed)
    y = [CLASSES[i % 3] for i in range(n_subjects * per_subject)]
    groups = [f"s{i // per_subject}" for i in range(len(y))]
    centres = rng.normal(0, 1, (3, n_features))
    offsets = rng.normal(0, 0.5, (n_subjects, n_features))
    X = np.stack([centres[CLASSES.index(c)] + offsets[int(g[1:])] + rng.normal(0, 1.0, n_features)
                  for c, g in zip(y, groups)])
    return X, y, groups


@pytest.mark.parametrize("kind", ["flow", "landmarks", "siamese"])
@pytest.mark.parametrize("protocol", ["loso", "group_kfold"])
def test_held_out_subject_never_reaches_training(kind, protocol):
    X, y, groups = synthetic()
    scores, pred, folds, _ = out_of_fold(X, y, groups, kind, CLASSES, protocol, k=4, seed=0)
    held = np.array([g == "s3" for g in groups])
    assert (np.array(pred) == np.array(y)).mean() > 0.6  # the baselines do learn the signal
    # 1. Relabel subject s3 (every label rotated): its own predictions do not move by a bit.
    y2 = [CLASSES[(CLASSES.index(c) + 1) % 3] if h else c for c, h in zip(y, held)]
    scores2, _, _, _ = out_of_fold(X, y2, groups, kind, CLASSES, protocol, k=4, seed=0)
    np.testing.assert_array_equal(scores2[held], scores[held])
    # 2. Change the features of every OTHER sample in s3's fold-mates? No: change s3's features by a
    #    huge offset; a scaler or PCA fit on all rows would then shift everyone else's predictions in
    #    s3's test fold. Predictions of the subjects tested together with s3 must stay the same.
    X3 = X.copy()
    X3[held] += 100.0
    scores3, _, _, _ = out_of_fold(X3, y, groups, kind, CLASSES, protocol, k=4, seed=0)
    mates = np.array([f == folds[held][0] for f in folds]) & ~held
    np.testing.assert_array_equal(scores3[mates], scores[mates])
    # 3. s3's predictions equal those of a model fit without s3 at all (LOSO).
    if protocol == "loso":
        alone = make_model(kind, X.shape[1], 0)
        if kind == "landmarks":
            from sklearn.utils.class_weight import compute_sample_weight

            ytr = np.array(y, dtype=object)[~held]
            alone.fit(X[~held], ytr, clf__sample_weight=compute_sample_weight("balanced", ytr))
        else:
            alone.fit(X[~held], np.array(y, dtype=object)[~held])
        np.testing.assert_array_equal(alone.predict_proba(X[held]), scores[held])
    # 4. Deterministic: the same call gives the same bits.
    again, _, _, _ = out_of_fold(X, y, groups, kind, CLASSES, protocol, k=4, seed=0)
    np.testing.assert_array_equal(again, scores)


def test_fold_splits_keep_subjects_whole():
    groups = [f"s{i % 7}" for i in range(70)]
    loso = fold_splits(groups, "loso", 5)
    assert sorted(name for name, _, _ in loso) == [f"s{i}" for i in range(7)]
    kfold = fold_splits(groups, "group_kfold", 3)
    assert len(kfold) == 3
    seen = []
    for _, train, test in kfold:
        test_subjects = {groups[i] for i in test}
        assert not test_subjects & {groups[i] for i in train}
        seen += test_subjects
    assert sorted(seen) == sorted(set(groups))


def test_train_predictions_statuses_and_folds():
    X, y, groups = synthetic(n_subjects=4, per_subject=9, n_features=10)
    samples = pd.DataFrame({"sample_id": [f"x{i}" for i in range(len(y)) ] + ["other1", "noface1"],
                            "subject": groups + ["s0", "s1"],
                            "label_canonical": [{"negative": "disgust", "positive": "happiness"}.get(c, c) for c in y]
                            + ["others", "surprise"]})
    features = pd.DataFrame({"sample_id": samples["sample_id"],
                             "status": ["ok"] * (len(y) + 1) + ["no_face"],
                             "features": [list(r) for r in X] + [list(X[0]), None]})
    out = train_predictions(samples, features, "siamese", "megc3", "loso", 5, 0)
    by_id = out.set_index("sample_id")
    assert by_id.loc["other1", "status"] == "error:outside_scheme" and by_id.loc["noface1", "status"] == "no_face"
    ok = by_id[by_id["status"] == "ok"]
    assert len(ok) == len(y) and (ok["fold"] == samples.set_index("sample_id").loc[ok.index, "subject"]).all()
    assert set(ok["pred_canonical"]) <= set(CLASSES) and all(len(s) == 3 for s in ok["scores"])


def _labelled(X, y, ids, subjects):
    samples = pd.DataFrame({"sample_id": ids, "subject": subjects,
                            "label_canonical": [{"negative": "disgust", "positive": "happiness"}.get(c, c) for c in y]})
    return samples, pd.DataFrame({"sample_id": ids, "status": "ok", "features": [list(r) for r in X]})


def test_cross_dataset_trains_on_the_other_dataset_only(monkeypatch):
    """No test sample reaches training: the one fit sees exactly the training dataset's rows, and
    only the test dataset's samples get predictions (with the same ids they came with)."""
    import apexbench.baselines as baselines

    X, y, groups = synthetic(n_subjects=6, per_subject=9, n_features=10)
    half = len(y) // 2
    train = _labelled(X[:half], y[:half], [f"t{i}" for i in range(half)], groups[:half])
    test = _labelled(X[half:], y[half:], [f"e{i}" for i in range(len(y) - half)], groups[half:])
    samples, features = pooled_inputs([(*train, "train/", "train"), (*test, "", "test")])
    fitted = []
    real_fit = baselines._fit
    monkeypatch.setattr(baselines, "_fit", lambda model, Xf, yf, kind: fitted.append(Xf.copy())
                        or real_fit(model, Xf, yf, kind))
    out = train_predictions(samples, features, "siamese", "megc3", "cross_dataset", 5, 0)
    assert len(fitted) == 1 and fitted[0].shape[0] == half
    fit_rows = {tuple(r) for r in fitted[0]}
    assert fit_rows == {tuple(r) for r in X[:half]} and not fit_rows & {tuple(r) for r in X[half:]}
    assert sorted(out["sample_id"]) == sorted(test[0]["sample_id"])
    assert (out["status"] == "ok").all() and set(out["fold"]) == {"cross_dataset"}
    # the same pipeline fit by hand on the training rows gives the same scores
    model = baselines._fit(baselines.make_model("siamese", X.shape[1], 0), X[:half], np.array(y[:half], dtype=object),
                           "siamese")
    expected = model.predict_proba(X[half:])
    cols = [CLASSES.index(c) for c in model.classes_]
    got = np.array(out.set_index("sample_id").loc[test[0]["sample_id"], "scores"].tolist())[:, cols]
    np.testing.assert_allclose(got, expected)


def test_loso_without_subject_information_runs_k_folds_not_one_per_sample():
    X, y, _ = synthetic(n_subjects=4, per_subject=9, n_features=10)
    ids = [f"x{i}" for i in range(len(y))]
    samples, features = _labelled(X, y, ids, ids)  # every sample its own subject (FER2013)
    out = train_predictions(samples, features, "siamese", "megc3", "loso", 4, 0)
    assert out["fold"].nunique() == 4 and (out["status"] == "ok").all()


def test_mixed_feature_lengths_keep_the_common_part():
    X, y, groups = synthetic(n_subjects=4, per_subject=9, n_features=12)
    samples = pd.DataFrame({"sample_id": [f"x{i}" for i in range(len(y))], "subject": groups,
                            "label_canonical": [{"negative": "disgust", "positive": "happiness"}.get(c, c) for c in y]})
    # Half the samples carry 4 extra values (e.g. a displacement only clips have).
    feats = [list(r) + ([1.0] * 4 if i % 2 else []) for i, r in enumerate(X)]
    features = pd.DataFrame({"sample_id": samples["sample_id"], "status": "ok", "features": feats})
    mixed = train_predictions(samples, features, "siamese", "megc3", "loso", 5, 0)
    plain = train_predictions(samples, features.assign(features=[list(r) for r in X]), "siamese", "megc3",
                              "loso", 5, 0)
    assert mixed["scores"].tolist() == plain["scores"].tolist()


def test_not_applicable_without_onsets():
    frames = pd.DataFrame({"sample_id": ["a", "b"], "face_status": ["ok", "ok"],
                           "face_crop": [cv2.imencode(".png", texture(48))[1].tobytes()] * 2,
                           "onset_crop": [None, None]})
    feats = compute_features(frames, "flow")
    assert feats["status"].tolist() == ["error:no_onset"] * 2
    assert "not applicable" in not_applicable("flow", feats, "ckplus48")
    assert not_applicable("landmarks", feats, "ckplus48") is None


@pytest.fixture(scope="module")
def embedder(tmp_path_factory):
    entry = load_registry(REPO / "resources/models/registry.yaml")["minixception"]
    cached = REPO / "resources" / "models" / entry.file
    path = cached if cached.is_file() else resolve(entry, tmp_path_factory.mktemp("models"))
    return Embedder(path)


def test_siamese_embedding_is_the_penultimate_block_and_separates_expressions(embedder):
    """128 values per face; on real FER2013 faces a linear model on them tells happy from surprise."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    root = shared_path("data", "fer2013", "publictest")
    X, y = [], []
    for label in ("happy", "surprise"):
        for f in sorted((root / label).iterdir())[:60]:
            X.append(embedder(cv2.imread(str(f))))
            y.append(label)
    X = np.array(X)
    assert X.shape == (120, 128)
    np.testing.assert_array_equal(embedder(cv2.imread(str(f))), X[-1])  # deterministic
    assert cross_val_score(LogisticRegression(max_iter=2000), X, y, cv=5).mean() > 0.85


@pytest.mark.parametrize("n_subjects, per_subject, n_features", [
    (4, 12, 80),  # 36 training samples per LOSO fold: fewer than LANDMARK_PCA
    (8, 12, 20),  # 84 training samples but only 20 features
])
def test_landmarks_adapt_pca_to_small_folds(n_subjects, per_subject, n_features):
    X, y, groups = synthetic(n_subjects, per_subject, n_features)
    scores, pred, folds, _ = out_of_fold(X, y, groups, "landmarks", CLASSES, "loso", seed=0)
    assert len(set(folds)) == n_subjects
    np.testing.assert_allclose(scores.sum(axis=1), 1.0)
    assert (np.array(pred) == np.array(y)).mean() > 0.6
    held = np.array([g == "s0" for g in groups])
    model = make_model("landmarks", n_features, 0).fit(X[~held], np.array(y, dtype=object)[~held])
    assert model.named_steps["pca"].pca_.n_components_ == min(LANDMARK_PCA, (~held).sum() - 1, n_features)


def test_landmarks_pca_on_a_large_fold_is_the_plain_64_component_pca():
    from sklearn.decomposition import PCA
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    X, y, _ = synthetic(n_subjects=8, per_subject=12, n_features=80)
    plain = Pipeline([("scale", StandardScaler()), ("pca", PCA(n_components=LANDMARK_PCA, random_state=0)),
                      ("clf", MLPClassifier(hidden_layer_sizes=(64,), alpha=1e-2, max_iter=400, random_state=0))])
    model = make_model("landmarks", X.shape[1], 0)
    for m in (plain, model):
        m.fit(X, y)
    assert model.named_steps["pca"].pca_.n_components_ == LANDMARK_PCA
    np.testing.assert_array_equal(model.predict_proba(X), plain.predict_proba(X))


@pytest.fixture(scope="module")
def mesh_reader():
    reader = MeshReader()
    yield reader
    reader.close()


def test_mesh_reader_finds_468_landmarks_on_a_real_face(mesh_reader):
    """A CK+48 image as the ckplus48 configs store it (detector none, 48 px crop): a full mesh."""
    path = sorted((shared_path("data", "ckplus48") / "happy").glob("*.png"))[0]
    detector = make_detector("none")
    try:
        crop = decode_image(face_columns(read_image(path), None, detector,
                                         {"crop_size": 48, "margin": 0.0, "jpeg_quality": 95})["face_crop"])
    finally:
        detector.close()
    assert crop.shape == (48, 48, 3)
    mesh = mesh_reader(crop)
    assert mesh is not None and mesh.shape == (468, 3) and np.isfinite(mesh).all()
    # x, y are fractions of the padded input, where the crop spans [1/6, 5/6]; in crop fractions the
    # mesh covers the face. On the tight CK+48 crops the chin sits a few pixels past the lower edge.
    in_crop = (mesh[:, :2] - 1 / 6) * 1.5
    assert (in_crop > -0.05).all() and (in_crop < 1.1).all()
    assert (in_crop.min(axis=0) < 0.2).all() and (in_crop.max(axis=0) > 0.8).all()  # spans the face


def test_mesh_reader_returns_none_without_a_face(mesh_reader):
    assert mesh_reader(np.full((48, 48, 3), 128, dtype=np.uint8)) is None
