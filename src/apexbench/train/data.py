"""Image-folder training data as arrays, and OpenCV/numpy augmentation (no torch needed).

Images are read once into an (N, 48, 48) uint8 array through the same ``gray_resize`` the
classifiers use at inference, so training and benchmarking see identically prepared pixels.
Labels are indices into the model's native order (FER2013: angry, disgust, fear, happy, sad,
surprise, neutral), reached through the dataset's label map.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..classifiers.base import gray_resize
from ..classifiers.cnn import INPUT_SIZE, to_model_input  # noqa: F401  (re-exported for training)
from ..datasets.base import IMAGE_EXTENSIONS
from ..datasets.image_folder import read_image_folder
from ..errors import DatasetError
from ..labels import FER2013_ORDER, NATIVE_TO_CANONICAL, canonical_label, label_map_for

NATIVE_ORDER = FER2013_ORDER
_CANONICAL_TO_INDEX = {NATIVE_TO_CANONICAL[name]: i for i, name in enumerate(NATIVE_ORDER)}


@dataclass(frozen=True)
class ImageSet:
    """``images`` (N, 48, 48) uint8 gray, ``labels`` (N,) int64 indices into NATIVE_ORDER."""

    root: str
    images: np.ndarray
    labels: np.ndarray
    sources: tuple[str, ...]

    def class_counts(self) -> dict[str, int]:
        counts = np.bincount(self.labels, minlength=len(NATIVE_ORDER))
        return {name: int(counts[i]) for i, name in enumerate(NATIVE_ORDER)}


def load_image_folder(root: str | os.PathLike, labels: str | dict = "fer2013", key: str = "dataset.root") -> ImageSet:
    """Read every image of ``root/<class>/<file>``; a folder whose label the model lacks is an error.

    ``key`` names the config key that gave ``root``, for the one-line error when it is missing.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{key}: {root} is not a directory: set it to a folder with one subfolder per class")
    rows = read_image_folder(root)
    label_map = label_map_for({"labels": labels})
    index = {}
    for folder in sorted({r.label for r in rows}):
        canonical = canonical_label(folder, label_map)
        if canonical not in _CANONICAL_TO_INDEX:
            raise DatasetError(
                f"{root}/{folder}: class {folder!r} is not one of the model's classes {list(NATIVE_ORDER)}; "
                "remove the folder or fix train.labels"
            )
        index[folder] = _CANONICAL_TO_INDEX[canonical]
    images = np.empty((len(rows), INPUT_SIZE, INPUT_SIZE), dtype=np.uint8)
    for i, row in enumerate(rows):
        image = cv2.imread(str(root / row.source), cv2.IMREAD_GRAYSCALE)
        if image is None:
            raise DatasetError(f"{root / row.source}: cannot decode the image; remove or replace it")
        images[i] = gray_resize([image], INPUT_SIZE)[0]
    labels_arr = np.array([index[r.label] for r in rows], dtype=np.int64)
    return ImageSet(str(root), images, labels_arr, tuple(r.source for r in rows))


def folder_fingerprint(root: str | os.PathLike) -> str:
    """sha256 over (relative path, size, content hash) of every image under ``root``.

    Reading the bytes (about 60 MB for FER2013, under a second warm) makes an edited image rerun
    training while a mere ``touch`` does not, matching how Snakemake treats other inputs.
    """
    root = Path(root)
    if not root.is_dir():
        return f"missing:{root}"
    digest = hashlib.sha256()
    wanted = {e.lower() for e in IMAGE_EXTENSIONS}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith(".") or os.path.splitext(name)[1].lower() not in wanted:
                continue
            path = Path(dirpath) / name
            digest.update(str(path.relative_to(root)).encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def augment(images: np.ndarray, rng: np.random.Generator, max_rotate: float = 10.0,
            max_scale: float = 0.1, max_shift: float = 0.1) -> np.ndarray:
    """Random horizontal flip and a small affine (rotation, scale, shift), reflected borders."""
    out = np.empty_like(images)
    n, h, w = images.shape
    flips = rng.random(n) < 0.5
    angles = rng.uniform(-max_rotate, max_rotate, n)
    scales = rng.uniform(1.0 - max_scale, 1.0 + max_scale, n)
    shifts = rng.uniform(-max_shift, max_shift, (n, 2)) * (w, h)
    for i in range(n):
        image = images[i, :, ::-1] if flips[i] else images[i]
        matrix = cv2.getRotationMatrix2D((w / 2 - 0.5, h / 2 - 0.5), float(angles[i]), float(scales[i]))
        matrix[:, 2] += shifts[i]
        out[i] = cv2.warpAffine(np.ascontiguousarray(image), matrix, (w, h), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REFLECT_101)
    return out
