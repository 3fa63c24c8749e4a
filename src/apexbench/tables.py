"""Parquet and CSV I/O for the workflow's files: atomic writes, key-value metadata.

pandas is imported by the pandas functions only (``write_parquet`` gets a frame, ``read_parquet``
returns one): the per-shard jobs build pyarrow tables from Python lists (``columns_table``) and
write them (``write_table``) without it. ``pa.array`` is not used for that: its first call imports
pandas (0.3 s of CPU) to check whether the values are pandas objects, so ``arrow_column`` assembles
the buffers itself (numpy), with ``pa.array(..., from_pandas=True)``'s result: None, and NaN in a
float column, are nulls.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .fsutil import atomic_path

if TYPE_CHECKING:
    import pandas as pd

META_KEY = b"apexbench"


_INT32_MAX = 2 ** 31 - 1


def _validity(valid: np.ndarray) -> pa.Buffer | None:
    return None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))


def _offsets(lengths: np.ndarray) -> np.ndarray:
    offsets = np.zeros(len(lengths) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    return offsets


def arrow_column(values: Sequence, type: pa.DataType) -> pa.Array:
    """``pa.array(values, type=type, from_pandas=True)`` for int64, float64, string, binary and
    lists of those, without importing pandas (see the module docstring)."""
    n = len(values)
    if pa.types.is_floating(type):
        data = np.array([math.nan if v is None else v for v in values], dtype=np.float64)
        valid = ~np.isnan(data)
        return pa.Array.from_buffers(type, n, [_validity(valid), pa.py_buffer(np.where(valid, data, 0.0))],
                                     null_count=int(n - valid.sum()))
    valid = np.fromiter((v is not None for v in values), dtype=bool, count=n)
    nulls = int(n - valid.sum())
    if pa.types.is_integer(type):
        dtype = f"{'u' if pa.types.is_unsigned_integer(type) else ''}int{type.bit_width}"
        data = np.array([0 if v is None else v for v in values], dtype=dtype)
        return pa.Array.from_buffers(type, n, [_validity(valid), pa.py_buffer(data)], null_count=nulls)
    if pa.types.is_string(type) or pa.types.is_binary(type):
        encoded = [b"" if v is None else (v.encode("utf-8") if isinstance(v, str) else bytes(v)) for v in values]
        lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=n)
        if lengths.sum() > _INT32_MAX:  # more than int32 offsets hold: let pyarrow split it
            return pa.array(values, type=type, from_pandas=True)
        return pa.Array.from_buffers(type, n, [_validity(valid), pa.py_buffer(_offsets(lengths)),
                                               pa.py_buffer(b"".join(encoded))], null_count=nulls)
    if pa.types.is_list(type):
        items = [() if v is None else v for v in values]
        lengths = np.fromiter(map(len, items), dtype=np.int64, count=n)
        child = arrow_column(list(itertools.chain.from_iterable(items)), type.value_type)
        return pa.Array.from_buffers(type, n, [_validity(valid), pa.py_buffer(_offsets(lengths))],
                                     null_count=nulls, children=[child])
    raise TypeError(f"arrow_column: no conversion for {type}")


def columns_table(columns: dict[str, Sequence], schema: pa.Schema) -> pa.Table:
    """Column lists (``columns[name]`` for every field of ``schema``) as a table of ``schema``."""
    return pa.Table.from_arrays([arrow_column(columns[f.name], f.type) for f in schema], schema=schema)


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
