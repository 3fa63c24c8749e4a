"""Uncertainty and paired comparisons: percentile-bootstrap intervals and McNemar's exact test.

Bootstrap: one matrix of resampled sample indices (``bootstrap_indices``, drawn with a fixed seed)
is shared by every classifier evaluated on the same samples, so intervals are reproducible and the
paired accuracy difference is resampled on the same draws for both classifiers. Every resample is
scored at once: its confusion matrix is one ``np.bincount`` row (``resample_confusions``), and
accuracy, UAR, UF1, weighted F1 and kappa are taken from the matrices (``confusion_metrics``) with
scikit-learn's definitions and its floating-point operations in its order (precision, recall and F1
as in ``precision_recall_fscore_support`` with ``zero_division=0``, the means over the classes
present in the resample, kappa as ``cohen_kappa_score`` over the classes plus the out-of-scheme
predictions), so each resample's numbers equal scikit-learn's on that resample bit for bit
(``tests/test_stats.py`` checks them against the scikit-learn calls on random cases). The point
metrics themselves stay scikit-learn's (``metrics.classification_metrics``). A resample on which a
metric is undefined (NaN, e.g. kappa when every resampled sample has the same label) is left out of
that metric's percentiles.

McNemar: on the samples both classifiers were asked about, ``b`` = only A right, ``c`` = only B
right; the exact two-sided p-value is the binomial test of ``min(b, c)`` successes in ``b + c``
trials at 0.5 (``scipy.stats.binomtest``); 1 when ``b + c == 0``. Comparing k classifiers on one
evaluation set makes k(k-1)/2 tests; ``p_holm`` is each pair's p-value after Holm's step-down
correction over those pairs (family-wise error rate; one family per evaluation set and
perturbation).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .metrics import LABEL_METRICS

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


def resample_confusions(y_true: np.ndarray, y_pred: np.ndarray, n_labels: int, indices: np.ndarray,
                        chunk: int = 1 << 22) -> np.ndarray:
    """(resamples, n_labels, n_labels) counts: resample b's confusion matrix (rows true, columns
    predicted) of integer-coded labels ``0..n_labels-1``; ``chunk`` bounds the temporary arrays
    (resampled elements per step)."""
    resamples, n = indices.shape
    cells = n_labels * n_labels
    pairs = np.asarray(y_true, dtype=np.int64) * n_labels + np.asarray(y_pred, dtype=np.int64)
    out = np.empty((resamples, cells), dtype=np.int64)
    step = max(1, chunk // max(n, 1))
    for start in range(0, resamples, step):
        codes = pairs[indices[start:start + step]]
        rows = codes.shape[0]
        codes += (np.arange(rows, dtype=np.int64) * cells)[:, None]
        out[start:start + rows] = np.bincount(codes.ravel(), minlength=rows * cells).reshape(rows, cells)
    return out.reshape(resamples, n_labels, n_labels)


def _divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator as float64, 0 where the denominator is 0 (sklearn's ``_prf_divide``
    with ``zero_division=0``)."""
    mask = denominator == 0
    denominator = np.asarray(denominator, dtype=np.float64).copy()
    denominator[mask] = 1
    result = np.asarray(numerator, dtype=np.float64) / denominator
    result[mask] = 0.0
    return result


def _masked_rows(values: np.ndarray, mask: np.ndarray, reduce) -> np.ndarray:
    """``reduce(values[b][mask[b]])`` for every row b, computed once per distinct mask on the rows
    that share it (a row's masked values are a contiguous array, as scikit-learn's are)."""
    out = np.full(values.shape[0], np.nan)
    patterns, inverse = np.unique(mask, axis=0, return_inverse=True)
    for g, pattern in enumerate(patterns):
        rows = np.flatnonzero(inverse.reshape(-1) == g)
        if pattern.any():
            out[rows] = reduce(np.ascontiguousarray(values[rows][:, pattern]), rows, pattern)
    return out


def confusion_metrics(confusions: np.ndarray, n_classes: int) -> dict[str, np.ndarray]:
    """``LABEL_METRICS`` of each confusion matrix (classes ``0..n_classes-1`` first, then the
    out-of-scheme predicted labels), with the definitions of ``metrics.classification_metrics``: macro
    and weighted means over the classes present in the true labels, kappa over every label."""
    conf = np.asarray(confusions, dtype=np.int64)
    resamples, n_labels = conf.shape[0], conf.shape[1]
    classes = np.arange(n_classes)
    tp = conf[:, classes, classes]
    true = conf[:, :n_classes, :].sum(axis=2)
    pred = conf[:, :, :n_classes].sum(axis=1)
    n = conf.sum(axis=(1, 2))
    recall = _divide(tp, true)
    f1 = _divide(2.0 * tp.astype(np.float64), 1.0 * true.astype(np.float64) + pred.astype(np.float64))
    present = true > 0

    def weighted(values, rows, pattern):
        w = true[rows][:, pattern]
        return np.multiply(values, w, dtype=np.float64).sum(axis=1) / w.sum(axis=1, dtype=np.float64)

    # Cohen's kappa as sklearn computes it: expected = outer(column sums, row sums) / n, off-diagonal.
    conf_f = conf.astype(np.float64)
    sum0, sum1 = conf_f.sum(axis=1), conf_f.sum(axis=2)
    expected = sum0[:, :, None] * sum1[:, None, :] / sum0.sum(axis=1)[:, None, None]
    off = np.ones((n_labels, n_labels))
    np.fill_diagonal(off, 0)
    observed = (off * conf_f).reshape(resamples, -1).sum(axis=1)
    chance = (off * expected).reshape(resamples, -1).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = np.where(chance == 0, np.nan, 1 - observed / np.where(chance == 0, 1.0, chance))
    return {
        "accuracy": np.trace(conf, axis1=1, axis2=2).astype(np.float64) / n,
        "balanced_accuracy": _masked_rows(recall, present, lambda v, rows, pattern: v.mean(axis=1)),
        "f1_macro": _masked_rows(f1, present, lambda v, rows, pattern: v.mean(axis=1)),
        "f1_weighted": _masked_rows(f1, present, weighted),
        "cohen_kappa": kappa,
    }


def bootstrap_intervals(y_true: Sequence[str], y_pred: Sequence[str], ok: Sequence[bool], classes: Sequence[str],
                        indices: np.ndarray, confidence: float = 0.95, log=None, label: str = "") -> dict:
    """``{metric: (ci_low, ci_high)}`` for ``CI_METRICS`` from the resamples in ``indices``."""
    t, p, codes = _encode(list(y_true), list(y_pred), classes)
    ok = np.asarray(ok, dtype=bool)
    if len(t) == 0 or len(indices) == 0:
        return {m: (math.nan, math.nan) for m in CI_METRICS}
    n_labels = max(len(codes), int(p.max()) + 1)
    draws = confusion_metrics(resample_confusions(t, p, n_labels, indices), len(codes))
    draws["coverage"] = ok[indices].mean(axis=1)
    if log is not None:
        print(f"[bootstrap] {label + ': ' if label else ''}{len(indices)} resamples", file=log)
    return {m: percentile_interval(draws[m], confidence) for m in CI_METRICS}


def mcnemar_exact(correct_a: Sequence[bool], correct_b: Sequence[bool]) -> dict:
    """The 2x2 agreement table of two classifiers on the same samples and McNemar's exact p-value."""
    a = np.asarray(correct_a, dtype=bool)
    b = np.asarray(correct_b, dtype=bool)
    if a.shape != b.shape:
        raise ValueError(f"paired samples differ in number: {a.size} vs {b.size}")
    a_only, b_only = int((a & ~b).sum()), int((~a & b).sum())
    discordant = a_only + b_only
    from scipy.stats import binomtest  # scipy.stats costs 0.6 s to import: only when there is a pair to test

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

