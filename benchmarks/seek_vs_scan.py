"""Time verified seeking (apexbench.video.read_frames) against decoding from the start.

Generates ``--videos`` index videos of ``--frames`` frames in a temporary directory, picks an
APEX index per video (fixed seed) with the onset a few frames earlier, then reads the onset and
APEX frames both ways and checks that both return identical frames carrying the right index.

    .venv/bin/python benchmarks/seek_vs_scan.py [--videos 20] [--frames 300] [--size 160x120]
                                                [--out times.csv]

With ``--real FILE ...`` it times real videos instead (e.g. the demo's H.264 clips in
``resources/demo/media/`` after ``make demo``), ``--videos`` onset/APEX pairs per file, and checks
the seeked frames against the scanned ones pixel for pixel.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import tempfile
import time
from dataclasses import astuple, dataclass, fields
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from apexbench.synthetic import decode_index, write_index_video  # noqa: E402
from apexbench.video import probe_video, read_frames  # noqa: E402


@dataclass
class Timing:
    video: str
    onset: int
    apex: int
    seek_s: float
    scan_s: float
    identical: bool


def parse_size(text: str) -> tuple[int, int]:
    width, _, height = text.lower().partition("x")
    try:
        return int(width), int(height)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, got {text!r}") from None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=20, help="number of generated videos (20)")
    parser.add_argument("--frames", type=int, default=300, help="frames per video (300)")
    parser.add_argument("--size", type=parse_size, default=(160, 120), help="WIDTHxHEIGHT (160x120)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the APEX indices (0)")
    parser.add_argument("--out", type=Path, help="optional CSV with one row per video")
    parser.add_argument("--real", type=Path, nargs="+", help="time these real videos instead")
    return parser.parse_args(argv)


def pick_onset_apex(rng: random.Random, n_frames: int) -> tuple[int, int]:
    """An APEX in the last three quarters of the video, the onset 5-30 frames before it."""
    apex = rng.randrange(n_frames // 4, n_frames)
    return max(0, apex - rng.randint(5, 30)), apex


def scan_frames(path: Path, onset: int, apex: int) -> dict[int, np.ndarray]:
    """The naive way: decode every frame from the start up to the APEX."""
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    frames = {}
    for index in range(apex + 1):
        ok, frame = cap.read()
        if not ok:
            raise RuntimeError(f"{path}: frame {index} cannot be read")
        if index in (onset, apex):
            frames[index] = frame
    cap.release()
    return frames


def time_video(path: Path, onset: int, apex: int, indexed: bool = True) -> Timing:
    start = time.perf_counter()
    seeked = read_frames(path, [onset, apex])
    seek_s = time.perf_counter() - start
    start = time.perf_counter()
    scanned = scan_frames(path, onset, apex)
    scan_s = time.perf_counter() - start
    identical = all(
        np.array_equal(seeked[i], scanned[i]) and (not indexed or decode_index(seeked[i]) == i)
        for i in (onset, apex)
    )
    return Timing(path.name, onset, apex, seek_s, scan_s, identical)


def write_csv(path: Path, timings: list[Timing]) -> None:
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([f.name for f in fields(Timing)])
        writer.writerows(astuple(t) for t in timings)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rng = random.Random(args.seed)
    if args.real:
        timings = []
        for path in args.real:
            n_frames = probe_video(path).frame_count
            timings += [time_video(path, *pick_onset_apex(rng, n_frames), indexed=False) for _ in range(args.videos)]
        what = f"{len(args.real)} real video(s), {args.videos} onset/APEX pairs each"
    else:
        with tempfile.TemporaryDirectory(prefix="seek_vs_scan_") as tmp:
            videos = [
                write_index_video(Path(tmp) / f"video{k:03d}.mp4", args.frames, size=args.size)
                for k in range(args.videos)
            ]
            timings = [time_video(path, *pick_onset_apex(rng, args.frames)) for path in videos]
        what = f"{len(timings)} videos of {args.frames} frames at {args.size[0]}x{args.size[1]}"
    seek = sum(t.seek_s for t in timings)
    scan = sum(t.scan_s for t in timings)
    mismatches = [t.video for t in timings if not t.identical]
    print(
        f"seek: {seek:.2f} s, scan: {scan:.2f} s, ratio {scan / seek:.1f}x "
        f"({what}; identical frames: {not mismatches})"
    )
    if args.out:
        write_csv(args.out, timings)
    if mismatches:
        print(f"frames differ for: {', '.join(mismatches)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
