"""Generated image folders for training tests: one learnable pattern per FER2013 class."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from apexbench.labels import FER2013_ORDER

SIZE = 48


def pattern_image(k: int, rng: np.random.Generator) -> np.ndarray:
    """Class ``k``: a grating of 2 + 1.5 k cycles per image at a random orientation and phase, plus noise.

    Spatial frequency survives flips, small rotations and shifts (the training augmentation).
    """
    yy, xx = np.mgrid[0:SIZE, 0:SIZE] / SIZE
    theta = rng.uniform(0, np.pi)
    cycles = 2.0 + 1.5 * k
    wave = np.sin(2 * np.pi * cycles * (xx * np.cos(theta) + yy * np.sin(theta)) + rng.uniform(0, 2 * np.pi))
    image = 128 + rng.uniform(50, 90) * wave + rng.normal(0, 12, (SIZE, SIZE))
    return np.clip(image, 0, 255).astype(np.uint8)


def write_pattern_folder(root: Path, per_class: int, seed: int) -> Path:
    """``root/<class>/<i>.png`` for every FER2013 class (folder names as in FER2013)."""
    rng = np.random.default_rng(seed)
    for k, name in enumerate(FER2013_ORDER):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            cv2.imwrite(str(root / name / f"{name}_{i:03d}.png"), pattern_image(k, rng))
    return root
