"""Column lists to Arrow without pandas: the same arrays as pyarrow's own conversion."""

from __future__ import annotations

import math
import random
import subprocess
import sys

import pyarrow as pa
import pytest

from apexbench.tables import arrow_column, columns_table

from conftest import REPO

GENERATORS = {
    pa.int64(): lambda rng: rng.choice([None, rng.randint(-10 ** 12, 10 ** 12)]),
    pa.float64(): lambda rng: rng.choice([None, math.nan, rng.random(), -0.0, 1e300]),
    pa.string(): lambda rng: rng.choice([None, "", "héllo/wörld", "a" * rng.randint(0, 20)]),
    pa.binary(): lambda rng: rng.choice([None, b"", bytes(rng.randint(0, 255) for _ in range(rng.randint(0, 30)))]),
    pa.list_(pa.int64()): lambda rng: rng.choice([None, [], [rng.randint(0, 9) for _ in range(4)]]),
    pa.list_(pa.float64()): lambda rng: rng.choice([None, [rng.random() for _ in range(7)], [math.nan]]),
}


@pytest.mark.parametrize("arrow_type", list(GENERATORS), ids=str)
def test_arrow_column_equals_pyarrows_conversion(arrow_type):
    rng = random.Random(str(arrow_type))
    for n in (0, 1, 7, 8, 9, 1000):
        values = [GENERATORS[arrow_type](rng) for _ in range(n)]
        column = arrow_column(values, arrow_type)
        column.validate(full=True)
        assert column.equals(pa.array(values, type=arrow_type, from_pandas=True)), (n, values[:10])


def test_a_table_of_columns_keeps_the_schema():
    schema = pa.schema([("id", pa.string()), ("n", pa.int64())])
    table = columns_table({"id": ["a", None], "n": [1, None], "ignored": [0, 0]}, schema)
    assert table.schema.equals(schema) and table.to_pydict() == {"id": ["a", None], "n": [1, None]}


def test_the_shard_jobs_work_never_imports_pandas(tmp_path):
    """pa.array imports pandas on first use (0.3 s a job); the extract, validate and infer functions
    build their tables without it."""
    code = f"""
import io, sys
from pathlib import Path
import cv2, numpy as np
root = Path({str(tmp_path)!r}) / "faces"
(root / "happy").mkdir(parents=True)
for i in range(4):
    cv2.imwrite(str(root / "happy" / f"{{i}}.jpg"), np.full((48, 48), 40 * i, np.uint8))
(root / "happy" / "bad.jpg").write_bytes(b"nope")
from apexbench.datasets import read_dataset
from apexbench.extract import extract_shard
from apexbench.infer import failed_columns, predictions_table
from apexbench.tables import read_table, write_table, write_table_csv
from apexbench.validate import gather_shards, summary_markdown
spec = {{"format": "image_folder", "root": str(root), "labels": "fer2013", "allow_outside_root": False}}
faces = {{"detector": "none", "crop_size": 48, "margin": 0.0, "min_score": 0.5, "model_selection": 0,
         "jpeg_quality": 95}}
samples, rejected, frames = extract_shard(read_dataset(spec), spec, 1, faces, log=io.StringIO())
for name, table in (("s", samples), ("r", rejected), ("f", frames)):
    write_table(table, root / f"{{name}}.parquet")
samples, rejected = gather_shards([read_table(root / "s.parquet")], [read_table(root / "r.parquet")])
write_table_csv(rejected, root / "rejected.csv")
summary_markdown(samples, rejected, "x")
ids = read_table(root / "f.parquet", columns=["sample_id"]).column("sample_id").to_pylist()
write_table(predictions_table(failed_columns(ids, "error:unavailable")), root / "p.parquet")
assert samples.num_rows == 4 and rejected.num_rows == 1
print(sorted(m for m in ("pandas", "sklearn", "scipy", "matplotlib") if m in sys.modules))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]", proc.stdout
