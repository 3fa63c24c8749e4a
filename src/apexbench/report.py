"""The HTML report, built from the run's tables: a self-contained page per evaluation set
(``results/<set>/report.html``) and ``results/report/index.html``: the leaderboard (classifier x
set for accuracy, UAR and UF1 with intervals, ranks, mean rank, the paired tests with Holm's
correction) at the top, then every set's section.

Every figure is a PNG drawn with matplotlib and embedded as a ``data:`` URI, every table is plain
HTML, and there is no external stylesheet, font or script, so each file opens offline, can be mailed
or archived alone, and is byte-identical for identical inputs. Each figure is a
``<figure data-figure="...">``; a small inline script records, once the page has loaded, how many
figures decoded (``body[data-figures]``) and any error (``body[data-errors]``) so a headless
browser can check the page (``apexbench.browser``).
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .labels import CANONICAL  # noqa: E402
from .metrics import unavailable_status  # noqa: E402
from .tables import read_parquet, write_text  # noqa: E402

HEADLINE = [("accuracy", "Accuracy"), ("balanced_accuracy", "UAR"), ("f1_macro", "UF1"),
            ("f1_weighted", "Weighted F1"), ("cohen_kappa", "Cohen's kappa"), ("coverage", "Coverage")]

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;max-width:1100px;color:#222;
line-height:1.4;padding:0 1em}
h1{font-size:1.7em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.8em 0;font-size:.92em}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:right}th{background:#f3f3f3}
td.l,th.l{text-align:left}
figure{display:inline-block;margin:.6em 1em .6em 0;vertical-align:top}
figure img{max-width:100%;border:1px solid #eee}figcaption{font-size:.85em;color:#555;max-width:520px}
.note{color:#555;font-size:.9em}.sig{font-weight:bold}code{background:#f5f5f5;padding:0 .2em}
.strip{display:flex;flex-wrap:wrap;gap:.4em}figure.thumb{margin:0;padding:.3em;border:1px solid #eee}
figure.thumb img{display:inline-block;margin-right:2px}figure.thumb figcaption{font-size:.75em;max-width:200px}
.bad{color:#b00}
"""

CHECK_SCRIPT = """
<script>
(function () {
  var errors = [];
  window.addEventListener('error', function (e) {
    errors.push(e.message || ('cannot load ' + ((e.target && (e.target.src || e.target.href)) || 'a resource')));
    document.body.setAttribute('data-errors', errors.join('; ').slice(0, 500));
  }, true);
  window.addEventListener('load', function () {
    var figures = document.querySelectorAll('figure[data-figure]');
    var ok = 0;
    figures.forEach(function (f) {
      var imgs = Array.prototype.slice.call(f.querySelectorAll('img'));
      var decoded = imgs.length > 0 && imgs.every(function (img) { return img.complete && img.naturalWidth > 0; });
      if (decoded) { ok++; } else { f.setAttribute('data-broken', '1'); }
    });
    document.body.setAttribute('data-figures', ok + '/' + figures.length);
    document.body.setAttribute('data-errors', errors.join('; '));
  });
})();
</script>
"""


def _esc(value) -> str:
    return html.escape(str(value))


def _num(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "&ndash;"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return f"{float(value):.{digits}f}"


def _p(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "&ndash;"
    text = f"{value:.3f}" if value >= 0.001 else f"{value:.1e}"
    return f'<span class="sig">{text}</span>' if value < 0.05 else text


def _table(header: list[str], rows: list, left: int = 1) -> str:
    """An HTML table; cells are already-escaped HTML; the first ``left`` columns are left-aligned; a
    row given as a string is inserted as is (a ready ``<tr>``)."""
    head = "".join(f'<th class="l">{h}</th>' if i < left else f"<th>{h}</th>" for i, h in enumerate(header))
    body = "".join(
        r if isinstance(r, str) else
        "<tr>" + "".join(f'<td class="l">{c}</td>' if i < left else f"<td>{c}</td>" for i, c in enumerate(r)) + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _png_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _fig_png(fig) -> bytes:
    buf = io.BytesIO()
    # Fixed metadata keeps the bytes stable across runs.
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def _figure(key: str, png: bytes, caption: str, alt: str) -> str:
    return (f'<figure data-figure="{_esc(key)}"><img alt="{_esc(alt)}" src="{_png_uri(png)}">'
            f"<figcaption>{caption}</figcaption></figure>")


# --- figures -------------------------------------------------------------------------------------


def _grouped_bars(ax, table: pd.DataFrame) -> None:
    """One group of bars per row of ``table``, one bar per column (classifier), side by side."""
    n = max(1, table.shape[1])
    width = 0.8 / n
    x = np.arange(table.shape[0])
    for i, clf in enumerate(table.columns):
        ax.bar(x + (i - (n - 1) / 2) * width, table[clf].to_numpy(), width, label=str(clf))


def class_distribution_png(counts: pd.Series) -> bytes:
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.bar(range(len(counts)), counts.to_numpy(), color="#4c72b0")
    ax.set_xticks(range(len(counts)), list(counts.index), rotation=30, ha="right")
    ax.set_ylabel("samples")
    ax.set_title("Validated samples per class")
    fig.tight_layout()
    return _fig_png(fig)


def recall_bars_png(recall: pd.DataFrame) -> bytes:
    """``recall``: index = classes, columns = classifiers."""
    fig, ax = plt.subplots(figsize=(8, 3.4))
    _grouped_bars(ax, recall)
    ax.set_xticks(np.arange(recall.shape[0]), list(recall.index), rotation=30, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("recall")
    ax.set_title("Per-class recall")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _fig_png(fig)


def pvalue_matrix_png(matrix: pd.DataFrame) -> bytes:
    fig, ax = plt.subplots(figsize=(1.8 + 1.1 * len(matrix), 1.4 + 0.9 * len(matrix)))
    values = matrix.to_numpy(dtype=float)
    ax.imshow(np.where(np.isnan(values), 1.0, values), cmap="RdYlGn", vmin=0.0, vmax=0.1)
    ax.set_xticks(range(len(matrix.columns)), list(matrix.columns), rotation=30, ha="right")
    ax.set_yticks(range(len(matrix.index)), list(matrix.index))
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            ax.text(j, i, "" if np.isnan(values[i, j]) else f"{values[i, j]:.3g}", ha="center", va="center", fontsize=9)
    ax.set_title("McNemar exact p (red < 0.05)")
    fig.tight_layout()
    return _fig_png(fig)


def coverage_curve_png(curve: pd.DataFrame) -> bytes:
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for clf, group in curve.groupby("classifier", sort=True):
        ax.plot(group["coverage"], group["accuracy"], marker="o", markersize=3, label=str(clf))
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("coverage (share of samples answered)")
    ax.set_ylabel("accuracy on answered")
    ax.set_title("Coverage-accuracy (abstain below a confidence)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _fig_png(fig)


def latency_png(latency: pd.DataFrame) -> bytes:
    fig, ax = plt.subplots(figsize=(5, 0.9 + 0.5 * len(latency)))
    ax.barh(list(latency.index), latency["latency_ms_mean"].to_numpy(), color="#dd8452")
    ax.set_xlabel("ms per face (mean)")
    ax.set_title("Inference latency")
    fig.tight_layout()
    return _fig_png(fig)


def robustness_png(drops: pd.DataFrame) -> bytes:
    """``drops``: index = perturbations, columns = classifiers, accuracy drop in points."""
    fig, ax = plt.subplots(figsize=(7, 3.2))
    _grouped_bars(ax, drops)
    ax.axhline(0, color="#333", linewidth=0.8)
    ax.set_xticks(np.arange(drops.shape[0]), list(drops.index))
    ax.set_ylabel("accuracy drop (points)")
    ax.set_title("Robustness: accuracy lost under each perturbation")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _fig_png(fig)


# --- sections ------------------------------------------------------------------------------------


def _overall(metrics: pd.DataFrame) -> pd.DataFrame:
    return metrics[metrics["class"] == ""]


def dataset_section(samples: pd.DataFrame, rejected: pd.DataFrame | None, dataset: str, a: str = "") -> str:
    removed = (f", {len(rejected)} row(s) removed by validation" if rejected is not None
               else " pooled from " + ", ".join(f"{_esc(k)} ({v})" for k, v in
                                               samples["source_dataset"].value_counts(sort=False).items())
               if "source_dataset" in samples else "")
    parts = [f"<h3 id='{a}dataset'>Samples</h3>",
             f"<p><b>{_esc(dataset)}</b>: {len(samples)} validated samples{removed}, "
             f"{samples['subject'].nunique() if len(samples) else 0} subjects.</p>"]
    if rejected is None:
        pass
    elif len(rejected):
        reasons = rejected.groupby("reason").size().sort_values(ascending=False)
        examples = rejected.groupby("reason")["sample_id"].apply(lambda s: ", ".join(map(str, s.head(3))))
        parts.append("<h4>Removed by validation</h4>" + _table(
            ["Reason", "Rows", "Examples"],
            [[_esc(r), str(int(n)), _esc(examples[r])] for r, n in reasons.items()], left=1))
    else:
        parts.append("<p>No row was removed by validation.</p>")
    counts = samples["label_canonical"].value_counts() if len(samples) else pd.Series(dtype=int)
    counts = counts.reindex([c for c in CANONICAL if c in counts.index]
                            + sorted(c for c in counts.index if c not in CANONICAL))
    if len(counts):
        total = counts.sum()
        parts.append("<h4>Class distribution</h4>" + _table(
            ["Class", "Samples", "Share"], [[_esc(c), str(int(n)), f"{n / total:.1%}"] for c, n in counts.items()]))
        parts.append(_figure(f"{a}class-distribution", class_distribution_png(counts),
                             "Validated samples per canonical class.", "class distribution"))
    return "\n".join(parts)


def metrics_section(metrics: pd.DataFrame, level: float, a: str = "") -> str:
    overall = _overall(metrics)
    rows, reasons = [], {}
    for (dataset, clf, pert), group in overall.groupby(["dataset", "classifier", "perturbation"], sort=False):
        values = group.set_index("metric")
        if "unavailable" in values.index:
            # The reason (often a long fix line) is listed once below the table, not per perturbation.
            note = str(values.loc["unavailable", "note"])
            status = unavailable_status(note)
            reasons.setdefault(clf, note)
            rows.append(f'<tr><td class="l">{_esc(dataset)}</td><td class="l">{_esc(clf)}</td>'
                        f'<td class="l">{_esc(pert)}</td><td>{int(values.loc["unavailable", "n"])}</td>'
                        f'<td class="l note" colspan="{len(HEADLINE)}">{status} (see below)</td></tr>')
            continue
        cells = []
        for metric, _ in HEADLINE:
            r = values.loc[metric]
            ci = (f" <span class='note'>[{_num(r['ci_low'])}, {_num(r['ci_high'])}]</span>"
                  if not math.isnan(r["ci_low"]) else "")
            cells.append(_num(r["value"]) + ci)
        rows.append([_esc(dataset), _esc(clf), _esc(pert), str(int(values.loc["accuracy", "n"]))] + cells)
    return (f"<h3 id='{a}metrics'>Metrics</h3>"
            f"<p>Headline metrics with percentile-bootstrap {level:.0%} intervals in brackets. Samples without a "
            "face or a prediction count as wrong; coverage is the share that got a prediction. A composite's "
            "rows <code>pool:source</code> are the pooled predictions on one source dataset's samples.</p>"
            + _table(["Set", "Classifier", "Perturbation", "n"] + [h for _, h in HEADLINE], rows, left=3)
            + "".join(f"<p class='note'><b>{_esc(clf)}</b>: {_esc(note)}</p>" for clf, note in reasons.items()))


def confusion_section(metrics: pd.DataFrame, confusion_dir: Path, a: str = "") -> str:
    parts = [f"<h3 id='{a}confusion'>Confusion matrices</h3>",
             "<p>Rows: true class; columns: predicted; each row normalised to 1 (recall on the diagonal), "
             "counts in brackets.</p>"]
    rows = _overall(metrics).query("metric == 'unavailable'")
    unavailable = dict(zip(rows["classifier"], rows["note"]))
    for png in sorted(confusion_dir.glob("*.png")):
        clf = png.stem
        if clf in unavailable:
            status = unavailable_status(unavailable[clf])
            parts.append(f"<p class='note'>{_esc(clf)}: {status}, no confusion matrix.</p>")
            continue
        parts.append(_figure(f"{a}confusion-{clf}", png.read_bytes(), f"{_esc(clf)}, normalised by true class.",
                             f"confusion matrix of {clf}"))
    return "\n".join(parts)


def recall_section(metrics: pd.DataFrame, a: str = "") -> str:
    rows = metrics[(metrics["metric"] == "recall") & (metrics["perturbation"] == "none")
                   & ~metrics["dataset"].astype(str).str.contains(":", regex=False)]
    if rows.empty:
        return ""
    recall = rows.pivot_table(index="class", columns="classifier", values="value", sort=False)
    return (f"<h3 id='{a}recall'>Per-class recall</h3>"
            + _figure(f"{a}recall", recall_bars_png(recall), "Recall of each class, per classifier.",
                      "per-class recall"))


def paired_section(paired: pd.DataFrame, level: float, a: str = "") -> str:
    parts = [f"<h3 id='{a}paired'>Paired comparisons</h3>"]
    base = paired[paired["perturbation"] == "none"]
    if base.empty:
        return parts[0] + "<p>Fewer than two classifiers produced predictions; nothing to compare.</p>"
    names = sorted(set(base["classifier_a"]) | set(base["classifier_b"]))
    matrix = pd.DataFrame(np.nan, index=names, columns=names)
    for r in base.itertuples(index=False):
        matrix.loc[r.classifier_a, r.classifier_b] = r.p_value
    parts.append(f"<p>{HOLM_NOTE} The accuracy difference A &minus; B has its paired bootstrap {level:.0%} "
                 "interval.</p>")
    parts.append(_figure(f"{a}paired-matrix", pvalue_matrix_png(matrix), "Matrix of McNemar exact p-values "
                         "(uncorrected).", "paired test matrix"))
    parts.append(paired_table(base))
    return "\n".join(parts)


def paired_table(paired: pd.DataFrame) -> str:
    """One row per unordered pair: counts, exact p, Holm-corrected p, accuracy difference."""
    rows = [[_esc(r.classifier_a), _esc(r.classifier_b), str(r.n), str(r.a_only), str(r.b_only), _p(r.p_value),
             _p(r.p_holm),
             f"{r.accuracy_diff * 100:+.1f} [{_num(r.ci_low * 100, 1)}, {_num(r.ci_high * 100, 1)}]"]
            for r in paired.itertuples(index=False) if r.classifier_a < r.classifier_b]
    return _table(["A", "B", "n", "only A right", "only B right", "p (exact)", "p (Holm)",
                   "accuracy A-B (points)"], rows, left=2)


def latency_section(metrics: pd.DataFrame, a: str = "") -> str:
    overall = _overall(metrics)
    overall = overall[(overall["perturbation"] == "none")
                      & ~overall["dataset"].astype(str).str.contains(":", regex=False)]
    latency = overall.pivot_table(index="classifier", columns="metric", values="value")
    if latency.empty or "latency_ms_mean" not in latency:
        return f"<h3 id='{a}latency'>Latency and throughput</h3><p>No classifier produced predictions.</p>"
    latency = latency.dropna(subset=["latency_ms_mean"])
    rows = [[_esc(c), _num(r["latency_ms_mean"], 2), _num(r["latency_ms_median"], 2),
             _num(1000.0 / r["latency_ms_mean"], 1) if r["latency_ms_mean"] > 0 else "&ndash;"]
            for c, r in latency.iterrows()]
    return (f"<h3 id='{a}latency'>Latency and throughput</h3>"
            "<p>Model time per face (preprocessing and forward pass, batched), on this machine; throughput "
            "is 1000 / mean latency, in faces per second on one inference job.</p>"
            + _table(["Classifier", "mean ms/face", "median ms/face", "faces/s"], rows)
            + (_figure(f"{a}latency", latency_png(latency), "Mean latency per face.", "latency") if len(latency) else ""))


def robustness_section(robustness: pd.DataFrame, a: str = "") -> str:
    head = f"<h3 id='{a}robustness'>Robustness</h3>"
    if robustness.empty:
        return head + ("<p>No perturbation was run. Set <code>perturbations: [none, brightness_contrast, blur, "
                       "jpeg, rotate]</code> in the config to probe robustness.</p>")
    table = robustness.pivot_table(index=["classifier", "perturbation"], columns="metric", values="drop_points",
                                   sort=False)
    acc = robustness[robustness["metric"] == "accuracy"].set_index(["classifier", "perturbation"])
    rows = []
    for (clf, pert), r in table.iterrows():
        row = acc.loc[(clf, pert)]
        rows.append([_esc(clf), _esc(pert), f"{row['baseline']:.3f} &rarr; {row['value']:.3f}",
                     *(f"{r[m]:+.1f}" if m in r and not math.isnan(r[m]) else "&ndash;"
                       for m in ("accuracy", "balanced_accuracy", "f1_macro", "coverage")), _p(row["mcnemar_p"])])
    drops = acc["drop_points"].unstack("classifier")
    return (head + "<p>Drop in percentage points from the unperturbed run (positive = worse). p: McNemar's exact "
            "test of correct-without vs correct-with on the same samples.</p>"
            + _table(["Classifier", "Perturbation", "accuracy", "&Delta; accuracy", "&Delta; UAR", "&Delta; UF1",
                      "&Delta; coverage", "p (exact)"], rows, left=2)
            + _figure(f"{a}robustness", robustness_png(drops), "Accuracy drop per perturbation.", "robustness"))


def confidence_section(buckets: pd.DataFrame, curve: pd.DataFrame, thresholds: dict, a: str = "") -> str:
    head = f"<h3 id='{a}confidence'>Confidence</h3>"
    base_b = buckets[buckets["perturbation"] == "none"]
    base_c = curve[curve["perturbation"] == "none"]
    if base_b.empty:
        return head + "<p>No classifier produced predictions.</p>"
    rows = [[_esc(r.classifier), _esc(r.bucket), str(r.n), _num(r.share), _num(r.accuracy)]
            for r in base_b.itertuples(index=False)]
    return (head + f"<p>Confidence = probability of the predicted class. Buckets: high &ge; {thresholds['high']}, "
            f"mid &ge; {thresholds['low']}, low below; no_prediction = no face or no prediction.</p>"
            + _table(["Classifier", "Bucket", "n", "share", "accuracy"], rows, left=2)
            + _figure(f"{a}coverage-accuracy", coverage_curve_png(base_c),
                      "Each point: abstain below a confidence threshold (0, 0.05, ..., 1).", "coverage-accuracy"))


def provenance_section(prov: dict) -> str:
    models = [[_esc(k), _esc(v["file"]), f"<code>{_esc(v['sha256'] or '-')}</code>", "yes" if v["available"] else "no",
               _esc(v.get("license") or "")] for k, v in sorted(prov.get("models", {}).items())]
    packages = [[_esc(k), _esc(v or "not installed")] for k, v in sorted(prov.get("packages", {}).items())]
    return ("<h2 id='provenance'>Provenance</h2>"
            f"<p>apexbench {_esc(prov.get('apexbench'))}, Python {_esc(prov.get('python'))}; config sha256 "
            f"<code>{_esc(prov.get('config_sha256'))}</code>.</p>"
            + _table(["Model", "File", "sha256", "available", "licence"], models, left=5)
            + _table(["Package", "Version"], packages, left=2))


HOLM_NOTE = ("McNemar's exact test on the same samples (failures count as wrong), for every pair of "
             "classifiers within an evaluation set; <b>p (Holm)</b> corrects each set's k(k&minus;1)/2 p-values "
             "with Holm's step-down method (family-wise error rate; one family per set and perturbation). "
             "Bold: below 0.05.")
SET_TOC = [("dataset", "Samples"), ("metrics", "Metrics"), ("confusion", "Confusion"), ("recall", "Recall"),
           ("paired", "Paired tests"), ("latency", "Latency"), ("robustness", "Robustness"),
           ("confidence", "Confidence")]


def _anchor(name: str) -> str:
    return "set-" + "".join(c if c.isalnum() or c in "-_" else "-" for c in name) + "-"


set_anchor = _anchor  # the prefix of a set's anchors, for fragments built elsewhere (the gallery)


def read_metrics_csv(path: str | Path) -> pd.DataFrame:
    metrics = pd.read_csv(path, keep_default_na=False, na_values=[""], dtype={"class": str, "note": str})
    metrics["class"] = metrics["class"].fillna("")
    metrics["note"] = metrics["note"].fillna("")
    return metrics


def set_section(inputs: dict[str, str | Path], info: dict, statistics: dict, confidence: dict,
                gallery: str = "") -> str:
    """One evaluation set's section (HTML fragment) from its files (``inputs``: metrics, paired,
    confidence, coverage, robustness, samples, confusion, and rejected for a dataset); ``gallery``:
    the set's error gallery (``apexbench.gallery``), placed after the confusion matrices, with a link
    to the set's sample browser."""
    name = info["name"]
    a = _anchor(name)
    metrics = read_metrics_csv(inputs["metrics"])
    level = statistics.get("confidence_level", 0.95)
    samples = read_parquet(inputs["samples"])
    rejected = pd.read_csv(inputs["rejected"]) if inputs.get("rejected") else None
    kind = ("composite of " + ", ".join(info["sources"]) if info["kind"] == "composite" else "dataset")
    if info.get("cross_train"):
        kind += f"; trained baselines trained on {info['cross_train']} (cross-dataset)"
    sections = [
        dataset_section(samples, rejected, name, a),
        metrics_section(metrics, level, a),
        confusion_section(metrics, Path(inputs["confusion"]), a),
        gallery,
        recall_section(metrics, a),
        paired_section(pd.read_csv(inputs["paired"]), level, a),
        latency_section(metrics, a),
        robustness_section(pd.read_csv(inputs["robustness"]), a),
        confidence_section(pd.read_csv(inputs["confidence"]), pd.read_csv(inputs["coverage"]),
                           {"high": 0.7, "low": 0.4, **confidence}, a),
    ]
    toc_entries = SET_TOC[:3] + ([("gallery", "Gallery")] if gallery else []) + SET_TOC[3:]
    toc = " &middot; ".join(f"<a href='#{a}{k}'>{t}</a>" for k, t in toc_entries)
    if gallery:
        toc += f" &middot; <a href='../{_esc(name)}/samples.html'>Sample browser</a>"
    return (f"<section class='set' data-set='{_esc(name)}'><h2 id='{a}top'>{_esc(name)}</h2>"
            f"<p class='note'>{_esc(kind)}; label scheme <code>{_esc(info['scheme'])}</code>. Files: "
            f"<code>results/{_esc(name)}/</code>.</p><p>{toc}</p>\n"
            + "\n".join(s for s in sections if s) + "</section>\n")


def _page(title: str, body: str) -> str:
    return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{_esc(title)}</title>"
            f"<style>{CSS}</style></head><body>\n{body}{CHECK_SCRIPT}</body></html>\n")


def set_page(section: str, name: str, statistics: dict) -> str:
    """A whole page for one set's section (``results/<set>/report.html``)."""
    head = (f"<h1>apexbench: {_esc(name)}</h1><p class='note'>{statistics.get('bootstrap', 1000)} bootstrap "
            f"resamples (seed {statistics.get('seed', 0)}). The run's leaderboard: "
            "<a href='../report/index.html'>results/report/index.html</a>.</p>\n")
    return _page(f"apexbench: {name}", head + section)


def write_set_report(inputs: dict[str, str | Path], info: dict, statistics: dict, confidence: dict,
                     page: str | Path, section: str | Path, gallery: str = "") -> None:
    html_section = set_section(inputs, info, statistics, confidence, gallery)
    write_text(html_section, section)
    write_text(set_page(html_section, info["name"], statistics), page)


# --- the index: leaderboard first -----------------------------------------------------------------

LEADERBOARD_METRICS = [("uf1", "UF1"), ("uar", "UAR"), ("accuracy", "Accuracy")]


def leaderboard_png(board: pd.DataFrame) -> bytes:
    """UF1 per classifier (bars) on each set (groups), with the bootstrap intervals as error bars."""
    ok = board[board["status"] == "ok"]
    sets = list(dict.fromkeys(board["dataset"]))
    classifiers = list(dict.fromkeys(board["classifier"]))
    fig, ax = plt.subplots(figsize=(max(6.0, 1.2 + 1.3 * len(sets)), 3.6))
    width = 0.8 / max(1, len(classifiers))
    for i, clf in enumerate(classifiers):
        rows = ok[ok["classifier"] == clf].set_index("dataset").reindex(sets)
        x = np.arange(len(sets)) + (i - (len(classifiers) - 1) / 2) * width
        low = (rows["uf1"] - rows["uf1_ci_low"]).clip(lower=0).fillna(0)
        high = (rows["uf1_ci_high"] - rows["uf1"]).clip(lower=0).fillna(0)
        ax.bar(x, rows["uf1"].fillna(0).to_numpy(), width, yerr=[low.to_numpy(), high.to_numpy()], capsize=2,
               label=str(clf))
    ax.set_xticks(np.arange(len(sets)), sets, rotation=20, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("UF1")
    ax.set_title("UF1 per set, 95% bootstrap intervals (no bar: not evaluated)", fontsize=10)
    ax.legend(fontsize=8, ncol=min(4, len(classifiers)))
    fig.tight_layout()
    return _fig_png(fig)


def leaderboard_section(board: pd.DataFrame, paired: pd.DataFrame, level: float) -> str:
    sets = list(dict.fromkeys(board["dataset"]))
    classifiers = list(dict.fromkeys(board["classifier"]))
    cell = board.set_index(["classifier", "dataset"])
    parts = ["<h2 id='leaderboard'>Leaderboard</h2>",
             f"<p>Each evaluation set is a column; values with percentile-bootstrap {level:.0%} intervals. "
             "Ranks are by UF1 on each set (1 = best, ties share the average rank); the mean rank is over the "
             "sets a classifier was ranked on (datasets and composite pools, not a composite's per-source rows "
             "<code>pool:source</code>). Every number: <code>results/leaderboard.csv</code>, "
             "<code>results/metrics.csv</code>.</p>"]
    for metric, title in LEADERBOARD_METRICS:
        rows = []
        for clf in classifiers:
            cells = [_esc(clf)]
            for s in sets:
                if (clf, s) not in cell.index:
                    cells.append("")
                    continue
                r = cell.loc[(clf, s)]
                if r["status"] != "ok":
                    cells.append(f"<span class='note' title='{_esc(r['note'])}'>{_esc(r['status'])}</span>")
                    continue
                text = (f"{_num(r[metric])} <span class='note'>[{_num(r[metric + '_ci_low'])}, "
                        f"{_num(r[metric + '_ci_high'])}]</span>")
                if metric == "uf1":
                    text += f" <b>#{r['rank']:g}</b>"
                cells.append(text)
            if metric == "uf1":
                mean = board.loc[board["classifier"] == clf, "mean_rank"].iloc[0]
                cells.append(_num(mean, 2))
            rows.append(cells)
        header = ["Classifier"] + [_esc(s) for s in sets] + (["Mean rank"] if metric == "uf1" else [])
        parts.append(f"<h3>{title}</h3>" + _table(header, rows))
    parts.append(_figure("leaderboard", leaderboard_png(board), "UF1 of every classifier on every set.",
                         "leaderboard"))
    problems = board[board["status"] != "ok"].drop_duplicates(["classifier", "note"])
    parts += [f"<p class='note'><b>{_esc(r.classifier)}</b> ({_esc(r.status)}): {_esc(r.note)}</p>"
              for r in problems.itertuples(index=False)]
    parts.append("<h3 id='pairs'>Paired tests within each set</h3>" + f"<p>{HOLM_NOTE}</p>")
    base = paired[paired["perturbation"] == "none"] if len(paired) else paired
    any_pairs = False
    for s in sets:
        group = base[base["dataset"] == s] if len(base) else base
        if len(group):
            any_pairs = True
            parts.append(f"<h4>{_esc(s)}</h4>" + paired_table(group))
    if not any_pairs:
        parts.append("<p>No set has two classifiers with predictions; nothing to compare.</p>")
    return "\n".join(parts)


def browser_link(name: str, sections: list[str]) -> str:
    """`` · samples`` linking a set's sample browser, when its section links one."""
    href = f"../{_esc(name)}/samples.html"
    return f", <a href='{href}'>samples</a>" if any(f"href='{href}'" in s for s in sections) else ""


def index_page(board: pd.DataFrame, paired: pd.DataFrame, prov: dict, sections: list[str], sets: list[str],
               statistics: dict) -> str:
    level = statistics.get("confidence_level", 0.95)
    links = " &middot; ".join(f"<a href='#{_anchor(s)}top'>{_esc(s)}</a> (<a href='../{_esc(s)}/report.html'>"
                              f"page</a>{browser_link(s, sections)})" for s in sets)
    head = ("<h1>apexbench report</h1>"
            f"<p class='note'>{len(sets)} evaluation set(s), {board['classifier'].nunique()} classifier(s); "
            f"{statistics.get('bootstrap', 1000)} bootstrap resamples (seed {statistics.get('seed', 0)}).</p>"
            f"<p><a href='#leaderboard'>Leaderboard</a> &middot; {links} &middot; "
            "<a href='#provenance'>Provenance</a></p>\n")
    body = head + leaderboard_section(board, paired, level) + "\n" + "\n".join(sections) + provenance_section(prov)
    return _page("apexbench report", body)


def write_index(leaderboard_csv: str | Path, paired_csv: str | Path, provenance_json: str | Path,
                section_paths: list[str | Path], sets: list[str], statistics: dict, out: str | Path) -> None:
    board = pd.read_csv(leaderboard_csv, keep_default_na=False, na_values=[""])
    board["note"] = board["note"].fillna("")
    paired = pd.read_csv(paired_csv)
    prov = json.loads(Path(provenance_json).read_text())
    sections = [Path(p).read_text(encoding="utf-8") for p in section_paths]
    write_text(index_page(board, paired, prov, sections, sets, statistics), out)
