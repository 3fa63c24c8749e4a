"""The aggregate stage: predictions of every classifier -> metrics.csv, confusion matrices, summary.

Predictions are joined to the validated sample table by ``sample_id``; the true label is the
sample's canonical label, the prediction its ``pred_canonical`` when the status is ``ok`` and
``labels.NO_PREDICTION`` otherwise, so every failure counts as wrong in the headline numbers.
The true label is mapped to the scheme's class (``labels.scheme_label``); samples whose label the
scheme excludes (e.g. contempt under ``canonical7``, others under ``megc3``) are left out of the
scheme's metrics and counted in the summary. Predictions of trained baselines carry a ``fold``
column; their per-fold accuracy spread is added (``metrics.fold_rows``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .labels import NO_PREDICTION, SCHEMES, scheme_label  # noqa: E402
from .metrics import METRIC_COLUMNS, confusion_table, fold_rows, metrics_rows, unavailable_rows  # noqa: E402
from .provenance import provenance  # noqa: E402
from .analysis import analyse  # noqa: E402
from .tables import read_meta, read_parquet, write_csv, write_text  # noqa: E402


@dataclass
class ClassifierResult:
    name: str
    metrics: pd.DataFrame
    confusion: pd.DataFrame
    unavailable: str | None = None
    meta: dict = field(default_factory=dict)
    # Per-sample frame (sample_id, label, pred, status, latency_ms, scores) for the statistics.
    predictions: pd.DataFrame | None = None


def load_predictions(paths: list[str | Path]) -> tuple[pd.DataFrame, dict, str | None]:
    """Concatenate one classifier's prediction shards; returns (frame, metadata, unavailable message)."""
    frames, meta, unavailable = [], {}, None
    for path in paths:
        frames.append(read_parquet(path))
        shard_meta = read_meta(path)
        meta = meta or shard_meta
        unavailable = unavailable or shard_meta.get("unavailable")
    return pd.concat(frames, ignore_index=True), meta, unavailable


def evaluate_classifier(name: str, samples: pd.DataFrame, predictions: pd.DataFrame, scheme: str,
                        meta: dict, unavailable: str | None) -> ClassifierResult:
    classes = list(SCHEMES[scheme])
    samples = samples.assign(label_canonical=[scheme_label(x, scheme) for x in samples["label_canonical"]])
    in_scheme = samples[samples["label_canonical"].notna()]
    if unavailable:
        return ClassifierResult(name, unavailable_rows(name, scheme, unavailable, len(in_scheme)),
                                confusion=confusion_table([], [], classes), unavailable=unavailable, meta=meta)
    joined = in_scheme[["sample_id", "label_canonical"]].merge(predictions, on="sample_id", how="left",
                                                               validate="one_to_one")
    if joined["status"].isna().any():
        missing = joined.loc[joined["status"].isna(), "sample_id"].head(3).tolist()
        raise ValueError(f"{name}: no prediction for samples {missing}; rerun its infer jobs")
    ok = joined["status"] == "ok"
    frame = pd.DataFrame({
        "sample_id": joined["sample_id"],
        "label": joined["label_canonical"],
        "pred": np.where(ok, joined["pred_canonical"], NO_PREDICTION),
        "status": joined["status"],
        "latency_ms": joined["latency_ms"].astype(float),
    })
    rows = metrics_rows(frame, name, scheme, classes)
    if "fold" in joined.columns:
        rows = pd.concat([rows, fold_rows(frame.assign(fold=joined["fold"]), name, scheme)], ignore_index=True)
    return ClassifierResult(
        name,
        rows,
        confusion=confusion_table(frame["label"], frame["pred"], classes),
        meta=meta,
        predictions=frame.assign(scores=joined["scores"].to_numpy()),
    )


def metrics_table(results: list[ClassifierResult]) -> pd.DataFrame:
    table = pd.concat([r.metrics for r in results], ignore_index=True)
    return table[METRIC_COLUMNS]


def plot_confusion(confusion: pd.DataFrame, title: str, path: str | Path) -> None:
    """Row-normalised confusion matrix (recall on the diagonal) with counts, as a PNG."""
    counts = confusion.to_numpy()
    totals = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, totals, out=np.zeros(counts.shape, dtype=float), where=totals > 0)
    fig, ax = plt.subplots(figsize=(1.0 + 0.8 * counts.shape[1], 1.0 + 0.7 * counts.shape[0]))
    ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(counts.shape[1]), [str(c).replace("_", "\n") for c in confusion.columns],
                  rotation=45, ha="right")
    ax.set_yticks(range(counts.shape[0]), list(confusion.index))
    for i in range(counts.shape[0]):
        for j in range(counts.shape[1]):
            if counts[i, j]:
                ax.text(j, i, f"{share[i, j]:.2f}\n({counts[i, j]})", ha="center", va="center", fontsize=8,
                        color="white" if share[i, j] > 0.6 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def summary_markdown(results: list[ClassifierResult], samples: pd.DataFrame, scheme: str, dataset: str) -> str:
    classes = SCHEMES[scheme]
    outside = sum(scheme_label(x, scheme) is None for x in samples["label_canonical"])
    lines = [f"# Benchmark summary: {dataset}", "",
             f"{len(samples)} validated samples, scheme `{scheme}` ({', '.join(classes)}).", ""]
    if outside:
        lines += [f"{outside} sample(s) with a label outside the scheme are left out of its metrics.", ""]
    lines += ["| Classifier | Accuracy | UAR | UF1 | Coverage | Latency (ms/face) |", "|---|---:|---:|---:|---:|---:|"]
    unavailable, not_applicable = [], []
    for r in results:
        if r.unavailable and r.unavailable.startswith("not applicable"):
            lines.append(f"| {r.name} | not applicable | | | | |")
            not_applicable.append(f"- **{r.name}**: {r.unavailable}")
            continue
        if r.unavailable:
            lines.append(f"| {r.name} | unavailable | | | | |")
            unavailable.append(f"- **{r.name}**: {r.unavailable}")
            continue
        overall = r.metrics[r.metrics["class"] == ""].set_index("metric")["value"]
        lines.append(
            f"| {r.name} | {overall['accuracy']:.3f} | {overall['balanced_accuracy']:.3f} | "
            f"{overall['f1_macro']:.3f} | {overall['coverage']:.3f} | {overall['latency_ms_mean']:.2f} |"
        )
    if unavailable:
        lines += ["", "## Unavailable classifiers", "", *unavailable,
                  "", "Place the file as described and run the same command again; only that classifier runs."]
    if not_applicable:
        lines += ["", "## Not applicable to this dataset", "", *not_applicable]
    lines += ["", "Full numbers: `results/metrics.csv`; confusion matrices: `results/confusion/`; "
              "validation report: `results/validated/summary.md`.",
              "Report with intervals, paired tests, robustness and confidence: `results/report/index.html`.", ""]
    return "\n".join(lines)


def aggregate_run(samples_path: str | Path, predictions: dict[str, list[str]], scheme: str, dataset: str,
                  model_records: list[dict], config: dict, out: dict[str, str | Path], log,
                  perturbed: dict[str, dict[str, list[str]]] | None = None) -> list[ClassifierResult]:
    """The whole aggregate stage: evaluate every classifier and write all its outputs.

    ``predictions`` maps classifier name -> its shard files; ``perturbed`` maps perturbation ->
    the same for each robustness probe. ``out`` names the ``metrics``, ``summary``, ``provenance``
    files, the ``confusion`` directory and the statistics tables (``paired``, ``confidence``,
    ``coverage``, ``robustness``; see ``analysis``).
    """
    samples = read_parquet(samples_path)
    confusion_dir = Path(out["confusion"])
    confusion_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for name, paths in predictions.items():
        frame, meta, unavailable = load_predictions(paths)
        result = evaluate_classifier(name, samples, frame, scheme, meta, unavailable)
        write_csv(result.confusion.reset_index(), confusion_dir / f"{name}.csv")
        title = f"{name} ({scheme})" + (": unavailable" if unavailable else "")
        plot_confusion(result.confusion, title, confusion_dir / f"{name}.png")
        results.append(result)
        print(f"[aggregate] {name}: {'unavailable' if unavailable else f'{len(frame)} predictions'}", file=log)
    by_perturbation = {"none": results}
    for perturbation, files in (perturbed or {}).items():
        by_perturbation[perturbation] = []
        for name, paths in files.items():
            frame, meta, unavailable = load_predictions(paths)
            by_perturbation[perturbation].append(evaluate_classifier(name, samples, frame, scheme, meta, unavailable))
            print(f"[aggregate] {name} under {perturbation}: {len(frame)} predictions", file=log)
    tables = analyse(by_perturbation, scheme, config.get("statistics"), config.get("confidence"), log=log)
    write_csv(tables.metrics[METRIC_COLUMNS], out["metrics"])
    write_csv(tables.paired, out["paired"])
    write_csv(tables.buckets, out["confidence"])
    write_csv(tables.curve, out["coverage"])
    write_csv(tables.robustness, out["robustness"])
    write_text(summary_markdown(results, samples, scheme, dataset), out["summary"])
    write_text(json.dumps(provenance(config, model_records), indent=2, sort_keys=True) + "\n", out["provenance"])
    return results
