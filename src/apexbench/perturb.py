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
import time

import cv2
import numpy as np
import pandas as pd

from .extract import FRAME_COLUMNS, _encode, decode_image
from .faces import best_face, make_detector, square_crop

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
    size, margin = faces_cfg["crop_size"], faces_cfg["margin"]
    jpeg = [cv2.IMWRITE_JPEG_QUALITY, faces_cfg["jpeg_quality"]]
    out = frames.copy()
    records, start = [], time.perf_counter()
    try:
        for i, row in enumerate(frames.itertuples(index=False), 1):
            rec = {c: getattr(row, c) for c in FRAME_COLUMNS}
            if row.apex_jpeg is not None:  # frames were readable: perturb, detect and crop again
                apex = perturb(decode_image(row.apex_jpeg), perturbation, row.sample_id)
                onset = (perturb(decode_image(row.onset_jpeg), perturbation, row.sample_id)
                         if row.onset_jpeg is not None else None)
                faces = detector.detect(apex)
                face = best_face(faces)
                rec.update(apex_jpeg=_encode(apex, ".jpg", jpeg),
                           onset_jpeg=_encode(onset, ".jpg", jpeg) if onset is not None else None,
                           faces_found=len(faces), face_status="ok" if face else "no_face",
                           face_box=list(face.box) if face else None, face_score=face.score if face else None,
                           face_crop=_encode(square_crop(apex, face.box, size, margin), ".png") if face else None,
                           onset_crop=(_encode(square_crop(onset, face.box, size, margin), ".png")
                                       if face and onset is not None else None))
            records.append(rec)
            if i % 50 == 0 or i == len(frames):
                rate = i / max(time.perf_counter() - start, 1e-9)
                print(f"[perturb:{perturbation}] {i}/{len(frames)} samples ({rate:.1f}/s)", file=log)
    finally:
        detector.close()
    for column in FRAME_COLUMNS:
        out[column] = [r[column] for r in records]
    return out
