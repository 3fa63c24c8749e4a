"""The one interface every dataset reader implements.

A reader turns a dataset (a table plus media, or a folder tree) into ``RawRow`` records *without*
opening any media: reading must be cheap because it runs when Snakemake builds the DAG. Problems
with a single row (a non-integer index, an unknown label) are kept on the row and become rejections
in the validate stage; only problems with the whole table (unreadable file, missing columns, no
rows) raise ``DatasetError`` with one line naming the file.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from dataclasses import dataclass, field, fields
from typing import Any


IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp")


def kind_of(source: str) -> str:
    """``image`` for still-image files (by extension), ``video`` for everything else."""
    return "image" if Path(source).suffix.lower() in IMAGE_EXTENSIONS else "video"


@dataclass(frozen=True)
class RawRow:
    """One candidate sample as the dataset describes it, before validation.

    ``onset``/``apex``/``offset`` are 0-based frame indices when they parsed as integers, or the
    original text when they did not (validate rejects those). ``source`` is relative to the dataset
    root. ``row`` is the 1-based line (or item) number in the table, for messages. ``original`` holds
    the row exactly as read (column -> text), written back to ``rejected.csv``.
    """

    sample_id: str
    subject: str
    source: str
    kind: str  # "video" | "image"
    onset: int | str | None
    apex: int | str | None
    offset: int | str | None
    label: str
    row: int
    original: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        # Not dataclasses.asdict: its recursive deep copy cost 2 s at CMED scale (two calls per row
        # while Snakemake builds the DAG); the values are plain scalars plus the flat ``original``.
        return {name: getattr(self, name) for name in _RAW_ROW_FIELDS} | {"original": dict(self.original)}


_RAW_ROW_FIELDS = tuple(f.name for f in fields(RawRow))  # dataclasses.fields() per call was a third of to_dict


# ``shards: auto``: work counted in still images (a video sample is seeked, decoded twice and cropped:
# 61 ms at CMED scale against about 1 ms for a FER2013 face, extraction and inference together).
AUTO_SHARD_UNITS = 1000
SAMPLE_UNITS = {"image": 1, "frames": 2, "video": 64}
MAX_AUTO_SHARDS = 1024


def auto_shards(rows) -> int:
    """The shard count of ``shards: auto``: the power of two nearest to sqrt(work / 1,000 image
    units), 1 to 1,024. Every shard costs two job starts (0.5-0.7 s of CPU) however small it is, and
    its work sets how long its jobs run: the count that balances the two grows with the square root
    of the work. It depends on the table alone, not on the machine (the count decides every sample's
    shard, so the cache), and changes only when the work grows or shrinks fourfold.
    CK+48 (981 faces): 1 shard; FER2013 PublicTest (3,589): 2; FER2013 train (28,709): 4;
    10,924 videos (CMED): 32."""
    units = sum(SAMPLE_UNITS.get(row.kind, 1) for row in rows)
    if units <= AUTO_SHARD_UNITS:
        return 1
    return min(MAX_AUTO_SHARDS, 2 ** math.floor(math.log2(units / AUTO_SHARD_UNITS) / 2 + 0.5))


def shard_count(shards: int | str, rows) -> int:
    """A dataset's configured ``shards``: a number as given, or ``auto`` (``auto_shards``)."""
    return auto_shards(rows) if shards == "auto" else int(shards)


def shard_of(sample_id: str, n_shards: int) -> int:
    """Stable shard for a sample: derived from its id only, so adding a sample never moves others."""
    digest = hashlib.sha256(str(sample_id).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % n_shards
