"""The aggregate stage, per evaluation set: every classifier's predictions -> the set's metrics.csv,
confusion matrices, statistics and summary.

Predictions are joined to the set's validated sample table by ``sample_id``; the true label is the
sample's canonical label, the prediction its ``pred_canonical`` when the status is ``ok`` and
``labels.NO_PREDICTION`` otherwise, so every failure counts as wrong in the headline numbers.
The true label is mapped to the scheme's class (``labels.scheme_label``); samples whose label the
scheme excludes (e.g. contempt under ``canonical7``, others under ``megc3``) are left out of the
scheme's metrics and counted in the summary. Predictions of trained baselines carry a ``fold``
column; their per-fold accuracy spread is added (``metrics.fold_rows``).

A composite set reads its datasets' own prediction shards (sample ids prefixed by the dataset, as
in its pooled table); off-the-shelf predictions made under another scheme are re-scored from their
stored scores under the composite's scheme. Besides the pool's rows it writes each source's share
(``dataset`` = ``<composite>:<source>``): accuracy, UAR, UF1 ... of the pooled predictions on that
source's samples, with their own bootstrap intervals, as MEGC reports Full / SMIC / CASME II / SAMM.
A classifier that could not run (weights unavailable, conversion failed) has one ``unavailable``
row with the fix, read from its status records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .composite import SOURCE_COLUMN  # noqa: E402
from .confidence import prediction_confidence  # noqa: E402
from .labels import NO_PREDICTION, SCHEMES, predict_canonical, scheme_label  # noqa: E402
from .metrics import (  # noqa: E402
    METRIC_COLUMNS, NOT_APPLICABLE, confusion_table, fold_rows, metrics_rows, unavailable_rows, unavailable_status,
)
from .analysis import analyse  # noqa: E402
from .stats import bootstrap_indices, bootstrap_intervals, fill_intervals  # noqa: E402
from .tables import read_meta, read_parquet, write_csv, write_text  # noqa: E402


@dataclass
class ClassifierResult:
    name: str
    metrics: pd.DataFrame
    confusion: pd.DataFrame
    unavailable: str | None = None
    meta: dict = field(default_factory=dict)
    # Per-sample frame (sample_id, label, pred, status, latency_ms, scores, confidence) for the
    # statistics and the gallery; confidence as ``confidence.prediction_confidence`` (0 when the
    # classifier's native label order is unknown).
    predictions: pd.DataFrame | None = None


def load_predictions(groups: list[tuple[str, list[str | Path]]],
                     scheme: str | None = None) -> tuple[pd.DataFrame, dict, str | None]:
    """Concatenate one classifier's prediction files, given as (sample-id prefix, files) groups;
    returns (frame, metadata, unavailable message). With ``scheme``, each file's predictions are
    first re-scored under it from their own metadata (a composite's sources may each have their own
    scheme), and the metadata returned says ``scheme``."""
    frames, meta, unavailable = [], {}, None
    for prefix, paths in groups:
        for path in paths:
            frame = read_parquet(path)
            shard_meta = read_meta(path)
            if scheme is not None:
                frame = rescored(frame, shard_meta, scheme)
            if prefix:
                frame["sample_id"] = prefix + frame["sample_id"].astype(str)
            frames.append(frame)
            meta = meta or shard_meta
            unavailable = unavailable or shard_meta.get("unavailable")
    if scheme is not None and meta:
        meta = {**meta, "scheme": scheme}
    return pd.concat(frames, ignore_index=True), meta, unavailable


def unavailable_reason(records: list[dict]) -> str | None:
    """The fix of the first status record (weights, conversion, export) that says unavailable."""
    for record in records:
        if not record.get("available", False):
            return record.get("message") or record.get("reason") or "unavailable"
    return None


def rescored(predictions: pd.DataFrame, meta: dict, scheme: str) -> pd.DataFrame:
    """Predictions made under another label scheme, their prediction taken again under ``scheme``
    from the stored native scores (a composite pools datasets with schemes of their own)."""
    if meta.get("scheme") in (None, scheme) or meta.get("trained") or not meta.get("native_order"):
        return predictions
    ok = (predictions["status"] == "ok").to_numpy()
    out = predictions.copy()
    if ok.any():
        scores = np.array(out.loc[ok, "scores"].tolist(), dtype=np.float64)
        out.loc[ok, "pred_canonical"] = predict_canonical(scores, meta["native_order"], scheme,
                                                          meta.get("contempt", "mask"))
    return out


def evaluate_classifier(name: str, samples: pd.DataFrame, predictions: pd.DataFrame, scheme: str,
                        meta: dict, unavailable: str | None) -> ClassifierResult:
    classes = list(SCHEMES[scheme])
    samples = samples.assign(label_canonical=[scheme_label(x, scheme) for x in samples["label_canonical"]])
    in_scheme = samples[samples["label_canonical"].notna()]
    if unavailable:
        return ClassifierResult(name, unavailable_rows(name, scheme, unavailable, len(in_scheme)),
                                confusion=confusion_table([], [], classes), unavailable=unavailable, meta=meta)
    joined = in_scheme[["sample_id", "label_canonical"]].merge(rescored(predictions, meta, scheme), on="sample_id",
                                                               how="left", validate="one_to_one")
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
    scores, native = joined["scores"].to_numpy(), meta.get("native_order") or []
    confidence = (prediction_confidence(list(scores), ok.to_numpy(), native, scheme, meta.get("contempt", "mask"))
                  if native else np.zeros(len(frame)))
    return ClassifierResult(
        name,
        rows,
        confusion=confusion_table(frame["label"], frame["pred"], classes),
        meta=meta,
        predictions=frame.assign(scores=scores, confidence=confidence),
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
    if not len(samples):
        lines += ["**No sample passed validation**: every classifier is listed without numbers. See "
                  f"`results/{dataset}/validated/summary.md` for the reasons.", ""]
    if outside:
        lines += [f"{outside} sample(s) with a label outside the scheme are left out of its metrics.", ""]
    lines += ["| Classifier | Accuracy | UAR | UF1 | Coverage | Latency (ms/face) |", "|---|---:|---:|---:|---:|---:|"]
    unavailable, not_applicable = [], []
    for r in results:
        if r.unavailable and unavailable_status(r.unavailable) == NOT_APPLICABLE:
            lines.append(f"| {r.name} | not applicable | | | | |")
            not_applicable.append(f"- **{r.name}**: {r.unavailable}")
            continue
        if r.unavailable:
            lines.append(f"| {r.name} | unavailable | | | | |")
            unavailable.append(f"- **{r.name}**: {r.unavailable}")
            continue
        overall = r.metrics[r.metrics["class"] == ""].set_index("metric")["value"]
        if not overall["accuracy"] == overall["accuracy"]:  # NaN: no sample in the scheme
            lines.append(f"| {r.name} | no samples | | | | |")
            continue
        lines.append(
            f"| {r.name} | {overall['accuracy']:.3f} | {overall['balanced_accuracy']:.3f} | "
            f"{overall['f1_macro']:.3f} | {overall['coverage']:.3f} | {overall['latency_ms_mean']:.2f} |"
        )
    if unavailable:
        lines += ["", "## Unavailable classifiers", "", *unavailable,
                  "", "Place the file as described and run the same command again; only that classifier runs."]
    if not_applicable:
        lines += ["", "## Not applicable to this dataset", "", *not_applicable]
    lines += ["", f"Full numbers: `results/{dataset}/metrics.csv`; confusion matrices: `results/{dataset}/confusion/`; "
              f"statistics: `results/{dataset}/stats/`.",
              f"Report with intervals, paired tests, robustness and confidence: `results/{dataset}/report.html`.", ""]
    return "\n".join(lines)


def subset_rows(results: list[ClassifierResult], samples: pd.DataFrame, evalset: str, scheme: str,
                statistics: dict, sources: list[str], log=None) -> pd.DataFrame:
    """Each source dataset's share of a composite: the headline and per-class rows of the pooled
    predictions on that source's samples, with bootstrap intervals (``dataset`` = ``<set>:<source>``)."""
    classes = list(SCHEMES[scheme])
    source_of = samples.set_index("sample_id")[SOURCE_COLUMN]
    rows = []
    for source in sources:
        name = f"{evalset}:{source}"
        indices = None
        for result in results:
            if result.unavailable or result.predictions is None:
                rows.append(result.metrics.assign(dataset=name, n=int((source_of == source).sum())))
                continue
            frame = result.predictions[result.predictions["sample_id"].map(source_of) == source]
            part = metrics_rows(frame, result.name, scheme, classes)
            if indices is None:
                indices = bootstrap_indices(len(frame), statistics["bootstrap"], statistics["seed"])
            intervals = bootstrap_intervals(frame["label"], frame["pred"], (frame["status"] == "ok").to_numpy(),
                                            classes, indices, statistics["confidence_level"], log=log,
                                            label=f"{result.name}/{source}")
            rows.append(fill_intervals(part, intervals).assign(dataset=name))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=METRIC_COLUMNS)


def aggregate_set(info: dict, samples_path: str | Path, layout: dict, status: dict[str, list[dict]],
                  statistics: dict, confidence: dict, out: dict[str, str | Path], log) -> list[ClassifierResult]:
    """The whole aggregate stage of one evaluation set; writes every output named in ``out``.

    ``info``: the set's ``name``, ``kind`` (dataset | composite) and ``scheme``. ``layout``:
    classifier -> perturbation -> [(sample-id prefix, prediction files)]. ``status``: classifier ->
    its status records (weights, conversion; empty for classifiers without weights): a classifier
    with an unavailable record is reported with that record's fix and its files are not read.
    ``out`` names ``metrics``, ``summary``, the ``confusion`` directory and the statistics tables
    (``paired``, ``confidence``, ``coverage``, ``robustness``; see ``analysis``).
    """
    name, scheme = info["name"], info["scheme"]
    samples = read_parquet(samples_path)
    confusion_dir = Path(out["confusion"])
    confusion_dir.mkdir(parents=True, exist_ok=True)
    by_perturbation: dict[str, list[ClassifierResult]] = {}
    for clf, files in layout.items():
        reason = unavailable_reason(status.get(clf, []))
        for perturbation, groups in files.items():
            if reason:
                result = evaluate_classifier(clf, samples, pd.DataFrame(), scheme, {}, reason)
            else:
                frame, meta, unavailable = load_predictions(groups, scheme)
                result = evaluate_classifier(clf, samples, frame, scheme, meta, unavailable)
            by_perturbation.setdefault(perturbation, []).append(result)
            print(f"[aggregate] {name}/{clf} ({perturbation}): "
                  f"{'unavailable' if result.unavailable else f'{len(result.predictions)} predictions'}", file=log)
    results = by_perturbation.setdefault("none", [])
    for result in results:
        write_csv(result.confusion.reset_index(), confusion_dir / f"{result.name}.csv")
        title = f"{result.name} on {name} ({scheme})" + (": unavailable" if result.unavailable else "")
        plot_confusion(result.confusion, title, confusion_dir / f"{result.name}.png")
    tables = analyse(by_perturbation, scheme, statistics, confidence, log=log)
    metrics = tables.metrics.assign(dataset=name)
    if info["kind"] == "composite":
        metrics = pd.concat([metrics, subset_rows(results, samples, name, scheme, tables.statistics, info["sources"],
                                                  log)],
                            ignore_index=True)
    write_csv(metrics[METRIC_COLUMNS], out["metrics"])
    write_csv(tables.paired.assign(dataset=name), out["paired"])
    write_csv(tables.buckets, out["confidence"])
    write_csv(tables.curve, out["coverage"])
    write_csv(tables.robustness, out["robustness"])
    write_text(summary_markdown(results, samples, scheme, name), out["summary"])
    return results
