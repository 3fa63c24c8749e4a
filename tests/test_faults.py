"""Faults and bad input through real Snakemake runs: bad rows and files never lose other samples'
results, bad tables stop with one line, and a run killed with SIGKILL mid-extraction finishes, when
restarted with the same command, with the metrics of an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pandas as pd
import pytest

from apexbench.cmed_synth import write_cmed_dataset
from apexbench.compare import comparable_metrics
from apexbench.synthetic import write_index_video

import yaml

from workflow_helpers import make_workdir, snakemake

pytestmark = pytest.mark.slow

COLUMNS = {"id": "sample_id", "subject": "subject", "video": "video", "onset": "onset", "apex": "apex",
           "offset": "offset", "label": "emotion"}


def _config(root: Path, table: Path, mirror: Path, shards: int) -> dict:
    return {
        "dataset": {"name": "faults", "format": "cmed_csv", "demo": False, "root": str(root), "table": str(table),
                    "columns": COLUMNS, "frame_base": 0, "labels": "cmed"},
        "shards": shards,
        # The synthetic clips carry no face: take the whole frame as the face so every sample is scored.
        "faces": {"detector": "none", "crop_size": 64},
        "classifiers": {"minixception": {"kind": "minixception", "model": "minixception", "batch_size": 16}},
        "models": {"mirror": str(mirror), "download": False},
    }


def _write_config(workdir: Path, config: dict) -> None:
    (workdir / "config/config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def _metrics(workdir: Path) -> pd.DataFrame:
    return pd.read_csv(workdir / "results/metrics.csv", keep_default_na=False, na_values=[""])


# --- bad rows and bad media: rejected with a reason, the rest scored -------------------------------

BAD_ROWS = {
    # sample_id: (row text after the id, expected reason)
    "missing_file": ("s1;gone.avi;0;3;5;Happy", "missing_file"),
    "empty_file": ("s1;empty.avi;0;0;0;Happy", "unreadable"),
    "truncated": ("s1;truncated.avi;0;1;2;Sad", "unreadable"),
    "not_a_video": ("s1;notes.avi;0;1;2;Sad", "unreadable"),
    "zero_frames": ("s1;zero.avi;0;0;0;Fear", "no_frames"),
    "negative": ("s2;good.avi;-1;3;5;Happy", "bad_index"),
    "non_integer": ("s2;good.avi;0;3.5;5;Happy", "bad_index"),
    "past_end": ("s2;good.avi;0;3;40;Happy", "index_out_of_range"),
    "unknown_label": ("s2;good.avi;0;3;5;Joyeux", "unknown_label"),
    "no_label": ("s2;good.avi;0;3;5;", "missing_value"),
}


@pytest.fixture(scope="module")
def bad_input_run(tmp_path_factory, mirror_dir):
    base = tmp_path_factory.mktemp("bad_input")
    media = base / "media"
    media.mkdir()
    write_index_video(media / "good.avi", 20, size=(64, 48), fourcc="MJPG")
    write_index_video(media / "other.avi", 20, size=(64, 48), fourcc="MJPG")
    (media / "empty.avi").write_bytes(b"")
    (media / "notes.avi").write_text("not a video\n")
    (media / "truncated.avi").write_bytes((media / "good.avi").read_bytes()[:600])
    writer = cv2.VideoWriter(str(media / "zero.avi"), cv2.CAP_FFMPEG, cv2.VideoWriter_fourcc(*"MJPG"), 30, (64, 48))
    writer.release()
    lines = ["sample_id;subject;video;onset;apex;offset;emotion"]
    good = [f"good{i};sujet_é{i % 3};{'good' if i % 2 else 'other'}.avi;{i % 4};{4 + i % 8};{12 + i % 8};"
            f"{['Happy', 'Sad', 'Surprise', 'No Emotion'][i % 4]}" for i in range(12)]
    lines += good[:6] + [f"{sid};{text}" for sid, (text, _) in BAD_ROWS.items()]
    lines += ["dup;s3;good.avi;0;1;2;Happy", "dup;s3;other.avi;0;1;2;Sad"] + good[6:]
    table = base / "annotations.csv"
    table.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))  # latin-1 text, ';' delimiter
    workdir = make_workdir(base / "wd")
    _write_config(workdir, _config(media, table, mirror_dir, shards=3))
    snakemake(workdir, "--cores", "2")
    return workdir


def _rejected(workdir: Path) -> pd.DataFrame:
    return pd.read_csv(workdir / "results/faults/validated/rejected.csv", keep_default_na=False)


@pytest.mark.parametrize("sample_id", BAD_ROWS)
def test_each_bad_row_is_rejected_with_its_reason_and_row(bad_input_run, sample_id):
    """One test per case: the table line (1-based, header = 1), the reason code and a one-line message."""
    rejected = _rejected(bad_input_run)
    mine = rejected[rejected["sample_id"] == sample_id]
    assert len(mine) == 1, rejected[["sample_id", "reason"]].to_string()
    row = mine.iloc[0]
    assert (row["reason"], int(row["row"])) == (BAD_ROWS[sample_id][1], 8 + list(BAD_ROWS).index(sample_id))
    assert row["message"] and "\n" not in row["message"]
    media = BAD_ROWS[sample_id][0].split(";")[1]
    if row["reason"] in ("missing_file", "unreadable", "no_frames"):
        assert media in row["message"], row["message"]  # names the file


def test_duplicate_ids_are_both_rejected_and_nothing_else_is(bad_input_run):
    rejected = _rejected(bad_input_run)
    dup = rejected[rejected["sample_id"] == "dup"]
    assert dup["row"].tolist() == [18, 19] and set(dup["reason"]) == {"duplicate_id"}
    assert sorted(rejected["sample_id"]) == sorted([*BAD_ROWS, "dup", "dup"])


def test_bad_rows_never_lose_other_samples(bad_input_run):
    samples = pd.read_parquet(bad_input_run / "results/faults/validated/samples.parquet")
    assert sorted(samples["sample_id"]) == sorted(f"good{i}" for i in range(12))
    assert set(samples["subject"]) == {"sujet_é0", "sujet_é1", "sujet_é2"}  # latin-1 decoded
    metrics = _metrics(bad_input_run)
    overall = metrics[metrics["class"].isna()].set_index("metric")
    assert overall.loc["accuracy", "n"] == 12 and overall.loc["coverage", "value"] == 1.0


@pytest.mark.parametrize("content, message", [
    (b"", "is empty (no rows)"),
    (b"sample_id,subject,video,onset,apex,offset,emotion\n", "has a header but no rows"),
    (b"sample_id,subject,clip,onset,apex,offset,emotion\na,s,a.avi,0,1,2,Happy\n", "lacks required column(s) 'video'"),
    (b"sample_id subject video onset apex offset emotion\na s a.avi 0 1 2 Happy\n", "has a single column"),
    (b"PK\x03\x04\x00\x00binary", "is not a text CSV"),
], ids=["empty", "no-rows", "missing-column", "wrong-delimiter", "binary"])
def test_a_bad_table_stops_with_one_line_naming_the_file(tmp_path, mirror_dir, content, message):
    table = tmp_path / "annotations.csv"
    table.write_bytes(content)
    workdir = make_workdir(tmp_path / "wd")
    _write_config(workdir, _config(tmp_path, table, mirror_dir, shards=2))
    proc = snakemake(workdir, "--dry-run", check=False)
    assert proc.returncode != 0
    errors = [line for line in proc.stderr.splitlines() if line.startswith("apexbench: error:")]
    assert len(errors) == 1 and str(table) in errors[0] and message in errors[0], proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("encoding, delimiter", [("utf-8-sig", ","), ("cp1252", "\t")], ids=["bom", "cp1252-tab"])
def test_bom_and_windows_tables_run(tmp_path, mirror_dir, encoding, delimiter):
    media = tmp_path / "media"
    write_index_video(media / "clip.avi", 10, size=(64, 48), fourcc="MJPG")
    rows = [["sample_id", "subject", "video", "onset", "apex", "offset", "emotion"],
            ["a", "Zoë", "clip.avi", "0", "3", "5", "Happy"], ["b", "Zoë", "clip.avi", "1", "4", "6", "Sad"]]
    table = tmp_path / "annotations.csv"
    table.write_bytes(("\n".join(delimiter.join(r) for r in rows) + "\n").encode(encoding))
    workdir = make_workdir(tmp_path / "wd")
    _write_config(workdir, _config(media, table, mirror_dir, shards=2))
    snakemake(workdir, "--cores", "2", "results/faults/validated/samples.parquet")
    samples = pd.read_parquet(workdir / "results/faults/validated/samples.parquet")
    assert samples["sample_id"].tolist() == ["a", "b"] and set(samples["subject"]) == {"Zoë"}


# --- SIGKILL in the middle of extraction ---------------------------------------------------------

def _run_until_mid_extraction(workdir: Path, n_shards: int, timeout: float = 300) -> int:
    """Start `snakemake --cores 1`; SIGKILL its whole process group while an extract job is running
    (its log exists, its output does not yet) after at least one shard finished. Returns that shard."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.Popen([sys.executable, "-m", "snakemake", "--cores", "1"], cwd=workdir, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            done = [k for k in range(n_shards) if (workdir / f"results/faults/frames/shard-{k}.parquet").exists()]
            running = [k for k in range(n_shards) if (workdir / f"logs/faults/extract/shard-{k}.log").exists()
                       and k not in done]
            if done and running:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                return running[0]
            time.sleep(0.005)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    pytest.fail("the run ended (or timed out) before it could be killed mid-extraction")


def test_sigkill_mid_extraction_then_same_command_gives_identical_metrics(tmp_path, mirror_dir):
    n_shards = 6
    table = write_cmed_dataset(tmp_path / "data", n=240, n_frames=12)
    config = _config(tmp_path / "data/media", table, mirror_dir, shards=n_shards)
    reference = make_workdir(tmp_path / "reference")
    _write_config(reference, config)
    snakemake(reference, "--cores", "2")

    killed = make_workdir(tmp_path / "killed")
    _write_config(killed, config)
    shard = _run_until_mid_extraction(killed, n_shards)
    assert not (killed / f"results/faults/frames/shard-{shard}.parquet").exists()
    assert not (killed / "results/metrics.csv").exists()

    # A SIGKILLed Snakemake cannot remove its lock: the same command says so and names --unlock.
    proc = snakemake(killed, "--cores", "1", check=False)
    assert proc.returncode != 0 and "--unlock" in proc.stderr
    snakemake(killed, "--unlock")
    snakemake(killed, "--cores", "1")  # the same command again (rerun-incomplete is in the profile)
    ref_text = (reference / "results/metrics.csv").read_text()
    assert comparable_metrics((killed / "results/metrics.csv").read_text()) == comparable_metrics(ref_text)
    assert "latency_ms_mean" in ref_text
    frames_ref = pd.read_parquet(reference / f"results/faults/frames/shard-{shard}.parquet")
    frames_new = pd.read_parquet(killed / f"results/faults/frames/shard-{shard}.parquet")
    pd.testing.assert_frame_equal(frames_ref, frames_new)
    assert not list((killed / "results/faults/frames").glob(".*.tmp")), "a killed job left a temporary file"
    # Deterministic: a forced rerun of everything reproduces the same metrics.
    snakemake(killed, "--cores", "2", "--forceall")
    assert comparable_metrics((killed / "results/metrics.csv").read_text()) == comparable_metrics(ref_text)


# --- a weight file with the wrong checksum --------------------------------------------------------

def test_wrong_checksum_weights_are_refused_with_both_sha256(tmp_path, mirror_dir):
    import hashlib

    from apexbench.models import load_registry

    table = write_cmed_dataset(tmp_path / "data", n=4, n_frames=6)
    workdir = make_workdir(tmp_path / "wd")
    _write_config(workdir, _config(tmp_path / "data/media", table, mirror_dir, shards=2))
    entry = load_registry(workdir / "resources/models/registry.yaml")["minixception"]
    bad = b"not the mini-Xception weights"
    (workdir / "resources/models").mkdir(parents=True, exist_ok=True)
    (workdir / "resources/models" / entry.file).write_bytes(bad)
    proc = snakemake(workdir, "--cores", "2", check=False)
    assert proc.returncode != 0
    errors = [line for line in proc.stderr.splitlines() if line.startswith("apexbench: error:")]
    assert errors, proc.stderr[-3000:]
    assert entry.sha256 in errors[0] and hashlib.sha256(bad).hexdigest() in errors[0]
    assert entry.file in errors[0]
    assert not (workdir / "results/metrics.csv").exists()
