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
    """A cv2.VideoCapture that counts the frames it decodes (grab, read), converts (retrieve, read)
    and the OpenCV seeks it is asked for (whose own decoding it cannot see)."""

    def __init__(self, cap):
        self._cap, self.decoded, self.converted, self.seeks = cap, 0, 0, []

    def grab(self):
        self.decoded += 1
        return self._cap.grab()

    def retrieve(self, *args):
        self.converted += 1
        return self._cap.retrieve(*args)

    def read(self):
        self.decoded += 1
        self.converted += 1
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


def _keyframes(path: Path) -> list[int]:
    """Indices of the keyframes, from the packets' flags (the files here have no B-frames)."""
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG, [cv2.CAP_PROP_FORMAT, -1])
    keys, index = [], 0
    while cap.grab():
        if cap.get(cv2.CAP_PROP_LRF_HAS_KEY_FRAME):
            keys.append(index)
        index += 1
    return keys


def _from_keyframe(keys: list[int], index: int) -> int:
    """Frames decoded to reach ``index`` from the keyframe before it: the floor."""
    return index - max(k for k in keys if k <= index) + 1


HEAD = 2  # frames 0 and 1, decoded to check the packet timeline against the decoder


def test_onset_and_apex_are_decoded_from_their_keyframes(index_video, monkeypatch):
    """Onset 240 and APEX 270 of 300 frames: the two head frames, then each frame decoded from the
    keyframe before it (mp4v: one every 12 frames; MJPG: every frame), and only those two converted.
    OpenCV's own seek would decode from the keyframe before 224 and 254 instead (25 + 19 frames)."""
    keys = _keyframes(index_video)
    assert keys == (list(range(0, N_FRAMES, 12)) if index_video.suffix == ".mp4" else list(range(N_FRAMES)))
    opened = _count_decoding(monkeypatch)
    frames = read_frames(index_video, [240, 270])
    assert {i: decode_index(f) for i, f in frames.items()} == {240: 240, 270: 270}
    assert [c.seeks for c in opened] == [[]] * len(opened), "no OpenCV seek"
    floor = _from_keyframe(keys, 240) + _from_keyframe(keys, 270)
    assert sum(c.decoded for c in opened) == HEAD + floor
    assert sum(c.converted for c in opened) == 2


@pytest.mark.parametrize("name", ["WolfgangLanger_Pexels.mp4"])
def test_real_h264_apex_is_decoded_from_its_keyframe(demo_media, monkeypatch, name):
    """Keyframes at 0, 72, ..., 432: frame 400 is decoded from 360 (OpenCV's seek would start at 360
    too, but for frame 370 at 288)."""
    keys = _keyframes(demo_media / name)
    assert keys == list(range(0, 472, 72))
    truth = sequential_frames(demo_media / name)
    for index in (400, 370):
        opened = _count_decoding(monkeypatch)
        frames = read_frames(demo_media / name, [index])
        assert np.array_equal(frames[index], truth[index])
        assert sum(c.decoded for c in opened) == HEAD + _from_keyframe(keys, index)
        monkeypatch.undo()


def test_one_keyframe_video_is_decoded_forward_once(demo_media, monkeypatch):
    """single_face.mp4 has one keyframe: onset 13 and APEX 42 cost frames 0..42 once, no seek."""
    path = demo_media / "single_face.mp4"
    assert _keyframes(path) == [0]
    opened = _count_decoding(monkeypatch)
    frames = read_frames(path, [13, 42])
    truth = sequential_frames(path)
    assert all(np.array_equal(frames[i], truth[i]) for i in (13, 42))
    assert len(opened) == 1 and opened[0].seeks == [] and opened[0].decoded == 43 and opened[0].converted == 2


def test_opencv_seeks_when_keyframe_seeks_fail(index_video, monkeypatch):
    """Without the concat demuxer (another FFmpeg build), OpenCV's own verified seeks take over."""
    import apexbench.video as video

    monkeypatch.setattr(video._Reader, "_concat_capture", lambda self, start_us: None)
    opened = _count_decoding(monkeypatch)
    wanted = spread_indices(N_FRAMES, 20, seed=1)
    frames = read_frames(index_video, wanted)
    assert {i: decode_index(f) for i, f in frames.items()} == {i: i for i in wanted}
    assert opened[0].seeks, "OpenCV's seek was used"


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
