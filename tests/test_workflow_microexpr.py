"""A real Snakemake run on a small generated frame-folder dataset laid out like CASME II (coding
table as .xlsx, ``sub01/EP01_1/img{n}.jpg``): frames kind, casme4 scheme, trained baselines under
LOSO next to an off-the-shelf classifier, and the jobs a changed row reruns."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest
import yaml
from openpyxl import Workbook

from apexbench.datasets.base import shard_of
from apexbench.tables import read_meta, read_parquet

from workflow_helpers import make_workdir, planned_job_targets, planned_jobs, snakemake

pytestmark = pytest.mark.slow

HEADER = ["Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Action Units", "Estimated Emotion"]
# Each class moves the face texture its own way between onset and APEX, so flow can learn it.
MOTION = {"happiness": (3, 0), "disgust": (0, -3), "surprise": (-3, 0), "others": (0, 3)}
SUBJECTS = ["01", "02", "03", "04"]


def texture(seed: int, size: int = 80) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (size // 4, size // 4), dtype=np.uint8)
    return cv2.GaussianBlur(cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC), (5, 5), 1.5)


def build_dataset(root):
    rows, n = [], 0
    for subject in SUBJECTS:
        for rep in range(2):
            for label, (dx, dy) in MOTION.items():
                n += 1
                clip = f"EP{n:02d}_{rep}"
                onset, apex, offset = 10 + n, 14 + n, 20 + n
                rows.append([subject, clip, onset, apex, offset, "4", label])
                base = texture(n)
                folder = root / f"sub{subject}" / clip
                folder.mkdir(parents=True)
                for f in range(onset, apex + 1):
                    t = (f - onset) / (apex - onset)
                    shifted = np.roll(base, (round(dy * t), round(dx * t)), axis=(0, 1))
                    cv2.imwrite(str(folder / f"img{f}.jpg"), cv2.cvtColor(shifted, cv2.COLOR_GRAY2BGR))
    rows.append(["04", "EP90_bad", 30, 40, 35, "4", "happiness"])  # apex after offset: index_order
    (root / "sub04" / "EP90_bad").mkdir()
    for f in (30, 40):
        cv2.imwrite(str(root / "sub04" / "EP90_bad" / f"img{f}.jpg"), texture(99))
    rows.append(["04", "EP91_gone", 30, 32, 35, "4", "disgust"])  # no frames on disk: missing_file
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    book.save(root.parent / "coding.xlsx")
    return root.parent / "coding.xlsx"


def _casme2_run(tmp_path_factory, mirror_dir, name: str, **changes):
    """The generated CASME II-style dataset run through Snakemake with ``changes`` to the base config."""
    data = tmp_path_factory.mktemp(name) / "CASME2_RAW"
    data.mkdir()
    table = build_dataset(data)
    workdir = make_workdir(tmp_path_factory.mktemp(f"work_{name}"))
    config = {
        "dataset": {"name": name, "format": "casme2", "root": str(data), "table": str(table),
                    "labels": "casme2"},
        "shards": 2,
        "label_scheme": "casme4",
        "faces": {"detector": "none", "crop_size": 64, "margin": 0.0},
        "classifiers": {"minixception": {"kind": "minixception"}, "flow": {"kind": "flow"},
                        "siamese": {"kind": "siamese"}, "landmarks": {"kind": "landmarks"}},
        "evaluation": {"protocol": "loso"},
        "models": {"mirror": str(mirror_dir), "download": False},
        **changes,
    }
    (workdir / "config/config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    snakemake(workdir, "--cores", "2")
    return workdir, table


@pytest.fixture(scope="module")
def run(tmp_path_factory, mirror_dir):
    return _casme2_run(tmp_path_factory, mirror_dir, "casme2mini")


RUN = "results/casme2mini"  # the dataset's results (its name in the config)
DOWNSTREAM = {"aggregate": 1, "leaderboard": 1, "all": 1}


def test_frames_samples_and_rejections(run):
    workdir, _ = run
    samples = read_parquet(workdir / RUN / "validated/samples.parquet")
    assert len(samples) == 32 and set(samples["kind"]) == {"frames"} and samples["subject"].nunique() == 4
    assert samples.set_index("sample_id").loc["sub01/EP01_0", "source"] == "sub01/EP01_0/img{frame}.jpg"
    rejected = pd.read_csv(workdir / RUN / "validated/rejected.csv")
    assert dict(zip(rejected["sample_id"], rejected["reason"])) == {
        "sub04/EP90_bad": "index_order", "sub04/EP91_gone": "missing_file"}


def test_trained_baselines_write_out_of_fold_predictions(run):
    workdir, _ = run
    samples = read_parquet(workdir / RUN / "validated/samples.parquet").set_index("sample_id")
    flow = read_parquet(workdir / RUN / "predictions/flow/out_of_fold.parquet")
    # one file holds every sample's out-of-fold prediction
    assert sorted(flow["sample_id"]) == sorted(samples.index) and (flow["status"] == "ok").all()
    # LOSO: every sample's fold is its own subject.
    assert (flow["fold"].to_numpy() == samples.loc[flow["sample_id"], "subject"].to_numpy()).all()
    meta = read_meta(workdir / RUN / "predictions/flow/out_of_fold.parquet")
    assert meta["native_order"] == ["positive", "negative", "surprise", "other"] and meta["protocol"] == "loso"
    # Synthetic textures have (almost) no face mesh: landmarks reports that per sample, never fails.
    marks = read_parquet(workdir / RUN / "predictions/landmarks/out_of_fold.parquet")
    assert "error:no_landmarks" in set(marks["status"])
    assert set(marks["status"]) <= {"error:no_landmarks", "error:too_few_subjects", "ok"}


def test_metrics_pool_folds_and_report_the_spread(run):
    workdir, _ = run
    metrics = pd.read_csv(workdir / "results/metrics.csv", keep_default_na=False, na_values=[""])
    assert set(metrics["label_scheme"]) == {"casme4"} and set(metrics["dataset"]) == {"casme2mini"}
    flow = metrics[(metrics["classifier"] == "flow") & metrics["class"].isna()].set_index("metric")
    # Each class has its own motion, so the flow baseline learns it across subjects.
    assert flow.loc["f1_macro", "value"] > 0.8 and flow.loc["balanced_accuracy", "value"] > 0.8
    assert flow.loc["fold_accuracy_mean", "n"] == 4 and flow.loc["f1_macro", "n"] == 32
    assert flow.loc["fold_accuracy_min", "value"] <= flow.loc["fold_accuracy_mean", "value"]
    for name in ("siamese", "minixception"):
        rows = metrics[(metrics["classifier"] == name) & metrics["class"].isna()].set_index("metric")
        assert rows.loc["coverage", "value"] == 1.0
    assert "fold_accuracy_mean" not in set(metrics.loc[metrics["classifier"] == "minixception", "metric"])
    per_class = metrics[(metrics["classifier"] == "flow") & (metrics["metric"] == "support")]
    assert per_class.set_index("class")["value"].to_dict() == {"positive": 8, "negative": 8, "surprise": 8,
                                                               "other": 8}
    assert (workdir / "benchmarks/out/casme2mini/train/flow.tsv").is_file()


def test_changing_one_row_reruns_its_shard_and_the_training(run):
    workdir, table = run
    original = table.read_bytes()
    from openpyxl import load_workbook

    book = load_workbook(table)
    sheet = book.active
    for row in sheet.iter_rows(min_row=2):
        if row[1].value == "EP01_0":
            row[6].value = "surprise"
    book.save(table)
    try:
        shard = shard_of("sub01/EP01_0", 2)
        assert planned_jobs(workdir) == {"extract": 1, "validate": 1, "infer": 1,
                                         "features": 3, "train": 3, **DOWNSTREAM}
        targets = planned_job_targets(workdir, "extract")
        assert len(targets) == 1 and f"{RUN}/frames/shard-{shard}.parquet" in targets[0]
    finally:
        table.write_bytes(original)
    assert planned_jobs(workdir) == {}


def test_grouped_kfold_from_config_retrains_only_and_keeps_subjects_apart(run):
    """Last test on `run`: it leaves the workdir trained under group_kfold."""
    workdir, _ = run
    path = workdir / "config/config.yaml"
    config = yaml.safe_load(path.read_text())
    config["evaluation"] = {"protocol": "group_kfold", "folds": 2}
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    assert planned_jobs(workdir) == {"train": 3, **DOWNSTREAM}
    snakemake(workdir, "--cores", "2")
    samples = pd.read_parquet(workdir / RUN / "validated/samples.parquet").set_index("sample_id")
    flow = read_parquet(workdir / RUN / "predictions/flow/out_of_fold.parquet")
    subjects_by_fold = flow.groupby("fold")["sample_id"].apply(lambda ids: set(samples.loc[ids, "subject"]))
    assert len(subjects_by_fold) == 2 and set.union(*subjects_by_fold) == set(samples["subject"])
    assert not set.intersection(*subjects_by_fold)  # a subject is tested in one fold only
    assert read_meta(workdir / RUN / "predictions/flow/out_of_fold.parquet")["protocol"] == "group_kfold"
    metrics = pd.read_csv(workdir / "results/metrics.csv", keep_default_na=False, na_values=[""])
    folds = metrics[(metrics["classifier"] == "flow") & (metrics["metric"] == "fold_accuracy_mean")]
    assert folds["n"].tolist() == [2]


@pytest.fixture(scope="module")
def perturbed_run(tmp_path_factory, mirror_dir):
    """The same dataset with a blur probe, one classifier that runs in `infer` and one LOSO baseline."""
    workdir, _ = _casme2_run(tmp_path_factory, mirror_dir, "casme2blur", shards=1,
                             classifiers={"minixception": {"kind": "minixception"}, "flow": {"kind": "flow"}},
                             perturbations=["none", "blur"])
    return workdir


def test_perturbations_probe_the_infer_classifiers_and_leave_the_baselines_unperturbed(perturbed_run):
    workdir = perturbed_run
    metrics = pd.read_csv(workdir / "results/metrics.csv", keep_default_na=False, na_values=[""])
    overall = metrics[metrics["class"].isna() & (metrics["metric"] == "accuracy")]
    assert sorted(zip(overall["classifier"], overall["perturbation"])) == [
        ("flow", "none"), ("minixception", "blur"), ("minixception", "none")]
    assert overall.set_index(["classifier", "perturbation"]).loc[("minixception", "blur"), "n"] == 32
    assert not (workdir / "results/casme2blur/perturbed/blur/predictions/flow").exists()
    assert (workdir / "results/casme2blur/perturbed/blur/predictions/minixception/shard-0.parquet").is_file()
    robustness = pd.read_csv(workdir / "results/casme2blur/stats/robustness.csv")
    assert set(robustness["classifier"]) == {"minixception"} and set(robustness["perturbation"]) == {"blur"}
    assert (workdir / "results/report/index.html").is_file()
