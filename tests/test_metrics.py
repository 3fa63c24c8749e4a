"""Metric rows checked against numbers computed by hand."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import balanced_accuracy_score

from apexbench.labels import NO_PREDICTION
from apexbench.metrics import (
    METRIC_COLUMNS,
    OVERALL_METRICS,
    PER_CLASS_METRICS,
    classification_metrics,
    confusion_table,
    metrics_rows,
    unavailable_rows,
)

EXACT = {"abs": 1e-12}
NP = NO_PREDICTION
# "fear" is a class of the scheme that never occurs in y_true but is predicted once.
CLASSES = ["neutral", "happiness", "surprise", "fear"]

# 10 samples. Failures (no_face, error) carry NO_PREDICTION; sample 7 predicts the out-of-scheme
# "contempt" (the `wrong` strategy); sample 9 predicts the absent class "fear".
#   id  true       pred           status          latency
ROWS = [
    ("s01", "neutral", "neutral", "ok", 10.0),
    ("s02", "neutral", "neutral", "ok", 20.0),
    ("s03", "neutral", "happiness", "ok", 30.0),
    ("s04", "neutral", NP, "no_face", math.nan),
    ("s05", "happiness", "happiness", "ok", 40.0),
    ("s06", "happiness", "happiness", "ok", 50.0),
    ("s07", "happiness", "contempt", "ok", 60.0),
    ("s08", "surprise", "surprise", "ok", 70.0),
    ("s09", "surprise", "fear", "ok", 190.0),
    ("s10", "surprise", NP, "error:timeout", math.nan),
]
Y_TRUE = [r[1] for r in ROWS]
Y_PRED = [r[2] for r in ROWS]

# Per class (one-vs-rest), labels in CLASSES order:
#   neutral:   predicted neutral {s01,s02}, TP 2     -> P = 2/2 = 1;   support 4, R = 2/4 = 1/2;
#              F1 = 2*1*(1/2) / (3/2) = 2/3
#   happiness: predicted happiness {s03,s05,s06}, TP 2 -> P = 2/3; support 3, R = 2/3; F1 = 2/3
#   surprise:  predicted surprise {s08}, TP 1        -> P = 1;   support 3, R = 1/3;
#              F1 = 2*(1/3) / (4/3) = 1/2
#   fear:      predicted fear {s09}, TP 0            -> P = 0/1 = 0; support 0, R = 0 (0/0 -> 0); F1 = 0
PER_CLASS = {
    "neutral": {"precision": 1.0, "recall": 1 / 2, "f1": 2 / 3, "support": 4},
    "happiness": {"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3, "support": 3},
    "surprise": {"precision": 1.0, "recall": 1 / 3, "f1": 1 / 2, "support": 3},
    "fear": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0},
}
# accuracy: correct {s01,s02,s05,s06,s08} = 5 of 10 (both failures count as wrong) = 1/2.
ACCURACY = 5 / 10
# UAR over the present classes neutral, happiness, surprise: (1/2 + 2/3 + 1/3) / 3 = 1/2.
UAR = (1 / 2 + 2 / 3 + 1 / 3) / 3
# UF1 over the present classes: (2/3 + 2/3 + 1/2) / 3 = (11/6) / 3 = 11/18.
UF1 = 11 / 18
# weighted F1: (4 * 2/3 + 3 * 2/3 + 3 * 1/2) / 10 = (8/3 + 2 + 3/2) / 10 = (37/6) / 10 = 37/60.
F1_WEIGHTED = 37 / 60
# kappa over labels neutral, happiness, surprise, fear, contempt, no_prediction:
#   po = 5/10; true marginals 4, 3, 3, 0, 0, 0; predicted marginals 2, 3, 1, 1, 1, 2 (sum 10)
#   pe = (4*2 + 3*3 + 3*1) / 10^2 = 20/100 = 1/5;  kappa = (1/2 - 1/5) / (1 - 1/5) = 3/8.
KAPPA = 3 / 8
# status: 8 of 10 ok -> coverage 4/5, n_failed 2; ok samples correct {s01,s02,s05,s06,s08} -> 5/8.
# latency over ok: (10+20+30+40+50+60+70+190) / 8 = 470/8 = 58.75; median = (40 + 50) / 2 = 45.
OVERALL = {
    "accuracy": (ACCURACY, 10),
    "balanced_accuracy": (UAR, 10),
    "f1_macro": (UF1, 10),
    "f1_weighted": (F1_WEIGHTED, 10),
    "cohen_kappa": (KAPPA, 10),
    "coverage": (8 / 10, 10),
    "accuracy_covered": (5 / 8, 8),
    "latency_ms_mean": (58.75, 8),
    "latency_ms_median": (45.0, 8),
    "n_failed": (2.0, 10),
}


def predictions_frame(rows=ROWS) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["sample_id", "label", "pred", "status", "latency_ms"])


def value(frame: pd.DataFrame, metric: str, cls: str = "") -> pd.Series:
    row = frame[(frame["metric"] == metric) & (frame["class"] == cls)]
    assert len(row) == 1, (metric, cls)
    return row.iloc[0]


@pytest.fixture
def rows() -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return metrics_rows(predictions_frame(), "clf", "canonical7", CLASSES)


def test_classification_metrics_hand_computed():
    scores = classification_metrics(Y_TRUE, Y_PRED, CLASSES)
    assert scores["n"] == 10
    assert scores["accuracy"] == pytest.approx(ACCURACY, **EXACT)
    assert scores["balanced_accuracy"] == pytest.approx(UAR, **EXACT)
    assert scores["f1_macro"] == pytest.approx(UF1, **EXACT)
    assert scores["f1_weighted"] == pytest.approx(F1_WEIGHTED, **EXACT)
    assert scores["cohen_kappa"] == pytest.approx(KAPPA, **EXACT)
    assert list(scores["per_class"]) == CLASSES
    for cls, expected in PER_CLASS.items():
        assert scores["per_class"][cls] == pytest.approx(expected, **EXACT), cls


def test_metrics_rows_columns_and_order(rows):
    assert list(rows.columns) == METRIC_COLUMNS
    expected_keys = [(m, "") for m in OVERALL_METRICS] + [
        (m, c) for c in CLASSES for m in PER_CLASS_METRICS
    ]
    assert list(zip(rows["metric"], rows["class"])) == expected_keys
    assert (rows["classifier"] == "clf").all() and (rows["label_scheme"] == "canonical7").all()
    assert rows["ci_low"].isna().all() and rows["ci_high"].isna().all()
    assert (rows["note"] == "").all()
    assert rows["n"].dtype == np.int64 and rows["value"].dtype == np.float64


def test_metrics_rows_overall_values(rows):
    for metric, (expected, n) in OVERALL.items():
        row = value(rows, metric)
        assert row["value"] == pytest.approx(expected, **EXACT), metric
        assert row["n"] == n, metric


def test_metrics_rows_per_class_values_including_absent_class(rows):
    for cls, expected in PER_CLASS.items():
        for metric in PER_CLASS_METRICS:
            row = value(rows, metric, cls)
            assert row["value"] == pytest.approx(expected[metric], **EXACT), (cls, metric)
            assert row["n"] == 10
    assert value(rows, "support", "fear")["value"] == 0.0


def test_uar_equals_sklearn_balanced_accuracy_when_predictions_are_in_classes():
    cases = [
        (["a", "a", "b", "b", "c"], ["a", "b", "b", "b", "a"]),
        # "c" is predicted but absent from y_true: sklearn drops it from the mean, and so do we.
        (["a", "a", "a", "b"], ["a", "c", "c", "b"]),
        (["b", "b", "b"], ["b", "a", "b"]),
    ]
    for y_true, y_pred in cases:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # sklearn warns that y_pred has classes not in y_true
            expected = balanced_accuracy_score(y_true, y_pred)
        uar = classification_metrics(y_true, y_pred, ["a", "b", "c"])["balanced_accuracy"]
        assert uar == pytest.approx(expected, **EXACT), (y_true, y_pred)


def test_a_failure_never_leaves_the_accuracy_or_kappa_denominator():
    # Every prediction made is right; one sample failed. Dropping it would give accuracy = kappa = 1.
    # accuracy = 3/4. kappa over labels a, b, no_prediction: po = 3/4, true marginals 2, 2, 0,
    # predicted marginals 2, 1, 1 -> pe = (2*2 + 2*1) / 16 = 3/8; kappa = (3/4 - 3/8) / (5/8) = 3/5.
    scores = classification_metrics(["a", "b", "a", "b"], ["a", "b", "a", NP], ["a", "b"])
    assert scores["accuracy"] == pytest.approx(3 / 4, **EXACT)
    assert scores["cohen_kappa"] == pytest.approx(3 / 5, **EXACT)


def test_undefined_kappa_is_nan_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scores = classification_metrics(["a", "a"], ["a", "a"], ["a", "b"])
    assert scores["accuracy"] == 1.0
    assert math.isnan(scores["cohen_kappa"])


def test_confusion_table_counts_and_column_order():
    table = confusion_table(Y_TRUE, Y_PRED, CLASSES)
    assert table.index.name == "true" and table.columns.name == "pred"
    assert list(table.index) == CLASSES
    assert list(table.columns) == CLASSES + ["contempt", NP]
    expected = [
        # neutral, happiness, surprise, fear, contempt, no_prediction
        [2, 1, 0, 0, 0, 1],  # neutral: s01 s02 | s03 | s04
        [0, 2, 0, 0, 1, 0],  # happiness: s05 s06 | s07
        [0, 0, 1, 1, 0, 1],  # surprise: s08 | s09 | s10
        [0, 0, 0, 0, 0, 0],  # fear: absent
    ]
    assert table.to_numpy().tolist() == expected
    assert all(dtype.kind == "i" for dtype in table.dtypes)
    assert int(table.to_numpy().sum()) == len(ROWS)


def test_confusion_table_extra_columns_sorted_with_no_prediction_last():
    # "sadness" sorts after "no_prediction" alphabetically, but no_prediction still comes last.
    table = confusion_table(
        ["neutral", "happiness", "neutral", "happiness"],
        [NP, "sadness", "contempt", "happiness"],
        ["neutral", "happiness"],
    )
    assert list(table.columns) == ["neutral", "happiness", "contempt", "sadness", NP]
    assert table.to_numpy().tolist() == [[0, 0, 1, 0, 1], [0, 1, 0, 1, 0]]


def test_empty_predictions_give_nan_rates_and_zero_counts():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rows = metrics_rows(predictions_frame([]), "clf", "canonical7", CLASSES)
        table = confusion_table([], [], CLASSES)
    assert len(rows) == len(OVERALL_METRICS) + len(PER_CLASS_METRICS) * len(CLASSES)
    assert (rows["n"] == 0).all()
    counts = rows["metric"].isin(["n_failed", "support"])
    assert (rows.loc[counts, "value"] == 0.0).all()
    assert rows.loc[~counts, "value"].isna().all()
    assert table.shape == (len(CLASSES), len(CLASSES))
    assert (table.to_numpy() == 0).all()


def test_all_failed_gives_zero_coverage_and_nan_covered_metrics():
    failed = [("s1", "neutral", NP, "no_face", math.nan), ("s2", "fear", NP, "error:io", math.nan)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rows = metrics_rows(predictions_frame(failed), "clf", "canonical7", CLASSES)
    assert value(rows, "accuracy")["value"] == 0.0
    assert value(rows, "coverage")["value"] == 0.0
    assert value(rows, "n_failed")["value"] == 2.0
    for metric in ("accuracy_covered", "latency_ms_mean", "latency_ms_median"):
        assert math.isnan(value(rows, metric)["value"]) and value(rows, metric)["n"] == 0


def test_unavailable_rows():
    rows = unavailable_rows("clf", "canonical7", "weights not found: mirror offline", 42)
    assert list(rows.columns) == METRIC_COLUMNS
    assert len(rows) == 1
    row = rows.iloc[0]
    assert (row["classifier"], row["label_scheme"], row["metric"], row["class"]) == (
        "clf",
        "canonical7",
        "unavailable",
        "",
    )
    assert math.isnan(row["value"]) and math.isnan(row["ci_low"]) and math.isnan(row["ci_high"])
    assert row["n"] == 42 and row["note"] == "weights not found: mirror offline"


def test_invalid_input_is_rejected():
    with pytest.raises(ValueError, match="not classes"):
        classification_metrics(["contempt"], ["neutral"], CLASSES)
    with pytest.raises(ValueError, match="labels"):
        confusion_table(["neutral"], [], CLASSES)
    with pytest.raises(ValueError, match="latency_ms"):
        metrics_rows(predictions_frame().drop(columns="latency_ms"), "clf", "canonical7", CLASSES)


def test_integer_coded_metrics_equal_scikit_learn_on_the_labels_themselves():
    """classification_metrics hands scikit-learn integer codes (fast); every number equals scikit-learn
    called on the string labels with the same labels= lists (absent classes, out-of-scheme and
    no-prediction labels, tiny samples with undefined kappa)."""
    from sklearn.exceptions import UndefinedMetricWarning
    from sklearn.metrics import accuracy_score, cohen_kappa_score, f1_score, precision_recall_fscore_support, \
        recall_score

    from apexbench.metrics import extra_labels

    rng = np.random.default_rng(7)
    pool = ["neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear"]
    checked = 0
    for k in (1, 2, 3, 7):
        classes = pool[:k]
        for n in (1, 3, 40, 500):
            present = list(rng.choice(classes, size=int(rng.integers(1, k + 1)), replace=False))
            y_true = list(rng.choice(present, size=n))
            others = classes + ["contempt", NO_PREDICTION]
            y_pred = [t if rng.random() < 0.5 else str(rng.choice(others)) for t in y_true]
            got = classification_metrics(y_true, y_pred, classes)
            in_true = [c for c in classes if c in set(y_true)]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UndefinedMetricWarning)
                kappa = cohen_kappa_score(y_true, y_pred, labels=classes + extra_labels(y_pred, classes),
                                          replace_undefined_by=np.nan)
            p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=classes, zero_division=0)
            expected = {
                "accuracy": accuracy_score(y_true, y_pred),
                "balanced_accuracy": recall_score(y_true, y_pred, labels=in_true, average="macro", zero_division=0),
                "f1_macro": f1_score(y_true, y_pred, labels=in_true, average="macro", zero_division=0),
                "f1_weighted": f1_score(y_true, y_pred, labels=in_true, average="weighted", zero_division=0),
                "cohen_kappa": kappa,
            }
            for metric, value in expected.items():
                assert got[metric] == value or (math.isnan(got[metric]) and math.isnan(value)), metric
            assert got["per_class"] == {c: {"precision": float(a), "recall": float(b), "f1": float(c_), "support": int(d)}
                                        for c, a, b, c_, d in zip(classes, p, r, f, s)}
            checked += 1
    assert checked == 16
