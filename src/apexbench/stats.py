"""Uncertainty and paired comparisons: percentile-bootstrap intervals and McNemar's exact test.

Bootstrap: one matrix of resampled sample indices (``bootstrap_indices``, drawn with a fixed seed)
is shared by every classifier evaluated on the same samples, so intervals are reproducible and the
paired accuracy difference is resampled on the same draws for both classifiers. Each resample is
scored with scikit-learn (``headline_metrics``: the definitions of ``metrics.classification_metrics``
from two sklearn calls instead of six, tested equal to it); a resample on which a metric is undefined (NaN, e.g. kappa
when every resampled sample has the same label) is left out of that metric's percentiles.

McNemar: on the samples both classifiers were asked about, ``b`` = only A right, ``c`` = only B
right; the exact two-sided p-value is the binomial test of ``min(b, c)`` successes in ``b + c``
trials at 0.5 (``scipy.stats.binomtest``); 1 when ``b + c == 0``. Comparing k classifiers on one
evaluation set makes k(k-1)/2 tests; ``p_holm`` is each pair's p-value after Holm's step-down
correction over those pairs (family-wise error rate; one family per evaluation set and
perturbation).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.stats import binomtest
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import cohen_kappa_score, precision_recall_fscore_support

from .metrics import LABEL_METRICS
from .progress import Progress

# Headline metrics that get an interval: the label metrics plus coverage.
CI_METRICS = LABEL_METRICS + ("coverage",)
PAIRED_COLUMNS = [
    "dataset", "perturbation", "classifier_a", "classifier_b", "n", "both_correct", "a_only", "b_only", "both_wrong",
    "p_value", "p_holm", "accuracy_a", "accuracy_b", "accuracy_diff", "ci_low", "ci_high",
]


def bootstrap_indices(n: int, resamples: int, seed: int) -> np.ndarray:
    """(resamples, n) indices drawn with replacement from ``range(n)``; same seed -> same draws."""
    rng = np.random.default_rng(seed)
    if n == 0 or resamples == 0:
        return np.zeros((resamples, n), dtype=np.int64)
    return rng.integers(0, n, size=(resamples, n), dtype=np.int64)


def percentile_interval(values: Sequence[float], confidence: float) -> tuple[float, float]:
    """The central ``confidence`` percentile interval of the finite ``values`` (NaN, NaN if none)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return math.nan, math.nan
    alpha = (1.0 - confidence) / 2.0
    low, high = np.percentile(values, [100 * alpha, 100 * (1 - alpha)])
    return float(low), float(high)


def _encode(y_true: Sequence[str], y_pred: Sequence[str], classes: Sequence[str]):
    """Labels as small integers (classes first, then other predicted labels) for fast resampling."""
    codes = {c: i for i, c in enumerate(classes)}
    for label in sorted(set(y_pred) - set(codes)):
        codes[label] = len(codes)
    return (np.array([codes[v] for v in y_true], dtype=np.int64),
            np.array([codes[v] for v in y_pred], dtype=np.int64),
            list(range(len(classes))))


def headline_metrics(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int, labels: list[int]) -> dict:
    """``LABEL_METRICS`` of integer-coded labels (classes ``0..n_classes-1``; ``labels`` = every code),
    with the definitions of ``metrics.classification_metrics`` from two scikit-learn calls: the
    per-class precision/recall/F1/support (macro and weighted means are taken over the classes present
    in ``y_true``, as sklearn's ``average=`` does with ``labels=present``) and Cohen's kappa."""
    _, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=list(range(n_classes)),
                                                             zero_division=0)
    present = support > 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        kappa = cohen_kappa_score(y_true, y_pred, labels=labels, replace_undefined_by=np.nan)
    return {
        "accuracy": float(np.mean(y_true == y_pred)),
        "balanced_accuracy": float(recall[present].mean()),
        "f1_macro": float(f1[present].mean()),
        "f1_weighted": float(np.average(f1[present], weights=support[present])),
        "cohen_kappa": float(kappa),
    }


def bootstrap_intervals(y_true: Sequence[str], y_pred: Sequence[str], ok: Sequence[bool], classes: Sequence[str],
                        indices: np.ndarray, confidence: float = 0.95, log=None, label: str = "") -> dict:
    """``{metric: (ci_low, ci_high)}`` for ``CI_METRICS`` from the resamples in ``indices``."""
    t, p, codes = _encode(list(y_true), list(y_pred), classes)
    all_codes = sorted(set(codes) | set(p.tolist()))
    ok = np.asarray(ok, dtype=bool)
    draws = {m: [] for m in CI_METRICS}
    if len(t) == 0:
        return {m: (math.nan, math.nan) for m in CI_METRICS}
    progress = Progress("bootstrap", len(indices), "resamples", log, every=250, name=label)
    for b, idx in enumerate(indices, 1):
        scores = headline_metrics(t[idx], p[idx], len(codes), all_codes)
        for m in LABEL_METRICS:
            draws[m].append(scores[m])
        draws["coverage"].append(float(ok[idx].mean()))
        progress.update(b)
    return {m: percentile_interval(v, confidence) for m, v in draws.items()}


def mcnemar_exact(correct_a: Sequence[bool], correct_b: Sequence[bool]) -> dict:
    """The 2x2 agreement table of two classifiers on the same samples and McNemar's exact p-value."""
    a = np.asarray(correct_a, dtype=bool)
    b = np.asarray(correct_b, dtype=bool)
    if a.shape != b.shape:
        raise ValueError(f"paired samples differ in number: {a.size} vs {b.size}")
    a_only, b_only = int((a & ~b).sum()), int((~a & b).sum())
    discordant = a_only + b_only
    p_value = float(binomtest(min(a_only, b_only), discordant, 0.5).pvalue) if discordant else 1.0
    return {"n": int(a.size), "both_correct": int((a & b).sum()), "a_only": a_only, "b_only": b_only,
            "both_wrong": int((~a & ~b).sum()), "p_value": p_value}


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values, in the input's order: with the m p-values sorted,
    ``p_(i) * (m - i + 1)`` (1-based i), made non-decreasing along the order and capped at 1."""
    p = np.asarray(p_values, dtype=float)
    m = p.size
    if m == 0:
        return p
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate(np.minimum(1.0, p[order] * (m - np.arange(m))))
    out = np.empty(m)
    out[order] = stepped
    return out


def paired_comparisons(correct: Mapping[str, Sequence[bool]], indices: np.ndarray, confidence: float = 0.95,
                       perturbation: str = "none") -> pd.DataFrame:
    """Every ordered pair (A, B), A != B, of classifiers evaluated on the same samples in the same order.

    ``accuracy_diff`` = accuracy(A) - accuracy(B) with its paired percentile-bootstrap interval.
    Both orders are listed so the table reads as a matrix (the p-value is symmetric); ``p_holm``
    corrects the p-values for the k(k-1)/2 unordered pairs (``holm``).
    """
    rows = []
    names = list(correct)
    arrays = {k: np.asarray(v, dtype=float) for k, v in correct.items()}
    boot = {k: (v[indices].mean(axis=1) if v.size and len(indices) else np.array([])) for k, v in arrays.items()}
    for a in names:
        for b in names:
            if a == b:
                continue
            test = mcnemar_exact(arrays[a].astype(bool), arrays[b].astype(bool))
            acc_a = float(arrays[a].mean()) if arrays[a].size else math.nan
            acc_b = float(arrays[b].mean()) if arrays[b].size else math.nan
            low, high = percentile_interval(boot[a] - boot[b], confidence) if boot[a].size else (math.nan, math.nan)
            rows.append({"dataset": "", "perturbation": perturbation, "classifier_a": a, "classifier_b": b, **test,
                         "accuracy_a": acc_a, "accuracy_b": acc_b, "accuracy_diff": acc_a - acc_b,
                         "ci_low": low, "ci_high": high})
    table = pd.DataFrame(rows, columns=PAIRED_COLUMNS)
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]
    adjusted = dict(zip(pairs, holm([next(r["p_value"] for r in rows if (r["classifier_a"], r["classifier_b"]) == pair)
                                     for pair in pairs])))
    table["p_holm"] = [adjusted.get((a, b), adjusted.get((b, a))) for a, b in
                       zip(table["classifier_a"], table["classifier_b"])]
    return table


def fill_intervals(metrics: pd.DataFrame, intervals: Mapping[str, tuple[float, float]]) -> pd.DataFrame:
    """Copy of one classifier's overall metric rows with ``ci_low`` / ``ci_high`` filled from ``intervals``."""
    out = metrics.copy()
    for metric, (low, high) in intervals.items():
        mask = (out["metric"] == metric) & (out["class"] == "")
        out.loc[mask, "ci_low"] = low
        out.loc[mask, "ci_high"] = high
    return out

