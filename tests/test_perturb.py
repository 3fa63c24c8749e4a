"""Robustness perturbations: each does exactly what the config names, and perturbed shards re-detect faces."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest

from apexbench.extract import FRAME_COLUMNS, decode_image
from apexbench.faces import square_crop
from apexbench.perturb import PERTURBATIONS, perturb, perturb_frames, rotation_sign

FACES = {"detector": "none", "min_score": 0.5, "model_selection": 0, "margin": 0.0, "crop_size": 32,
         "jpeg_quality": 100}


def _image(seed=0, shape=(48, 64, 3)):
    return np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)


def test_brightness_contrast_is_x1_2_plus_10_saturated():
    image = np.array([[[0, 100, 250]]], dtype=np.uint8)
    assert perturb(image, "brightness_contrast").tolist() == [[[10, 130, 255]]]


def test_blur_is_a_3x3_gaussian():
    image = _image()
    np.testing.assert_array_equal(perturb(image, "blur"), cv2.GaussianBlur(image, (3, 3), 0))
    # a single bright pixel spreads into its 3x3 neighbourhood with the binomial weights 1-2-1
    dot = np.zeros((5, 5, 3), np.uint8)
    dot[2, 2] = 160
    blurred = perturb(dot, "blur")[..., 0]
    assert blurred[2, 2] == 40 and blurred[2, 1] == 20 and blurred[1, 1] == 10 and blurred[0, 0] == 0


def test_jpeg_is_quality_50():
    image = _image(1)
    expected = cv2.imdecode(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 50])[1], cv2.IMREAD_COLOR)
    np.testing.assert_array_equal(perturb(image, "jpeg"), expected)


def test_rotate_is_plus_or_minus_15_degrees_stable_per_sample():
    signs = {rotation_sign(f"s{i}") for i in range(20)}
    assert signs == {1, -1}
    assert rotation_sign("abc") == rotation_sign("abc")
    image = np.zeros((101, 101, 3), np.uint8)
    image[50, 90] = 255  # a dot 40 px right of the centre
    for sid in ("s0", "s1", "s2", "s3"):
        out = perturb(image, "rotate", sid)[..., 0]
        y, x = np.unravel_index(np.argmax(out), out.shape)
        angle = np.degrees(np.arctan2(50 - y, x - 50))  # counter-clockwise positive, as OpenCV rotates
        assert angle == pytest.approx(15 * rotation_sign(sid), abs=2.5)


def test_none_is_identity_and_unknown_names_fail():
    image = _image()
    assert perturb(image, "none") is image
    with pytest.raises(ValueError):
        perturb(image, "solarize")
    assert PERTURBATIONS[0] == "none"


def test_perturbed_shard_recrops_from_the_stored_frames():
    apex = _image(2)
    jpeg = cv2.imencode(".jpg", apex, [cv2.IMWRITE_JPEG_QUALITY, 100])[1].tobytes()
    rows = pd.DataFrame({"sample_id": ["a", "b"], "kind": ["image", "video"]})
    for column in FRAME_COLUMNS:
        rows[column] = [None, None]
    rows["apex_jpeg"] = [jpeg, None]
    rows["onset_jpeg"] = [None, None]
    rows["face_status"] = ["ok", "error:unreadable"]
    out = perturb_frames(rows, "brightness_contrast", FACES)
    assert list(out.columns) == list(rows.columns)
    assert out["face_status"].tolist() == ["ok", "error:unreadable"]
    assert out.loc[0, "face_box"] == [0, 0, 64, 48]
    perturbed = perturb(decode_image(jpeg), "brightness_contrast")
    np.testing.assert_array_equal(decode_image(out.loc[0, "face_crop"]), square_crop(perturbed, (0, 0, 64, 48), 32, 0.0))
    assert out.loc[1, "face_crop"] is None
