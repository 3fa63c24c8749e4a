"""The statistics tables and the self-contained HTML report, from a synthetic run, opened in Chromium."""

from __future__ import annotations

import os
import re

import numpy as np
import pandas as pd
import pytest

from apexbench.aggregate import aggregate_run
from apexbench.browser import check_page, find_chromium, screenshot
from apexbench.infer import PREDICTION_SCHEMA
from apexbench.labels import FER2013_ORDER, FERPLUS_ORDER, SCHEMES, predict_canonical
from apexbench.metrics import METRIC_COLUMNS
from apexbench.report import CHECK_SCRIPT, write_report
from apexbench.tables import write_csv, write_parquet

CLASSES = list(SCHEMES["canonical7"])
REQUIRE_CHROMIUM = os.environ.get("APEXBENCH_REQUIRE_CHROMIUM") == "1"


def require_chromium():
    if find_chromium() is None:
        if REQUIRE_CHROMIUM:
            pytest.fail("APEXBENCH_REQUIRE_CHROMIUM=1 but Chromium is not installed (apt-get install chromium)")
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium); .ci/run installs it in CI")


def _predictions(path, ids, labels, order, accuracy, rng, status=None):
    rows = []
    for i, (sid, label) in enumerate(zip(ids, labels)):
        st = status[i] if status else "ok"
        if st != "ok":
            rows.append((sid, st, None, None, None, np.nan))
            continue
        target = label if rng.random() < accuracy else CLASSES[int(rng.integers(0, 7))]
        native = target if target in order else {"happiness": "happy", "sadness": "sad", "anger": "angry"}[target]
        scores = rng.dirichlet(np.ones(len(order)))
        scores[order.index(native)] += 2.0 * rng.random()
        scores = scores / scores.sum()
        pred = predict_canonical(scores[None, :], order, "canonical7", "mask")[0]
        rows.append((sid, "ok", scores.tolist(), order[int(scores.argmax())], pred, float(rng.uniform(1, 5))))
    frame = pd.DataFrame(rows, columns=PREDICTION_SCHEMA.names)
    write_parquet(frame, path, meta={"native_order": list(order), "contempt": "mask"}, schema=PREDICTION_SCHEMA)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A synthetic finished run: 60 samples, classifiers alpha (7-class), beta (8-class) and an
    unavailable gamma, unperturbed and under blur; aggregate_run writes every table; then the report."""
    root = tmp_path_factory.mktemp("run")
    rng = np.random.default_rng(0)
    ids = [f"s{i:02d}" for i in range(60)]
    labels = [CLASSES[i % 7] for i in range(60)]
    samples = pd.DataFrame({"sample_id": ids, "subject": [f"p{i % 6}" for i in range(60)], "label": labels,
                            "label_canonical": labels})
    write_parquet(samples, root / "samples.parquet")
    write_csv(pd.DataFrame({"row": [61], "sample_id": ["bad"], "reason": ["missing_file"], "message": ["x"]}),
              root / "rejected.csv")
    status = ["no_face" if i % 20 == 0 else "ok" for i in range(60)]
    preds, perturbed = {}, {"blur": {}}
    for name, order, acc in (("alpha", FER2013_ORDER, 0.8), ("beta", FERPLUS_ORDER, 0.5)):
        preds[name] = [root / f"pred/{name}/shard-0.parquet"]
        _predictions(preds[name][0], ids, labels, order, acc, rng, status)
        perturbed["blur"][name] = [root / f"pert/blur/{name}/shard-0.parquet"]
        _predictions(perturbed["blur"][name][0], ids, labels, order, acc - 0.2, rng, status)
    gamma = root / "pred/gamma/shard-0.parquet"
    write_parquet(pd.DataFrame({"sample_id": ids, "status": "error:unavailable", "scores": None,
                                "pred_native": None, "pred_canonical": None, "latency_ms": np.nan}),
                  gamma, meta={"unavailable": "put gamma.onnx in resources/models"}, schema=PREDICTION_SCHEMA)
    preds["gamma"] = [gamma]
    perturbed["blur"]["gamma"] = [gamma]
    out = {k: root / "results" / v for k, v in {
        "metrics": "metrics.csv", "summary": "summary.md", "provenance": "provenance.json", "confusion": "confusion",
        "paired": "stats/paired.csv", "confidence": "stats/confidence_buckets.csv",
        "coverage": "stats/coverage_accuracy.csv", "robustness": "stats/robustness.csv"}.items()}
    config = {"label_scheme": "canonical7", "statistics": {"bootstrap": 200, "seed": 0, "confidence_level": 0.95},
              "confidence": {"high": 0.6, "low": 0.3}}
    models = [{"key": k, "file": f"{k}.bin", "sha256": "ab" * 32 if k != "gamma" else None,
               "available": k != "gamma", "license": "MIT"} for k in ("alpha", "beta", "gamma")]
    with open(root / "aggregate.log", "w") as log:
        aggregate_run(root / "samples.parquet", preds, "canonical7", "synthetic", models, config, out, log,
                      perturbed=perturbed)
    inputs = {k: out[k] for k in ("metrics", "paired", "confidence", "coverage", "robustness", "provenance",
                                  "confusion")}
    inputs.update(samples=root / "samples.parquet", rejected=root / "rejected.csv")
    write_report(inputs, "synthetic", config, root / "results/report/index.html")
    return root


def test_metrics_have_intervals_and_a_perturbation_column(run):
    metrics = pd.read_csv(run / "results/metrics.csv", keep_default_na=False, na_values=[""])
    assert list(metrics.columns) == METRIC_COLUMNS
    assert set(metrics["perturbation"]) == {"none", "blur"}
    overall = metrics[metrics["class"].isna() & (metrics["classifier"] != "gamma")]
    with_ci = overall[overall["metric"].isin(["accuracy", "balanced_accuracy", "f1_macro", "coverage"])]
    assert len(with_ci) == 2 * 2 * 4 and with_ci[["ci_low", "ci_high"]].notna().all().all()
    assert ((with_ci["ci_low"] <= with_ci["value"]) & (with_ci["value"] <= with_ci["ci_high"])).all()
    assert overall[overall["metric"] == "latency_ms_mean"]["ci_low"].isna().all()
    assert metrics[metrics["classifier"] == "gamma"]["metric"].tolist() == ["unavailable", "unavailable"]
    log = (run / "aggregate.log").read_text()
    assert "[bootstrap] alpha/none: 200/200 resamples" in log


def test_paired_table_is_a_symmetric_matrix(run):
    paired = pd.read_csv(run / "results/stats/paired.csv")
    base = paired[paired["perturbation"] == "none"]
    assert base[["classifier_a", "classifier_b"]].values.tolist() == [["alpha", "beta"], ["beta", "alpha"]]
    assert base["p_value"].iloc[0] == base["p_value"].iloc[1]
    assert base["accuracy_diff"].iloc[0] == pytest.approx(-base["accuracy_diff"].iloc[1])
    row = base.iloc[0]
    assert row["both_correct"] + row["a_only"] + row["b_only"] + row["both_wrong"] == 60


def test_robustness_and_confidence_tables(run):
    rob = pd.read_csv(run / "results/stats/robustness.csv")
    metrics = pd.read_csv(run / "results/metrics.csv", keep_default_na=False, na_values=[""]).fillna({"class": ""})
    acc = metrics[(metrics["metric"] == "accuracy") & (metrics["class"] == "")].set_index(
        ["classifier", "perturbation"])["value"]
    row = rob[(rob["classifier"] == "alpha") & (rob["metric"] == "accuracy")].iloc[0]
    assert row["perturbation"] == "blur"
    assert row["drop_points"] == pytest.approx((acc["alpha", "none"] - acc["alpha", "blur"]) * 100)
    assert 0 <= row["mcnemar_p"] <= 1
    buckets = pd.read_csv(run / "results/stats/confidence_buckets.csv")
    alpha = buckets[(buckets["classifier"] == "alpha") & (buckets["perturbation"] == "none")]
    assert alpha["n"].sum() == 60 and alpha.set_index("bucket").loc["no_prediction", "n"] == 3
    curve = pd.read_csv(run / "results/stats/coverage_accuracy.csv")
    base = curve[(curve["classifier"] == "alpha") & (curve["perturbation"] == "none")]
    assert base[base["threshold"] == 0]["coverage"].item() == pytest.approx(57 / 60)


def test_report_is_self_contained_with_every_section(run):
    page = (run / "results/report/index.html").read_text()
    for anchor in ("dataset", "metrics", "confusion", "recall", "paired", "latency", "robustness", "confidence",
                   "provenance"):
        assert f"id='{anchor}'" in page
    assert not re.search(r"""(src|href)=["'](https?:|//|file:)""", page), "the report must not load anything"
    figures = re.findall(r'data-figure="([^"]+)"', page)
    assert figures == ["class-distribution", "confusion-alpha", "confusion-beta", "recall", "paired-matrix",
                       "latency", "robustness", "coverage-accuracy"]
    assert "missing_file" in page and "ab" * 32 in page
    # gamma is unavailable unperturbed and under blur: its fix is stated once, each row points to it.
    assert page.count("put gamma.onnx in resources/models") == 1 and page.count("unavailable (see below)") == 2


def test_report_loads_in_headless_chromium_with_every_figure(run, tmp_path):
    require_chromium()
    result = check_page(run / "results/report/index.html")
    assert result["errors"] == ""
    assert result["figures_total"] == 8 and result["figures_ok"] == 8
    shot = screenshot(run / "results/report/index.html", tmp_path / "report.png", height=2000)
    assert shot.stat().st_size > 20_000


def _page(path, body: str):
    """A minimal HTML page with ``body`` (which includes the report's check script where wanted)."""
    path.write_text(f"<!DOCTYPE html><html><head><title>t</title></head><body>{body}</body></html>")
    return path


def test_browser_check_catches_a_broken_figure(tmp_path):
    require_chromium()
    figure = '<figure data-figure="x"><img alt="x" src="data:image/png;base64,AAAA"></figure>'
    result = check_page(_page(tmp_path / "broken.html", figure + CHECK_SCRIPT))
    assert result["figures_ok"] == 0 and result["figures_total"] == 1


def test_browser_check_catches_a_script_error(tmp_path):
    """An error thrown after the checker is installed (a broken inline script) is reported."""
    require_chromium()
    broken = "<script>window.addEventListener('load', function () { undefinedFunction(); });</script>"
    result = check_page(_page(tmp_path / "error.html", CHECK_SCRIPT + broken))
    assert "undefinedFunction" in result["errors"], result
