"""The infer stage: one classifier over one frame shard, in batches, per the predictions contract.

Each sample gets ``status`` ``ok`` (scored), ``no_face`` (extraction found no face) or
``error:<short>`` (frames unreadable, model unavailable, crop undecodable); failed samples keep
empty scores and are counted as wrong by the aggregate stage.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd
import pyarrow as pa

from .classifiers import Classifier
from .extract import decode_image
from .labels import predict_canonical

PREDICTION_SCHEMA = pa.schema([
    ("sample_id", pa.string()),
    ("status", pa.string()),
    ("scores", pa.list_(pa.float64())),
    ("pred_native", pa.string()),
    ("pred_canonical", pa.string()),
    ("latency_ms", pa.float64()),
])


def failed_predictions(frames: pd.DataFrame, status: str) -> pd.DataFrame:
    """Every sample of the shard marked with the same failure (e.g. the model is unavailable)."""
    return pd.DataFrame({
        "sample_id": frames["sample_id"].astype(str).to_numpy(),
        "status": [status] * len(frames),
        "scores": [None] * len(frames),
        "pred_native": [None] * len(frames),
        "pred_canonical": [None] * len(frames),
        "latency_ms": [np.nan] * len(frames),
    })


def predict_frames(frames: pd.DataFrame, classifier: Classifier, scheme: str, contempt: str,
                   batch_size: int, log=sys.stderr) -> pd.DataFrame:
    """Predictions for a frame shard (``sample_id``, ``face_status``, ``face_crop`` columns used)."""
    out = failed_predictions(frames, "")
    out["status"] = [s if s != "ok" else "" for s in frames["face_status"].astype(str)]
    todo = [i for i, status in enumerate(out["status"]) if status == ""]
    crops = {}
    for i in todo:
        image = decode_image(frames["face_crop"].iloc[i])
        if image is None:
            out.at[i, "status"] = "error:bad_crop"
        else:
            crops[i] = image
    order = list(crops)
    start, done = time.perf_counter(), 0
    for b in range(0, len(order), batch_size):
        idx = order[b : b + batch_size]
        scores, per_face_ms = classifier.predict([crops[i] for i in idx])
        native = [classifier.native_order[j] for j in np.argmax(scores, axis=1)]
        canonical = predict_canonical(scores, classifier.native_order, scheme, contempt)
        for k, i in enumerate(idx):
            out.at[i, "status"] = "ok"
            out.at[i, "scores"] = [float(v) for v in scores[k]]
            out.at[i, "pred_native"] = native[k]
            out.at[i, "pred_canonical"] = canonical[k]
            out.at[i, "latency_ms"] = per_face_ms
        done += len(idx)
        rate = done / max(time.perf_counter() - start, 1e-9)
        print(f"[infer] {done}/{len(order)} faces ({rate:.1f}/s)", file=log)
    return out
