"""Confidence of a prediction, accuracy by confidence bucket, and the coverage-accuracy curve.

The confidence of a prediction is the probability of the predicted class after the classifier's
contempt strategy, renormalised over the classes it could predict (``scheme_probabilities``): the
same reduction ``labels.predict_canonical`` takes the argmax of, so the top class here is always
the reported prediction. A sample without a prediction has confidence 0 and is never "covered".

- Buckets: ``high`` (confidence >= ``high``), ``mid`` (``low`` <= confidence < ``high``), ``low``
  (< ``low``), and ``no_prediction`` for failed samples; accuracy and share of samples per bucket.
- Coverage-accuracy: for each threshold t, abstain on predictions with confidence < t; coverage is
  the share of all samples still answered and accuracy the accuracy on those.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .labels import scheme_scores

BUCKETS = ("high", "mid", "low", "no_prediction")
BUCKET_COLUMNS = ["classifier", "perturbation", "bucket", "n", "share", "correct", "accuracy"]
CURVE_COLUMNS = ["classifier", "perturbation", "threshold", "coverage", "accuracy", "n_covered"]
CURVE_THRESHOLDS = tuple(round(t, 2) for t in np.linspace(0.0, 1.0, 21))


def scheme_probabilities(scores: np.ndarray, native_order: Sequence[str], scheme: str,
                         contempt: str = "mask") -> tuple[list[str], np.ndarray]:
    """(labels, probabilities) over the labels a classifier can predict under ``scheme`` and
    ``contempt`` (``labels.scheme_scores``), each row renormalised to sum to 1."""
    labels, sub = scheme_scores(scores, native_order, scheme, contempt)
    totals = sub.sum(axis=1, keepdims=True)
    probs = np.divide(sub, totals, out=np.zeros_like(sub), where=totals > 0)
    return labels, probs


def prediction_confidence(scores: Sequence, ok: Sequence[bool], native_order: Sequence[str], scheme: str,
                          contempt: str = "mask") -> np.ndarray:
    """Per-sample confidence (0 where ``ok`` is false or scores are missing)."""
    ok = np.asarray(ok, dtype=bool)
    conf = np.zeros(len(ok), dtype=float)
    rows = [i for i in range(len(ok)) if ok[i] and scores[i] is not None and len(scores[i])]
    if rows:
        _, probs = scheme_probabilities(np.vstack([np.asarray(scores[i], dtype=float) for i in rows]),
                                        native_order, scheme, contempt)
        conf[rows] = probs.max(axis=1)
    return conf


def bucket_of(confidence: np.ndarray, ok: np.ndarray, high: float, low: float) -> np.ndarray:
    if not 0.0 <= low <= high <= 1.0:
        raise ValueError(f"confidence thresholds must satisfy 0 <= low <= high <= 1, got low={low}, high={high}")
    out = np.where(confidence >= high, "high", np.where(confidence >= low, "mid", "low")).astype(object)
    out[~np.asarray(ok, dtype=bool)] = "no_prediction"
    return out


def bucket_table(correct: Sequence[bool], confidence: Sequence[float], ok: Sequence[bool], high: float,
                 low: float, classifier: str, perturbation: str = "none") -> pd.DataFrame:
    """Accuracy and share per confidence bucket (every bucket listed, accuracy NaN when empty)."""
    correct, confidence, ok = (np.asarray(x) for x in (correct, confidence, ok))
    buckets = bucket_of(confidence.astype(float), ok.astype(bool), high, low)
    n_all = len(correct)
    rows = []
    for name in BUCKETS:
        mask = buckets == name
        n = int(mask.sum())
        hits = int(correct[mask].astype(bool).sum())
        rows.append({"classifier": classifier, "perturbation": perturbation, "bucket": name, "n": n,
                     "share": n / n_all if n_all else math.nan, "correct": hits,
                     "accuracy": hits / n if n else math.nan})
    return pd.DataFrame(rows, columns=BUCKET_COLUMNS)


def coverage_accuracy(correct: Sequence[bool], confidence: Sequence[float], ok: Sequence[bool], classifier: str,
                      perturbation: str = "none", thresholds: Sequence[float] = CURVE_THRESHOLDS) -> pd.DataFrame:
    """Coverage and accuracy when abstaining below each threshold (failed samples never covered)."""
    correct = np.asarray(correct, dtype=bool)
    confidence = np.asarray(confidence, dtype=float)
    ok = np.asarray(ok, dtype=bool)
    n_all = len(correct)
    rows = []
    for t in thresholds:
        covered = ok & (confidence >= t)
        n = int(covered.sum())
        rows.append({"classifier": classifier, "perturbation": perturbation, "threshold": float(t),
                     "coverage": n / n_all if n_all else math.nan,
                     "accuracy": float(correct[covered].mean()) if n else math.nan, "n_covered": n})
    return pd.DataFrame(rows, columns=CURVE_COLUMNS)
