"""Classification metrics in the tidy ``results/metrics.csv`` contract: one row per number.

Columns, in order: ``METRIC_COLUMNS``. ``dataset`` names the evaluation set (a dataset, a composite,
or ``<composite>:<dataset>`` for one source's share of a composite; filled by the aggregate stage,
empty here); ``perturbation`` names the robustness probe the predictions
ran under (``none`` here; the aggregate stage sets it); ``class`` is empty for overall metrics;
``ci_low`` and ``ci_high`` are NaN here and filled by the bootstrap (``stats.bootstrap_intervals``);
``n`` is the number of samples the value is computed on; ``note`` is empty except on special rows (``unavailable``).

``y_true`` holds the true labels, always classes of the scheme. ``y_pred`` holds the predictions,
which may lie outside the scheme: an out-of-scheme label (``contempt`` under the ``wrong``
strategy) or ``labels.NO_PREDICTION`` for a sample without a prediction. Every metric below is
computed by scikit-learn with explicit ``labels=`` (and ``zero_division=0`` where it applies), so
no class and no sample can silently drop out.

Overall rows, on all samples (a failure always counts as a wrong prediction):

- ``accuracy``: share of samples with ``y_pred == y_true``.
- ``balanced_accuracy``: unweighted average recall (UAR), the mean of per-class recall over the
  classes PRESENT in ``y_true``. A class without true samples has no recall and is left out, as in
  sklearn's ``balanced_accuracy_score``, which it equals whenever all predictions are in ``classes``.
- ``f1_macro``: unweighted F1 (UF1), the mean of per-class F1 over the classes present in ``y_true``.
- ``f1_weighted``: the mean of per-class F1 over the present classes, weighted by support.
- ``cohen_kappa``: Cohen's kappa ``(po - pe) / (1 - pe)`` on the confusion matrix over ``classes``
  plus every other label occurring in ``y_pred``; NaN where undefined (``pe == 1``).

Overall rows from the run status:

- ``coverage``: share of samples with status ``"ok"``.
- ``accuracy_covered``: accuracy over the ok samples only (``n`` = number of ok samples).
- ``latency_ms_mean``, ``latency_ms_median``: over the ok samples' latencies (NaN if none).
- ``n_failed``: number of samples whose status is not ``"ok"``.

Per-class rows, for every class of the scheme including classes absent from ``y_true``:
one-vs-rest ``precision``, ``recall``, ``f1`` (0 where the denominator is 0) and ``support`` (the
number of true samples of the class).

On empty input every rate is NaN and every count (``support``, ``n_failed``, ``n``) is 0.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from .labels import NO_PREDICTION

METRIC_COLUMNS = [
    "dataset", "classifier", "label_scheme", "perturbation", "metric", "class", "value", "ci_low", "ci_high", "n", "note",
]
NO_PERTURBATION = "none"
LABEL_METRICS = ("accuracy", "balanced_accuracy", "f1_macro", "f1_weighted", "cohen_kappa")
STATUS_METRICS = ("coverage", "accuracy_covered", "latency_ms_mean", "latency_ms_median", "n_failed")
OVERALL_METRICS = LABEL_METRICS + STATUS_METRICS
PER_CLASS_METRICS = ("precision", "recall", "f1", "support")
PREDICTION_COLUMNS = ("sample_id", "label", "pred", "status", "latency_ms")
STATUS_OK = "ok"
UNAVAILABLE = "unavailable"
NOT_APPLICABLE = "not applicable"  # an unavailable classifier whose note starts so cannot apply to the set


def unavailable_status(note) -> str:
    """How a classifier that did not run is shown: ``NOT_APPLICABLE`` when its note says it does not
    apply to the set (e.g. it compares onset and APEX on a dataset of stills), else ``UNAVAILABLE``."""
    return NOT_APPLICABLE if str(note or "").startswith(NOT_APPLICABLE) else UNAVAILABLE


def _sk():
    """``sklearn.metrics``, imported on first use: it costs over a second (with scipy), and the jobs
    that import this module only for its column names (the leaderboard) never call it."""
    import sklearn.metrics

    return sklearn.metrics


def extra_labels(y_pred: Sequence[str], classes: Sequence[str]) -> list[str]:
    """Predicted labels outside ``classes``: sorted, with ``NO_PREDICTION`` last."""
    extra = set(y_pred) - set(classes)
    return sorted(extra - {NO_PREDICTION}) + ([NO_PREDICTION] if NO_PREDICTION in extra else [])


def classification_metrics(y_true: Sequence[str], y_pred: Sequence[str], classes: Sequence[str]) -> dict:
    """The label metrics of ``y_pred`` against ``y_true`` (definitions in the module docstring).

    Returns ``{"n", *LABEL_METRICS, "per_class": {class: {precision, recall, f1, support}}}`` with
    ``per_class`` in ``classes`` order.
    """
    y_true, y_pred, classes = _checked_labels(y_true, y_pred, classes)
    if not y_true:
        return _empty_metrics(classes)
    true_set = set(y_true)
    present = [c for c in classes if c in true_set]
    # scikit-learn gets the labels as integer codes (their place in classes + the out-of-scheme
    # predictions): the same counts and the same numbers as on the strings, 5-10x faster (it sorts
    # and compares object arrays otherwise).
    labels = classes + extra_labels(y_pred, classes)
    code = {label: i for i, label in enumerate(labels)}
    t = np.fromiter((code[v] for v in y_true), dtype=np.int64, count=len(y_true))
    p = np.fromiter((code[v] for v in y_pred), dtype=np.int64, count=len(y_pred))
    class_codes, present_codes = [code[c] for c in classes], [code[c] for c in present]
    precision, recall, f1, support = _sk().precision_recall_fscore_support(
        t, p, labels=class_codes, zero_division=0
    )
    return {
        "n": len(y_true),
        "accuracy": float(_sk().accuracy_score(t, p)),
        "balanced_accuracy": float(
            _sk().recall_score(t, p, labels=present_codes, average="macro", zero_division=0)
        ),
        "f1_macro": float(_sk().f1_score(t, p, labels=present_codes, average="macro", zero_division=0)),
        "f1_weighted": float(
            _sk().f1_score(t, p, labels=present_codes, average="weighted", zero_division=0)
        ),
        "cohen_kappa": _coded_kappa(t, p, len(labels)),
        "per_class": {
            c: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for c, p, r, f, s in zip(classes, precision, recall, f1, support)
        },
    }


def metrics_rows(
    predictions: pd.DataFrame, classifier: str, label_scheme: str, classes: Sequence[str]
) -> pd.DataFrame:
    """All metric rows of one classifier under one label scheme, in ``METRIC_COLUMNS`` order.

    Overall rows come first in ``OVERALL_METRICS`` order, then per class in ``classes`` order with
    metrics in ``PER_CLASS_METRICS`` order.
    """
    missing = [c for c in PREDICTION_COLUMNS if c not in predictions.columns]
    if missing:
        raise ValueError(f"predictions lack column(s) {missing}; expected {list(PREDICTION_COLUMNS)}")
    scores = classification_metrics(predictions["label"], predictions["pred"], classes)
    n = len(predictions)
    rows = [(name, "", scores[name], n) for name in LABEL_METRICS]
    rows += _status_rows(predictions)
    rows += [
        (metric, cls, float(values[metric]), n)
        for cls, values in scores["per_class"].items()
        for metric in PER_CLASS_METRICS
    ]
    return _frame(
        _row(classifier, label_scheme, metric, cls, value, count) for metric, cls, value, count in rows
    )


FOLD_METRICS = ("fold_accuracy_mean", "fold_accuracy_std", "fold_accuracy_min", "fold_accuracy_max")


def fold_rows(predictions: pd.DataFrame, classifier: str, label_scheme: str) -> pd.DataFrame:
    """Per-fold accuracy spread of out-of-fold predictions (columns ``label``, ``pred``, ``fold``).

    UF1 / UAR stay computed on the predictions pooled over all folds (``metrics_rows``); these rows
    add the mean, population standard deviation, min and max of the folds' accuracies, ``n`` = the
    number of folds. Samples without a fold (no features: no face, no onset) are not in any fold.
    """
    scored = predictions[predictions["fold"].notna()]
    accs = np.array([
        _sk().accuracy_score(group["label"], group["pred"]) for _, group in scored.groupby("fold", sort=True)
    ], dtype=float)
    values = (accs.mean(), accs.std(), accs.min(), accs.max()) if len(accs) else (math.nan,) * 4
    return _frame(_row(classifier, label_scheme, m, "", float(v), len(accs)) for m, v in zip(FOLD_METRICS, values))


def unavailable_rows(classifier: str, label_scheme: str, message: str, n: int) -> pd.DataFrame:
    """The single row recorded for a classifier that could not run (its weights did not resolve)."""
    return _frame([_row(classifier, label_scheme, UNAVAILABLE, "", math.nan, n, note=message)])


def confusion_table(y_true: Sequence[str], y_pred: Sequence[str], classes: Sequence[str]) -> pd.DataFrame:
    """Counts with true classes as rows and predicted labels as columns.

    Columns are ``classes`` followed by the out-of-scheme predicted labels that occur (sorted,
    ``NO_PREDICTION`` last), so every sample is counted in exactly one cell.
    """
    y_true, y_pred, classes = _checked_labels(y_true, y_pred, classes)
    columns = classes + extra_labels(y_pred, classes)
    if y_true:
        counts = _sk().confusion_matrix(y_true, y_pred, labels=columns)[: len(classes)]
    else:
        counts = np.zeros((len(classes), len(columns)), dtype=np.int64)
    return pd.DataFrame(counts, index=pd.Index(classes, name="true"), columns=pd.Index(columns, name="pred"))


def _checked_labels(
    y_true: Sequence[str], y_pred: Sequence[str], classes: Sequence[str]
) -> tuple[list[str], list[str], list[str]]:
    """The three sequences as lists, after checking lengths and that every true label is a class."""
    y_true, y_pred, classes = list(y_true), list(y_pred), list(classes)
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true has {len(y_true)} labels but y_pred has {len(y_pred)}")
    unknown = sorted(set(y_true) - set(classes))
    if unknown:
        raise ValueError(f"true label(s) {unknown} are not classes of the scheme {classes}")
    return y_true, y_pred, classes


def _coded_kappa(y_true: np.ndarray, y_pred: np.ndarray, n_labels: int) -> float:
    """Kappa over every label (codes ``0..n_labels-1``: the classes plus the out-of-scheme
    predictions), so no sample is dropped."""
    from sklearn.exceptions import UndefinedMetricWarning

    with warnings.catch_warnings():
        # Undefined kappa (pe == 1) is replaced by NaN explicitly; the warning only repeats that.
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        kappa = _sk().cohen_kappa_score(y_true, y_pred, labels=list(range(n_labels)), replace_undefined_by=np.nan)
    return float(kappa)


def _empty_metrics(classes: list[str]) -> dict:
    """``classification_metrics`` of zero samples: NaN rates, zero supports."""
    return {
        "n": 0,
        **{name: math.nan for name in LABEL_METRICS},
        "per_class": {
            c: {"precision": math.nan, "recall": math.nan, "f1": math.nan, "support": 0} for c in classes
        },
    }


def _status_rows(predictions: pd.DataFrame) -> list[tuple[str, str, float, int]]:
    """``STATUS_METRICS`` rows as (metric, class, value, n)."""
    n = len(predictions)
    covered = predictions[predictions["status"] == STATUS_OK]
    n_ok = len(covered)
    latency = covered["latency_ms"].astype(float).dropna()  # mean/median of none are NaN
    accuracy_covered = float(_sk().accuracy_score(covered["label"], covered["pred"])) if n_ok else math.nan
    return [
        ("coverage", "", n_ok / n if n else math.nan, n),
        ("accuracy_covered", "", accuracy_covered, n_ok),
        ("latency_ms_mean", "", float(latency.mean()), len(latency)),
        ("latency_ms_median", "", float(latency.median()), len(latency)),
        ("n_failed", "", float(n - n_ok), n),
    ]


def _row(
    classifier: str, label_scheme: str, metric: str, cls: str, value: float, n: int, note: str = ""
) -> dict:
    return {
        "dataset": "",
        "classifier": classifier,
        "label_scheme": label_scheme,
        "perturbation": NO_PERTURBATION,
        "metric": metric,
        "class": cls,
        "value": value,
        "ci_low": math.nan,
        "ci_high": math.nan,
        "n": n,
        "note": note,
    }


def _frame(rows: Iterable[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=METRIC_COLUMNS)
    return frame.astype({"value": float, "ci_low": float, "ci_high": float, "n": np.int64})
