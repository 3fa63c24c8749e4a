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
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pandas as pd

from .datasets.base import RawRow, shard_of
from .datasets.coding_tables import FRAMES, frame_path
from .fsutil import is_inside, sha256_of
from .labels import canonical_label
from .video import VideoError, probe_video, read_image

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

SAMPLE_COLUMNS = [
    "sample_id", "subject", "source", "kind", "onset", "apex", "offset", "label", "label_canonical",
    "shard", "source_sha256", "frame_count", "fps", "width", "height",
]
REJECTED_COLUMNS = ["sample_id", "row", "reason", "message", "original"]


class Rejection(Exception):
    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def media_path(root: Path, relative: str, allow_outside: bool = False) -> Path:
    """``root / relative``; Rejection ``outside_root`` when it resolves outside ``root``."""
    path = root / relative
    if not allow_outside and not is_inside(root, path):
        raise Rejection("outside_root", f"{relative} resolves to {os.path.realpath(path)}, outside the dataset root "
                                        f"{os.path.realpath(root)}; set allow_outside_root: true to accept it")
    return path


def _check_row(row: RawRow, root: Path, label_map: dict[str, str], n_shards: int,
               allow_outside: bool = False) -> dict:
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
    if row.kind == FRAMES:
        return _check_frames(row, root, canonical, n_shards, allow_outside)
    path = media_path(root, row.source, allow_outside)
    if not path.is_file():
        raise Rejection("missing_file", f"{path} does not exist")
    try:
        if row.kind == "video":
            info = probe_video(path)
            frame_count, fps, width, height = info.frame_count, info.fps, info.width, info.height
        else:
            image = read_image(path)
            frame_count, fps, (height, width) = 1, 0.0, image.shape[:2]
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
        "source_sha256": sha256_of(path), "frame_count": int(frame_count), "fps": float(fps),
        "width": int(width), "height": int(height),
    }


def _check_frames(row: RawRow, root: Path, canonical: str, n_shards: int, allow_outside: bool = False) -> dict:
    """The checks of a ``frames`` sample: onset and APEX image files, then the index order."""
    images = {}
    for name in ("onset", "apex"):
        media_path(root, frame_path(row.source, getattr(row, name)), allow_outside)
    for name in ("onset", "apex"):
        path = root / frame_path(row.source, getattr(row, name))
        if not path.is_file():
            raise Rejection("missing_file", f"{name} frame {getattr(row, name)}: {path} does not exist")
        try:
            images[name] = read_image(path)
        except VideoError as err:
            raise Rejection(err.reason, err.one_line()) from None
        images[name + "_sha"] = sha256_of(path)
    if not row.onset <= row.apex or (row.offset is not None and not row.apex <= row.offset):
        raise Rejection("index_order", f"onset {row.onset}, apex {row.apex}, offset {row.offset} are not in order")
    height, width = images["apex"].shape[:2]
    return {
        "sample_id": str(row.sample_id), "subject": str(row.subject), "source": row.source,
        "kind": row.kind, "onset": row.onset, "apex": row.apex, "offset": row.offset,
        "label": str(row.label), "label_canonical": canonical, "shard": shard_of(row.sample_id, n_shards),
        "source_sha256": images["onset_sha"] + images["apex_sha"],
        "frame_count": None if row.offset is None else int(row.offset - row.onset + 1), "fps": 0.0,
        "width": int(width), "height": int(height),
    }


def validate_rows(
    rows: list[RawRow], root: str | Path, label_map: dict[str, str], n_shards: int, allow_outside_root: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split ``rows`` into (accepted sample table, rejected rows with reason and message)."""
    root = Path(root)
    id_rows: dict[str, list[int]] = {}
    for row in rows:
        id_rows.setdefault(str(row.sample_id), []).append(row.row)
    accepted, rejected = [], []
    for row in rows:
        try:
            lines = id_rows[str(row.sample_id)]
            if len(lines) > 1 and str(row.sample_id).strip():
                raise Rejection("duplicate_id", f"id {row.sample_id!r} appears on rows {', '.join(map(str, lines))}")
            accepted.append(_check_row(row, root, label_map, n_shards, allow_outside_root))
        except Rejection as rej:
            rejected.append({
                "sample_id": str(row.sample_id), "row": row.row, "reason": rej.reason,
                "message": str(rej), "original": _original_text(row),
            })
    samples = pd.DataFrame(accepted, columns=SAMPLE_COLUMNS).sort_values("sample_id", kind="stable")
    samples = samples.astype({"onset": "int64", "apex": "int64", "offset": "Int64", "frame_count": "Int64"})
    rejects = pd.DataFrame(rejected, columns=REJECTED_COLUMNS).sort_values(["row", "sample_id"], kind="stable")
    return samples.reset_index(drop=True), rejects.reset_index(drop=True)


def _original_text(row: RawRow) -> str:
    original = row.original or {"sample_id": row.sample_id, "source": row.source, "label": row.label}
    return "; ".join(f"{k}={v}" for k, v in original.items())


def summary_markdown(samples: pd.DataFrame, rejected: pd.DataFrame, dataset: str) -> str:
    """The validation report: counts by reason and the class distribution, as CMED reports them."""
    total = len(samples) + len(rejected)
    lines = [
        f"# Validation summary: {dataset}",
        "",
        f"{total} rows read, **{len(samples)} accepted**, **{len(rejected)} rejected**.",
        "",
        "## Rejected rows by reason",
        "",
    ]
    if len(rejected):
        lines += ["| Reason | Count | Meaning |", "|---|---:|---|"]
        for reason, count in sorted(Counter(rejected["reason"]).items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"| {reason} | {count} | {REASONS.get(reason, '')} |")
        lines += ["", "| Row | Sample | Reason | Message |", "|---:|---|---|---|"]
        for rec in rejected.itertuples():
            lines.append(f"| {rec.row} | {rec.sample_id} | {rec.reason} | {rec.message.replace('|', '/')} |")
    else:
        lines.append("None.")
    lines += ["", "## Class distribution (accepted samples)", ""]
    lines += ["| Emotion | Count | Percentage |", "|---|---:|---:|"]
    counts = Counter(samples["label"]) if len(samples) else Counter()
    for label, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"| {label} | {count} | {100.0 * count / len(samples):.2f}% |")
    lines.append(f"| **Total** | {len(samples)} | {100.0 if len(samples) else 0.0:.2f}% |")
    subjects = samples["subject"].nunique() if len(samples) else 0
    lines += ["", f"{subjects} subjects; kinds: " + ", ".join(
        f"{k} {v}" for k, v in sorted(Counter(samples["kind"]).items())) if len(samples) else "", ""]
    return "\n".join(lines)
