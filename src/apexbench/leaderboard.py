"""The run's gather step: every evaluation set's metrics in one table, and the leaderboard.

``results/metrics.csv`` is the concatenation of the sets' ``metrics.csv`` (``dataset`` column
first, sets in config order). ``results/leaderboard.csv`` has one row per evaluation set (and per
source share of a composite, ``<composite>:<source>``) and classifier: its status, n, accuracy,
UAR and UF1 with their bootstrap intervals, coverage, its rank on that set and its mean rank.

Ranking: on each set, the classifiers that produced predictions are ranked by UF1 (the
micro-expression field's headline metric, MEGC's first), 1 = best, ties sharing the average rank.
A classifier's ``mean_rank`` is the mean of its ranks over the evaluation sets it was ranked on
(``ranked_on`` of them): the datasets and the composites' pools, not a composite's source shares,
which would count the same predictions twice. A classifier that could not run on a set (weights
unavailable, not applicable, no sample passed validation) has a row with its status and the
reason in ``note``, and no rank.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from .metrics import METRIC_COLUMNS, NOT_APPLICABLE, UNAVAILABLE, unavailable_status
from .provenance import provenance
from .stats import PAIRED_COLUMNS
from .tables import write_csv, write_text

RANK_METRIC = "f1_macro"
HEADLINE = {"accuracy": "accuracy", "balanced_accuracy": "uar", "f1_macro": "uf1"}
LEADERBOARD_COLUMNS = ["dataset", "classifier", "status", "n"] + [
    f"{short}{suffix}" for short in HEADLINE.values() for suffix in ("", "_ci_low", "_ci_high")
] + ["coverage", "rank", "mean_rank", "ranked_on", "note"]
OK, NO_SAMPLES = "ok", "no samples"


def read_metrics(path: str | Path) -> pd.DataFrame:
    metrics = pd.read_csv(path, keep_default_na=False, na_values=[""], dtype={"class": str, "note": str})
    metrics["class"] = metrics["class"].fillna("")
    metrics["note"] = metrics["note"].fillna("")
    return metrics


def leaderboard(metrics: pd.DataFrame, composites: dict[str, list[str]] | None = None) -> pd.DataFrame:
    """The leaderboard of a run's metrics table (see the module docstring)."""
    overall = metrics[(metrics["class"] == "") & (metrics["perturbation"] == "none")]
    rows = []
    for (dataset, clf), group in overall.groupby(["dataset", "classifier"], sort=False):
        values = group.set_index("metric")
        row = {"dataset": dataset, "classifier": clf, "note": ""}
        if UNAVAILABLE in values.index:
            note = str(values.loc[UNAVAILABLE, "note"])
            row.update(status=unavailable_status(note), note=note,
                       n=int(values.loc[UNAVAILABLE, "n"]))
        else:
            row["n"] = int(values.loc["accuracy", "n"])
            row["status"] = OK if row["n"] > 0 else NO_SAMPLES
            if row["status"] == NO_SAMPLES:
                row["note"] = "no sample of this set passed validation (or none is in the label scheme)"
            for metric, short in HEADLINE.items():
                r = values.loc[metric]
                row.update({short: r["value"], f"{short}_ci_low": r["ci_low"], f"{short}_ci_high": r["ci_high"]})
            row["coverage"] = values.loc["coverage", "value"]
        rows.append(row)
    board = pd.DataFrame(rows, columns=LEADERBOARD_COLUMNS)
    ranked = board["status"] == OK
    board.loc[ranked, "rank"] = board[ranked].groupby("dataset", sort=False)["uf1"].rank(ascending=False,
                                                                                          method="average")
    subsets = {f"{c}:{s}" for c, sources in (composites or {}).items() for s in sources}
    main = board[ranked & ~board["dataset"].isin(subsets)]
    means = main.groupby("classifier")["rank"].agg(["mean", "count"])
    board["mean_rank"] = board["classifier"].map(means["mean"])
    board["ranked_on"] = board["classifier"].map(means["count"]).fillna(0).astype(int)
    return board


def gather(metrics_paths: list[str | Path], paired_paths: list[str | Path], model_records: list[dict],
           config: dict, composites: dict[str, list[str]], out: dict[str, str | Path]) -> pd.DataFrame:
    """Write the run's metrics.csv, leaderboard.csv, paired table, summary and provenance (``out``)."""
    metrics = pd.concat([read_metrics(p) for p in metrics_paths], ignore_index=True)[METRIC_COLUMNS]
    paired = pd.concat([pd.read_csv(p) for p in paired_paths], ignore_index=True)
    board = leaderboard(metrics, composites)
    write_csv(metrics, out["metrics"])
    write_csv(board, out["leaderboard"])
    write_csv(paired.reindex(columns=PAIRED_COLUMNS), out["paired"])
    write_text(summary_markdown(board), out["summary"])
    write_text(json.dumps(provenance(config, model_records), indent=2, sort_keys=True) + "\n", out["provenance"])
    return board


def _cell(value: float, digits: int = 3) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def summary_markdown(board: pd.DataFrame) -> str:
    """The run summary: UF1 (and rank) of every classifier on every set, then what could not run."""
    sets = list(dict.fromkeys(board["dataset"]))
    lines = ["# apexbench run summary", "",
             "UF1 (unweighted F1) of each classifier on each evaluation set, its rank there (1 = best, by UF1) "
             "and its mean rank. Intervals, UAR and accuracy: `results/leaderboard.csv`; every number: "
             "`results/metrics.csv`; the report: `results/report/index.html`.", "",
             "| Classifier | " + " | ".join(sets) + " | Mean rank |",
             "|---|" + "---:|" * (len(sets) + 1)]
    for clf, group in board.groupby("classifier", sort=False):
        by_set = group.set_index("dataset")
        cells = []
        for s in sets:
            r = by_set.loc[s] if s in by_set.index else None
            if r is None:
                cells.append("")
            elif r["status"] != OK:
                cells.append(r["status"])
            else:
                cells.append(f"{_cell(r['uf1'])} ({r['rank']:g})")
        mean = group["mean_rank"].iloc[0]
        lines.append(f"| {clf} | " + " | ".join(cells) + f" | {_cell(mean, 2)} |")
    problems = board[board["status"].isin([UNAVAILABLE, NOT_APPLICABLE, NO_SAMPLES])]
    if len(problems):
        lines += ["", "## Not evaluated", ""]
        for (status, note), group in problems.groupby(["status", "note"], sort=False):
            lines.append(f"- {', '.join(dict.fromkeys(group['classifier']))} on "
                         f"{', '.join(dict.fromkeys(group['dataset']))}: **{status}**: {note}")
        if (problems["status"] == UNAVAILABLE).any():
            lines += ["", "Place a missing file as described and run the same command again; only what it "
                      "affects runs."]
    return "\n".join(lines) + "\n"
