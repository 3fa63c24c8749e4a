"""Composite evaluation sets: several datasets pooled into one, as MEGC 2019 pools SMIC, CASME II
and SAMM. A composite is built from its datasets' validated tables (and, in aggregate, their
predictions), never from copies of their frames: each sample keeps its own dataset's frame shard;
in the pool its ``sample_id`` and ``subject`` are prefixed ``<dataset>/`` so that two datasets'
subjects never collide (leave-one-subject-out then leaves out one subject of one dataset), and
``source_dataset`` says where it came from.
"""

from __future__ import annotations

import pandas as pd

SOURCE_COLUMN = "source_dataset"


def prefixed(samples: pd.DataFrame, dataset: str, prefix: str) -> pd.DataFrame:
    """``samples`` of ``dataset`` with ids and subjects prefixed and the source recorded."""
    out = samples.copy()
    out["sample_id"] = prefix + out["sample_id"].astype(str)
    out["subject"] = prefix + out["subject"].astype(str)
    out[SOURCE_COLUMN] = dataset
    return out


def pool_samples(tables: list[tuple[str, pd.DataFrame]]) -> pd.DataFrame:
    """One sample table from (dataset, validated samples) pairs, each prefixed by its dataset."""
    pooled = pd.concat([prefixed(t, name, f"{name}/") for name, t in tables], ignore_index=True)
    return pooled.sort_values("sample_id", kind="stable").reset_index(drop=True)
