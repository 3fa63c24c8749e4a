"""Face detection metrics: matching by hand-computed cases, the real detectors on the real demo images
against the hand-drawn boxes (exact counts, measured), real FER2013 / CK+48 crops, and the rule."""

from __future__ import annotations

import math

import cv2
import pandas as pd
import pytest

from apexbench.detection_eval import COLUMNS, evaluate, folder_images, match, read_boxes, score
from apexbench.errors import DatasetError
from apexbench.faces import Face

from conftest import REPO, shared_path
from workflow_helpers import edit_config, make_workdir, planned_jobs, snakemake

BOXES = REPO / "config/demo/face_boxes.csv"
STILLS = ["0-f1-su-ph.jpg", "0-f15-hao-ph.jpg", "15-f13-anc-ph.jpg", "45-m7-di-ph.jpg"]


def test_matching_is_one_to_one_by_iou():
    truth = [(0, 0, 10, 10), (20, 0, 10, 10)]
    detections = [(1, 0, 10, 10), (50, 50, 5, 5), (20, 0, 10, 10), (21, 0, 10, 10)]
    pairs = match(truth, detections, 0.5)
    # exact box first (IoU 1), then (1,0): 90 / 110; (21,0) also overlaps face 2 (0.818) but it is taken
    assert [(t, d) for t, d, _ in pairs] == [(1, 2), (0, 0)]
    assert pairs[0][2] == 1.0 and math.isclose(pairs[1][2], 90 / 110)
    assert match(truth, [(5, 0, 10, 10)], 0.5) == []  # IoU 50 / 150 = 0.33
    assert [(t, d) for t, d, _ in match(truth, [(5, 0, 10, 10)], 0.3)] == [(0, 0)]
    assert match([(0, 0, 10, 10)], [(0, 0, 20, 20)], 0.25) == [(0, 0, 0.25)]  # a box 4x the face: IoU 0.25


class FixedDetector:
    def __init__(self, boxes):
        self.boxes = boxes

    def detect(self, frame):
        return [Face(*box, 0.9) for box in self.boxes.pop(0)]


def test_score_counts_by_hand():
    frame = None
    items = [("a", frame, [(0, 0, 10, 10), (20, 0, 10, 10)]), ("b", frame, [(0, 0, 48, 48)]), ("c", frame, [(0, 0, 8, 8)])]
    detector = FixedDetector([[(0, 0, 10, 10), (50, 50, 5, 5)], [(0, 0, 48, 48), (0, 0, 40, 40)], []])
    summary, per_image = score(detector, items, 0.5)
    assert {k: summary[k] for k in ("images", "faces_total", "detections", "images_detected", "found", "missed",
                                    "false_positives")} == {
        "images": 3, "faces_total": 4, "detections": 4, "images_detected": 2, "found": 2, "missed": 2,
        "false_positives": 2}
    assert summary["recall"] == 0.5 and summary["precision"] == 0.5 and summary["mean_iou"] == 1.0
    assert [(i["image"], i["found"], i["detections"]) for i in per_image] == [("a", 1, 2), ("b", 1, 2), ("c", 0, 0)]
    empty, _ = score(FixedDetector([[]]), [("x", frame, [(0, 0, 5, 5)])], 0.5)
    assert empty["found"] == 0 and math.isnan(empty["precision"]) and math.isnan(empty["mean_iou"])


def test_the_hand_drawn_boxes():
    boxes = read_boxes(BOXES)
    assert sorted(boxes) == sorted(STILLS + ["multi_face.jpg"])
    assert len(boxes["multi_face.jpg"]) == 5 and all(len(boxes[s]) == 1 for s in STILLS)
    assert all(60 <= w <= 300 and 0.7 < h / w < 1.4 for faces in boxes.values() for _, _, w, h in faces)


def test_a_bad_boxes_file_is_one_line(tmp_path):
    path = tmp_path / "boxes.csv"
    path.write_text("file,x0,y0,x1,y1\na.jpg,10,10,5,20\n")
    with pytest.raises(DatasetError, match=r"boxes.csv:2: x1 > x0 and y1 > y0 are required"):
        read_boxes(path)
    path.write_text("file,left,top\n")
    with pytest.raises(DatasetError, match="expected the columns file,x0,y0,x1,y1"):
        read_boxes(path)


def test_folder_subset_is_spread_over_the_sorted_files(tmp_path):
    for cls in ("angry", "happy"):
        (tmp_path / cls).mkdir()
        for i in range(5):
            (tmp_path / cls / f"{i}.png").write_bytes(b"")
    (tmp_path / "happy" / "notes.txt").write_text("not an image")
    picked = folder_images(tmp_path, limit=4)
    assert [str(p.relative_to(tmp_path)) for p in picked] == ["angry/0.png", "angry/2.png", "happy/0.png",
                                                               "happy/2.png"]
    assert len(folder_images(tmp_path)) == 10
    with pytest.raises(DatasetError, match="image folder not found"):
        folder_images(tmp_path / "missing")


# Measured on the demo images against config/demo/face_boxes.csv (IoU >= 0.5), per detector:
# (found, detections, false positives), and per image found/detections in STILLS + multi_face order.
DEMO_EXPECTED = {
    "haar": ((7, 7, 0), ["1/1", "1/1", "1/1", "0/0", "4/4"]),  # misses the disgust still and one of 5
    "mediapipe_short": ((5, 7, 2), ["1/1", "1/1", "1/1", "1/1", "1/3"]),  # 3 boxes in the group, 2 misplaced
    "mediapipe_full": ((8, 8, 0), ["1/1", "1/1", "1/1", "0/0", "5/5"]),  # misses the disgust still
    "mediapipe_both": ((9, 9, 0), ["1/1", "1/1", "1/1", "1/1", "5/5"]),
}


@pytest.fixture(scope="module")
def demo_table(demo_media):
    return evaluate(BOXES, demo_media, [])


def test_detectors_on_the_demo_images(demo_table):
    table, detail = demo_table
    assert list(table.columns) == COLUMNS
    assert table["detector"].tolist() == list(DEMO_EXPECTED) and set(table["image_set"]) == {"demo"}
    for row in table.itertuples(index=False):
        (found, detections, false_positives), per_image = DEMO_EXPECTED[row.detector]
        assert (row.images, row.faces_total) == (5, 9)
        assert (row.found, row.detections, row.false_positives, row.missed) == (
            found, detections, false_positives, 9 - found), row
        assert [f"{i['found']}/{i['detections']}" for i in detail[row.detector]] == per_image
        assert math.isclose(row.recall, found / 9) and row.ms_per_image > 0
    ious = dict(zip(table["detector"], table["mean_iou"]))
    assert all(ious[d] > 0.7 for d in ious), ious  # matched boxes sit well on the drawn faces


def test_single_face_crops_from_fer2013_and_ckplus(tmp_path):
    """40 crops of each, evenly spread over the classes; the whole 48x48 image is the face. Measured."""
    sets = [{"name": "fer2013", "root": str(shared_path("data", "fer2013", "publictest")), "limit": 40},
            {"name": "ckplus48", "root": str(shared_path("data", "ckplus48")), "limit": 40}]
    no_boxes = tmp_path / "boxes.csv"
    no_boxes.write_text("file,x0,y0,x1,y1\n")
    table, _ = evaluate(no_boxes, tmp_path, sets)
    got = {(r.detector, r.image_set): (r.images, r.images_detected, r.found, r.false_positives)
           for r in table.itertuples(index=False)}
    assert got == FOLDER_EXPECTED  # no demo row: the boxes file names no image


# (images, images with a box, found at IoU >= 0.5 with the whole crop, false positives)
FOLDER_EXPECTED = {
    ("haar", "fer2013"): (40, 8, 8, 0), ("haar", "ckplus48"): (40, 30, 30, 0),
    ("mediapipe_short", "fer2013"): (40, 37, 32, 6), ("mediapipe_short", "ckplus48"): (40, 40, 40, 0),
    ("mediapipe_full", "fer2013"): (40, 2, 2, 0), ("mediapipe_full", "ckplus48"): (40, 4, 4, 0),
    ("mediapipe_both", "fer2013"): (40, 37, 33, 4), ("mediapipe_both", "ckplus48"): (40, 40, 40, 0),
}


@pytest.mark.slow
def test_detection_rule(tmp_path, mirror_dir, demo_media):
    """`snakemake results/detection.csv` on the demo media and a folder of face crops cut from the stills."""
    workdir = make_workdir(tmp_path / "wf")
    crops = workdir / "crops"
    for name, [(x, y, w, h)] in ((n, b) for n, b in read_boxes(BOXES).items() if n in STILLS):
        (crops / "stills").mkdir(parents=True, exist_ok=True)
        image = cv2.imread(str(demo_media / name))
        cv2.imwrite(str(crops / "stills" / name.replace(".jpg", ".png")), image[y:y + h, x:x + w])
    edit_config(workdir, {"detection": {"image_sets": [{"name": "still_crops", "root": "crops"}]}})
    env = {"APEXBENCH_MIRROR": str(mirror_dir)}
    snakemake(workdir, "--cores", "2", "results/detection.csv", env=env)
    table = pd.read_csv(workdir / "results/detection.csv")
    assert list(table.columns) == COLUMNS and len(table) == 8
    demo = table[table["image_set"] == "demo"].set_index("detector")
    for detector, ((found, detections, false_positives), _) in DEMO_EXPECTED.items():
        assert (demo.loc[detector, "found"], demo.loc[detector, "detections"],
                demo.loc[detector, "false_positives"]) == (found, detections, false_positives)
    still_crops = table[table["image_set"] == "still_crops"].set_index("detector")
    assert (still_crops["images"] == 4).all()
    # Measured: on crops cut exactly to the drawn boxes Haar finds no face, full-range BlazeFace one,
    # short-range and both all four.
    assert still_crops["found"].to_dict() == {"haar": 0, "mediapipe_short": 4, "mediapipe_full": 1,
                                              "mediapipe_both": 4}
    assert still_crops["false_positives"].sum() == 0
    assert (workdir / "results/detection.md").read_text().startswith("# Face detection\n")
    assert "[detection] mediapipe_both on demo: 9/9 faces found, 0 false positive(s), 5 images" in (
        workdir / "logs/detection.log").read_text()
    assert planned_jobs(workdir, "results/detection.csv", env=env) == {}
    (crops / "stills" / "0-f1-su-ph.png").write_bytes((crops / "stills" / "0-f15-hao-ph.png").read_bytes())
    assert planned_jobs(workdir, "results/detection.csv", env=env) == {"detection": 1}  # a changed crop reruns it
    edit_config(workdir, {"detection": {"image_sets": [{"name": "gone", "root": "no/such/folder"}]}})
    proc = snakemake(workdir, "--dry-run", "results/detection.csv", env=env, check=False)
    assert proc.returncode != 0
    assert ("apexbench: error: config: detection.image_sets[0].root no/such/folder is not a folder; point it at "
            "a folder of face crops or remove the set") in proc.stderr
