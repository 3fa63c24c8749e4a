"""The Snakemake workflow catalog's "standardized usage": LICENSE, .snakemake-workflow-catalog.yml, and
a .test config that passes `snakemake --lint` and a dry run; every report() output has its caption."""

from __future__ import annotations

import re
import shutil
import tomllib

import yaml

from conftest import REPO
from workflow_helpers import make_workdir, planned_jobs, snakemake


def test_license_matches_pyproject():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert pyproject["project"]["license"] == {"text": "MIT"}
    text = (REPO / "LICENSE").read_text()
    assert text.startswith("MIT License\n") and "apexbench contributors" in text
    assert "Permission is hereby granted, free of charge" in text


def test_catalog_file_says_what_the_workflow_supports():
    usage = yaml.safe_load((REPO / ".snakemake-workflow-catalog.yml").read_text())["usage"]
    assert set(usage) == {"mandatory-flags", "software-stack-deployment", "report"}
    assert usage["mandatory-flags"]["desc"] and "--configfile" in usage["mandatory-flags"]["desc"]
    assert usage["software-stack-deployment"] == {"conda": True, "singularity": False, "singularity+conda": False}
    assert usage["report"] is True
    # conda: true holds because every rule that runs code names its environment ...
    rules = (REPO / "workflow" / "rules").glob("*.smk")
    blocks = [b for path in rules for b in re.split(r"\n(?=\s*(?:rule|checkpoint) \w+:)", path.read_text())]
    runs = [b for b in blocks if re.search(r"^\s*(script|shell|run):", b, re.M)]
    assert len(runs) >= 18 and all("conda:" in b for b in runs), [b.split(":")[0] for b in runs if "conda:" not in b]
    # ... and report: true because results are marked for the report, each with its caption
    captions = re.findall(r'caption="\.\./report/([\w.]+)"', "".join(blocks))
    assert {"metrics.rst", "leaderboard.rst", "confusion.rst", "index.rst", "set_report.rst", "samples.rst"} <= set(
        captions)
    for name in captions:
        assert (REPO / "workflow" / "report" / name).read_text().strip(), name


def test_the_test_config_lints_and_dry_runs(tmp_path):
    """What CI runs on .test/: `snakemake --lint` and a dry run, in a fresh copy of the workflow."""
    workdir = make_workdir(tmp_path / "work")
    shutil.copytree(REPO / ".test", workdir / ".test")
    config = yaml.safe_load((workdir / ".test/config/config.yaml").read_text())
    assert set(config["classifiers"]) == {"minixception"} and config["dataset"]["demo"] is True
    proc = snakemake(workdir, "--lint", "--configfile", ".test/config/config.yaml")
    assert "Congratulations, your workflow is in a good condition!" in proc.stdout + proc.stderr
    # fetch_model is a checkpoint: the dry run plans it, the infer jobs behind it come once it ran
    jobs = planned_jobs(workdir, "--configfile", ".test/config/config.yaml")
    assert jobs == {"demo_media": 1, "fetch_model": 1, "extract": 2, "validate": 1, "aggregate": 1,
                    "leaderboard": 1, "all": 1}
