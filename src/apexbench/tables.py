"""Parquet and CSV I/O for the workflow's files: atomic writes, key-value metadata.

pandas is imported by the pandas functions only (``write_parquet`` gets a frame, ``read_parquet``
returns one): the per-shard jobs write pyarrow tables (``write_table``) and never import it.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from .fsutil import atomic_path

if TYPE_CHECKING:
    import pandas as pd

META_KEY = b"apexbench"


def write_table(table: pa.Table, path: str | Path, meta: dict[str, Any] | None = None) -> None:
    """Write ``table`` atomically (zstd); ``meta`` is stored as JSON in the file's key-value metadata."""
    if meta is not None:
        existing = table.schema.metadata or {}
        table = table.replace_schema_metadata({**existing, META_KEY: json.dumps(meta, sort_keys=True).encode()})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")


def write_parquet(df: pd.DataFrame, path: str | Path, meta: dict[str, Any] | None = None,
                  schema: pa.Schema | None = None) -> None:
    """Write ``df`` atomically; ``meta`` is stored as JSON in the file's key-value metadata."""
    write_table(pa.Table.from_pandas(df, preserve_index=False, schema=schema), path, meta)


def read_table(path: str | Path, columns: list[str] | None = None) -> pa.Table:
    # ParquetFile, not pq.read_table: the latter goes through pyarrow.dataset, whose first use costs
    # 0.3 s of CPU (a lazy import) in every job that reads a file.
    with pq.ParquetFile(path) as fh:
        return fh.read(columns=columns)


def read_parquet(path: str | Path, columns: list[str] | None = None) -> pd.DataFrame:
    return read_table(path, columns).to_pandas()


def read_meta(path: str | Path) -> dict[str, Any]:
    raw = (pq.read_schema(path).metadata or {}).get(META_KEY)
    return json.loads(raw) if raw else {}


def write_csv(df: pd.DataFrame, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, lineterminator="\n")


def write_table_csv(table: pa.Table, path: str | Path) -> None:
    """A table of text and integer columns as CSV, byte for byte what ``write_csv`` writes for the same
    pandas frame (pandas writes through the csv module: minimal quoting, nulls empty)."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(table.column_names)
        writer.writerows(zip(*(["" if v is None else v for v in col.to_pylist()] for col in table.columns)))


def write_text(text: str, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
