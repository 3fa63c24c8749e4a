"""A benchmark is a matrix: several datasets x the classifiers a user's config names, in one real
Snakemake run, from a working directory that is not the workflow's, with a leaderboard; caching
across datasets; an unavailable classifier costs one job; a dataset whose rows are all rejected is
a line of the leaderboard; cross-dataset evaluation of a trained baseline."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from apexbench.compare import comparable_metrics

from conftest import shared_path
from workflow_helpers import make_workdir, planned_job_targets, planned_jobs, snakemake

pytestmark = pytest.mark.slow

FACES = {"detector": "none", "crop_size": 48, "margin": 0.0}
CK_SUBJECTS = ("S005", "S010", "S011", "S014", "S022", "S026")


def _copy_images(src: Path, dst: Path, keep) -> int:
    n = 0
    for label_dir in sorted(p for p in src.iterdir() if p.is_dir()):
        for image in sorted(label_dir.iterdir()):
            if keep(label_dir.name, image.name):
                (dst / label_dir.name).mkdir(parents=True, exist_ok=True)
                shutil.copy(image, dst / label_dir.name / image.name)
                n += 1
    return n


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Small real image datasets: CK+48 faces of six subjects, and 8 FER2013 PublicTest faces per class."""
    root = tmp_path_factory.mktemp("data")
    n_ck = _copy_images(shared_path("data", "ckplus48"), root / "ck", lambda _, name: name.startswith(CK_SUBJECTS))
    counts: dict[str, int] = {}

    def first_eight(label, _):
        counts[label] = counts.get(label, 0) + 1
        return counts[label] <= 8

    n_fer = _copy_images(shared_path("data", "fer2013", "publictest"), root / "fer", first_eight)
    # a dataset whose every row is rejected: its table names files that do not exist
    (root / "ghost.csv").write_text("sample_id,subject,video,onset,apex,offset,emotion\n"
                                    "g1,s1,gone1.mp4,0,1,2,Happy\ng2,s2,gone2.mp4,0,1,2,Sad\n")
    (root / "ghost").mkdir()
    assert n_ck > 50 and n_fer == 56
    return root


def _config(data: Path, mirror: Path, datasets=("ck", "fer"), **extra) -> dict:
    specs = {
        "ck": {"format": "image_folder", "root": str(data / "ck"), "labels": "ckplus",
               "subject_pattern": r"^S(\d+)_", "faces": FACES, "shards": 2},
        "fer": {"format": "image_folder", "root": str(data / "fer"), "labels": "fer2013", "faces": FACES,
                "shards": 2, "evaluation": {"protocol": "cross_dataset", "train": "ck"}},
        "ghost": {"format": "cmed_csv", "root": str(data / "ghost"), "table": str(data / "ghost.csv"),
                  "labels": "cmed", "shards": 1},
    }
    return {
        "datasets": {name: specs[name] for name in datasets},
        "classifiers": {"minixception": {"kind": "minixception"}, "landmarks": {"kind": "landmarks"},
                        "ferplus": {"kind": "ferplus"}},
        "models": {"mirror": str(mirror), "download": False},
        **extra,
    }


@pytest.fixture(scope="module")
def matrix(tmp_path_factory, data, mirror_dir):
    """The workflow copied to one place and run from another (`snakemake -s <workflow>/Snakefile` in a
    separate working directory), with a user config naming 3 datasets x 3 classifiers."""
    workflow = make_workdir(tmp_path_factory.mktemp("workflow"))
    workdir = tmp_path_factory.mktemp("run")
    (workdir / "my.yaml").write_text(yaml.safe_dump(_config(data, mirror_dir, ("ck", "fer", "ghost")), sort_keys=False))
    proc = snakemake(workdir, "-s", str(workflow / "Snakefile"), "--cores", "2", "--configfile", "my.yaml")
    return {"workflow": workflow, "workdir": workdir, "output": proc.stdout + proc.stderr}


def _run(matrix, *args, **kwargs):
    return snakemake(matrix["workdir"], "-s", str(matrix["workflow"] / "Snakefile"), *args, **kwargs)


def _plan(matrix, configfile="my.yaml"):
    return planned_jobs(matrix["workdir"], "-s", str(matrix["workflow"] / "Snakefile"), "--configfile", configfile)


def _board(workdir: Path) -> pd.DataFrame:
    return pd.read_csv(workdir / "results/leaderboard.csv", keep_default_na=False, na_values=[""])


def test_exactly_the_named_datasets_and_classifiers_run(matrix):
    workdir = matrix["workdir"]
    board = _board(workdir)
    assert list(dict.fromkeys(board["dataset"])) == ["ck", "fer", "ghost"]
    assert list(dict.fromkeys(board["classifier"])) == ["minixception", "landmarks", "ferplus"]
    assert not (workdir / "results/demo").exists()  # nothing of the default config's demo leaked in
    metrics = pd.read_csv(workdir / "results/metrics.csv", keep_default_na=False, na_values=[""])
    assert metrics.columns[0] == "dataset" and list(dict.fromkeys(metrics["dataset"])) == ["ck", "fer", "ghost"]
    for dataset in ("ck", "fer"):
        for name in ("validated/samples.parquet", "frames/shard-0.parquet", "predictions/minixception/shard-1.parquet",
                     "predictions/landmarks/out_of_fold.parquet", "confusion/minixception.png", "stats/paired.csv",
                     "summary.md", "report.html", "samples.html", "metrics.csv"):
            assert (workdir / "results" / dataset / name).is_file(), (dataset, name)
    page = (workdir / "results/report/index.html").read_text()
    assert page.index("id='leaderboard'") < page.index("id='set-ck-top'") < page.index("id='set-fer-top'")


def test_an_unavailable_classifier_costs_one_job_and_is_named_at_the_end(matrix):
    workdir = matrix["workdir"]
    board = _board(workdir)
    ferplus = board[board["classifier"] == "ferplus"]
    assert ferplus["status"].tolist() == ["unavailable"] * 3 and ferplus["rank"].isna().all()
    assert "emotion-ferplus-8.onnx" in ferplus["note"].iloc[0]
    assert not list((workdir / "results").glob("*/predictions/ferplus"))  # no infer job ran for it
    assert len(list((workdir / "logs/fetch_model").glob("ferplus.log"))) == 1
    assert not list((workdir / "logs").glob("*/infer/ferplus"))
    assert "apexbench: classifier ferplus is unavailable: " in matrix["output"]
    assert "emotion-ferplus-8.onnx" in matrix["output"].split("apexbench: classifier ferplus is unavailable: ")[1]


def test_a_dataset_with_every_row_rejected_is_a_line_not_a_failure(matrix):
    board = _board(matrix["workdir"]).set_index(["dataset", "classifier"])
    assert board.loc[("ghost", "minixception"), "status"] == "no samples"
    assert board.loc[("ghost", "minixception"), "n"] == 0
    assert "passed validation" in board.loc[("ghost", "minixception"), "note"]
    rejected = pd.read_csv(matrix["workdir"] / "results/ghost/validated/rejected.csv")
    assert rejected["reason"].tolist() == ["missing_file", "missing_file"]
    assert "No sample passed validation" in (matrix["workdir"] / "results/ghost/summary.md").read_text()


def test_gallery_and_sample_browser_of_every_dataset(matrix):
    """Each dataset's report has its error gallery (the trained baseline's out-of-fold predictions
    too, the unavailable classifier as one line) and its sample browser opens in Chromium with a
    filter and a sort applied; the dataset without samples has an empty browser that still works."""
    from test_report import require_chromium
    from apexbench.browser import check_page, page_ok

    workdir = matrix["workdir"]
    for dataset in ("ck", "fer"):
        page = (workdir / f"results/{dataset}/report.html").read_text()
        for clf in ("minixception", "landmarks"):
            assert f'data-figure="set-{dataset}-gallery-{clf}-0"' in page, (dataset, clf)
        assert "<b>ferplus</b>: unavailable, no gallery." in page
        assert "A face was found in every sample." in page  # faces.detector none: the images are the faces
    ghost = (workdir / "results/ghost/report.html").read_text()
    assert "No face found: 0 sample(s)" in ghost and "minixception: 0 wrong of 0 samples" in ghost
    require_chromium()
    result = check_page(workdir / "results/ck/samples.html", "wrong=*every&sort=conf:landmarks&dir=desc")
    assert page_ok(result), result["errors"]
    assert 0 < len(result["visible"]) <= 100 and result["figures_ok"] == result["figures_total"] > 0
    metrics = pd.read_csv(workdir / "results/ck/metrics.csv", keep_default_na=False, na_values=[""])
    n = metrics[(metrics["metric"] == "accuracy") & metrics["class"].isna()].set_index("classifier")["n"]
    assert int(result["attributes"]["data-total"]) >= int(n["minixception"])
    result = check_page(workdir / "results/ghost/samples.html")
    assert page_ok(result) and result["attributes"]["data-total"] == "0" and result["visible"] == []


def test_ranks_and_the_cross_dataset_baseline(matrix):
    board = _board(matrix["workdir"])
    ok = board[board["status"] == "ok"].set_index(["dataset", "classifier"])
    for dataset in ("ck", "fer"):
        ranks = ok.loc[dataset].sort_values("uf1", ascending=False)["rank"].tolist()
        assert ranks == [1.0, 2.0]
    from apexbench.tables import read_meta, read_parquet

    path = matrix["workdir"] / "results/fer/predictions/landmarks/out_of_fold.parquet"
    meta, predictions = read_meta(path), read_parquet(path)
    assert meta["protocol"] == "cross_dataset" and meta["train_on"] == ["ck"]
    assert set(predictions["fold"].dropna()) == {"cross_dataset"}
    # predictions are for fer's own samples only, none of ck's
    samples = read_parquet(matrix["workdir"] / "results/fer/validated/samples.parquet")
    assert sorted(predictions["sample_id"]) == sorted(samples["sample_id"])


def test_each_dataset_equals_its_one_dataset_run(matrix, data, mirror_dir, tmp_path):
    """The matrix's ck rows equal a run of ck alone (every row but latency, byte for byte)."""
    alone = tmp_path / "alone"  # another working directory of the same workflow (and models directory)
    alone.mkdir()
    (alone / "ck.yaml").write_text(yaml.safe_dump(_config(data, mirror_dir, ("ck",)), sort_keys=False))
    snakemake(alone, "-s", str(matrix["workflow"] / "Snakefile"), "--cores", "2", "--configfile", "ck.yaml")

    def ck_rows(path):
        return "".join(line for line in comparable_metrics(path.read_text()).splitlines(keepends=True)
                       if line.startswith(("dataset,", "ck,")))

    assert ck_rows(alone / "results/metrics.csv") == ck_rows(matrix["workdir"] / "results/metrics.csv")
    assert ck_rows(alone / "results/metrics.csv").count("\n") > 40


def test_a_second_run_plans_nothing_and_a_new_dataset_only_its_jobs(matrix, data, mirror_dir):
    assert _plan(matrix) == {}
    (data / "fer2").mkdir(exist_ok=True)
    shutil.copytree(data / "fer", data / "fer2", dirs_exist_ok=True)
    config = _config(data, mirror_dir, ("ck", "fer", "ghost"))
    config["datasets"]["fer2"] = {**config["datasets"]["fer"], "root": str(data / "fer2"), "shards": 1}
    del config["datasets"]["fer2"]["evaluation"]
    (matrix["workdir"] / "more.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    jobs = _plan(matrix, "more.yaml")
    assert jobs == {"extract": 1, "validate": 1, "infer": 1, "features": 1, "train": 1,
                    "aggregate": 1, "leaderboard": 1, "all": 1}
    for rule in ("extract", "infer", "features", "train", "aggregate"):
        targets = planned_job_targets(matrix["workdir"], rule, "-s", str(matrix["workflow"] / "Snakefile"),
                                      "--configfile", "more.yaml")
        assert targets and all(t.startswith("results/fer2/") for t in targets), (rule, targets)


def test_adding_a_classifier_runs_only_its_branch(matrix, data, mirror_dir):
    config = _config(data, mirror_dir, ("ck", "fer", "ghost"))
    config["classifiers"]["mini2"] = {"kind": "minixception", "batch_size": 7}
    (matrix["workdir"] / "mini2.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    # ghost has no sample: its one shard still gets an (empty) inference job
    assert _plan(matrix, "mini2.yaml") == {"infer": 5, "aggregate": 3, "leaderboard": 1, "all": 1}
