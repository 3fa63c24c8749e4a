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

What a frame costs (``benchmarks/extract_floor.py`` counts the frames FFmpeg decodes; the floor
is decoding each frame from the keyframe before it):

* OpenCV's ``set(CAP_PROP_POS_FRAMES, i)`` lands on the keyframe before ``i - 16``, not before
  ``i``, and decodes forward from there: a whole extra GOP when ``i`` is less than 16 frames past
  its keyframe, 16 extra frames per seek in intra-only (MJPG) files.
* So the packet timeline also records which frames are keyframes (``CAP_PROP_LRF_HAS_KEY_FRAME``),
  and a seek opens the file anew through FFmpeg's concat demuxer with an ``inpoint`` at the
  keyframe before ``i`` (a one-line script naming a symlink to the file, in a temporary
  directory), then decodes forward to ``i``: the floor. The demuxer shifts timestamps so that the
  inpoint is 0, so the seek counts only if its first frame has PTS 0 (in a truncated .avi the
  demuxer's own seek fails and starts at frame 0, whose PTS is then negative) and frame ``i`` then
  matches the timeline. Its frames were pixel-identical to sequential decoding on generated mp4v
  (.mp4, .avi, .mkv, VFR .mp4), MJPG (.avi, .mkv) and XVID (.avi) files and the three demo clips
  (not tried: the stand-alone ffmpeg files above). If a keyframe seek fails, OpenCV's verified
  seeks take over for that file.
* A frame is reached by decoding forward from the last verified one whenever that decodes no more
  than the seek would (onset and APEX in one GOP, anywhere in a file with a single keyframe).
* Frames passed on the way are only decoded (``grab``), not converted to BGR (``retrieve``): a
  conversion costs about as much as decoding an H.264 frame.
* FFmpeg decodes in one thread (``DECODE_THREADS``): the frames are identical either way.
"""

from __future__ import annotations

import bisect
import math
import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from .errors import ApexbenchError

Reason = Literal["unreadable", "no_frames", "index_out_of_range"]
BACKOFFS = (16, 64, 256)  # how far before a failed seek target to try landing instead
FORWARD_WINDOW = BACKOFFS[0]  # without keyframes known: decode forward rather than seek this close
REORDER_MARGIN = 16  # packets demuxed past the last wanted frame: H.264 reorders at most 16 frames
SEEK_DELTA = 16  # OpenCV's seek to frame i lands on the keyframe before i - SEEK_DELTA
# FFmpeg's decoding threads (OpenCV's default: one per CPU). The validate and extract jobs declare
# one thread; frame threading also decodes frames ahead that each seek then throws away: on the demo
# clips one thread spent about a fifth less CPU time, and no more wall time on the loaded machine.
DECODE_THREADS = 1


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
    """Presentation times (ms) of frames 0, 1, ...; ``complete`` when it reaches the last packet;
    ``keyframes``: indices of the frames whose packets are keyframes (empty when none is flagged)."""

    times: tuple[float, ...]
    complete: bool
    keyframes: tuple[int, ...] = ()

    def keyframe_before(self, index: int) -> int:
        """The last keyframe at or before ``index`` (``keyframes`` is not empty and starts at 0)."""
        return self.keyframes[bisect.bisect_right(self.keyframes, index) - 1]

    def seek_cost(self, index: int) -> int | None:
        """Frames OpenCV decodes to seek to ``index`` (from the keyframe before ``index - 16``)."""
        if not self.keyframes:
            return None
        return index - self.keyframe_before(max(index - SEEK_DELTA, 0)) + 1

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
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, DECODE_THREADS])
    if not cap.isOpened():
        raise VideoError("unreadable", f"{path}: cannot open as a video (empty, truncated or not a video)")
    return cap


def _packet_timeline(path: Path, first_ms: float, upto: int | None) -> _Timeline | None:
    """Frame times from demuxing (not decoding) enough packets to cover frame ``upto`` (None: all)."""
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG, [cv2.CAP_PROP_FORMAT, -1])
    if not cap.isOpened():
        return None
    found: set[float] = set()
    key_times: set[float] = set()
    complete = False
    while upto is None or len(found) < upto + 2 + REORDER_MARGIN:
        if not cap.grab():
            complete = True
            break
        ms = cap.get(cv2.CAP_PROP_POS_MSEC)
        if ms >= first_ms:  # earlier packets are pre-roll the decoder drops
            found.add(ms)
            if cap.get(cv2.CAP_PROP_LRF_HAS_KEY_FRAME):
                key_times.add(ms)
    cap.release()
    times = sorted(found)
    if not complete:
        times = times[:-REORDER_MARGIN]
    keyframes = tuple(i for i, ms in enumerate(times) if ms in key_times)
    return _Timeline(tuple(times), complete, keyframes if keyframes[:1] == (0,) else ())


class _Reader:
    """One decoding capture plus what is known for sure about where it stands.

    ``_last`` is the most recent frame whose index is verified, as (index, frame), the frame None
    while it is decoded but not yet converted (``retrieve`` gives it); the next ``grab`` then
    decodes frame ``index + 1``. It is None right after an unverified seek.
    """

    def __init__(self, path: str | os.PathLike, upto: int | None = None, keep_head: Iterable[int] = (0,)):
        """Open ``path``; ``upto`` is the highest index that will be asked for (None: any);
        ``keep_head``: which of frames 0 and 1 to convert while reading the head."""
        self.path = Path(path)
        self._cap = _open_capture(self.path)
        self.reported_count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self.fps = self._cap.get(cv2.CAP_PROP_FPS)
        self._last: tuple[int, np.ndarray | None] | None = None
        self._head = self._read_head(set(keep_head))
        self._timeline = self._head_checked_timeline(upto)
        self._sequential = self._timeline is None
        self._on_file = True  # self._cap reads the file itself (not a keyframe-seek capture)
        self._keyframe_seeks = bool(self._timeline and self._timeline.keyframes and hasattr(cv2, "CAP_PROP_PTS"))
        self._seek_dir: Path | None = None

    def close(self) -> None:
        self._cap.release()
        if self._seek_dir is not None:
            shutil.rmtree(self._seek_dir, ignore_errors=True)

    def __enter__(self) -> _Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def frame_size(self) -> tuple[int, int]:
        """(width, height) of frame 0 (kept by the default ``keep_head``)."""
        frame = self._head[0][0]
        assert frame is not None, "frame 0 was not kept"
        height, width = frame.shape[:2]
        return width, height

    def _read_head(self, keep: set[int]) -> dict[int, tuple[np.ndarray | None, float]]:
        """Frames 0 and 1 with their times, decoded sequentially from the start (converted if kept)."""
        head: dict[int, tuple[np.ndarray | None, float]] = {}
        for index in (0, 1):
            if not self._cap.grab():
                break
            frame = self._retrieve(index) if index in keep else None
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
        kept = self._head.get(index, (None, 0.0))[0]
        if kept is not None:
            return kept
        self._go_to_or_before(index)
        return self._decode_to(index)

    def _retrieve(self, index: int) -> np.ndarray:
        """The BGR frame the capture decoded last (frame ``index``)."""
        ok, frame = self._cap.retrieve()
        if not ok:
            raise VideoError("unreadable", f"{self.path}: frame {index} was decoded but cannot be converted")
        return frame

    def count_frames(self) -> int:
        """The number of decodable frames: decode from a verified frame near the reported end."""
        if self.reported_count > len(self._head):
            self._go_to_or_before(self.reported_count - 1)
        assert self._last is not None
        count = self._last[0] + 1
        while self._cap.grab():
            count += 1
        return count

    def _seek_cost(self, index: int) -> int:
        """Frames a seek to ``index`` decodes (unknown keyframes: as if ``FORWARD_WINDOW``)."""
        assert self._timeline is not None
        if self._keyframe_seeks:
            return index - self._timeline.keyframe_before(index) + 1
        return self._timeline.seek_cost(index) or FORWARD_WINDOW

    def _go_to_or_before(self, index: int) -> None:
        """Leave ``_last`` at a verified frame at or before ``index``: where it is when decoding
        forward costs no more than seeking, else at ``index`` by a verified seek."""
        if self._last is not None and self._last[0] <= index:
            if self._sequential or index - self._last[0] <= self._seek_cost(index):
                return
        if not self._sequential:
            if self._keyframe_seeks and self._keyframe_seek(index):
                return
            for target in (index, *(index - back for back in BACKOFFS)):
                if target < len(self._head):
                    break
                if self._seek_verified(target):
                    return
        self._restart()

    def _keyframe_seek(self, index: int) -> bool:
        """Decode ``index`` from the keyframe before it, through FFmpeg's concat demuxer with an
        ``inpoint`` at that keyframe; True (and ``_last`` set) only if the frame's time agrees.
        A failure (no concat demuxer, timestamps it cannot rebase) turns these seeks off."""
        assert self._timeline is not None
        self._last = None
        key = self._timeline.keyframe_before(index)
        start_us = math.ceil(self._timeline.times[key] * 1000)  # not before the keyframe's own time
        cap = self._concat_capture(start_us)
        # The demuxer shifts timestamps so that the inpoint is 0: the first frame must be there (a
        # failed seek inside it starts earlier, e.g. at 0 in a truncated .avi, and its frames then
        # have negative PTS), and the target must then be presented where the timeline says.
        ok = cap is not None and cap.grab() and cap.get(cv2.CAP_PROP_PTS) == 0
        ok = ok and all(cap.grab() for _ in range(index - key))
        if ok and self._timeline.matches(index, cap.get(cv2.CAP_PROP_POS_MSEC) + start_us / 1000):
            self._cap.release()
            self._cap, self._on_file = cap, False
            self._last = (index, None)
            return True
        if cap is not None:
            cap.release()
        self._keyframe_seeks = False
        return False

    def _concat_capture(self, start_us: int) -> cv2.VideoCapture | None:
        """A capture of this file from the keyframe at ``start_us`` (OpenCV's own seek lands on the
        keyframe before ``i - 16``). The concat script names a symlink beside it, since the demuxer
        refuses absolute paths by default and OpenCV's wheel passes it no options."""
        suffix = self.path.suffix if re.fullmatch(r"\.[A-Za-z0-9]{1,8}", self.path.suffix) else ""
        link = f"video{suffix}"  # a name the demuxer's safe mode accepts
        if self._seek_dir is None:
            self._seek_dir = Path(tempfile.mkdtemp(prefix="apexbench-seek-"))
            (self._seek_dir / link).symlink_to(self.path.resolve())
        script = self._seek_dir / "seek.ffconcat"
        seconds, micros = divmod(start_us, 1_000_000)
        script.write_text(f"ffconcat version 1.0\nfile '{link}'\ninpoint {seconds}.{micros:06d}\n")
        try:
            return _open_capture(script)
        except VideoError:
            return None

    def _seek_verified(self, index: int) -> bool:
        """Seek to ``index`` with OpenCV and decode it; True (and ``_last`` set) only if position and
        time agree."""
        assert self._timeline is not None
        self._last = None
        if not self._on_file:
            self._reopen()
        self._cap.set(cv2.CAP_PROP_POS_FRAMES, index)
        if self._cap.get(cv2.CAP_PROP_POS_FRAMES) != index:
            return False
        if not self._cap.grab() or not self._timeline.matches(index, self._cap.get(cv2.CAP_PROP_POS_MSEC)):
            return False
        self._last = (index, None)
        return True

    def _reopen(self) -> None:
        self._cap.release()
        self._cap, self._on_file = _open_capture(self.path), True

    def _restart(self) -> None:
        """Reopen the file and decode sequentially from now on: seeking proved unreliable."""
        self._reopen()
        self._sequential = True
        if not self._cap.grab():
            raise VideoError("unreadable", f"{self.path}: the first frame no longer decodes")
        self._last = (0, None)

    def _decode_to(self, index: int) -> np.ndarray:
        """Decode forward from the verified ``_last`` frame to ``index``; only ``index`` is converted."""
        assert self._last is not None and self._last[0] <= index
        position, frame = self._last
        while position < index:
            if not self._cap.grab():
                self._last = None
                raise VideoError(
                    "index_out_of_range",
                    f"{self.path}: frame {index} cannot be read, the video ends after {position + 1} frames",
                )
            position, frame = position + 1, None
        if frame is None:
            frame = self._retrieve(index)
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
    with _Reader(path, upto=wanted[-1] if wanted else 0, keep_head=set(wanted) & {0, 1}) as reader:
        return {index: reader.frame(index) for index in wanted}


def _unreadable_image(path: str | os.PathLike) -> VideoError:
    return VideoError("unreadable", f"{path}: cannot read as an image (missing, empty or not an image)")


def read_image(path: str | os.PathLike) -> np.ndarray:
    """A still image as a BGR array."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise _unreadable_image(path)
    return image


def read_still(path: str | os.PathLike) -> tuple[np.ndarray, bytes]:
    """A still image's decoded BGR pixels and its file's bytes, the file read once (validation hashes
    the bytes, extraction may store them)."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        data = b""
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR) if data else None
    if image is None:
        raise _unreadable_image(path)
    return image, data
