"""A MEGC 2019-style composite through a real Snakemake run: SMIC, CASME II and SAMM clips taken from
their real coding tables (the rows of three subjects each, written as CSV exports with the tables'
own headers), their onset and APEX frames generated where the releases keep them
(``sub01/EP02_01f/img46.jpg``, ``006/006_1_2/006_05588.jpg``, ``s20/s20_ne_01/image<6 digits>.jpg``),
pooled under megc3 with subjects prefixed by dataset, LOSO over every pooled subject, and UF1 / UAR
for the pool and for each source."""

from __future__ import annotations

import csv
import zlib

import cv2
import numpy as np
import pandas as pd
import pytest
import yaml

from apexbench.datasets import read_dataset
from apexbench.datasets.coding_tables import PRESETS, frame_path, read_sheet
from apexbench.labels import DATASET_LABEL_MAPS, canonical_label, predict_canonical, scheme_label
from apexbench.tables import read_meta, read_parquet

from conftest import shared_path
from workflow_helpers import make_workdir, snakemake

pytestmark = pytest.mark.slow

TABLES = {  # dataset -> (format, table in ../shared/data/microexpr-annotations, media root name)
    "casme2": ("casme2", ("CASME2", "CASME2-coding-20140508.xlsx"), "CASME2_RAW"),
    "samm": ("samm", ("SAMM", "SAMM.xlsx"), "SAMM"),
    "smic": ("smic", ("SMIC", "smic_apex.xlsx"), "SMIC_HS_E"),
}
SUBJECTS_PER_DATASET = 3
MOTION = {"negative": (0, -3), "positive": (3, 0), "surprise": (-3, 0)}  # megc3 class -> texture shift


def _texture(seed: int, size: int = 64) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (size // 4, size // 4), dtype=np.uint8)
    return cv2.GaussianBlur(cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC), (5, 5), 1.5)


def _subset_table(fmt: str, table, out) -> list:
    """The real table's rows of its first subjects with a megc3 label, written as a CSV export."""
    preset = PRESETS[fmt]
    rows = read_dataset({"format": fmt, "table": str(table)})
    keep_subjects = []
    for r in rows:
        if scheme_label(canonical_label(r.label, DATASET_LABEL_MAPS[fmt]), "megc3") and r.subject not in keep_subjects:
            keep_subjects.append(r.subject)
    keep_subjects = keep_subjects[:SUBJECTS_PER_DATASET]
    per_subject: dict[str, int] = {}
    chosen = []
    for r in rows:  # up to 6 clips of each kept subject
        if r.subject in keep_subjects and per_subject.get(r.subject, 0) < 6:
            per_subject[r.subject] = per_subject.get(r.subject, 0) + 1
            chosen.append(r)
    header = list(read_sheet(table, preset.sheet)[0][1])
    with open(out, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        for r in chosen:
            writer.writerow(r.original)
    return chosen


@pytest.fixture(scope="module")
def composite(tmp_path_factory, mirror_dir):
    data = tmp_path_factory.mktemp("microexpr")
    datasets, chosen = {}, {}
    for name, (fmt, parts, root_name) in TABLES.items():
        table = data / f"{name}.csv"
        rows = _subset_table(fmt, shared_path("data", "microexpr-annotations", *parts), table)
        root = data / root_name
        for i, r in enumerate(rows):
            megc3 = scheme_label(canonical_label(r.label, DATASET_LABEL_MAPS[fmt]), "megc3")
            dx, dy = MOTION.get(megc3, (0, 0))
            base = _texture(zlib.crc32(f"{name}/{i}".encode()))  # the same images in every run
            for frame, shift in ((r.onset, 0.0), (r.apex, 1.0)):
                path = root / frame_path(r.source, frame)
                path.parent.mkdir(parents=True, exist_ok=True)
                moved = np.roll(base, (round(dy * shift), round(dx * shift)), axis=(0, 1))
                cv2.imwrite(str(path), cv2.cvtColor(moved, cv2.COLOR_GRAY2BGR))
        datasets[name] = {"format": fmt, "root": str(root), "table": str(table), "labels": fmt, "shards": 2}
        chosen[name] = rows
    datasets["casme2"]["label_scheme"] = "casme4"  # its own scheme; the pool re-scores under megc3
    config = {
        "datasets": datasets,
        "composite": {"megc2019": {"datasets": ["smic", "casme2", "samm"]}},
        "label_scheme": "megc3",
        "faces": {"detector": "none", "crop_size": 64, "margin": 0.0},
        "classifiers": {"minixception": {"kind": "minixception"}, "flow": {"kind": "flow"}},
        "models": {"mirror": str(mirror_dir), "download": False},
        "statistics": {"bootstrap": 200},
    }
    workdir = make_workdir(tmp_path_factory.mktemp("work"))
    (workdir / "my.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    snakemake(workdir, "--cores", "2", "--configfile", "my.yaml")
    return {"workdir": workdir, "chosen": chosen}


def _metrics(workdir):
    return pd.read_csv(workdir / "results/metrics.csv", keep_default_na=False, na_values=[""])


def test_the_frames_are_laid_out_like_the_releases(composite):
    work, chosen = composite["workdir"], composite["chosen"]
    samples = {name: read_parquet(work / f"results/{name}/validated/samples.parquet") for name in TABLES}
    assert samples["casme2"]["source"].iloc[0].startswith("sub0") and samples["casme2"]["source"].iloc[0].endswith(
        "/img{frame}.jpg")
    assert samples["samm"]["source"].str.fullmatch(r"\d{3}/\d{3}_\d+_\d+/\d{3}_\{frame:05d\}\.jpg").all()
    assert samples["smic"]["source"].str.fullmatch(r"s\d+/s\d+_\w+_\d+/image\{frame:06d\}\.jpg").all()
    for name in TABLES:
        assert len(samples[name]) == len(chosen[name])  # every row's frames found, nothing rejected


def test_the_pool_prefixes_subjects_and_leaves_one_pooled_subject_out_per_fold(composite):
    work = composite["workdir"]
    pooled = read_parquet(work / "results/megc2019/validated/samples.parquet")
    parts = {name: read_parquet(work / f"results/{name}/validated/samples.parquet") for name in TABLES}
    assert len(pooled) == sum(len(p) for p in parts.values())
    assert set(pooled["subject"]) == {f"{n}/{s}" for n, p in parts.items() for s in p["subject"]}
    assert pooled["sample_id"].str.split("/").str[0].eq(pooled["source_dataset"]).all()
    in_scheme = pooled[[scheme_label(x, "megc3") is not None for x in pooled["label_canonical"]]]
    flow = read_parquet(work / "results/megc2019/predictions/flow/out_of_fold.parquet").set_index("sample_id")
    scored = flow[flow["status"] == "ok"]
    # LOSO over the pooled subjects: each sample's fold is its own (prefixed) subject
    subject_of = pooled.set_index("sample_id")["subject"]
    assert (scored["fold"] == subject_of.loc[scored.index]).all()
    metrics = _metrics(work)
    folds = metrics[(metrics["dataset"] == "megc2019") & (metrics["classifier"] == "flow")
                    & (metrics["metric"] == "fold_accuracy_mean")]
    assert int(folds["n"].item()) == in_scheme["subject"].nunique() == SUBJECTS_PER_DATASET * 3
    assert read_meta(work / "results/megc2019/predictions/flow/out_of_fold.parquet")["train_on"] == list(
        ("smic", "casme2", "samm"))


def test_uf1_and_uar_for_the_pool_and_each_source(composite):
    work = composite["workdir"]
    metrics = _metrics(work)
    board = pd.read_csv(work / "results/leaderboard.csv", keep_default_na=False, na_values=[""])
    assert list(dict.fromkeys(board["dataset"])) == ["casme2", "samm", "smic", "megc2019", "megc2019:smic",
                                                     "megc2019:casme2", "megc2019:samm"]
    overall = metrics[metrics["class"].isna() & (metrics["perturbation"] == "none")].set_index(
        ["dataset", "classifier", "metric"])
    pooled = read_parquet(work / "results/megc2019/validated/samples.parquet")
    for clf in ("minixception", "flow"):
        n_pool = overall.loc[("megc2019", clf, "accuracy"), "n"]
        shares = [overall.loc[(f"megc2019:{s}", clf, "accuracy")] for s in ("smic", "casme2", "samm")]
        assert sum(r["n"] for r in shares) == n_pool
        assert sum(r["n"] * r["value"] for r in shares) / n_pool == pytest.approx(
            overall.loc[("megc2019", clf, "accuracy"), "value"])
        for s in ("smic", "casme2", "samm"):
            for metric in ("f1_macro", "balanced_accuracy"):
                row = overall.loc[(f"megc2019:{s}", clf, metric)]
                assert 0 <= row["value"] <= 1 and row["ci_low"] <= row["value"] <= row["ci_high"]
    # Each source's share is the pooled predictions on its own samples, in megc3 ...
    n_casme2 = sum(scheme_label(x, "megc3") is not None
                   for x in pooled.loc[pooled["source_dataset"] == "casme2", "label_canonical"])
    assert overall.loc[("megc2019:casme2", "minixception", "accuracy"), "n"] == n_casme2
    # ... re-scored from the stored scores: casme2's own run predicted under casme4
    shards = pd.concat([read_parquet(p) for p in sorted(work.glob("results/casme2/predictions/minixception/*.parquet"))])
    meta = read_meta(next(work.glob("results/casme2/predictions/minixception/*.parquet")))
    assert meta["scheme"] == "casme4"
    samples = read_parquet(work / "results/casme2/validated/samples.parquet").set_index("sample_id")
    shards = shards[[scheme_label(samples.loc[s, "label_canonical"], "megc3") is not None for s in shards["sample_id"]]]
    ok = shards["status"] == "ok"
    megc3 = predict_canonical(np.array(shards.loc[ok, "scores"].tolist()), meta["native_order"], "megc3")
    truth = [scheme_label(samples.loc[s, "label_canonical"], "megc3") for s in shards.loc[ok, "sample_id"]]
    expected = sum(p == t for p, t in zip(megc3, truth)) / len(shards)
    assert overall.loc[("megc2019:casme2", "minixception", "accuracy"), "value"] == pytest.approx(expected)
    page = (work / "results/report/index.html").read_text()
    assert "megc2019:casme2" in page and "id='set-megc2019-top'" in page


def test_the_pools_gallery_and_browser_read_the_sources_frames(composite):
    """A composite has no frames of its own: its gallery and sample browser show each pooled sample's
    crops from its source dataset's frame shards, under the pool's prefixed ids and scheme."""
    import json
    import re

    work = composite["workdir"]
    pooled = read_parquet(work / "results/megc2019/validated/samples.parquet")
    text = (work / "results/megc2019/samples.html").read_text()
    data = json.loads(re.search(r"id='apexbench-data'>(.*?)</script>", text, re.S).group(1))
    rows = {r[0]: r for r in data["rows"]}
    assert set(rows) == set(pooled["sample_id"]) and data["sources"]
    assert all(r[5] for r in rows.values())  # every sample's APEX crop, from its source's shards
    assert {r[2] for r in rows.values()} == set(TABLES) and data["labels"] == ["negative", "positive", "surprise"]
    page = (work / "results/megc2019/report.html").read_text()
    strip = re.findall(r'data-figure="set-megc2019-gallery-minixception-\d+">.*?<code>([^<]+)</code>', page)
    assert strip and all(sid.split("/")[0] in TABLES for sid in strip)
