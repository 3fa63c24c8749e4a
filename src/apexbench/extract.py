"""The extract stage: onset and APEX frames of one shard, the face on the APEX, the shared crops.

Frame-folder samples (kind ``frames``) read the onset and APEX image files directly.
Videos are read by seeking straight to the onset and APEX frames (``video.read_frames`` verifies it
got the frame it asked for). The face is detected on the APEX frame; the same box is applied to the
onset frame, so a classifier comparing the two sees the same region. A sample whose face is not
found is kept with ``face_status = "no_face"``; a sample whose frames cannot be read is kept with
``face_status = "error:<reason>"``; neither ever drops other samples.

``extract_shard`` is the rule's whole job: each row is validated (``validate.check_rows``) and, once
accepted, extracted at once with the still images the checks decoded (an image is read and decoded
once). Crops are stored losslessly: a crop that is the whole decoded image, unchanged (pre-cropped
faces of the crop size with ``detector: none``), is that PNG or JPEG file's own bytes, which decode to
exactly its pixels; any other crop is a PNG, one-channel when its three channels are equal (gray
media). ``decode_image`` (OpenCV, colour) gives back the crop's exact BGR pixels either way. The full
onset/APEX frames are stored as JPEG: a JPEG file's own bytes, else encoded at
``faces.jpeg_quality``. The tables are built with pyarrow (no pandas in the job).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import cv2
import numpy as np
import pyarrow as pa

from .datasets.base import RawRow
from .datasets.coding_tables import FRAMES, frame_path
from .faces import best_face, make_detector, square_crop
from .labels import label_map_for
from .progress import Progress
from .validate import REJECTED_SCHEMA, SAMPLE_SCHEMA, arrow_table, check_rows, sorted_rejections, sorted_samples
from .video import VideoError, read_frames, read_still

FRAME_COLUMNS = [
    "apex_jpeg", "onset_jpeg", "face_status", "faces_found", "face_box", "face_score", "face_crop", "onset_crop",
]
FRAME_SCHEMA = pa.schema(list(SAMPLE_SCHEMA) + [
    ("apex_jpeg", pa.binary()), ("onset_jpeg", pa.binary()), ("face_status", pa.string()),
    ("faces_found", pa.int64()), ("face_box", pa.list_(pa.int64())), ("face_score", pa.float64()),
    ("face_crop", pa.binary()), ("onset_crop", pa.binary()),
])
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"


def _encode(image: np.ndarray, ext: str, params: list[int] | None = None) -> bytes:
    ok, buf = cv2.imencode(ext, image, params or [])
    if not ok:
        raise ValueError(f"cannot encode image as {ext}")
    return buf.tobytes()


def decode_image(data: bytes) -> np.ndarray:
    """Decode JPEG/PNG bytes from a frame shard into a BGR image."""
    return cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)


def _load_frames(sample: Mapping, root: Path, stills: Mapping | None = None):
    """(apex, onset, apex file bytes, onset file bytes) of a sample: a video's frames by seeking (no
    file bytes), a still's pixels and bytes as the checks read them when given (``stills``), else
    read from its file."""
    stills = stills or {}
    if sample["kind"] == "video":
        frames = read_frames(root / sample["source"], sorted({int(sample["onset"]), int(sample["apex"])}))
        return frames[int(sample["apex"])], frames[int(sample["onset"])], None, None
    if sample["kind"] == FRAMES:  # a folder of numbered images: the two files directly
        names = {"apex": frame_path(sample["source"], sample["apex"]),
                 "onset": frame_path(sample["source"], sample["onset"])}
        (apex, apex_data), (onset, onset_data) = (
            stills[k] if k in stills else read_still(root / names[k]) for k in ("apex", "onset"))
        return apex, onset, apex_data, onset_data
    apex, data = stills["apex"] if "apex" in stills else read_still(root / sample["source"])
    return apex, None, data, None


def _frame_jpeg(frame: np.ndarray, data: bytes | None, quality: int) -> bytes:
    """The stored JPEG of a whole frame: a JPEG file's own bytes (no second lossy generation, no
    encoding), else the decoded frame encoded at ``quality``."""
    if data is not None and data.startswith(JPEG_MAGIC):
        return data
    return _encode(frame, ".jpg", [cv2.IMWRITE_JPEG_QUALITY, quality])


def _crop_bytes(frame: np.ndarray, box, size: int, margin: float, data: bytes | None) -> bytes:
    """The stored bytes of a square crop: the frame's own PNG or JPEG file when the crop is that whole
    frame unchanged (its pixels are what that file decodes to, so this is lossless: no encoding and no
    second JPEG generation), a one-channel PNG when its three channels are equal (a gray source:
    ``decode_image`` gives back the same three channels; half the bytes, encoded and decoded twice as
    fast), else a BGR PNG."""
    crop = square_crop(frame, box, size, margin)
    if data is not None and data.startswith((PNG_MAGIC, JPEG_MAGIC)) and crop.shape == frame.shape \
            and np.array_equal(crop, frame):
        return data
    if crop.ndim == 3 and crop.shape[2] == 3 and np.array_equal(crop[:, :, 0], crop[:, :, 1]) \
            and np.array_equal(crop[:, :, 0], crop[:, :, 2]):
        return _encode(np.ascontiguousarray(crop[:, :, 0]), ".png")
    return _encode(crop, ".png")


def face_columns(apex: np.ndarray, onset: np.ndarray | None, detector, faces_cfg: dict,
                 apex_data: bytes | None = None, onset_data: bytes | None = None) -> dict:
    """The frame-shard columns of one sample's decoded frames: both frames stored as JPEG, the face
    detected on the APEX, and the same square box cropped from the APEX and the onset. ``apex_data``
    / ``onset_data``: the frames' file bytes when they were read from files (see the module docstring)."""
    size, margin = faces_cfg["crop_size"], faces_cfg["margin"]
    faces = detector.detect(apex)
    face = best_face(faces)
    return {
        "apex_jpeg": _frame_jpeg(apex, apex_data, faces_cfg["jpeg_quality"]),
        "onset_jpeg": _frame_jpeg(onset, onset_data, faces_cfg["jpeg_quality"]) if onset is not None else None,
        "faces_found": len(faces),
        "face_status": "ok" if face else "no_face",
        "face_box": list(face.box) if face else None,
        "face_score": face.score if face else None,
        "face_crop": _crop_bytes(apex, face.box, size, margin, apex_data) if face else None,
        "onset_crop": (_crop_bytes(onset, face.box, size, margin, onset_data)
                       if face and onset is not None else None),
    }


def extract_one(sample: Mapping, root: Path, detector, faces_cfg: dict, stills: Mapping | None = None,
                log=sys.stderr) -> dict:
    """The frame columns (``FRAME_COLUMNS``) of one validated sample."""
    rec = dict.fromkeys(FRAME_COLUMNS)
    rec["faces_found"] = 0
    try:
        apex, onset, apex_data, onset_data = _load_frames(sample, root, stills)
    except VideoError as err:
        rec["face_status"] = f"error:{err.reason}"
        print(f"[extract] {sample['sample_id']}: {err.one_line()}", file=log)
    else:
        rec.update(face_columns(apex, onset, detector, faces_cfg, apex_data, onset_data))
    return rec


def _detector(faces_cfg: dict):
    return make_detector(faces_cfg["detector"], faces_cfg["min_score"], faces_cfg["model_selection"])


def extract_samples(samples, root: str | Path, faces_cfg: dict, log=sys.stderr):
    """Frame-shard rows (a pandas frame) for ``samples`` (a validated sample table, pandas)."""
    import pandas as pd

    root = Path(root)
    detector = _detector(faces_cfg)
    records, progress = [], Progress("extract", len(samples), "samples", log)
    try:
        for i, sample in enumerate(samples.to_dict("records"), 1):
            records.append(extract_one(sample, root, detector, faces_cfg, log=log))
            progress.update(i)
    finally:
        detector.close()
    frames = pd.DataFrame(records, columns=FRAME_COLUMNS, index=samples.index)
    return pd.concat([samples, frames], axis=1)


def extract_shard(rows: Sequence[RawRow], dataset: dict, n_shards: int, faces_cfg: dict,
                  log=sys.stderr) -> tuple[pa.Table, pa.Table, pa.Table]:
    """Validate and extract one shard's rows: (sample table, rejected rows, frame shard), each sorted
    as the contracts say (samples and frames by sample_id, rejections by row)."""
    root = Path(dataset["root"])
    checked = check_rows(rows, root, label_map_for(dataset), n_shards,
                         allow_outside_root=dataset["allow_outside_root"])
    samples, rejected, frames = [], [], []
    detector = _detector(faces_cfg)
    # Rows while they go (checked and extracted in one pass), then the extracted samples.
    progress, extracted = Progress("extract", len(rows), "rows", log), Progress("extract", None, "samples", log)
    try:
        for i, item in enumerate(checked, 1):
            if item.sample is None:
                rejected.append(item.rejection)
            else:
                samples.append(item.sample)
                frames.append({**item.sample, **extract_one(item.sample, root, detector, faces_cfg, item.stills, log)})
                item.stills.clear()
            progress.update(i)
    finally:
        detector.close()
    extracted.total = len(samples)
    extracted.update(len(samples), force=True)
    print(f"{len(samples)} accepted, {len(rejected)} rejected", file=log)
    order = sorted_samples(samples)
    return (arrow_table([samples[i] for i in order], SAMPLE_SCHEMA),
            arrow_table([rejected[i] for i in sorted_rejections(rejected)], REJECTED_SCHEMA),
            arrow_table([frames[i] for i in order], FRAME_SCHEMA))
