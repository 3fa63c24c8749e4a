"""The demo through `--profile profiles/slurm` on a real one-node Slurm, against a local run.

CI (CI=true) installs Slurm and munge (.ci/run) and this test must run there; elsewhere it skips
with the reason when Slurm cannot be started (not installed, not root, a real slurm.conf present).
"""

from __future__ import annotations

import os
import re

import pytest
import yaml

from apexbench.compare import comparable_metrics, first_difference

from slurm_cluster import LocalSlurm, SlurmUnavailable
from workflow_helpers import make_workdir, planned_jobs, snakemake

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    reason = LocalSlurm.why_unavailable()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the Slurm test: {reason}")
        pytest.skip(reason)
    cluster = LocalSlurm(tmp_path_factory.mktemp("slurm"))
    try:
        cluster.start()
    except SlurmUnavailable as err:
        pytest.fail(f"local Slurm did not start: {err}")
    pids = {name: proc.pid for name, proc in cluster.procs.items()}
    assert set(pids) == {"munged", "slurmctld", "slurmd"}, pids
    try:
        yield cluster
    finally:
        cluster.stop()
    alive = [f"{name} (pid {pid})" for name, pid in pids.items() if _running(pid)]
    assert not alive, f"still running after stop(): {', '.join(alive)}"


def _running(pid: int) -> bool:
    """True while ``pid`` is a live process (not a zombie: stop() reaps what it started)."""
    try:
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def _two_classifiers(workdir):
    """Two classifiers (one real, one unavailable) keep the number of Slurm jobs small."""
    path = workdir / "config" / "config.yaml"
    config = yaml.safe_load(path.read_text())
    config["classifiers"] = {"ferplus": {"kind": "ferplus"}, "minixception": {"kind": "minixception"}}
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return workdir


def test_demo_on_slurm_equals_the_local_run(slurm, tmp_path, mirror_dir):
    # One models directory for both (an unavailable model's fix names where its file goes).
    offline = {"models": {"mirror": str(mirror_dir), "download": False, "dir": str(tmp_path / "models")},
               # fewer jobs: each Slurm job pays a queue round trip and a Snakemake start
               "dataset": {"shards": 2}}
    local = _two_classifiers(make_workdir(tmp_path / "local", offline))
    snakemake(local, "--cores", "2")

    cluster = _two_classifiers(make_workdir(tmp_path / "slurm", offline))
    proc = snakemake(cluster, "--profile", "profiles/slurm", env=slurm.env)
    log = proc.stdout + proc.stderr
    submitted = re.findall(r"has been submitted with SLURM jobid (\d+) \(log: (\S+)\)", log)
    # One job per shard (its validation and extraction), one infer job per shard for the classifier
    # that can run (FER+ is unavailable: its fetch_model job is all it costs), then validate,
    # aggregate (with the set's report page) and leaderboard (with the report's index); fetch_model and
    # demo_media run on the submit host.
    assert len(submitted) == 2 + 1 * 2 + 3, log[-3000:]
    assert not any("fetch_model" in path or "demo_media" in path for _, path in submitted)

    metrics_local = (local / "results/metrics.csv").read_text()
    metrics_slurm = (cluster / "results/metrics.csv").read_text()
    assert first_difference(local / "results/metrics.csv", cluster / "results/metrics.csv") is None
    assert comparable_metrics(metrics_local) == comparable_metrics(metrics_slurm)
    assert "latency_ms_mean" in metrics_local and "demo,minixception,canonical7,none,accuracy" in metrics_local
    for name in ("validated/samples.parquet", "validated/rejected.csv", "validated/summary.md"):
        assert (local / "results/demo" / name).read_bytes() == (cluster / "results/demo" / name).read_bytes(), name

    # The same command on the cluster then has nothing to do.
    assert planned_jobs(cluster, "--profile", "profiles/slurm", env=slurm.env) == {}
