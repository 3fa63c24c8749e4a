"""The CMED-scale generator and the run-comparison rule (everything but latency rows)."""

from __future__ import annotations

import pandas as pd

from apexbench.cmed_synth import CMED_SIZE, cmed_rows, write_cmed_dataset
from apexbench.compare import comparable_metrics, first_difference, main
from apexbench.datasets import read_dataset
from apexbench.labels import CMED_LABELS
from apexbench.validate import validate_rows


def test_cmed_rows_full_size_are_valid_and_deterministic():
    rows = cmed_rows()
    assert len(rows) == CMED_SIZE == 10_924
    assert len({r["sample_id"] for r in rows}) == CMED_SIZE
    assert all(0 <= r["onset"] < r["apex"] < r["offset"] < 12 for r in rows)
    assert {r["emotion"].lower() for r in rows} <= set(CMED_LABELS)
    assert rows == cmed_rows()
    assert cmed_rows(seed=1) != rows


def test_generated_dataset_validates_completely(tmp_path):
    table = write_cmed_dataset(tmp_path, n=8, n_frames=6)
    rows = read_dataset({"format": "cmed_csv", "root": str(tmp_path / "media"), "table": str(table)})
    samples, rejected = validate_rows(rows, tmp_path / "media", CMED_LABELS, n_shards=2)
    assert rejected.empty and len(samples) == 8 and (samples["frame_count"] == 6).all()
    videos = sorted((tmp_path / "media").rglob("*.avi"))
    first = {p: p.read_bytes() for p in videos}
    write_cmed_dataset(tmp_path / "again", n=8, n_frames=6)
    assert [p.read_bytes() for p in sorted((tmp_path / "again/media").rglob("*.avi"))] == list(first.values())


def test_table_only_for_dry_runs(tmp_path):
    table = write_cmed_dataset(tmp_path, n=100, videos=False)
    assert len(pd.read_csv(table)) == 100 and not (tmp_path / "media").exists()


HEADER = "classifier,label_scheme,metric,class,value,ci_low,ci_high,n,note\n"


def test_comparison_ignores_only_latency_rows(tmp_path):
    a = HEADER + "m,c7,accuracy,,0.5,0.4,0.6,10,\nm,c7,latency_ms_mean,,3.1,,,10,\nm,c7,latency_ms_median,,3.0,,,10,\n"
    b = HEADER + "m,c7,accuracy,,0.5,0.4,0.6,10,\nm,c7,latency_ms_mean,,9.9,,,10,\nm,c7,latency_ms_median,,8.0,,,10,\n"
    c = HEADER + "m,c7,accuracy,,0.50000001,0.4,0.6,10,\nm,c7,latency_ms_mean,,3.1,,,10,\n"
    assert comparable_metrics(a) == HEADER + "m,c7,accuracy,,0.5,0.4,0.6,10,\n"
    for name, text in {"a": a, "b": b, "c": c}.items():
        (tmp_path / f"{name}.csv").write_text(text)
    assert first_difference(tmp_path / "a.csv", tmp_path / "b.csv") is None
    assert "0.50000001" in first_difference(tmp_path / "a.csv", tmp_path / "c.csv")
    assert main([str(tmp_path / "a.csv"), str(tmp_path / "b.csv")]) == 0
    assert main([str(tmp_path / "a.csv"), str(tmp_path / "c.csv")]) == 1
