"""Bootstrap intervals, McNemar's exact test and the paired accuracy difference, on hand-computed cases."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import cohen_kappa_score, precision_recall_fscore_support

from apexbench.labels import NO_PREDICTION
from apexbench.metrics import LABEL_METRICS, classification_metrics, metrics_rows
from apexbench.stats import (
    CI_METRICS,
    _encode,
    bootstrap_indices,
    bootstrap_intervals,
    confusion_metrics,
    fill_intervals,
    mcnemar_exact,
    paired_comparisons,
    percentile_interval,
    resample_confusions,
)

CLASSES = ["neutral", "happiness", "sadness"]


def test_mcnemar_exact_p_on_a_hand_computed_table():
    # A right / B wrong on 3 samples, B right / A wrong on 1: p = 2 * P(X <= 1 | n=4, 1/2) = 2 * 5/16.
    a = [1, 1, 1, 1, 0, 0]
    b = [0, 0, 0, 1, 0, 1]
    test = mcnemar_exact(a, b)
    assert test == {"n": 6, "both_correct": 1, "a_only": 3, "b_only": 1, "both_wrong": 1, "p_value": 0.625}
    # 6 discordant pairs all one way: p = 2 / 2**6.
    assert mcnemar_exact([1] * 6 + [0], [0] * 6 + [0])["p_value"] == pytest.approx(2 / 64)
    # No discordant pair: nothing to test, p = 1.
    assert mcnemar_exact([1, 0], [1, 0])["p_value"] == 1.0
    with pytest.raises(ValueError):
        mcnemar_exact([1, 0], [1])


def test_bootstrap_indices_are_deterministic_and_seed_dependent():
    a = bootstrap_indices(5, 4, seed=7)
    assert a.shape == (4, 5) and a.min() >= 0 and a.max() <= 4
    np.testing.assert_array_equal(a, bootstrap_indices(5, 4, seed=7))
    assert not np.array_equal(a, bootstrap_indices(5, 4, seed=8))
    np.testing.assert_array_equal(a, np.random.default_rng(7).integers(0, 5, size=(4, 5)))


def test_percentile_interval_ignores_undefined_resamples():
    assert percentile_interval([0, 1, 2, 3, 4, math.nan], 0.5) == (1.0, 3.0)
    assert all(math.isnan(v) for v in percentile_interval([math.nan], 0.95))


def sklearn_resample_metrics(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int, labels: list[int]) -> dict:
    """One resample scored with scikit-learn: the bootstrap's code before it was vectorised, kept as
    the reference (two sklearn calls; macro / weighted means over the classes present in y_true)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        warnings.simplefilter("ignore", UserWarning)  # "a single label was found": labels= is given
        _, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=list(range(n_classes)),
                                                                 zero_division=0)
        kappa = cohen_kappa_score(y_true, y_pred, labels=labels, replace_undefined_by=np.nan)
    present = support > 0
    return {
        "accuracy": float(np.mean(y_true == y_pred)),
        "balanced_accuracy": float(recall[present].mean()),
        "f1_macro": float(f1[present].mean()),
        "f1_weighted": float(np.average(f1[present], weights=support[present])),
        "cohen_kappa": float(kappa),
    }


def sklearn_bootstrap_intervals(y_true, y_pred, ok, classes, indices, confidence):
    """The intervals as the per-resample scikit-learn loop computed them (the reference)."""
    t, p, codes = _encode(list(y_true), list(y_pred), classes)
    all_codes = sorted(set(codes) | set(p.tolist()))
    draws = {m: [] for m in CI_METRICS}
    for idx in indices:
        scores = sklearn_resample_metrics(t[idx], p[idx], len(codes), all_codes)
        for m in LABEL_METRICS:
            draws[m].append(scores[m])
        draws["coverage"].append(float(np.asarray(ok, dtype=bool)[idx].mean()))
    return {m: percentile_interval(v, confidence) for m, v in draws.items()}


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def test_reference_resample_metrics_equal_the_reported_definitions():
    rng = np.random.default_rng(1)
    for _ in range(100):
        n = int(rng.integers(1, 30))
        t, p = rng.integers(0, 7, n), rng.integers(0, 9, n)
        fast = sklearn_resample_metrics(t, p, 7, list(range(9)))
        reference = classification_metrics(t, p, list(range(7)))
        for metric, value in fast.items():
            assert value == pytest.approx(reference[metric], nan_ok=True), metric


def test_vectorised_resample_metrics_equal_sklearn_bit_for_bit():
    """Every resample's accuracy, UAR, UF1, weighted F1 and kappa from the confusion matrices equal
    scikit-learn's on that resample exactly (not approximately): 1 to 12 classes, classes absent
    from the true labels, out-of-scheme predictions (codes past the classes), tiny samples where
    kappa is undefined, and the 8+ classes where numpy's pairwise summation changes the order."""
    rng = np.random.default_rng(2026)
    checked = undefined = 0
    for n_classes in (1, 2, 3, 4, 7, 8, 9, 12):
        for extra in (0, 1, 3):
            for n in (1, 2, 5, 40, 300):
                present = rng.choice(n_classes, size=int(rng.integers(1, n_classes + 1)), replace=False)
                t = rng.choice(present, size=n)
                p = rng.integers(0, n_classes + extra, size=n)
                agree = rng.random(n) < 0.4
                p[agree] = t[agree]
                labels = list(range(n_classes + extra))
                indices = bootstrap_indices(n, 25, seed=int(rng.integers(1 << 30)))
                got = confusion_metrics(resample_confusions(t, p, len(labels), indices), n_classes)
                for b, idx in enumerate(indices):
                    ref = sklearn_resample_metrics(t[idx], p[idx], n_classes, labels)
                    for metric in LABEL_METRICS:
                        assert _same(float(got[metric][b]), ref[metric]), (metric, n_classes, extra, n, b,
                                                                             got[metric][b], ref[metric])
                    undefined += math.isnan(ref["cohen_kappa"])
                    checked += 1
    assert checked == 8 * 3 * 5 * 25 and undefined > 0


def test_bootstrap_intervals_equal_the_sklearn_loop_exactly():
    """The intervals themselves, on string labels with no-prediction and out-of-scheme predictions,
    under canonical7 (7 classes, one absent from the true labels) and 1,000 resamples."""
    classes = ["neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear"]
    rng = np.random.default_rng(5)
    n = 700
    y_true = rng.choice(classes[:6], size=n)
    y_pred = np.where(rng.random(n) < 0.55, y_true, rng.choice(classes + ["contempt", NO_PREDICTION], size=n))
    ok = y_pred != NO_PREDICTION
    indices = bootstrap_indices(n, 1000, seed=0)
    got = bootstrap_intervals(y_true, y_pred, ok, classes, indices, 0.95)
    assert got == sklearn_bootstrap_intervals(y_true, y_pred, ok, classes, indices, 0.95)
    # small chunks (several bincount steps) give the same matrices
    t, p, _ = _encode(list(y_true), list(y_pred), classes)
    np.testing.assert_array_equal(resample_confusions(t, p, 9, indices, chunk=5000),
                                  resample_confusions(t, p, 9, indices))


def test_bootstrap_interval_of_accuracy_matches_a_direct_computation():
    y_true = ["neutral", "happiness", "sadness", "neutral", "happiness", "sadness", "neutral", "happiness"]
    y_pred = ["neutral", "happiness", "neutral", "neutral", "no_prediction", "sadness", "happiness", "happiness"]
    ok = [p != "no_prediction" for p in y_pred]
    idx = bootstrap_indices(len(y_true), 500, seed=0)
    ci = bootstrap_intervals(y_true, y_pred, ok, CLASSES, idx, 0.9)
    assert set(ci) == set(CI_METRICS)
    correct = np.array([t == p for t, p in zip(y_true, y_pred)], dtype=float)
    expected = np.percentile(correct[idx].mean(axis=1), [5, 95])
    assert ci["accuracy"] == pytest.approx(tuple(expected))
    expected_cov = np.percentile(np.array(ok, dtype=float)[idx].mean(axis=1), [5, 95])
    assert ci["coverage"] == pytest.approx(tuple(expected_cov))
    assert ci["accuracy"][0] <= 5 / 8 <= ci["accuracy"][1]
    # same seed, same interval
    assert bootstrap_intervals(y_true, y_pred, ok, CLASSES, bootstrap_indices(8, 500, 0), 0.9) == ci


def test_perfect_predictions_have_a_degenerate_interval():
    y = ["neutral", "happiness", "sadness"] * 3
    ci = bootstrap_intervals(y, y, [True] * 9, CLASSES, bootstrap_indices(9, 200, 3))
    for metric in ("accuracy", "balanced_accuracy", "f1_macro", "f1_weighted", "coverage"):
        assert ci[metric] == (1.0, 1.0)


def test_fill_intervals_only_touches_overall_rows():
    frame = pd.DataFrame({"sample_id": ["a", "b"], "label": ["neutral", "happiness"],
                          "pred": ["neutral", "neutral"], "status": ["ok", "ok"], "latency_ms": [1.0, 1.0]})
    rows = metrics_rows(frame, "clf", "canonical7", list(CLASSES))
    filled = fill_intervals(rows, {"accuracy": (0.1, 0.9)})
    acc = filled[(filled["metric"] == "accuracy") & (filled["class"] == "")]
    assert acc[["ci_low", "ci_high"]].values.tolist() == [[0.1, 0.9]]
    assert filled.drop(acc.index)["ci_low"].isna().all()


def test_paired_comparisons_table():
    correct = {"a": [1, 1, 1, 1, 0, 0], "b": [0, 0, 0, 1, 0, 1]}
    idx = bootstrap_indices(6, 300, seed=1)
    table = paired_comparisons(correct, idx, 0.95)
    assert table[["classifier_a", "classifier_b"]].values.tolist() == [["a", "b"], ["b", "a"]]
    ab = table.iloc[0]
    assert ab["p_value"] == 0.625 and ab["a_only"] == 3 and ab["b_only"] == 1
    assert ab["accuracy_diff"] == pytest.approx(4 / 6 - 2 / 6)
    diffs = np.array(correct["a"], float)[idx].mean(1) - np.array(correct["b"], float)[idx].mean(1)
    assert (ab["ci_low"], ab["ci_high"]) == pytest.approx(tuple(np.percentile(diffs, [2.5, 97.5])))
    assert table.iloc[1]["accuracy_diff"] == pytest.approx(-ab["accuracy_diff"])
