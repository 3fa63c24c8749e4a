"""Synthetic test videos whose every frame carries its own index.

``write_index_video`` draws the frame index as a 4x4 grid of large black/white blocks (16 bits,
most significant bit top-left) over the upper three quarters of the frame, and a white bar that
moves one step per frame across the bottom quarter so consecutive frames differ outside the code
as well. The blocks are big enough to survive lossy codecs (mp4v, MJPG, XVID at OpenCV's default
quality): ``decode_index`` thresholds the mean of each block's central half, far from the edges
where compression artefacts live.

``write_vfr_index_video`` makes the same video with a variable frame rate (by rewriting the
sample durations of the .mp4), a file on which OpenCV's own seeking goes wrong.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import cv2
import numpy as np

BITS = 16
GRID = 4  # GRID x GRID blocks, one bit each
MAX_FRAMES = 1 << BITS
CODE_HEIGHT = 0.75  # fraction of the frame height used by the code; the rest holds the moving bar
STTS_PATH = (b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stts")  # mp4 sample durations box


def _cells(width: int, height: int) -> list[tuple[int, int, int, int]]:
    """Pixel boxes (x0, y0, x1, y1) of the code blocks, most significant bit first."""
    code_h = int(height * CODE_HEIGHT)
    xs = np.linspace(0, width, GRID + 1).astype(int)
    ys = np.linspace(0, code_h, GRID + 1).astype(int)
    return [(xs[c], ys[r], xs[c + 1], ys[r + 1]) for r in range(GRID) for c in range(GRID)]


def index_frame(index: int, size: tuple[int, int] = (160, 120)) -> np.ndarray:
    """The BGR frame that encodes ``index`` (0 <= index < 65536) at ``size`` = (width, height)."""
    if not 0 <= index < MAX_FRAMES:
        raise ValueError(f"frame index {index} does not fit in {BITS} bits")
    width, height = size
    frame = np.zeros((height, width, 3), np.uint8)
    for bit, (x0, y0, x1, y1) in enumerate(_cells(width, height)):
        if index >> (BITS - 1 - bit) & 1:
            frame[y0:y1, x0:x1] = 255
    bar_w = max(2, width // 16)
    bar_x = index * bar_w % max(1, width - bar_w)
    frame[int(height * CODE_HEIGHT) + 2 :, bar_x : bar_x + bar_w] = 255
    return frame


def decode_index(frame: np.ndarray) -> int:
    """Read back the index drawn by ``index_frame`` from a (possibly lossily decoded) BGR frame."""
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
    height, width = gray.shape
    index = 0
    for x0, y0, x1, y1 in _cells(width, height):
        qx, qy = (x1 - x0) // 4, (y1 - y0) // 4
        centre = gray[y0 + qy : y1 - qy, x0 + qx : x1 - qx]
        index = index << 1 | int(centre.mean() > 127)
    return index


def write_index_video(
    path: str | os.PathLike,
    n_frames: int,
    fps: float = 30,
    size: tuple[int, int] = (160, 120),
    fourcc: str = "mp4v",
) -> Path:
    """Write ``n_frames`` index frames to ``path`` with OpenCV's FFmpeg writer; returns the path.

    The container follows the file extension (.mp4 for mp4v, .avi for MJPG/XVID). OpenCV's bundled
    FFmpeg cannot write avc1/H.264.
    """
    if not 0 < n_frames <= MAX_FRAMES:
        raise ValueError(f"n_frames must be in 1..{MAX_FRAMES}, got {n_frames}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.CAP_FFMPEG, cv2.VideoWriter_fourcc(*fourcc), fps, size)
    if not writer.isOpened():
        raise OSError(f"{path}: OpenCV cannot write fourcc {fourcc!r} to a {path.suffix} file")
    try:
        for index in range(n_frames):
            writer.write(index_frame(index, size))
    finally:
        writer.release()
    return path


def write_vfr_index_video(
    path: str | os.PathLike, n_frames: int, fps: float = 30, size: tuple[int, int] = (160, 120)
) -> Path:
    """An mp4v .mp4 index video whose first half plays at twice ``fps`` and second half at 2/3.

    The total duration, and so the average frame rate OpenCV reports, stays that of ``fps``; the
    container metadata is otherwise unchanged.
    """
    path = write_index_video(path, n_frames, fps, size, "mp4v")
    path.write_bytes(_halve_then_stretch(path.read_bytes()))
    return path


def _halve_then_stretch(mp4: bytes) -> bytes:
    """Rewrite a one-entry (constant rate) stts box: short frame durations, then long ones."""
    data = bytearray(mp4)
    *parents, stts = _box_chain(data, STTS_PATH)
    if _box_chain(data, (b"mdat",))[0] > parents[0]:
        raise ValueError("moov precedes mdat: resizing it would move the sample data")
    (old_size,) = struct.unpack_from(">I", data, stts)
    entries, count, delta = struct.unpack_from(">III", data, stts + 12)
    if entries != 1:
        raise ValueError(f"expected a constant frame rate stts box, found {entries} entries")
    half = count // 2
    table = [(half, delta // 2), (half, 2 * delta - delta // 2), (count % 2, delta)]
    table = [entry for entry in table if entry[0]]
    new = struct.pack(">I4sII", 16 + 8 * len(table), b"stts", 0, len(table))
    new += b"".join(struct.pack(">II", *entry) for entry in table)
    data[stts : stts + old_size] = new
    for pos in parents:
        struct.pack_into(">I", data, pos, struct.unpack_from(">I", data, pos)[0] + len(new) - old_size)
    return bytes(data)


def _box_chain(data: bytes | bytearray, kinds: tuple[bytes, ...]) -> list[int]:
    """Offsets of the nested mp4 boxes named by ``kinds``, each searched inside the previous one."""
    offsets, start, end = [], 0, len(data)
    for kind in kinds:
        pos = start
        while pos + 8 <= end:
            size, name = struct.unpack_from(">I4s", data, pos)
            if name == kind:
                break
            if size < 8:
                raise ValueError(f"unsupported mp4 box size {size} at offset {pos}")
            pos += size
        else:
            raise ValueError(f"no {kind.decode()} box in the mp4")
        offsets.append(pos)
        start, end = pos + 8, pos + size
    return offsets
