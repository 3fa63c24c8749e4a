"""The infer stage: one classifier over one frame shard, in batches, per the predictions contract.

Each sample gets ``status`` ``ok`` (scored), ``no_face`` (extraction found no face, or a classifier
with its own detector found none in the full frame) or ``error:<short>`` (frames unreadable, model
unavailable, image undecodable); failed samples keep empty scores and are counted as wrong by the
aggregate stage.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from .classifiers import Classifier
from .extract import decode_image
from .kinds import Kind
from .labels import predict_canonical
from .progress import Progress
from .tables import columns_table

PREDICTION_SCHEMA = pa.schema([
    ("sample_id", pa.string()),
    ("status", pa.string()),
    ("scores", pa.list_(pa.float64())),
    ("pred_native", pa.string()),
    ("pred_canonical", pa.string()),
    ("latency_ms", pa.float64()),
])


def failed_columns(sample_ids: Sequence, status: str) -> dict[str, list]:
    """Every sample of the shard marked with the same failure (e.g. the model is unavailable)."""
    n = len(sample_ids)
    return {"sample_id": [str(s) for s in sample_ids], "status": [status] * n, "scores": [None] * n,
            "pred_native": [None] * n, "pred_canonical": [None] * n, "latency_ms": [float("nan")] * n}


def predictions_table(columns: dict[str, list]) -> pa.Table:
    """Prediction columns (as made here) as a table of ``PREDICTION_SCHEMA`` (NaN latency is null,
    as pandas wrote it)."""
    return columns_table(columns, PREDICTION_SCHEMA)


def _frame(columns: dict[str, list]):
    import pandas as pd

    n = len(columns["sample_id"])
    return pd.DataFrame({
        "sample_id": np.array(columns["sample_id"], dtype=object),
        **{c: pd.Series(columns[c], dtype=object, index=range(n)) for c in
           ("status", "scores", "pred_native", "pred_canonical")},
        "latency_ms": np.array(columns["latency_ms"], dtype=float),
    })


def input_columns(classifier: Classifier | Kind) -> list[str]:
    """The frame-shard columns :func:`predict_frames` reads for ``classifier`` (or any classifier of a kind)."""
    return ["sample_id", "face_status", classifier.input_column]


def predict_columns(sample_ids: Sequence, face_status: Sequence[str], images: Sequence[bytes | None],
                    classifier: Classifier, scheme: str, contempt: str, batch_size: int,
                    log=sys.stderr) -> dict[str, list]:
    """Prediction columns for a frame shard's ``sample_id``, ``face_status`` and input column
    (``images``: the crops or full frames the classifier reads, encoded).

    A classifier reads the shared crop of every sample whose face was found, or, with its own
    detector, the full APEX frame of every sample whose frames were read (``no_face`` from our
    detector does not stop it); NaN scores from it mean it found no face.
    """
    out = failed_columns(sample_ids, "")
    status = out["status"]
    bad = "error:bad_crop" if classifier.input_column == "face_crop" else "error:bad_frame"
    crops: dict[int, np.ndarray] = {}
    for i, (face, data) in enumerate(zip(face_status, images)):
        if not (face == "ok" or (classifier.own_detector and face == "no_face")):
            status[i] = str(face)
            continue
        image = decode_image(data) if data is not None else None
        if image is None:
            status[i] = bad
        else:
            crops[i] = image
    order = list(crops)
    progress, done = Progress("infer", len(order), "faces", log), 0
    for b in range(0, len(order), batch_size):
        idx = order[b : b + batch_size]
        scores, per_face_ms = classifier.predict([crops.pop(i) for i in idx])
        found = ~np.isnan(scores).any(axis=1)
        safe = np.where(found[:, None], scores, 0.0)
        native = [classifier.native_order[j] for j in np.argmax(safe, axis=1)]
        canonical = predict_canonical(safe, classifier.native_order, scheme, contempt)
        rows = scores.tolist()
        for k, i in enumerate(idx):
            out["latency_ms"][i] = per_face_ms
            if not found[k]:
                status[i] = "no_face"
                continue
            status[i] = "ok"
            out["scores"][i] = rows[k]
            out["pred_native"][i] = native[k]
            out["pred_canonical"][i] = canonical[k]
        done += len(idx)
        progress.update(done, force=True)
    return out


def predict_frames(frames, classifier: Classifier, scheme: str, contempt: str, batch_size: int,
                   log=sys.stderr):
    """``predict_columns`` on a frame shard given as a pandas frame (the columns of
    :func:`input_columns`), as a pandas frame."""
    return _frame(predict_columns(frames["sample_id"].tolist(), frames["face_status"].astype(str).tolist(),
                                  frames[classifier.input_column].tolist(), classifier, scheme, contempt,
                                  batch_size, log))
