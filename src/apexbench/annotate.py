"""Annotate any image or video: every face, its box, the classifier's scores and the top emotion.

Output (``results/annotate/<name>.json``), per face, the layout of seed 003::

    {"file": "multi_face.jpg", "kind": "image", "threshold": 0.4, "classifier": "minixception", ...,
     "faces": [{"id": 0, "emotion": "happiness", "score": 0.83, "bbox": [x, y, w, h],
                "detection_score": 0.93, "scores": {"neutral": 0.05, ...}}]}

``emotion`` is the top class when its probability (``score``) reaches ``threshold``, else null;
``scores`` are the classifier's probabilities over the labels it can predict under the run's label
scheme and contempt strategy (``confidence.scheme_probabilities``). Videos list ``frames``
(``frame``, ``time_s``, ``faces``) for every ``every``-th frame; face ids follow a face across
frames (greedy matching of boxes by overlap), in images they number faces left to right. The
annotated copy (``.png`` for images, ``.mp4``/mp4v for videos) draws each box with id, emotion and
score; skipped video frames repeat the last boxes.

Faces: ``detector: mediapipe`` with ``model_selection: both`` (the default) runs BlazeFace's
full-range model and then the short-range one and keeps a short-range box only where no full-range
box already covers it. On the demo media the full-range model alone finds all five faces of
``multi_face.jpg`` but misses the disgust still; the short-range one finds that face but only three
of the five; together they find every face.

``Annotator.analyse`` (detect, crop, classify every face of one frame) is also what the receiving
service (``apexbench serve``, :mod:`apexbench.serve`) runs on each uploaded image.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .classifiers import Classifier
from .confidence import scheme_probabilities
from .errors import ApexbenchError
from .faces import Face, make_detector, square_crop
from .fsutil import atomic_path
from .progress import Progress
from .tables import write_text
from .video import VideoError, read_image

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
DUPLICATE_OVERLAP = 0.5  # share of the smaller box covered by the other: the same face
TRACK_IOU = 0.3


def is_image(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def overlap_of_smaller(a: tuple, b: tuple) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0, min(ay + ah, by + bh) - max(ay, by))
    smaller = min(aw * ah, bw * bh)
    return (iw * ih) / smaller if smaller > 0 else 0.0


def iou(a: tuple, b: tuple) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0, min(ay + ah, by + bh) - max(ay, by))
    union = aw * ah + bw * bh - iw * ih
    return (iw * ih) / union if union > 0 else 0.0


class MergedDetector:
    """Several detectors in priority order; a later box covering an earlier one is a duplicate."""

    def __init__(self, detectors: list, name: str):
        self.detectors = detectors
        self.name = name

    def detect(self, frame_bgr: np.ndarray) -> list[Face]:
        kept: list[Face] = []
        for detector in self.detectors:
            for face in detector.detect(frame_bgr):
                if all(overlap_of_smaller(face.box, k.box) < DUPLICATE_OVERLAP for k in kept):
                    kept.append(face)
        return kept

    def close(self) -> None:
        for detector in self.detectors:
            detector.close()


def make_annotate_detector(cfg: dict):
    """The detector from the ``annotate`` config section."""
    if cfg["detector"] == "mediapipe" and cfg["model_selection"] == "both":
        return MergedDetector([make_detector("mediapipe", cfg["min_score"], 1),
                               make_detector("mediapipe", cfg["min_score"], 0)], "mediapipe full-range + short-range")
    selection = cfg["model_selection"] if cfg["model_selection"] != "both" else 0
    detector = make_detector(cfg["detector"], cfg["min_score"], selection)
    if cfg["detector"] == "mediapipe":
        detector.name = f"mediapipe {('short', 'full')[selection]}-range"
    return detector


class Tracker:
    """Stable face ids across frames: each box takes the id of the best-overlapping box of the previous
    processed frame (IoU >= ``TRACK_IOU``, each id used once), else a new id."""

    def __init__(self):
        self.previous: list[tuple[int, tuple]] = []
        self.next_id = 0

    def assign(self, boxes: list[tuple]) -> list[int]:
        pairs = sorted(((iou(b, pb), i, pid) for i, b in enumerate(boxes) for pid, pb in self.previous), reverse=True)
        ids: dict[int, int] = {}
        used: set[int] = set()
        for score, i, pid in pairs:
            if score < TRACK_IOU:
                break
            if i not in ids and pid not in used:
                ids[i] = pid
                used.add(pid)
        out = []
        for i in range(len(boxes)):
            if i not in ids:
                ids[i] = self.next_id
                self.next_id += 1
            out.append(ids[i])
        self.previous = [(ids[i], b) for i, b in enumerate(boxes)]
        return out


@dataclass
class FrameFaces:
    """What :meth:`Annotator.analyse` found in one frame, with its timings (wall clock, ms).

    ``faces``: per face, left to right, ``id`` (0-based), ``emotion`` (the top class, or None
    below the threshold), ``score`` (its probability), ``bbox`` (x, y, w, h), ``detection_score``
    and ``scores`` (every class the classifier can predict under the label scheme).
    ``detect_ms`` is the detector's time on the frame; ``classify_ms_per_face`` the time to crop and
    classify the frame's faces (one batch) divided by their number (0 when there is none).
    """

    faces: list[dict]
    detect_ms: float
    classify_ms_per_face: float


class Annotator:
    """Detect, crop and classify every face of a frame: the one code path of ``annotate`` (files,
    through the workflow) and ``serve`` (images over HTTP)."""

    def __init__(self, detector, classifier: Classifier, scheme: str, contempt: str, threshold: float,
                 crop_size: int, margin: float):
        self.detector, self.classifier = detector, classifier
        self.scheme, self.contempt, self.threshold = scheme, contempt, threshold
        self.crop_size, self.margin = crop_size, margin

    def analyse(self, frame: np.ndarray, threshold: float | None = None) -> FrameFaces:
        """Every face of ``frame`` (BGR) with its box, scores and emotion; ``threshold`` defaults to
        the annotator's own."""
        threshold = self.threshold if threshold is None else threshold
        start = time.perf_counter()
        found = sorted(self.detector.detect(frame), key=lambda f: (f.x, f.y))
        detected = time.perf_counter()
        if not found:
            return FrameFaces([], (detected - start) * 1000.0, 0.0)
        crops = [square_crop(frame, f.box, self.crop_size, self.margin) for f in found]
        scores, _ = self.classifier.predict(crops)
        labels, probs = scheme_probabilities(scores, self.classifier.native_order, self.scheme, self.contempt)
        classified = time.perf_counter()
        out = []
        for i, (face, row) in enumerate(zip(found, probs)):
            top = int(np.argmax(row))
            score = float(row[top])
            out.append({"id": i, "emotion": labels[top] if score >= threshold else None,
                        "score": round(score, 4), "bbox": [int(v) for v in face.box],
                        "detection_score": round(float(face.score), 4),
                        "scores": {lab: round(float(p), 4) for lab, p in zip(labels, row)}})
        return FrameFaces(out, (detected - start) * 1000.0, (classified - detected) * 1000.0 / len(found))

    def faces(self, frame: np.ndarray) -> list[dict]:
        return self.analyse(frame).faces


def draw(frame: np.ndarray, faces: list[dict]) -> np.ndarray:
    """A copy of ``frame`` with each face's box and ``#id emotion score``."""
    out = frame.copy()
    thickness = max(1, round(min(frame.shape[:2]) / 300))
    for face in faces:
        x, y, w, h = face["bbox"]
        scale = min(max(0.35, w / 260), 1.2)
        color = (60, 200, 60) if face["emotion"] else (0, 165, 255)
        cv2.rectangle(out, (x, y), (x + w, y + h), color, thickness)
        text = f"#{face['id']} {face['emotion'] or 'uncertain'} {face['score']:.2f}"
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        ty = y - 4 if y - th - base - 4 > 0 else y + h + th + 4
        cv2.rectangle(out, (x, ty - th - base), (x + tw, ty + base), color, cv2.FILLED)
        cv2.putText(out, text, (x, ty), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thickness, cv2.LINE_AA)
    return out


def _header(path: Path, kind: str, annotator: Annotator, classifier_name: str) -> dict:
    return {"file": path.name, "kind": kind, "threshold": annotator.threshold, "classifier": classifier_name,
            "label_scheme": annotator.scheme, "detector": annotator.detector.name}


def annotate_image(path: str | Path, annotator: Annotator, classifier_name: str, out_json: str | Path,
                   out_image: str | Path, log=sys.stderr) -> dict:
    path = Path(path)
    frame = read_image(path)
    faces = annotator.faces(frame)
    result = {**_header(path, "image", annotator, classifier_name), "width": int(frame.shape[1]),
              "height": int(frame.shape[0]), "faces": faces}
    ok, png = cv2.imencode(".png", draw(frame, faces))
    if not ok:
        raise ApexbenchError(f"cannot encode the annotated image of {path}")
    with atomic_path(out_image) as tmp:
        Path(tmp).write_bytes(png.tobytes())
    write_text(json.dumps(result, indent=2) + "\n", out_json)
    print(f"[annotate] {path.name}: {len(faces)} face(s)", file=log)
    return result


def annotate_video(path: str | Path, annotator: Annotator, classifier_name: str, out_json: str | Path,
                   out_video: str | Path, every: int = 1, log=sys.stderr) -> dict:
    """Read ``path`` sequentially, annotate every ``every``-th frame, write the JSON and an mp4v copy."""
    path, out_video = Path(path), Path(out_video)
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise VideoError("unreadable", f"{path}: cannot open the video; check the file and its codec")
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    expected = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    out_video.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_video.with_name(f".{out_video.stem}.partial{out_video.suffix}")
    writer, frames, tracker, faces, size = None, [], Tracker(), [], (0, 0)
    progress, index = Progress("annotate", expected, "frames", log, name=path.name), 0
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            if writer is None:
                size = (int(frame.shape[1]), int(frame.shape[0]))
                writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
                if not writer.isOpened():
                    raise ApexbenchError(f"cannot write {out_video}: OpenCV has no mp4v encoder here")
            if index % every == 0:
                faces = annotator.faces(frame)
                for face, track_id in zip(faces, tracker.assign([tuple(f["bbox"]) for f in faces])):
                    face["id"] = track_id
                frames.append({"frame": index, "time_s": round(index / fps, 4), "faces": faces})
            writer.write(draw(frame, faces))
            index += 1
            progress.update(index)
    finally:
        cap.release()
        if writer is not None:
            writer.release()
    if index == 0:
        tmp.unlink(missing_ok=True)
        raise VideoError("no_frames", f"{path}: no frame could be decoded")
    os.replace(tmp, out_video)
    result = {**_header(path, "video", annotator, classifier_name), "fps": fps, "n_frames": index, "every": every,
              "width": size[0], "height": size[1], "frames": frames}
    write_text(json.dumps(result, indent=2) + "\n", out_json)
    n_faces = sum(len(f["faces"]) for f in frames)
    print(f"[annotate] {path.name}: {index}/{index} frames, {len(frames)} annotated, {n_faces} faces", file=log)
    return result
