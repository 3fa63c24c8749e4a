"""The validate stage: every candidate row is checked; usable ones become the sample table.

Checks, in order (the first failing one is the row's reason code):
``missing_value`` (empty id, source or label), ``duplicate_id`` (every row sharing an id is rejected:
we cannot know which one is right), ``unknown_label`` (not in the dataset's label map),
``bad_index`` (frame number not an integer, or negative), ``outside_root`` (the media path resolves
outside the dataset root: ``..``, an absolute path, a symlink out; checked before anything is
opened, unless the dataset sets ``allow_outside_root: true``), ``missing_file``, ``unreadable`` (does
not open or decode), ``no_frames`` (decodes to zero frames), ``index_out_of_range`` (a frame index
past the clip's last frame), ``index_order`` (onset <= apex <= offset violated).
``frames`` samples (clips stored as folders of numbered images, ``source`` a template with a
``{frame}`` field): the onset and APEX images must exist and decode (they are read directly, never
by decoding from the start); a blank offset is accepted (SMIC leaves some uncoded) and stays null;
``frame_count`` is the coded length offset - onset + 1 (null without offset).
Duplicates always share a shard (the shard derives from the id), so each shard validates alone.

Each still image (an ``image`` sample, a ``frames`` sample's onset and APEX) is read once: its bytes
give the sha256 and are decoded (``cv2.imdecode``, which applies EXIF orientation as ``cv2.imread``
does); ``check_rows`` hands the decoded images on, so extraction does not read them again.
``check_rows`` and the table builders need neither pandas nor scikit-learn (the per-shard job stays
light); ``validate_rows`` returns pandas frames for other callers.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from .datasets.base import RawRow, shard_of
from .datasets.coding_tables import FRAMES, frame_path
from .fsutil import RootCheck, sha256_of
from .labels import canonical_label
from .tables import arrow_column, columns_table
from .video import VideoError, probe_video, read_still

REASONS = {
    "missing_value": "a required cell (id, source or label) is empty",
    "duplicate_id": "the sample id appears on more than one row",
    "unknown_label": "the label is not in the dataset's label map",
    "bad_index": "a frame index is not a non-negative integer",
    "index_order": "frame indices are not in onset <= apex <= offset order",
    "outside_root": "the media path resolves outside the dataset root (set allow_outside_root: true to accept)",
    "missing_file": "the media file does not exist",
    "unreadable": "the media file does not open or decode",
    "no_frames": "the video has no decodable frames",
    "index_out_of_range": "a frame index is past the end of the video",
}

SAMPLE_SCHEMA = pa.schema([
    ("sample_id", pa.string()), ("subject", pa.string()), ("source", pa.string()), ("kind", pa.string()),
    ("onset", pa.int64()), ("apex", pa.int64()), ("offset", pa.int64()), ("label", pa.string()),
    ("label_canonical", pa.string()), ("shard", pa.int64()), ("source_sha256", pa.string()),
    ("frame_count", pa.int64()), ("fps", pa.float64()), ("width", pa.int64()), ("height", pa.int64()),
])
REJECTED_SCHEMA = pa.schema([
    ("sample_id", pa.string()), ("row", pa.int64()), ("reason", pa.string()), ("message", pa.string()),
    ("original", pa.string()),
])
SAMPLE_COLUMNS = SAMPLE_SCHEMA.names
REJECTED_COLUMNS = REJECTED_SCHEMA.names
# pandas dtypes of the sample table's integer columns (offset and frame_count may be null).
SAMPLE_DTYPES = {"onset": "int64", "apex": "int64", "offset": "Int64", "frame_count": "Int64"}


class Rejection(Exception):
    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def media_path(root: Path, relative: str, allow_outside: bool = False, inside: RootCheck | None = None) -> Path:
    """``root / relative``; Rejection ``outside_root`` when it resolves outside ``root``."""
    path = root / relative
    if not allow_outside and not (inside or RootCheck(root))(path):
        raise Rejection("outside_root", f"{relative} resolves to {os.path.realpath(path)}, outside the dataset root "
                                        f"{os.path.realpath(root)}; set allow_outside_root: true to accept it")
    return path


@dataclass
class Checked:
    """One row after the checks: its sample-table record or its rejection, and the still images the
    checks decoded (``apex``, ``onset``: (pixels, file bytes)) for the extraction to reuse."""

    row: RawRow
    sample: dict | None = None
    rejection: dict | None = None
    stills: dict[str, tuple[np.ndarray, bytes]] = field(default_factory=dict)


def _check_row(row: RawRow, root: Path, label_map: dict[str, str], n_shards: int,
               allow_outside: bool = False, inside: RootCheck | None = None,
               stills: dict | None = None) -> dict:
    if not str(row.sample_id).strip() or not str(row.source).strip() or not str(row.label).strip():
        raise Rejection("missing_value", "id, source and label must all be filled in")
    canonical = canonical_label(row.label, label_map)
    if canonical is None:
        known = ", ".join(sorted(set(label_map)))
        raise Rejection("unknown_label", f"label {row.label!r} is not one of: {known}")
    frames = {"onset": row.onset, "apex": row.apex, "offset": row.offset}
    if row.kind == FRAMES and row.offset is None:
        del frames["offset"]
    for name, value in frames.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise Rejection("bad_index", f"{name} {value!r} is not a non-negative integer frame number")
    stills = {} if stills is None else stills
    if row.kind == FRAMES:
        return _check_frames(row, root, canonical, n_shards, allow_outside, inside, stills)
    path = media_path(root, row.source, allow_outside, inside)
    if not path.is_file():
        raise Rejection("missing_file", f"{path} does not exist")
    try:
        if row.kind == "video":
            info = probe_video(path)
            frame_count, fps, width, height = info.frame_count, info.fps, info.width, info.height
            sha256 = None
        else:
            image, data = stills["apex"] = read_still(path)
            frame_count, fps, (height, width) = 1, 0.0, image.shape[:2]
            sha256 = hashlib.sha256(data).hexdigest()
    except VideoError as err:
        raise Rejection(err.reason, err.one_line()) from None
    for name, value in frames.items():
        if value >= frame_count:
            raise Rejection(
                "index_out_of_range",
                f"{name} {value} is past the last frame {frame_count - 1} of {row.source} ({frame_count} frames)",
            )
    if not row.onset <= row.apex <= row.offset:
        raise Rejection("index_order", f"onset {row.onset}, apex {row.apex}, offset {row.offset} are not in order")
    return {
        "sample_id": str(row.sample_id), "subject": str(row.subject), "source": row.source,
        "kind": row.kind, "onset": row.onset, "apex": row.apex, "offset": row.offset,
        "label": str(row.label), "label_canonical": canonical, "shard": shard_of(row.sample_id, n_shards),
        "source_sha256": sha256 or sha256_of(path), "frame_count": int(frame_count), "fps": float(fps),
        "width": int(width), "height": int(height),
    }


def _check_frames(row: RawRow, root: Path, canonical: str, n_shards: int, allow_outside: bool = False,
                  inside: RootCheck | None = None, stills: dict | None = None) -> dict:
    """The checks of a ``frames`` sample: onset and APEX image files, then the index order."""
    images = {} if stills is None else stills
    sha = {}
    # Both paths are checked against the root before either file is looked at.
    paths = {name: media_path(root, frame_path(row.source, getattr(row, name)), allow_outside, inside)
             for name in ("onset", "apex")}
    for name, path in paths.items():
        if not path.is_file():
            raise Rejection("missing_file", f"{name} frame {getattr(row, name)}: {path} does not exist")
        try:
            images[name] = read_still(path)
        except VideoError as err:
            raise Rejection(err.reason, err.one_line()) from None
        sha[name] = hashlib.sha256(images[name][1]).hexdigest()
    if not row.onset <= row.apex or (row.offset is not None and not row.apex <= row.offset):
        raise Rejection("index_order", f"onset {row.onset}, apex {row.apex}, offset {row.offset} are not in order")
    height, width = images["apex"][0].shape[:2]
    return {
        "sample_id": str(row.sample_id), "subject": str(row.subject), "source": row.source,
        "kind": row.kind, "onset": row.onset, "apex": row.apex, "offset": row.offset,
        "label": str(row.label), "label_canonical": canonical, "shard": shard_of(row.sample_id, n_shards),
        "source_sha256": sha["onset"] + sha["apex"],
        "frame_count": None if row.offset is None else int(row.offset - row.onset + 1), "fps": 0.0,
        "width": int(width), "height": int(height),
    }


def check_rows(rows: Iterable[RawRow], root: str | Path, label_map: dict[str, str], n_shards: int,
               allow_outside_root: bool = False) -> Iterator[Checked]:
    """Every row checked, in the table's order (see the module docstring)."""
    rows = list(rows)
    root = Path(root)
    inside = RootCheck(root)
    id_rows: dict[str, list[int]] = {}
    for row in rows:
        id_rows.setdefault(str(row.sample_id), []).append(row.row)
    for row in rows:
        checked = Checked(row)
        try:
            lines = id_rows[str(row.sample_id)]
            if len(lines) > 1 and str(row.sample_id).strip():
                raise Rejection("duplicate_id", f"id {row.sample_id!r} appears on rows {', '.join(map(str, lines))}")
            checked.sample = _check_row(row, root, label_map, n_shards, allow_outside_root, inside, checked.stills)
        except Rejection as rej:
            checked.stills = {}
            checked.rejection = {
                "sample_id": str(row.sample_id), "row": row.row, "reason": rej.reason,
                "message": str(rej), "original": _original_text(row),
            }
        yield checked


def sorted_samples(samples: list[dict]) -> list[int]:
    """The order of the sample table: by sample_id (stable)."""
    return sorted(range(len(samples)), key=lambda i: samples[i]["sample_id"])


def sorted_rejections(rejected: list[dict]) -> list[int]:
    """The order of the rejected table: by table row, then sample_id (stable)."""
    return sorted(range(len(rejected)), key=lambda i: (rejected[i]["row"], rejected[i]["sample_id"]))


def arrow_table(records: list[dict], schema: pa.Schema) -> pa.Table:
    """Records (column -> value dicts) as a table of ``schema``, in the given order."""
    return columns_table({name: [r[name] for r in records] for name in schema.names}, schema)


def gather_shards(samples: list[pa.Table], rejected: list[pa.Table]) -> tuple[pa.Table, pa.Table]:
    """A dataset's sample table and rejected rows from its shards', sorted as ``validate_rows`` sorts."""
    table = pa.concat_tables([t.cast(SAMPLE_SCHEMA) for t in samples]) if samples else SAMPLE_SCHEMA.empty_table()
    rejects = (pa.concat_tables([t.cast(REJECTED_SCHEMA) for t in rejected]) if rejected
               else REJECTED_SCHEMA.empty_table())
    ids = table.column("sample_id").to_pylist()
    order = sorted(range(len(ids)), key=ids.__getitem__)
    keys = list(zip(rejects.column("row").to_pylist(), rejects.column("sample_id").to_pylist()))
    return (table.take(arrow_column(order, pa.int64())),
            rejects.take(arrow_column(sorted(range(len(keys)), key=keys.__getitem__), pa.int64())))


def validate_rows(
    rows: list[RawRow], root: str | Path, label_map: dict[str, str], n_shards: int, allow_outside_root: bool = False
):
    """Split ``rows`` into (accepted sample table, rejected rows with reason and message), as pandas
    frames sorted like the workflow's tables."""
    import pandas as pd

    accepted, rejected = [], []
    for checked in check_rows(rows, root, label_map, n_shards, allow_outside_root):
        (accepted.append(checked.sample) if checked.sample is not None else rejected.append(checked.rejection))
    samples = pd.DataFrame([accepted[i] for i in sorted_samples(accepted)], columns=SAMPLE_COLUMNS)
    samples = samples.astype(SAMPLE_DTYPES)
    rejects = pd.DataFrame([rejected[i] for i in sorted_rejections(rejected)], columns=REJECTED_COLUMNS)
    return samples.reset_index(drop=True), rejects.reset_index(drop=True)


def _original_text(row: RawRow) -> str:
    original = row.original or {"sample_id": row.sample_id, "source": row.source, "label": row.label}
    return "; ".join(f"{k}={v}" for k, v in original.items())


def _columns(table: Any) -> tuple[dict[str, list], int]:
    """A table (pandas frame, pyarrow table or column -> list mapping) as column lists and its length."""
    if isinstance(table, pa.Table):
        return table.to_pydict(), table.num_rows
    if hasattr(table, "columns") and hasattr(table, "index"):  # a pandas frame
        return {c: table[c].tolist() for c in table.columns}, len(table)
    columns = dict(table)
    return columns, len(next(iter(columns.values()))) if columns else 0


def summary_markdown(samples: Any, rejected: Any, dataset: str) -> str:
    """The validation report: counts by reason and the class distribution, as CMED reports them.
    ``samples`` and ``rejected``: pandas frames, pyarrow tables or column -> list mappings."""
    samples, n_samples = _columns(samples)
    rejected, n_rejected = _columns(rejected)
    total = n_samples + n_rejected
    lines = [
        f"# Validation summary: {dataset}",
        "",
        f"{total} rows read, **{n_samples} accepted**, **{n_rejected} rejected**.",
        "",
        "## Rejected rows by reason",
        "",
    ]
    if n_rejected:
        lines += ["| Reason | Count | Meaning |", "|---|---:|---|"]
        for reason, count in sorted(Counter(rejected["reason"]).items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"| {reason} | {count} | {REASONS.get(reason, '')} |")
        lines += ["", "| Row | Sample | Reason | Message |", "|---:|---|---|---|"]
        for row, sample_id, reason, message in zip(rejected["row"], rejected["sample_id"], rejected["reason"],
                                                   rejected["message"]):
            lines.append(f"| {row} | {sample_id} | {reason} | {message.replace('|', '/')} |")
    else:
        lines.append("None.")
    lines += ["", "## Class distribution (accepted samples)", ""]
    lines += ["| Emotion | Count | Percentage |", "|---|---:|---:|"]
    counts = Counter(samples["label"]) if n_samples else Counter()
    for label, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"| {label} | {count} | {100.0 * count / n_samples:.2f}% |")
    lines.append(f"| **Total** | {n_samples} | {100.0 if n_samples else 0.0:.2f}% |")
    subjects = len(set(samples["subject"])) if n_samples else 0
    lines += ["", f"{subjects} subjects; kinds: " + ", ".join(
        f"{k} {v}" for k, v in sorted(Counter(samples["kind"]).items())) if n_samples else "", ""]
    return "\n".join(lines)
