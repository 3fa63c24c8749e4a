"""Face detection and the shared square face crop every classifier reads.

Detectors (``faces.detector`` in config):
- ``mediapipe``: MediaPipe BlazeFace (``mediapipe.solutions.face_detection``); its model files ship
  inside the 0.10.x wheel, so it runs offline. ``model_selection`` 0 is the short-range model (faces
  within ~2 m, the right choice for frontal lab recordings), 1 the full-range one.
- ``haar``: OpenCV's frontal-face Haar cascade (bundled with OpenCV).
- ``none``: the media are already face crops; the whole frame is the face.

Every detector returns boxes in frame pixels; ``square_crop`` turns the best box into a fixed-size
square crop (box centre kept, side = longest box side * (1 + margin), borders replicated), so all
classifiers see exactly the same pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .errors import ConfigError


@dataclass(frozen=True)
class Face:
    x: int
    y: int
    w: int
    h: int
    score: float

    @property
    def box(self) -> tuple[int, int, int, int]:
        return (self.x, self.y, self.w, self.h)


class MediaPipeDetector:
    name = "mediapipe"

    def __init__(self, min_score: float = 0.5, model_selection: int = 0):
        from mediapipe.python.solutions import face_detection

        self._detector = face_detection.FaceDetection(
            model_selection=model_selection, min_detection_confidence=min_score
        )

    def detect(self, frame_bgr: np.ndarray) -> list[Face]:
        height, width = frame_bgr.shape[:2]
        result = self._detector.process(cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB))
        faces = []
        for det in result.detections or []:
            rel = det.location_data.relative_bounding_box
            x0 = max(0, int(round(rel.xmin * width)))
            y0 = max(0, int(round(rel.ymin * height)))
            x1 = min(width, int(round((rel.xmin + rel.width) * width)))
            y1 = min(height, int(round((rel.ymin + rel.height) * height)))
            if x1 > x0 and y1 > y0:
                faces.append(Face(x0, y0, x1 - x0, y1 - y0, float(det.score[0])))
        return faces

    def close(self) -> None:
        self._detector.close()


class HaarDetector:
    name = "haar"

    def __init__(self, min_score: float = 0.5, model_selection: int = 0):
        path = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"
        self._cascade = cv2.CascadeClassifier(path)
        if self._cascade.empty():
            raise ConfigError(f"cannot load OpenCV's Haar cascade from {path}; reinstall opencv")

    def detect(self, frame_bgr: np.ndarray) -> list[Face]:
        gray = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY)
        min_side = max(24, min(gray.shape) // 10)
        boxes, _, weights = self._cascade.detectMultiScale3(
            gray, scaleFactor=1.1, minNeighbors=5, minSize=(min_side, min_side), outputRejectLevels=True
        )
        # levelWeights are unbounded confidences; squash them to (0, 1) so the column is comparable.
        return [
            Face(int(x), int(y), int(w), int(h), float(1.0 / (1.0 + np.exp(-float(s)))))
            for (x, y, w, h), s in zip(boxes, np.ravel(weights))
        ]

    def close(self) -> None:
        pass


class WholeFrame:
    """For pre-cropped datasets: the whole frame is the face."""

    name = "none"

    def __init__(self, min_score: float = 0.5, model_selection: int = 0):
        pass

    def detect(self, frame_bgr: np.ndarray) -> list[Face]:
        height, width = frame_bgr.shape[:2]
        return [Face(0, 0, width, height, 1.0)]

    def close(self) -> None:
        pass


DETECTORS = {"mediapipe": MediaPipeDetector, "haar": HaarDetector, "none": WholeFrame}


def make_detector(name: str, min_score: float = 0.5, model_selection: int = 0):
    if name not in DETECTORS:
        raise ConfigError(f"unknown face detector {name!r}; choose one of {sorted(DETECTORS)}")
    return DETECTORS[name](min_score=min_score, model_selection=model_selection)


def best_face(faces: list[Face]) -> Face | None:
    """The face to benchmark: the largest box, ties broken by score (the subject is in front)."""
    if not faces:
        return None
    return max(faces, key=lambda f: (f.w * f.h, f.score))


def square_crop(frame: np.ndarray, box: tuple[int, int, int, int], size: int, margin: float) -> np.ndarray:
    """A ``size`` x ``size`` crop centred on ``box``, side = longest side * (1 + margin)."""
    x, y, w, h = box
    side = max(1, int(round(max(w, h) * (1.0 + margin))))
    cx, cy = x + w / 2.0, y + h / 2.0
    x0, y0 = int(round(cx - side / 2.0)), int(round(cy - side / 2.0))
    height, width = frame.shape[:2]
    pad = max(0, -x0, -y0, x0 + side - width, y0 + side - height)
    if pad:
        frame = cv2.copyMakeBorder(frame, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        x0, y0 = x0 + pad, y0 + pad
    crop = frame[y0 : y0 + side, x0 : x0 + side]
    interp = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    return cv2.resize(crop, (size, size), interpolation=interp)
