"""The extract stage on generated media: one pass validates and extracts a shard, each still is read
once, and every stored crop decodes to exactly the crop of the decoded frame."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pandas as pd
import pytest

from apexbench.datasets import read_dataset
from apexbench.datasets.base import shard_of
from apexbench.extract import FRAME_SCHEMA, decode_image, extract_samples, extract_shard
from apexbench.faces import square_crop
from apexbench.labels import label_map_for
from apexbench.synthetic import write_index_video
from apexbench.validate import REJECTED_SCHEMA, SAMPLE_SCHEMA, validate_rows

FACES = {"detector": "none", "crop_size": 48, "margin": 0.0, "min_score": 0.5, "model_selection": 0,
         "jpeg_quality": 95}


@pytest.fixture
def folder(tmp_path):
    """Faces as FER2013 and CK+ ship them (48x48 gray JPEG and PNG), colour JPEGs of other sizes, a
    PNG of another size (resized: no pass-through) and an undecodable file."""
    rng = np.random.default_rng(3)
    root = tmp_path / "faces"
    for label in ("happy", "sad"):
        (root / label).mkdir(parents=True)
        for i in range(3):
            gray = rng.integers(0, 256, (48, 48), dtype=np.uint8)
            cv2.imwrite(str(root / label / f"g{i}.jpg"), gray)
            cv2.imwrite(str(root / label / f"p{i}.png"), gray)
            cv2.imwrite(str(root / label / f"c{i}.jpg"), rng.integers(0, 256, (40 + 8 * i, 64, 3), dtype=np.uint8))
        cv2.imwrite(str(root / label / "big.png"), rng.integers(0, 256, (96, 96), dtype=np.uint8))
    (root / "sad" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    return root


def _dataset(root, **extra):
    return {"format": "image_folder", "root": str(root), "labels": "fer2013", "allow_outside_root": False, **extra}


@pytest.mark.parametrize("margin", [0.0, 0.2])
def test_every_crop_decodes_to_the_crop_of_the_decoded_image(folder, margin):
    faces = {**FACES, "margin": margin}
    rows = read_dataset(_dataset(folder))
    samples, rejected, frames = extract_shard(rows, _dataset(folder), 1, faces, log=io.StringIO())
    assert samples.schema.equals(SAMPLE_SCHEMA) and rejected.schema.equals(REJECTED_SCHEMA)
    assert frames.schema.equals(FRAME_SCHEMA)
    assert rejected.column("sample_id").to_pylist() == ["sad/broken"]
    frames = frames.to_pydict()
    assert len(frames["sample_id"]) == 20 and frames["sample_id"] == sorted(frames["sample_id"])
    passed_through = 0
    for source, crop, status in zip(frames["source"], frames["face_crop"], frames["face_status"]):
        image = cv2.imread(str(folder / source), cv2.IMREAD_COLOR)
        expected = square_crop(image, (0, 0, image.shape[1], image.shape[0]), 48, margin)
        assert status == "ok" and np.array_equal(decode_image(crop), expected), source
        if crop == (folder / source).read_bytes():
            passed_through += 1
        else:
            assert crop.startswith(b"\x89PNG"), source
    # the 48x48 PNGs and JPEGs are stored as their own files when nothing is cropped away (a JPEG's
    # own bytes decode to exactly the crop: no re-encoding, no second lossy generation)
    assert passed_through == (12 if margin == 0.0 else 0)
    # the full frame: a JPEG file's own bytes; a PNG's pixels as a JPEG (at jpeg_quality 95)
    for source, apex in zip(frames["source"], frames["apex_jpeg"]):
        data = (folder / source).read_bytes()
        assert apex.startswith(b"\xff\xd8\xff")
        if source.endswith(".jpg"):
            assert apex == data, source
        else:
            image = cv2.imread(str(folder / source), cv2.IMREAD_COLOR)
            assert apex != data and np.abs(decode_image(apex).astype(int) - image).mean() < 8, source


def test_one_pass_equals_validating_then_extracting(folder):
    """extract_shard (the rule's job) gives the tables validate_rows and extract_samples give."""
    rows = [r for r in read_dataset(_dataset(folder)) if shard_of(r.sample_id, 2) == 1]
    samples, rejected, frames = extract_shard(rows, _dataset(folder), 2, FACES, log=io.StringIO())
    ref_samples, ref_rejected = validate_rows(rows, folder, label_map_for(_dataset(folder)), 2)
    ref_frames = extract_samples(ref_samples, folder, FACES, log=io.StringIO())
    got = samples.to_pandas().astype({"offset": "Int64", "frame_count": "Int64"})
    pd.testing.assert_frame_equal(got, ref_samples)
    pd.testing.assert_frame_equal(rejected.to_pandas(), ref_rejected, check_dtype=False)
    got_frames = frames.to_pandas()
    assert list(got_frames.columns) == list(ref_frames.columns)
    for column in ("apex_jpeg", "onset_jpeg", "face_status", "faces_found", "face_score"):
        assert got_frames[column].tolist() == ref_frames[column].tolist(), column
    for a, b in zip(got_frames["face_crop"], ref_frames["face_crop"]):
        assert np.array_equal(decode_image(a), decode_image(b))


def test_videos_are_extracted_by_seeking(tmp_path):
    media = tmp_path / "media"
    write_index_video(media / "clip.avi", 12, size=(64, 48), fourcc="MJPG")
    table = tmp_path / "table.csv"
    table.write_text("sample_id,subject,video,onset,apex,offset,emotion\na,s1,clip.avi,2,7,9,Happy\n"
                     "b,s1,clip.avi,0,30,31,Sad\n")
    spec = {"format": "cmed_csv", "root": str(media), "table": str(table), "labels": "cmed",
            "allow_outside_root": False}
    samples, rejected, frames = extract_shard(read_dataset(spec), spec, 1, FACES, log=io.StringIO())
    assert samples.column("sample_id").to_pylist() == ["a"]
    assert rejected.column("reason").to_pylist() == ["index_out_of_range"]
    row = frames.to_pylist()[0]
    assert row["kind"] == "video" and row["face_status"] == "ok"
    assert decode_image(row["onset_crop"]).shape == (48, 48, 3)
