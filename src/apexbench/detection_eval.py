"""Face detection metrics: each detector of the workflow against known face boxes.

Detectors (the objects ``annotate`` and ``serve`` use, built by ``annotate.make_annotate_detector``):
``haar`` (OpenCV's frontal cascade), ``mediapipe_short`` / ``mediapipe_full`` (BlazeFace short- and
full-range) and ``mediapipe_both`` (both merged, annotate's default).

Image sets:
- ``demo``: the demo's four posed stills and its group photo, 9 faces whose boxes were drawn by hand
  (``config/demo/face_boxes.csv``: corners ``x0, y0, x1, y1`` in pixels, from the hairline or top
  of the forehead to the chin and from cheek to cheek, checked by drawing them on the images);
- folders of single-face crops (FER2013, CK+48: 48x48 images that are the face): one face per
  image, its box the whole image; ``limit`` takes that many files evenly spread over the sorted list.

Matching: pairs of a true box and a detection sorted by IoU, largest first, each box and each
detection used at most once, a pair counting when IoU >= ``min_iou`` (0.5). Per detector and image
set: ``images``, ``faces_total``, ``detections`` (boxes returned), ``images_detected`` (images with at
least one box), ``found`` (true boxes matched),
``missed`` (= faces_total - found), ``false_positives`` (= detections - found: a box that matches
no face, or a second box on one face), ``recall`` (found / faces_total), ``precision``
(found / detections; empty without detections), ``mean_iou`` (of the matched pairs) and
``ms_per_image`` (detector wall time; the only column that varies between runs).

On the 48x48 crops a detector's box often frames the face tighter than the crop does: a box under
about 34x34 pixels has IoU < 0.5 with the whole image, so it counts as a false positive plus a miss
although it is on the face (most of BlazeFace short-range's "false positives" on FER2013 are boxes
of 26-34 pixels); ``images_detected`` says how many crops got any box at all.
"""

from __future__ import annotations

import csv
import math
import os
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TextIO

import numpy as np
import pandas as pd

from .annotate import IMAGE_EXTENSIONS, iou, make_annotate_detector
from .errors import ConfigError, DatasetError
from .tables import write_text
from .video import read_image

DETECTORS = {
    "haar": {"detector": "haar", "model_selection": 0},
    "mediapipe_short": {"detector": "mediapipe", "model_selection": 0},
    "mediapipe_full": {"detector": "mediapipe", "model_selection": 1},
    "mediapipe_both": {"detector": "mediapipe", "model_selection": "both"},
}
DEMO_SET = "demo"
COLUMNS = ["detector", "image_set", "images", "faces_total", "detections", "images_detected", "found", "missed",
           "false_positives", "recall", "precision", "mean_iou", "ms_per_image"]
Box = tuple[int, int, int, int]  # x, y, w, h


def read_boxes(path: str | os.PathLike) -> dict[str, list[Box]]:
    """``file -> [(x, y, w, h), ...]`` from a CSV of ``file,x0,y0,x1,y1`` (corners, pixels)."""
    boxes: dict[str, list[Box]] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames != ["file", "x0", "y0", "x1", "y1"]:
            raise DatasetError(f"{path}: expected the columns file,x0,y0,x1,y1, got {reader.fieldnames}")
        for line, row in enumerate(reader, start=2):
            try:
                x0, y0, x1, y1 = (int(row[k]) for k in ("x0", "y0", "x1", "y1"))
            except (TypeError, ValueError):
                raise DatasetError(f"{path}:{line}: corners must be integers") from None
            if x1 <= x0 or y1 <= y0:
                raise DatasetError(f"{path}:{line}: x1 > x0 and y1 > y0 are required")
            boxes.setdefault(row["file"], []).append((x0, y0, x1 - x0, y1 - y0))
    return boxes


def match(truth: Sequence[Box], detections: Sequence[Box], min_iou: float = 0.5) -> list[tuple[int, int, float]]:
    """Greedy one-to-one matching by IoU: ``(truth index, detection index, iou)`` per matched pair."""
    pairs = sorted(((iou(t, d), i, j) for i, t in enumerate(truth) for j, d in enumerate(detections)), reverse=True)
    used_t: set[int] = set()
    used_d: set[int] = set()
    out = []
    for overlap, i, j in pairs:
        if overlap < min_iou:
            break
        if i not in used_t and j not in used_d:
            used_t.add(i)
            used_d.add(j)
            out.append((i, j, overlap))
    return out


def folder_images(root: str | os.PathLike, limit: int | None = None) -> list[Path]:
    """Image files under ``root`` (sorted); ``limit`` of them evenly spread when given."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: image folder not found")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
    if not files:
        raise DatasetError(f"{root}: no images ({', '.join(IMAGE_EXTENSIONS)}) found")
    if limit is not None and limit < len(files):
        files = [files[i * len(files) // limit] for i in range(limit)]
    return files


def score(detector, items: Iterable[tuple[str, np.ndarray, list[Box]]], min_iou: float) -> tuple[dict, list[dict]]:
    """Counts of one detector over ``(name, frame, true boxes)`` items, and one row per image."""
    totals = {"images": 0, "faces_total": 0, "detections": 0, "images_detected": 0, "found": 0}
    ious: list[float] = []
    per_image = []
    seconds = 0.0
    for name, frame, truth in items:
        start = time.perf_counter()
        boxes = [face.box for face in detector.detect(frame)]
        seconds += time.perf_counter() - start
        pairs = match(truth, boxes, min_iou)
        totals["images"] += 1
        totals["faces_total"] += len(truth)
        totals["detections"] += len(boxes)
        totals["images_detected"] += bool(boxes)
        totals["found"] += len(pairs)
        ious += [overlap for _, _, overlap in pairs]
        per_image.append({"image": name, "faces": len(truth), "detections": len(boxes), "found": len(pairs),
                          "ious": [round(overlap, 3) for _, _, overlap in pairs]})
    found, total, detections = totals["found"], totals["faces_total"], totals["detections"]
    summary = {**totals, "missed": total - found, "false_positives": detections - found,
               "recall": found / total if total else math.nan,
               "precision": found / detections if detections else math.nan,
               "mean_iou": float(np.mean(ious)) if ious else math.nan,
               "ms_per_image": 1000.0 * seconds / totals["images"] if totals["images"] else math.nan}
    return summary, per_image


def image_sets(boxes_csv: str | os.PathLike, media_root: str | os.PathLike,
               folders: Sequence[dict]) -> dict[str, list[tuple[str, Path, list[Box] | None]]]:
    """Every image set as ``(name, path, true boxes)``; a folder image's box (None here) is the whole image."""
    boxes = read_boxes(boxes_csv)
    sets = {DEMO_SET: [(name, Path(media_root) / name, truth) for name, truth in boxes.items()]} if boxes else {}
    for spec in folders:
        if spec["name"] in sets:
            raise ConfigError(f"detection.image_sets: the name {spec['name']!r} is used twice")
        sets[spec["name"]] = [(str(p.relative_to(spec["root"])), p, None)
                              for p in folder_images(spec["root"], spec.get("limit"))]
    return sets


def _load(entries):
    for name, path, truth in entries:
        frame = read_image(path)
        yield name, frame, truth if truth is not None else [(0, 0, int(frame.shape[1]), int(frame.shape[0]))]


def evaluate(boxes_csv: str | os.PathLike, media_root: str | os.PathLike, folders: Sequence[dict],
             detectors: Sequence[str] = tuple(DETECTORS), min_score: float = 0.5, min_iou: float = 0.5,
             log: TextIO = sys.stderr) -> tuple[pd.DataFrame, dict]:
    """The metrics table (one row per detector x image set) and the demo set's per-image rows."""
    sets = image_sets(boxes_csv, media_root, folders)
    rows, demo_detail = [], {}
    for name in detectors:
        if name not in DETECTORS:
            raise ConfigError(f"detection.detectors: unknown detector {name!r}; choose from {', '.join(DETECTORS)}")
        detector = make_annotate_detector({**DETECTORS[name], "min_score": min_score})
        try:
            for set_name, entries in sets.items():
                summary, per_image = score(detector, _load(entries), min_iou)
                rows.append({"detector": name, "image_set": set_name, **summary})
                if set_name == DEMO_SET:
                    demo_detail[name] = per_image
                print(f"[detection] {name} on {set_name}: {summary['found']}/{summary['faces_total']} faces found, "
                      f"{summary['false_positives']} false positive(s), {summary['images']} images", file=log)
        finally:
            detector.close()
    return pd.DataFrame(rows, columns=COLUMNS), demo_detail


def markdown(table: pd.DataFrame, demo_detail: dict, min_iou: float) -> str:
    """The report's "Face detection" section: the table, then the demo images one by one."""
    lines = ["# Face detection", "",
             f"Faces found (matched one-to-one at IoU >= {min_iou:g}), misses and false positives per detector and "
             "image set. `demo`: the demo stills and group photo, boxes drawn by hand "
             "(`config/demo/face_boxes.csv`); image folders: single-face crops, the whole image is the face (a box "
             "framing the face tighter than the crop, under about 70 % of its side, counts as a false positive "
             "and a miss; `images with a box` counts crops with any box).", "",
             "| detector | image set | images | faces | detections | images with a box | found | missed | "
             "false positives | recall | precision | mean IoU | ms/image |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]

    def num(value, digits=3):
        return "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"

    for row in table.itertuples(index=False):
        lines.append(f"| {row.detector} | {row.image_set} | {row.images} | {row.faces_total} | {row.detections} | "
                     f"{row.images_detected} | {row.found} | {row.missed} | {row.false_positives} | {num(row.recall)} | "
                     f"{num(row.precision)} | {num(row.mean_iou)} | {num(row.ms_per_image, 1)} |")
    if demo_detail:
        names = [image["image"] for image in next(iter(demo_detail.values()))]
        lines += ["", "Demo images, found / faces (detections):", "",
                  "| detector | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
        for detector, per_image in demo_detail.items():
            cells = [f"{i['found']}/{i['faces']} ({i['detections']})" for i in per_image]
            lines.append(f"| {detector} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_outputs(table: pd.DataFrame, demo_detail: dict, min_iou: float, out_csv: str | os.PathLike,
                  out_md: str | os.PathLike) -> None:
    write_text(table.to_csv(index=False, float_format="%.4f"), out_csv)
    write_text(markdown(table, demo_detail, min_iou), out_md)
