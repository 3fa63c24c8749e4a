"""Frame-exact reading on real files: generated index videos and the real H.264 demo videos."""

from __future__ import annotations

import random
from pathlib import Path

import cv2
import numpy as np
import pytest

from apexbench.synthetic import decode_index, index_frame, write_index_video, write_vfr_index_video
from apexbench.video import VideoError, probe_video, read_frames, read_image

N_FRAMES = 300
DEMO_VIDEOS = {"single_face.mp4": 72, "WolfgangLanger_Pexels.mp4": 472, "no_face.mp4": 95}


def sequential_frames(path: Path) -> list[np.ndarray]:
    """Every frame of ``path`` decoded from the start, the ground truth for seeking."""
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    return frames


def spread_indices(n: int, k: int, seed: int = 0) -> list[int]:
    """``k`` random indices of ``n`` frames plus the edges 0, 1, n-2, n-1."""
    return sorted({0, 1, n - 2, n - 1, *random.Random(seed).sample(range(n), k)})


@pytest.fixture(scope="module", params=[("mp4v", ".mp4"), ("MJPG", ".avi")], ids=["mp4v", "MJPG"])
def index_video(request, tmp_path_factory) -> Path:
    fourcc, ext = request.param
    return write_index_video(tmp_path_factory.mktemp("video") / f"index{ext}", N_FRAMES, fourcc=fourcc)


def test_decode_index_round_trips_without_compression():
    for index in (0, 1, 255, 256, 4095, 65535):
        assert decode_index(index_frame(index, (320, 240))) == index


def test_index_video_decodes_sequentially(index_video):
    assert [decode_index(f) for f in sequential_frames(index_video)] == list(range(N_FRAMES))


def test_probe_index_video(index_video):
    info = probe_video(index_video)
    assert (info.frame_count, info.width, info.height) == (N_FRAMES, 160, 120)
    assert info.fps == pytest.approx(30)


def test_read_frames_returns_requested_indices(index_video):
    wanted = spread_indices(N_FRAMES, 40)
    frames = read_frames(index_video, reversed(wanted))
    assert sorted(frames) == wanted
    assert {i: decode_index(f) for i, f in frames.items()} == {i: i for i in wanted}


def test_read_frames_on_variable_frame_rate_video(tmp_path):
    """OpenCV 4.11's own seeking returns a wrong frame for 278 of these 300; verification must catch it."""
    path = write_vfr_index_video(tmp_path / "vfr.mp4", N_FRAMES)
    wanted = spread_indices(N_FRAMES, 30)
    frames = read_frames(path, wanted)
    assert {i: decode_index(f) for i, f in frames.items()} == {i: i for i in wanted}
    for index in (2, 150, 298):  # one frame per call: no decoding forward from a previous index
        assert decode_index(read_frames(path, [index])[index]) == index
    assert probe_video(path).frame_count == N_FRAMES


def test_vfr_video_timestamps_vary(tmp_path):
    path = write_vfr_index_video(tmp_path / "vfr.mp4", 10, fps=25)
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    times = []
    while cap.grab():
        times.append(round(cap.get(cv2.CAP_PROP_POS_MSEC)))
    assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(25)
    assert times == [0, 20, 40, 60, 80, 100, 160, 220, 280, 340]


def test_probe_counts_decodable_frames_of_truncated_avi(tmp_path):
    """A truncated .avi keeps the header's 300 frames; only the frames present count."""
    full = write_index_video(tmp_path / "full.avi", N_FRAMES, fourcc="MJPG")
    cut = tmp_path / "cut.avi"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size * 6 // 10])
    count = probe_video(cut).frame_count
    assert 0 < count < N_FRAMES
    assert decode_index(read_frames(cut, [count - 1])[count - 1]) == count - 1
    assert count == len(sequential_frames(cut))


@pytest.mark.parametrize("name", DEMO_VIDEOS)
def test_demo_video_probe(demo_media, name):
    assert probe_video(demo_media / name).frame_count == DEMO_VIDEOS[name]


@pytest.mark.parametrize("name", DEMO_VIDEOS)
def test_demo_video_seeks_equal_sequential_decode(demo_media, name):
    truth = sequential_frames(demo_media / name)
    wanted = spread_indices(len(truth), 12, seed=len(name))
    frames = read_frames(demo_media / name, wanted)
    for index in wanted:
        assert np.array_equal(frames[index], truth[index]), f"{name} frame {index} differs"


class _CountingCapture:
    """A cv2.VideoCapture that counts the frames it decodes (read) and the seeks it is asked for."""

    def __init__(self, cap):
        self._cap, self.reads, self.seeks = cap, 0, []

    def read(self):
        self.reads += 1
        return self._cap.read()

    def set(self, prop, value):
        if prop == cv2.CAP_PROP_POS_FRAMES:
            self.seeks.append(value)
        return self._cap.set(prop, value)

    def __getattr__(self, name):
        return getattr(self._cap, name)


def _count_decoding(monkeypatch) -> list[_CountingCapture]:
    """Wrap every capture apexbench.video opens; make a fall-back to sequential decoding fail loudly."""
    import apexbench.video as video

    opened: list[_CountingCapture] = []
    real_open = video._open_capture

    def counting_open(path):
        opened.append(_CountingCapture(real_open(path)))
        return opened[-1]

    def no_restart(self):
        raise AssertionError(f"{self.path}: seeking fell back to decoding from the start")

    monkeypatch.setattr(video, "_open_capture", counting_open)
    monkeypatch.setattr(video._Reader, "_restart", no_restart)
    return opened


def test_apex_is_reached_by_seeking_not_by_decoding_from_the_start(index_video, monkeypatch):
    """Reading onset 240 and APEX 270 of 300 frames decodes the two head frames, one frame per seek
    and the few frames between onset and APEX when they are close: far fewer than 271."""
    opened = _count_decoding(monkeypatch)
    frames = read_frames(index_video, [240, 270])
    assert {i: decode_index(f) for i, f in frames.items()} == {240: 240, 270: 270}
    assert len(opened) == 1, "one decoding capture (the packet timeline is read without decoding)"
    assert 240 in opened[0].seeks and 270 in opened[0].seeks
    assert opened[0].reads <= 2 + 2, opened[0].reads


@pytest.mark.parametrize("name", ["WolfgangLanger_Pexels.mp4"])
def test_real_h264_apex_is_reached_by_seeking(demo_media, monkeypatch, name):
    opened = _count_decoding(monkeypatch)
    frames = read_frames(demo_media / name, [400])
    assert np.array_equal(frames[400], sequential_frames(demo_media / name)[400])
    assert opened[0].seeks == [400] and opened[0].reads <= 3, (opened[0].seeks, opened[0].reads)


def test_read_image(demo_media):
    assert read_image(demo_media / "multi_face.jpg").ndim == 3


def bad_video(kind: str, demo_media: Path, tmp_path: Path) -> Path:
    """A path that is not a readable video, of the given kind."""
    path = tmp_path / f"{kind}.mp4"
    if kind == "empty":
        path.touch()
    elif kind == "truncated":
        path.write_bytes((demo_media / "single_face.mp4").read_bytes()[:1024])
    elif kind == "text":
        path.write_text("not a video\n" * 50)
    return path


@pytest.mark.parametrize("kind", ["missing", "empty", "truncated", "text"])
def test_unreadable_videos(demo_media, tmp_path, kind):
    path = bad_video(kind, demo_media, tmp_path)
    for call in (lambda: probe_video(path), lambda: read_frames(path, [0])):
        with pytest.raises(VideoError) as err:
            call()
        assert err.value.reason == "unreadable"
        assert path.name in err.value.one_line()


def test_unreadable_image(demo_media, tmp_path):
    with pytest.raises(VideoError) as err:
        read_image(bad_video("text", demo_media, tmp_path))
    assert err.value.reason == "unreadable"


def test_video_without_frames(tmp_path):
    path = tmp_path / "zero.avi"
    writer = cv2.VideoWriter(str(path), cv2.CAP_FFMPEG, cv2.VideoWriter_fourcc(*"MJPG"), 30, (160, 120))
    writer.release()
    with pytest.raises(VideoError) as err:
        probe_video(path)
    assert err.value.reason == "no_frames"


@pytest.mark.parametrize("index", [N_FRAMES, N_FRAMES + 1000, -1], ids=["end", "far", "negative"])
def test_index_out_of_range(index_video, index):
    with pytest.raises(VideoError) as err:
        read_frames(index_video, [5, index])
    assert err.value.reason == "index_out_of_range"
    assert str(index) in err.value.one_line()


def test_demo_index_past_true_end(demo_media):
    """no_face.mp4 claims 98 frames but decodes 95: frame 96 is out of range."""
    with pytest.raises(VideoError) as err:
        read_frames(demo_media / "no_face.mp4", [96])
    assert err.value.reason == "index_out_of_range"
