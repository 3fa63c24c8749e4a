"""Bootstrap intervals, McNemar's exact test and the paired accuracy difference, on hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from apexbench.metrics import classification_metrics, metrics_rows
from apexbench.stats import (
    CI_METRICS,
    bootstrap_indices,
    bootstrap_intervals,
    fill_intervals,
    headline_metrics,
    mcnemar_exact,
    paired_comparisons,
    percentile_interval,
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


def test_headline_metrics_equal_the_reported_definitions():
    rng = np.random.default_rng(1)
    for _ in range(100):
        n = int(rng.integers(1, 30))
        t, p = rng.integers(0, 7, n), rng.integers(0, 9, n)
        fast = headline_metrics(t, p, 7, list(range(9)))
        reference = classification_metrics(t, p, list(range(7)))
        for metric, value in fast.items():
            assert value == pytest.approx(reference[metric], nan_ok=True), metric


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
