"""A synthetic dataset the size of CMED (10,924 clips): an annotation table and, optionally, videos.

Every clip is a short index video (``synthetic.write_index_video``: each frame carries its own
number), so the extracted APEX can be checked; the table has CMED's columns (``sample_id, subject,
video, onset, apex, offset, emotion``) with CMED's label names. Everything derives from ``seed``:
the same call writes the same table and the same video bytes. ``videos=False`` writes the table
alone (for DAG-build and dry-run benchmarks); the workflow then sees every file as missing.
"""

from __future__ import annotations

import csv
import os
import random
from pathlib import Path

from .fsutil import atomic_path
from .synthetic import write_index_video

CMED_SIZE = 10_924
# CMED's label names (config labels: cmed); a skewed distribution like a spontaneous corpus.
LABEL_WEIGHTS: dict[str, int] = {
    "No Emotion": 30, "Happy": 20, "Surprise": 14, "Sad": 10, "Disgust": 10, "Anger": 8, "Fear": 8,
}
COLUMNS = ["sample_id", "subject", "video", "onset", "apex", "offset", "emotion"]


def cmed_rows(n: int = CMED_SIZE, n_frames: int = 12, subjects: int = 120, seed: int = 0) -> list[dict]:
    """``n`` annotation rows: ids ``s{subject}_clip{i}``, one video per row, onset < apex < offset."""
    if n_frames < 3:
        raise ValueError("clips need at least 3 frames (onset, apex, offset)")
    rng = random.Random(seed)
    labels, weights = zip(*LABEL_WEIGHTS.items())
    rows = []
    for i in range(n):
        subject = f"s{i % subjects:03d}"
        onset = rng.randrange(0, n_frames - 2)
        apex = rng.randrange(onset + 1, n_frames - 1)
        offset = rng.randrange(apex + 1, n_frames)
        rows.append({
            "sample_id": f"{subject}_clip{i:05d}", "subject": subject,
            "video": f"{subject}/clip{i:05d}.avi", "onset": onset, "apex": apex, "offset": offset,
            "emotion": rng.choices(labels, weights)[0],
        })
    return rows


def write_cmed_dataset(root: str | os.PathLike, n: int = CMED_SIZE, videos: bool = True, n_frames: int = 12,
                       size: tuple[int, int] = (64, 48), seed: int = 0, progress=None) -> Path:
    """Write ``root/annotations.csv`` and (if ``videos``) ``root/media/<subject>/clipNNNNN.avi``.

    Videos are MJPG .avi (fast to write and to seek). Existing videos of the right size are kept,
    so an interrupted generation resumes. Returns the table path.
    """
    root = Path(root)
    rows = cmed_rows(n, n_frames, seed=seed)
    if videos:
        for i, row in enumerate(rows, 1):
            path = root / "media" / row["video"]
            if not path.is_file() or path.stat().st_size == 0:
                with atomic_path(path) as tmp:
                    write_index_video(tmp.with_suffix(".avi"), n_frames, size=size, fourcc="MJPG")
                    tmp.with_suffix(".avi").replace(tmp)
            if progress and (i % 1000 == 0 or i == len(rows)):
                print(f"{i}/{len(rows)} videos", file=progress, flush=True)
    table = root / "annotations.csv"
    with atomic_path(table) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return table
