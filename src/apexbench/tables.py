"""Parquet and CSV I/O for the workflow's files: atomic writes, key-value metadata."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .fsutil import atomic_path

META_KEY = b"apexbench"


def write_parquet(df: pd.DataFrame, path: str | Path, meta: dict[str, Any] | None = None,
                  schema: pa.Schema | None = None) -> None:
    """Write ``df`` atomically; ``meta`` is stored as JSON in the file's key-value metadata."""
    table = pa.Table.from_pandas(df, preserve_index=False, schema=schema)
    if meta is not None:
        existing = table.schema.metadata or {}
        table = table.replace_schema_metadata({**existing, META_KEY: json.dumps(meta, sort_keys=True).encode()})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")


def read_parquet(path: str | Path, columns: list[str] | None = None) -> pd.DataFrame:
    return pq.read_table(path, columns=columns).to_pandas()


def read_meta(path: str | Path) -> dict[str, Any]:
    raw = (pq.read_schema(path).metadata or {}).get(META_KEY)
    return json.loads(raw) if raw else {}


def write_csv(df: pd.DataFrame, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, lineterminator="\n")


def write_text(text: str, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
