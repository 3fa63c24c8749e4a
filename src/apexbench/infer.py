"""The infer stage: one classifier over one frame shard, in batches, per the predictions contract.

Each sample gets ``status`` ``ok`` (scored), ``no_face`` (extraction found no face, or a classifier
with its own detector found none in the full frame) or ``error:<short>`` (frames unreadable, model
unavailable, image undecodable); failed samples keep empty scores and are counted as wrong by the
aggregate stage.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pyarrow as pa

from .classifiers import Classifier
from .extract import decode_image
from .kinds import Kind
from .labels import predict_canonical
from .progress import Progress

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
    n = len(frames)
    return pd.DataFrame({
        "sample_id": frames["sample_id"].astype(str).to_numpy(),
        "status": pd.Series([status] * n, dtype=object),
        "scores": pd.Series([None] * n, dtype=object),  # object even when empty (a shard with no sample)
        "pred_native": pd.Series([None] * n, dtype=object),
        "pred_canonical": pd.Series([None] * n, dtype=object),
        "latency_ms": np.full(n, np.nan),
    })


def input_columns(classifier: Classifier | Kind) -> list[str]:
    """The frame-shard columns :func:`predict_frames` reads for ``classifier`` (or any classifier of a kind)."""
    return ["sample_id", "face_status", classifier.input_column]


def predict_frames(frames: pd.DataFrame, classifier: Classifier, scheme: str, contempt: str,
                   batch_size: int, log=sys.stderr) -> pd.DataFrame:
    """Predictions for a frame shard (the columns of :func:`input_columns`).

    A classifier reads the shared crop of every sample whose face was found, or, with its own
    detector, the full APEX frame of every sample whose frames were read (``no_face`` from our
    detector does not stop it); NaN scores from it mean it found no face.
    """
    out = failed_predictions(frames, "")
    column = classifier.input_column

    def runnable(status: str) -> bool:
        return status == "ok" or (classifier.own_detector and status == "no_face")

    out["status"] = ["" if runnable(s) else s for s in frames["face_status"].astype(str)]
    todo = [i for i, status in enumerate(out["status"]) if status == ""]
    crops = {}
    for i in todo:
        data = frames[column].iloc[i]
        image = decode_image(data) if data is not None else None
        if image is None:
            out.at[i, "status"] = "error:bad_crop" if column == "face_crop" else "error:bad_frame"
        else:
            crops[i] = image
    order = list(crops)
    progress, done = Progress("infer", len(order), "faces", log), 0
    for b in range(0, len(order), batch_size):
        idx = order[b : b + batch_size]
        scores, per_face_ms = classifier.predict([crops[i] for i in idx])
        found = ~np.isnan(scores).any(axis=1)
        safe = np.where(found[:, None], scores, 0.0)
        native = [classifier.native_order[j] for j in np.argmax(safe, axis=1)]
        canonical = predict_canonical(safe, classifier.native_order, scheme, contempt)
        for k, i in enumerate(idx):
            if not found[k]:
                out.at[i, "status"] = "no_face"
                out.at[i, "latency_ms"] = per_face_ms
                continue
            out.at[i, "status"] = "ok"
            out.at[i, "scores"] = [float(v) for v in scores[k]]
            out.at[i, "pred_native"] = native[k]
            out.at[i, "pred_canonical"] = canonical[k]
            out.at[i, "latency_ms"] = per_face_ms
        done += len(idx)
        progress.update(done, force=True)
    return out
