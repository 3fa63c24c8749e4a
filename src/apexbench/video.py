"""Frame-exact video access: probe a video, read frames by index by seeking, read still images.

Seeking accuracy of OpenCV's FFmpeg backend (``CAP_PROP_POS_FRAMES``), measured with
opencv-contrib-python-headless 4.11 by comparing every seeked frame with the frame of the same
index obtained by sequential decoding (pixel-equal, or equal decoded index for synthetic videos):

* Exact for every frame of the three real H.264 demo mp4s (High profile with B-frames;
  ``WolfgangLanger_Pexels.mp4`` has 7 GOPs at 23.976 fps), in any request order, and for
  generated mp4v (.mp4, .avi, .mkv), MJPG (.avi, .mkv) and XVID (.avi) videos at 30, 29.97 and
  23.976 fps. Files re-encoded with a stand-alone ffmpeg 9 (H.264 with B-frames in .mp4, .avi and
  open-GOP .mkv; HEVC .mp4; VP9 .webm; MPEG-4 with B-frames in .avi) were exact as well.
* Not exact for H.264 in MPEG-TS (seeking to frames 0-4 returned frame 4 or 5) and for variable
  frame rate (VFR) mp4s: 281 of 300 frames wrong (by -1 to +48 frames) in an ffmpeg-made one, 278
  of 300 in ``synthetic.write_vfr_index_video``'s, 145 of 300 in an otherwise 30 fps mp4 in which
  one frame early on lasts two frame times (a dropped frame, common in phone recordings). OpenCV
  maps frame numbers to timestamps with the container's *average* frame rate.
* ``CAP_PROP_FRAME_COUNT`` can be too high: ``no_face.mp4`` reports 98 frames, 95 decode (3 packets
  are pre-roll cut by the edit list). Seeking past the last decodable frame leaves
  ``CAP_PROP_POS_FRAMES`` at the true end and ``read`` fails. Truncated .avi/.mkv files keep the
  header's count (300) but decode only the frames present.

Verifying a seek, and what did not work:

* The position reported after ``set(CAP_PROP_POS_FRAMES, i)`` must be ``i``. This catches seeks
  past the end but hardly any misplaced ones: OpenCV derives the position from the same mapping it
  seeks with (it caught 2 of 5 errors in MPEG-TS, none with VFR). Kept as a cheap first check.
* Checking the read frame's ``CAP_PROP_POS_MSEC`` against ``i / CAP_PROP_FPS`` is unsound: that is
  the rate OpenCV seeks with, so wrong seeks pass (121 of 281 and 77 of 278 on the VFR files), and
  for ``no_face.mp4`` it is 23.67 fps while the frames are 1/24 s apart, so right seeks fail.
* A constant clock measured from the first two decoded frames caught every error on the files
  with a constant rate, but VFR fools it: with the one dropped frame it accepted 222 wrong frames.
* Seeking by time instead (``CAP_PROP_POS_MSEC`` set to the frame's own timestamp) is no cure:
  176 of 300 frames wrong on the ffmpeg-made VFR mp4.
* What is used: the presentation time of every frame, read by *demuxing* the packets without
  decoding them (a second capture opened with ``CAP_PROP_FORMAT=-1``; 8 ms instead of 300 ms for
  the 472 frames of ``WolfgangLanger_Pexels.mp4``). Sorted, deduplicated, and without packets
  earlier than the first decoded frame (pre-roll), entry ``i`` is the time of frame ``i``, also
  for VFR, B-frames and edit lists; a seek is verified when the frame it returns is nearer to entry
  ``i`` than to its neighbours. This was exact on every file above, the VFR ones included. If
  the table's first two entries do not match the first two decoded frames, the file is decoded
  sequentially instead.

A seek that fails verification is replaced by a verified landing 16, 64 or 256 frames earlier and
decoding forward; if none verifies, the file is reopened and the remaining indices are decoded
sequentially, which is slow but always right. Frames without a timestamp (the last frames of .avi
files with B-frames report 0 ms) are reached the same way.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from .errors import ApexbenchError

Reason = Literal["unreadable", "no_frames", "index_out_of_range"]
BACKOFFS = (16, 64, 256)  # how far before a failed seek target to try landing instead
FORWARD_WINDOW = BACKOFFS[0]  # decode forward rather than seek when the target is this close
REORDER_MARGIN = 16  # packets demuxed past the last wanted frame: H.264 reorders at most 16 frames


class VideoError(ApexbenchError):
    """A video or image cannot be read; ``reason`` says why in one word."""

    def __init__(self, reason: Reason, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class VideoInfo:
    """A video as it really decodes; ``fps`` is the container's (average) frame rate."""

    frame_count: int
    fps: float
    width: int
    height: int


@dataclass(frozen=True)
class _Timeline:
    """Presentation times (ms) of frames 0, 1, ...; ``complete`` when it reaches the last packet."""

    times: tuple[float, ...]
    complete: bool

    def matches(self, index: int, ms: float) -> bool:
        """Whether a frame presented at ``ms`` is frame ``index`` (nearer to it than to neighbours)."""
        known = len(self.times) if self.complete else len(self.times) - 1  # frame i+1 must be known
        if len(self.times) < 2 or not 0 <= index < known:
            return False
        neighbours = [j for j in (index - 1, index + 1) if 0 <= j < len(self.times)]
        half_gap = min(abs(self.times[j] - self.times[index]) for j in neighbours) / 2
        return abs(ms - self.times[index]) < half_gap


def _open_capture(path: Path) -> cv2.VideoCapture:
    if not path.is_file():
        raise VideoError("unreadable", f"{path}: no such file")
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    if not cap.isOpened():
        raise VideoError("unreadable", f"{path}: cannot open as a video (empty, truncated or not a video)")
    return cap


def _packet_timeline(path: Path, first_ms: float, upto: int | None) -> _Timeline | None:
    """Frame times from demuxing (not decoding) enough packets to cover frame ``upto`` (None: all)."""
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG, [cv2.CAP_PROP_FORMAT, -1])
    if not cap.isOpened():
        return None
    found: set[float] = set()
    complete = False
    while upto is None or len(found) < upto + 2 + REORDER_MARGIN:
        if not cap.grab():
            complete = True
            break
        ms = cap.get(cv2.CAP_PROP_POS_MSEC)
        if ms >= first_ms:  # earlier packets are pre-roll the decoder drops
            found.add(ms)
    cap.release()
    times = sorted(found)
    return _Timeline(tuple(times if complete else times[:-REORDER_MARGIN]), complete)


class _Reader:
    """One decoding capture plus what is known for sure about where it stands.

    ``_last`` is the most recent frame whose index is verified, as (index, frame); the next
    ``read`` then returns frame ``index + 1``. It is None right after an unverified seek.
    """

    def __init__(self, path: str | os.PathLike, upto: int | None = None):
        """Open ``path``; ``upto`` is the highest index that will be asked for (None: any)."""
        self.path = Path(path)
        self._cap = _open_capture(self.path)
        self.reported_count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self.fps = self._cap.get(cv2.CAP_PROP_FPS)
        self._last: tuple[int, np.ndarray] | None = None
        self._head = self._read_head()
        self._timeline = self._head_checked_timeline(upto)
        self._sequential = self._timeline is None

    def close(self) -> None:
        self._cap.release()

    def __enter__(self) -> _Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def frame_size(self) -> tuple[int, int]:
        height, width = self._head[0][0].shape[:2]
        return width, height

    def _read_head(self) -> dict[int, tuple[np.ndarray, float]]:
        """Frames 0 and 1 with their times, decoded sequentially from the start."""
        head = {}
        for index in (0, 1):
            ok, frame = self._cap.read()
            if not ok:
                break
            head[index] = (frame, self._cap.get(cv2.CAP_PROP_POS_MSEC))
            self._last = (index, frame)
        if not head:
            if self.reported_count > 0:
                raise VideoError("unreadable", f"{self.path}: no frame can be decoded (corrupt or truncated)")
            raise VideoError("no_frames", f"{self.path}: the video contains no frames")
        return head

    def _head_checked_timeline(self, upto: int | None) -> _Timeline | None:
        """The packet timeline, or None when it disagrees with the decoded frames 0 and 1."""
        if len(self._head) < 2:
            return None
        timeline = _packet_timeline(self.path, self._head[0][1], upto)
        if timeline is None or not all(timeline.matches(i, ms) for i, (_, ms) in self._head.items()):
            return None
        return timeline

    def frame(self, index: int) -> np.ndarray:
        """The frame with this index (>= 0); cheapest when indices come in increasing order."""
        if index in self._head:
            return self._head[index][0]
        self._go_to_or_before(index)
        return self._decode_to(index)

    def count_frames(self) -> int:
        """The number of decodable frames: decode from a verified frame near the reported end."""
        if self.reported_count > len(self._head):
            self._go_to_or_before(self.reported_count - 1)
        assert self._last is not None
        count = self._last[0] + 1
        while self._cap.grab():
            count += 1
        return count

    def _go_to_or_before(self, index: int) -> None:
        """Leave ``_last`` at a verified frame at or before ``index``, as close as is cheap."""
        if self._last is not None and self._last[0] <= index:
            if self._sequential or index - self._last[0] <= FORWARD_WINDOW:
                return
        if not self._sequential:
            for target in (index, *(index - back for back in BACKOFFS)):
                if target < len(self._head):
                    break
                if self._seek_verified(target):
                    return
        self._restart()

    def _seek_verified(self, index: int) -> bool:
        """Seek to ``index`` and read it; True (and ``_last`` set) only if position and time agree."""
        assert self._timeline is not None
        self._last = None
        self._cap.set(cv2.CAP_PROP_POS_FRAMES, index)
        if self._cap.get(cv2.CAP_PROP_POS_FRAMES) != index:
            return False
        ok, frame = self._cap.read()
        if not ok or not self._timeline.matches(index, self._cap.get(cv2.CAP_PROP_POS_MSEC)):
            return False
        self._last = (index, frame)
        return True

    def _restart(self) -> None:
        """Reopen the file and decode sequentially from now on: seeking proved unreliable."""
        self._cap.release()
        self._cap = _open_capture(self.path)
        self._sequential = True
        ok, frame = self._cap.read()
        if not ok:
            raise VideoError("unreadable", f"{self.path}: the first frame no longer decodes")
        self._last = (0, frame)

    def _decode_to(self, index: int) -> np.ndarray:
        """Decode forward from the verified ``_last`` frame to ``index``."""
        assert self._last is not None and self._last[0] <= index
        position, frame = self._last
        while position < index:
            ok, frame = self._cap.read()
            if not ok:
                self._last = None
                raise VideoError(
                    "index_out_of_range",
                    f"{self.path}: frame {index} cannot be read, the video ends after {position + 1} frames",
                )
            position += 1
        self._last = (position, frame)
        return frame


def probe_video(path: str | os.PathLike) -> VideoInfo:
    """Open ``path`` and count the frames that really decode (the container's count can be wrong)."""
    with _Reader(path) as reader:
        frame_count = reader.count_frames()
        width, height = reader.frame_size
        return VideoInfo(frame_count=frame_count, fps=reader.fps, width=width, height=height)


def read_frames(path: str | os.PathLike, indices: Iterable[int]) -> dict[int, np.ndarray]:
    """BGR frames for the 0-based ``indices``, found by verified seeks (see the module docstring)."""
    wanted = sorted(set(indices))
    if wanted and wanted[0] < 0:
        raise VideoError("index_out_of_range", f"{path}: frame index {wanted[0]} is negative")
    with _Reader(path, upto=wanted[-1] if wanted else 0) as reader:
        return {index: reader.frame(index) for index in wanted}


def read_image(path: str | os.PathLike) -> np.ndarray:
    """A still image as a BGR array."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise VideoError("unreadable", f"{path}: cannot read as an image (missing, empty or not an image)")
    return image
