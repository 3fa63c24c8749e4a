"""Statistics over evaluated classifiers: intervals, paired tests, confidence and robustness tables.

Input: for each perturbation (``none`` first), the ``aggregate.ClassifierResult`` of every classifier,
each carrying its per-sample frame (``label``, ``pred``, ``status``, ``confidence``) in the same sample
order (the validated in-scheme samples, sorted by ``sample_id``). Unavailable classifiers keep their
single ``unavailable`` row and take part in nothing else.

Outputs (``Analysis``): the metric rows with ``perturbation`` and ``ci_low`` / ``ci_high`` filled,
the paired McNemar table, the confidence buckets, the coverage-accuracy curve, and the robustness
table: for every classifier and perturbation, each headline metric under the perturbation, its
value without, the drop in percentage points (``(none - perturbed) * 100``, positive = worse), and
McNemar's exact p-value of "correct without" vs "correct with" on the same samples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from .confidence import BUCKET_COLUMNS, CURVE_COLUMNS, bucket_table, coverage_accuracy
from .labels import SCHEMES
from .stats import PAIRED_COLUMNS, bootstrap_indices, bootstrap_intervals, fill_intervals, mcnemar_exact, paired_comparisons

ROBUSTNESS_METRICS = ("accuracy", "balanced_accuracy", "f1_macro", "coverage")
ROBUSTNESS_COLUMNS = ["classifier", "perturbation", "metric", "baseline", "value", "drop_points", "n",
                      "mcnemar_p"]
DEFAULT_STATISTICS = {"bootstrap": 1000, "seed": 0, "confidence_level": 0.95}
DEFAULT_CONFIDENCE = {"high": 0.7, "low": 0.4}


@dataclass
class Analysis:
    metrics: pd.DataFrame
    paired: pd.DataFrame
    buckets: pd.DataFrame
    curve: pd.DataFrame
    robustness: pd.DataFrame
    statistics: dict  # the settings used (defaults filled)


def _per_sample(result) -> dict:
    frame = result.predictions
    return {"frame": frame, "ok": (frame["status"] == "ok").to_numpy(),
            "correct": (frame["label"] == frame["pred"]).to_numpy(), "confidence": frame["confidence"].to_numpy()}


def analyse(results: dict[str, list], scheme: str, statistics: dict | None = None, confidence: dict | None = None,
            log=None) -> Analysis:
    """All tables for ``results`` (perturbation -> list of ClassifierResult); see the module docstring."""
    statistics = {**DEFAULT_STATISTICS, **(statistics or {})}
    confidence = {**DEFAULT_CONFIDENCE, **(confidence or {})}
    level = statistics["confidence_level"]
    metrics, paired, buckets, curves = [], [], [], []
    samples: dict[str, dict[str, dict]] = {}
    for perturbation, group in results.items():
        samples[perturbation] = {}
        indices = None
        for result in group:
            rows = result.metrics.copy()
            rows["perturbation"] = perturbation
            if result.unavailable or result.predictions is None:
                metrics.append(rows)
                continue
            s = _per_sample(result)
            samples[perturbation][result.name] = s
            if indices is None:
                indices = bootstrap_indices(len(s["frame"]), statistics["bootstrap"], statistics["seed"])
            intervals = bootstrap_intervals(s["frame"]["label"], s["frame"]["pred"], s["ok"],
                                            list(SCHEMES[scheme]), indices, level, log=log,
                                            label=f"{result.name}/{perturbation}")
            metrics.append(fill_intervals(rows, intervals))
            buckets.append(bucket_table(s["correct"], s["confidence"], s["ok"], confidence["high"],
                                        confidence["low"], result.name, perturbation))
            curves.append(coverage_accuracy(s["correct"], s["confidence"], s["ok"], result.name, perturbation))
        if len(samples[perturbation]) >= 2:
            paired.append(paired_comparisons({k: v["correct"] for k, v in samples[perturbation].items()},
                                             indices, level, perturbation))
    return Analysis(
        metrics=pd.concat(metrics, ignore_index=True),
        paired=pd.concat(paired, ignore_index=True) if paired else pd.DataFrame(columns=PAIRED_COLUMNS),
        buckets=pd.concat(buckets, ignore_index=True) if buckets else pd.DataFrame(columns=BUCKET_COLUMNS),
        curve=pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(columns=CURVE_COLUMNS),
        robustness=robustness_table(pd.concat(metrics, ignore_index=True), samples),
        statistics=statistics,
    )


def robustness_table(metrics: pd.DataFrame, samples: dict[str, dict[str, dict]]) -> pd.DataFrame:
    """Each classifier's headline metrics under every perturbation against the unperturbed run."""
    overall = metrics[(metrics["class"] == "") & metrics["metric"].isin(ROBUSTNESS_METRICS)]
    base = overall[overall["perturbation"] == "none"].set_index(["classifier", "metric"])
    rows = []
    for (clf, pert, metric), row in overall.set_index(["classifier", "perturbation", "metric"]).iterrows():
        if pert == "none" or (clf, metric) not in base.index:
            continue
        baseline = float(base.loc[(clf, metric), "value"])
        a, b = samples.get("none", {}).get(clf), samples.get(pert, {}).get(clf)
        p_value = mcnemar_exact(a["correct"], b["correct"])["p_value"] if a and b else math.nan
        rows.append({"classifier": clf, "perturbation": pert, "metric": metric, "baseline": baseline,
                     "value": float(row["value"]), "drop_points": (baseline - float(row["value"])) * 100.0,
                     "n": int(row["n"]), "mcnemar_p": p_value})
    return pd.DataFrame(rows, columns=ROBUSTNESS_COLUMNS)

