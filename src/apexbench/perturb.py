"""Robustness probes: perturb the onset/APEX frames before face detection, then crop as extraction does.

Perturbations (``perturbations`` in config; ``none`` is the unperturbed run and always the baseline):

- ``brightness_contrast``: ``pixel * 1.2 + 10`` (+20% contrast, +10 brightness), saturated to 0..255;
- ``blur``: Gaussian blur, 3x3 kernel (sigma from the kernel size, OpenCV's default);
- ``jpeg``: JPEG re-encoding at quality 50;
- ``rotate``: rotation by 15 degrees about the frame centre, borders replicated; the direction
  (+15 or -15) is fixed per sample by a hash of its ``sample_id``, so half the samples go each way
  and every run is the same.

Reuse of cached work: a perturbed shard is built from the unperturbed frame shard
(``results/frames/shard-{k}.parquet``): the stored onset/APEX frames are decoded, perturbed, and the
face is detected and cropped again with the same detector settings; no video is decoded again.
The stored frames are JPEGs at ``faces.jpeg_quality`` (95 by default), so the perturbed input has
been through that encoding once more than the unperturbed crops.
"""

from __future__ import annotations

import hashlib
import sys

import cv2
import numpy as np
import pandas as pd

from .extract import FRAME_COLUMNS, _encode, decode_image, face_columns
from .faces import make_detector
from .progress import Progress

PERTURBATIONS = ("none", "brightness_contrast", "blur", "jpeg", "rotate")
NONE = "none"
ROTATE_DEGREES = 15.0


def rotation_sign(sample_id: str) -> int:
    """+1 or -1, stable per sample (first byte of sha256 of the id)."""
    return 1 if hashlib.sha256(str(sample_id).encode()).digest()[0] % 2 == 0 else -1


def perturb(image: np.ndarray, name: str, sample_id: str = "") -> np.ndarray:
    """``image`` (BGR uint8) under perturbation ``name``."""
    if name == "none":
        return image
    if name == "brightness_contrast":
        return np.clip(image.astype(np.float32) * 1.2 + 10.0, 0, 255).round().astype(np.uint8)
    if name == "blur":
        return cv2.GaussianBlur(image, (3, 3), 0)
    if name == "jpeg":
        return decode_image(_encode(image, ".jpg", [cv2.IMWRITE_JPEG_QUALITY, 50]))
    if name == "rotate":
        height, width = image.shape[:2]
        matrix = cv2.getRotationMatrix2D((width / 2.0, height / 2.0), ROTATE_DEGREES * rotation_sign(sample_id), 1.0)
        return cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)
    raise ValueError(f"unknown perturbation {name!r}; choose one of {PERTURBATIONS}")


def perturb_frames(frames: pd.DataFrame, perturbation: str, faces_cfg: dict, log=sys.stderr) -> pd.DataFrame:
    """A perturbed frame shard (same columns) from an unperturbed one."""
    detector = make_detector(faces_cfg["detector"], faces_cfg["min_score"], faces_cfg["model_selection"])
    out = frames.copy()
    records, progress = [], Progress(f"perturb:{perturbation}", len(frames), "samples", log)
    try:
        for i, row in enumerate(frames.itertuples(index=False), 1):
            rec = {c: getattr(row, c) for c in FRAME_COLUMNS}
            if row.apex_jpeg is not None:  # frames were readable: perturb, detect and crop again
                apex = perturb(decode_image(row.apex_jpeg), perturbation, row.sample_id)
                onset = (perturb(decode_image(row.onset_jpeg), perturbation, row.sample_id)
                         if row.onset_jpeg is not None else None)
                rec.update(face_columns(apex, onset, detector, faces_cfg))
            records.append(rec)
            progress.update(i)
    finally:
        detector.close()
    for column in FRAME_COLUMNS:
        out[column] = [r[column] for r in records]
    return out
