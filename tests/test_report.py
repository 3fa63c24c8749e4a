"""The statistics tables and the self-contained HTML report, from a synthetic run, opened in Chromium."""

from __future__ import annotations

import os
import re

import numpy as np
import pandas as pd
import pytest

from apexbench.aggregate import aggregate_set
from apexbench.browser import check_page, find_chromium, screenshot
from apexbench.infer import PREDICTION_SCHEMA
from apexbench.labels import FER2013_ORDER, FERPLUS_ORDER, SCHEMES, predict_canonical
from apexbench.metrics import METRIC_COLUMNS
from apexbench.leaderboard import gather
from apexbench.report import CHECK_SCRIPT, write_index, write_set_report
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


def _info(name):
    return {"name": name, "kind": "dataset", "scheme": "canonical7", "sources": [name], "cross_train": None}


STATISTICS = {"bootstrap": 200, "seed": 0, "confidence_level": 0.95}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A synthetic finished run of two evaluation sets, each of 60 samples: classifiers alpha (7-class),
    beta (8-class) and gamma, whose weights are unavailable; on `synthetic` unperturbed and under blur,
    on `other` alpha and beta swap their accuracies. aggregate_set writes every set's tables, gather the
    run's, then the report pages."""
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
    layouts = {"synthetic": {}, "other": {}}
    for name, order, acc, other_acc in (("alpha", FER2013_ORDER, 0.8, 0.4), ("beta", FERPLUS_ORDER, 0.5, 0.9)):
        for set_name, accuracy in (("synthetic", acc), ("other", other_acc)):
            path = root / f"pred/{set_name}/{name}/shard-0.parquet"
            _predictions(path, ids, labels, order, accuracy, rng, status)
            layouts[set_name][name] = {"none": [["", [str(path)]]]}
        blurred = root / f"pert/blur/{name}/shard-0.parquet"
        _predictions(blurred, ids, labels, order, acc - 0.2, rng, status)
        layouts["synthetic"][name]["blur"] = [["", [str(blurred)]]]
    layouts["synthetic"]["gamma"] = {"none": [["", []]], "blur": [["", []]]}
    layouts["other"]["gamma"] = {"none": [["", []]]}
    records = {"alpha": [{"key": "alpha", "available": True}], "beta": [{"key": "beta", "available": True}],
               "gamma": [{"key": "gamma", "available": False, "message": "put gamma.onnx in resources/models"}]}
    confidence = {"high": 0.6, "low": 0.3}
    metrics, paired = [], []
    for set_name, layout in layouts.items():
        out = {k: root / "results" / set_name / v for k, v in {
            "metrics": "metrics.csv", "summary": "summary.md", "confusion": "confusion", "paired": "stats/paired.csv",
            "confidence": "stats/confidence_buckets.csv", "coverage": "stats/coverage_accuracy.csv",
            "robustness": "stats/robustness.csv"}.items()}
        with open(root / f"aggregate-{set_name}.log", "w") as log:
            aggregate_set(_info(set_name), root / "samples.parquet", layout, records, STATISTICS, confidence, out, log)
        inputs = {k: out[k] for k in ("metrics", "paired", "confidence", "coverage", "robustness", "confusion")}
        inputs.update(samples=root / "samples.parquet", rejected=root / "rejected.csv")
        write_set_report(inputs, _info(set_name), STATISTICS, confidence, root / f"results/{set_name}/report.html",
                         root / f"results/{set_name}/report/section.html")
        metrics.append(out["metrics"])
        paired.append(out["paired"])
    models = [{"key": k, "file": f"{k}.bin", "sha256": "ab" * 32 if k != "gamma" else None,
               "available": k != "gamma", "license": "MIT"} for k in ("alpha", "beta", "gamma")]
    out = {k: root / "results" / v for k, v in {
        "metrics": "metrics.csv", "leaderboard": "leaderboard.csv", "paired": "stats/paired.csv",
        "summary": "summary.md", "provenance": "provenance.json"}.items()}
    gather(metrics, paired, models, {"statistics": STATISTICS}, {}, out)
    write_index(out["leaderboard"], out["paired"], out["provenance"],
                [root / f"results/{s}/report/section.html" for s in layouts], list(layouts), STATISTICS,
                root / "results/report/index.html")
    return root


def test_metrics_have_intervals_and_a_perturbation_column(run):
    metrics = pd.read_csv(run / "results/metrics.csv", keep_default_na=False, na_values=[""])
    assert list(metrics.columns) == METRIC_COLUMNS
    assert list(dict.fromkeys(metrics["dataset"])) == ["synthetic", "other"]
    metrics = metrics[metrics["dataset"] == "synthetic"]
    assert set(metrics["perturbation"]) == {"none", "blur"}
    overall = metrics[metrics["class"].isna() & (metrics["classifier"] != "gamma")]
    with_ci = overall[overall["metric"].isin(["accuracy", "balanced_accuracy", "f1_macro", "coverage"])]
    assert len(with_ci) == 2 * 2 * 4 and with_ci[["ci_low", "ci_high"]].notna().all().all()
    assert ((with_ci["ci_low"] <= with_ci["value"]) & (with_ci["value"] <= with_ci["ci_high"])).all()
    assert overall[overall["metric"] == "latency_ms_mean"]["ci_low"].isna().all()
    assert metrics[metrics["classifier"] == "gamma"]["metric"].tolist() == ["unavailable", "unavailable"]
    log = (run / "aggregate-synthetic.log").read_text()
    assert "[bootstrap] alpha/none: 200 resamples" in log


def test_paired_table_is_a_symmetric_matrix_with_holm(run):
    paired = pd.read_csv(run / "results/synthetic/stats/paired.csv")
    base = paired[paired["perturbation"] == "none"]
    assert base[["classifier_a", "classifier_b"]].values.tolist() == [["alpha", "beta"], ["beta", "alpha"]]
    assert base["p_value"].iloc[0] == base["p_value"].iloc[1]
    # one pair per set: Holm's correction over one test leaves it as it is
    assert (base["p_holm"] == base["p_value"]).all()
    assert base["accuracy_diff"].iloc[0] == pytest.approx(-base["accuracy_diff"].iloc[1])
    row = base.iloc[0]
    assert row["both_correct"] + row["a_only"] + row["b_only"] + row["both_wrong"] == 60
    run_paired = pd.read_csv(run / "results/stats/paired.csv")
    assert list(dict.fromkeys(run_paired["dataset"])) == ["synthetic", "other"]


def test_robustness_and_confidence_tables(run):
    rob = pd.read_csv(run / "results/synthetic/stats/robustness.csv")
    metrics = pd.read_csv(run / "results/synthetic/metrics.csv", keep_default_na=False,
                          na_values=[""]).fillna({"class": ""})
    acc = metrics[(metrics["metric"] == "accuracy") & (metrics["class"] == "")].set_index(
        ["classifier", "perturbation"])["value"]
    row = rob[(rob["classifier"] == "alpha") & (rob["metric"] == "accuracy")].iloc[0]
    assert row["perturbation"] == "blur"
    assert row["drop_points"] == pytest.approx((acc["alpha", "none"] - acc["alpha", "blur"]) * 100)
    assert 0 <= row["mcnemar_p"] <= 1
    buckets = pd.read_csv(run / "results/synthetic/stats/confidence_buckets.csv")
    alpha = buckets[(buckets["classifier"] == "alpha") & (buckets["perturbation"] == "none")]
    assert alpha["n"].sum() == 60 and alpha.set_index("bucket").loc["no_prediction", "n"] == 3
    curve = pd.read_csv(run / "results/synthetic/stats/coverage_accuracy.csv")
    base = curve[(curve["classifier"] == "alpha") & (curve["perturbation"] == "none")]
    assert base[base["threshold"] == 0]["coverage"].item() == pytest.approx(57 / 60)


def test_leaderboard_ranks_each_set_by_uf1_and_lists_the_unavailable(run):
    board = pd.read_csv(run / "results/leaderboard.csv", keep_default_na=False, na_values=[""])
    metrics = pd.read_csv(run / "results/metrics.csv", keep_default_na=False, na_values=[""])
    uf1 = metrics[(metrics["metric"] == "f1_macro") & metrics["class"].isna()
                  & (metrics["perturbation"] == "none")].set_index(["dataset", "classifier"])["value"]
    ok = board[board["status"] == "ok"].set_index(["dataset", "classifier"])
    for dataset in ("synthetic", "other"):
        better, worse = sorted(["alpha", "beta"], key=lambda c: -uf1[dataset, c])
        assert ok.loc[(dataset, better), "rank"] == 1 and ok.loc[(dataset, worse), "rank"] == 2
        assert ok.loc[(dataset, better), "uf1"] == uf1[dataset, better]
    # alpha wins `synthetic`, beta wins `other`: each has ranks 1 and 2, mean 1.5 over 2 sets
    assert set(ok["mean_rank"]) == {1.5} and set(ok["ranked_on"]) == {2}
    gamma = board[board["classifier"] == "gamma"]
    assert gamma["status"].tolist() == ["unavailable", "unavailable"] and gamma["rank"].isna().all()
    assert (gamma["note"] == "put gamma.onnx in resources/models").all()
    summary = (run / "results/summary.md").read_text()
    assert "| Classifier | synthetic | other | Mean rank |" in summary
    assert "gamma on synthetic, other: **unavailable**: put gamma.onnx in resources/models" in summary


def test_report_is_self_contained_with_the_leaderboard_first(run):
    page = (run / "results/report/index.html").read_text()
    assert page.index("id='leaderboard'") < page.index("id='set-synthetic-top'") < page.index("id='set-other-top'")
    for s in ("synthetic", "other"):
        for anchor in ("dataset", "metrics", "confusion", "recall", "paired", "latency", "robustness", "confidence"):
            assert f"id='set-{s}-{anchor}'" in page
    assert "id='provenance'" in page and "Holm" in page and "p (Holm)" in page
    assert not re.search(r"""(src|href)=["'](https?:|//|file:)""", page), "the report must not load anything"
    figures = re.findall(r'data-figure="([^"]+)"', page)
    per_set = ["class-distribution", "confusion-alpha", "confusion-beta", "recall", "paired-matrix", "latency"]
    assert figures == (["leaderboard"] + [f"set-synthetic-{f}" for f in per_set]
                       + ["set-synthetic-robustness", "set-synthetic-coverage-accuracy"]
                       + [f"set-other-{f}" for f in per_set] + ["set-other-coverage-accuracy"])
    assert "missing_file" in page and "ab" * 32 in page
    set_page = (run / "results/synthetic/report.html").read_text()
    # gamma is unavailable unperturbed and under blur: its fix is stated once, each row points to it.
    assert set_page.count("put gamma.onnx in resources/models") == 1 and set_page.count("unavailable (see below)") == 2


def test_report_loads_in_headless_chromium_with_every_figure(run, tmp_path):
    require_chromium()
    result = check_page(run / "results/report/index.html")
    assert result["errors"] == ""
    assert result["figures_total"] == 16 and result["figures_ok"] == 16
    result = check_page(run / "results/synthetic/report.html")
    assert result["errors"] == "" and result["figures_total"] == result["figures_ok"] == 8
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
