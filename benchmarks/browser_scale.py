"""The sample browser and error gallery at CMED scale (10,924 clips): build time, file size, and how
long headless Chromium takes to open the page (default view, and a filter + sort applied).

A synthetic evaluation set of CMED's size is written as the workflow would leave it: the validated
sample table (``apexbench.cmed_synth`` rows), 64 frame shards whose APEX and onset crops are real
224x224 face crops (taken from a finished run's frame shards, by default the demo's, each sample a
shifted / flipped / re-lit variant so no two images are equal), 2 % of samples without a face, and
the predictions of ``--classifiers`` classifiers (random scores) on every shard. Then
``gallery.write_set_views`` builds the browser and the gallery as the ``aggregate`` rule does.

    make demo   # or any run: its results/<dataset>/frames/ give the face crops
    .venv/bin/python benchmarks/browser_scale.py --workdir /tmp/browser-scale [--frames results/demo/frames]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from apexbench.aggregate import aggregate_set  # noqa: E402
from apexbench.browser import check_page, find_chromium, page_ok, screenshot  # noqa: E402
from apexbench.cmed_synth import CMED_SIZE, cmed_rows  # noqa: E402
from apexbench.datasets.base import shard_of  # noqa: E402
from apexbench.extract import decode_image  # noqa: E402
from apexbench.infer import PREDICTION_SCHEMA  # noqa: E402
from apexbench.labels import CMED_LABELS, FER2013_ORDER, predict_canonical  # noqa: E402
from apexbench.report import set_anchor  # noqa: E402
from apexbench.tables import read_parquet, write_parquet  # noqa: E402
from apexbench.gallery import write_set_views  # noqa: E402


def face_crops(frames_dir: Path) -> list[np.ndarray]:
    crops = []
    for path in sorted(frames_dir.glob("shard-*.parquet")):
        for data in read_parquet(path, columns=["face_crop"])["face_crop"]:
            if data is not None:
                crops.append(decode_image(data))
    if not crops:
        raise SystemExit(f"no face crop in {frames_dir}: run the demo (make demo) or give --frames")
    return crops


def variant(crop: np.ndarray, rng: np.random.Generator) -> bytes:
    """A shifted, maybe flipped, re-lit copy of a face crop, as the PNG a frame shard stores."""
    image = np.roll(crop, (int(rng.integers(-12, 13)), int(rng.integers(-12, 13))), axis=(0, 1))
    if rng.random() < 0.5:
        image = image[:, ::-1]
    image = np.clip(image.astype(np.float32) * rng.uniform(0.8, 1.2) + rng.uniform(-20, 20), 0, 255).astype(np.uint8)
    return cv2.imencode(".png", image)[1].tobytes()


def build(workdir: Path, crops: list[np.ndarray], n: int, shards: int, classifiers: int) -> dict:
    rng = np.random.default_rng(0)
    rows = cmed_rows(n)
    samples = pd.DataFrame({
        "sample_id": [r["sample_id"] for r in rows], "subject": [r["subject"] for r in rows],
        "label": [r["emotion"] for r in rows],
        "label_canonical": [CMED_LABELS[r["emotion"].lower()] for r in rows]}, dtype=object)
    samples["shard"] = [shard_of(s, shards) for s in samples["sample_id"]]
    write_parquet(samples, workdir / "samples.parquet")
    names = [f"clf{j}" for j in range(classifiers)]
    layout = {c: [["", []]] for c in names}
    frame_files = []
    frame = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    frame_jpeg = cv2.imencode(".jpg", cv2.resize(frame, (640, 480)))[1].tobytes()
    for k in range(shards):
        part = samples[samples["shard"] == k].reset_index(drop=True)
        face = rng.random(len(part)) >= 0.02
        records = []
        for i in range(len(part)):
            base = crops[int(rng.integers(0, len(crops)))]
            records.append({"face_status": "ok" if face[i] else "no_face",
                            "face_crop": variant(base, rng) if face[i] else None,
                            "onset_crop": variant(base, rng) if face[i] else None, "apex_jpeg": frame_jpeg})
        path = workdir / f"frames/shard-{k}.parquet"
        write_parquet(pd.concat([part, pd.DataFrame(records)], axis=1), path)
        frame_files.append(str(path))
        for c in names:
            scores = rng.dirichlet(np.ones(7), size=len(part))
            preds = predict_canonical(scores, FER2013_ORDER, "canonical7")
            table = pd.DataFrame({
                "sample_id": part["sample_id"], "status": np.where(face, "ok", "no_face"),
                "scores": [s.tolist() if f else None for s, f in zip(scores, face)],
                "pred_native": [FER2013_ORDER[int(s.argmax())] if f else None for s, f in zip(scores, face)],
                "pred_canonical": [p if f else None for p, f in zip(preds, face)],
                "latency_ms": np.where(face, 2.0, np.nan)})
            ppath = workdir / f"predictions/{c}/shard-{k}.parquet"
            write_parquet(table, ppath, meta={"native_order": list(FER2013_ORDER), "contempt": "mask"},
                          schema=PREDICTION_SCHEMA)
            layout[c][0][1].append(str(ppath))
    return {"layout": layout, "frames": [["", frame_files]], "names": names}


def chromium_seconds(page: Path, fragment: str = "", repeat: int = 3) -> tuple[float, dict]:
    best, result = float("inf"), {}
    for _ in range(repeat):
        start = time.perf_counter()
        result = check_page(page, fragment)
        best = min(best, time.perf_counter() - start)
    return best, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "apexbench-browser-scale")
    parser.add_argument("--frames", type=Path, default=REPO / "results/demo/frames",
                        help="frame shards of a finished run, for real face crops")
    parser.add_argument("--n", type=int, default=CMED_SIZE)
    parser.add_argument("--shards", type=int, default=64)
    parser.add_argument("--classifiers", type=int, default=5)
    parser.add_argument("--reuse", action="store_true", help="keep the synthetic set of an earlier call")
    args = parser.parse_args(argv)
    saved = args.workdir / "layout.json"
    if args.reuse and saved.is_file():
        run = json.loads(saved.read_text())
    else:
        if args.workdir.exists():
            shutil.rmtree(args.workdir)
        args.workdir.mkdir(parents=True)
        start = time.perf_counter()
        run = build(args.workdir, face_crops(args.frames), args.n, args.shards, args.classifiers)
        saved.write_text(json.dumps(run))
        print(f"synthetic set: {args.n} samples, {args.shards} shards, {args.classifiers} classifiers "
              f"({time.perf_counter() - start:.0f} s to write)")
    info = {"name": "cmed_synthetic", "kind": "dataset", "scheme": "canonical7", "sources": ["cmed_synthetic"],
            "cross_train": None}
    out = {k: args.workdir / "results" / v for k, v in {
        "metrics": "metrics.csv", "summary": "summary.md", "confusion": "confusion", "paired": "stats/paired.csv",
        "confidence": "stats/confidence.csv", "coverage": "stats/coverage.csv", "robustness": "stats/robust.csv"}.items()}
    with open(args.workdir / "aggregate.log", "w") as log:
        layout = {c: {"none": g} for c, g in run["layout"].items()}
        results = aggregate_set(info, args.workdir / "samples.parquet", layout, {},
                                {"bootstrap": 0, "seed": 0, "confidence_level": 0.95}, {}, out, log)
    page = args.workdir / "results/samples.html"
    start = time.perf_counter()
    cpu = time.process_time()
    gallery = write_set_views(args.workdir / "samples.parquet", info, results, run["frames"], {}, page,
                              set_anchor(info["name"]))
    print(f"browser + gallery built in {time.perf_counter() - start:.1f} s wall, {time.process_time() - cpu:.1f} s CPU")
    print(f"samples.html: {page.stat().st_size / 1e6:.1f} MB; gallery fragment: {len(gallery.encode()) / 1e6:.2f} MB")
    if find_chromium() is None:
        print("Chromium not found: no opening time")
        return 0
    blank = args.workdir / "blank.html"
    blank.write_text("<!DOCTYPE html><html><body data-figures='0/0'></body></html>")
    base, _ = chromium_seconds(blank)
    seconds, result = chromium_seconds(page)
    print(f"headless Chromium: first page of rows shown {result['attributes'].get('data-ready-ms')} ms after "
          f"navigation start; check_page (start Chromium, load, render, dump the whole DOM): {seconds:.1f} s "
          f"(an empty page: {base:.1f} s); ok: {page_ok(result)}, {result['figures_ok']}/{result['figures_total']} "
          f"thumbnails, page {result['attributes'].get('data-page')}")
    shot = args.workdir / "shot.png"
    start = time.perf_counter()
    screenshot(page, shot, height=1200)
    shot_page = time.perf_counter() - start
    start = time.perf_counter()
    screenshot(blank, shot, height=1200)
    print(f"screenshot of the page (start, load, render, paint): {shot_page:.1f} s; of an empty page: "
          f"{time.perf_counter() - start:.1f} s")
    fragment = f"wrong={run['names'][0]}&sort=conf:{run['names'][0]}&dir=desc&page=3"
    seconds, result = chromium_seconds(page, fragment)
    print(f"  with #{fragment}: shown after {result['attributes'].get('data-ready-ms')} ms, check_page {seconds:.1f} s; "
          f"{result['attributes'].get('data-matched')} match, ok: {page_ok(result)}")
    proc = subprocess.run(["uptime"], capture_output=True, text=True)
    print(f"load: {proc.stdout.strip()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
