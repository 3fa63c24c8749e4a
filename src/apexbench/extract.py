"""The extract stage: onset and APEX frames of one shard, the face on the APEX, the shared crops.

Frame-folder samples (kind ``frames``) read the onset and APEX image files directly.
Videos are read by seeking straight to the onset and APEX frames (``video.read_frames`` verifies it
got the frame it asked for). The face is detected on the APEX frame; the same box is applied to the
onset frame, so a classifier comparing the two sees the same region. A sample whose face is not
found is kept with ``face_status = "no_face"``; a sample whose frames cannot be read is kept with
``face_status = "error:<reason>"``; neither ever drops other samples.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from .datasets.coding_tables import FRAMES, frame_path
from .faces import best_face, make_detector, square_crop
from .progress import Progress
from .video import VideoError, read_frames, read_image

FRAME_COLUMNS = [
    "apex_jpeg", "onset_jpeg", "face_status", "faces_found", "face_box", "face_score", "face_crop", "onset_crop",
]


def _encode(image: np.ndarray, ext: str, params: list[int] | None = None) -> bytes:
    ok, buf = cv2.imencode(ext, image, params or [])
    if not ok:
        raise ValueError(f"cannot encode image as {ext}")
    return buf.tobytes()


def decode_image(data: bytes) -> np.ndarray:
    """Decode JPEG/PNG bytes from a frame shard into a BGR image."""
    return cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)


def _load_frames(sample, root: Path) -> tuple[np.ndarray, np.ndarray | None]:
    path = root / sample.source
    if sample.kind == "video":
        frames = read_frames(path, sorted({int(sample.onset), int(sample.apex)}))
        return frames[int(sample.apex)], frames[int(sample.onset)]
    if sample.kind == FRAMES:  # a folder of numbered images: read the two files directly
        return (read_image(root / frame_path(sample.source, sample.apex)),
                read_image(root / frame_path(sample.source, sample.onset)))
    return read_image(path), None


def face_columns(apex: np.ndarray, onset: np.ndarray | None, detector, faces_cfg: dict) -> dict:
    """The frame-shard columns of one sample's decoded frames: both frames stored as JPEG, the face
    detected on the APEX, and the same square box cropped from the APEX and the onset."""
    size, margin = faces_cfg["crop_size"], faces_cfg["margin"]
    jpeg = [cv2.IMWRITE_JPEG_QUALITY, faces_cfg["jpeg_quality"]]
    faces = detector.detect(apex)
    face = best_face(faces)
    return {
        "apex_jpeg": _encode(apex, ".jpg", jpeg),
        "onset_jpeg": _encode(onset, ".jpg", jpeg) if onset is not None else None,
        "faces_found": len(faces),
        "face_status": "ok" if face else "no_face",
        "face_box": list(face.box) if face else None,
        "face_score": face.score if face else None,
        "face_crop": _encode(square_crop(apex, face.box, size, margin), ".png") if face else None,
        "onset_crop": (_encode(square_crop(onset, face.box, size, margin), ".png")
                       if face and onset is not None else None),
    }


def extract_samples(samples: pd.DataFrame, root: str | Path, faces_cfg: dict, log=sys.stderr) -> pd.DataFrame:
    """Frame-shard rows for ``samples`` (the validated table of one shard)."""
    root = Path(root)
    detector = make_detector(faces_cfg["detector"], faces_cfg["min_score"], faces_cfg["model_selection"])
    records, progress = [], Progress("extract", len(samples), "samples", log)
    try:
        for i, sample in enumerate(samples.itertuples(index=False), 1):
            rec = dict.fromkeys(FRAME_COLUMNS)
            rec["faces_found"] = 0
            try:
                apex, onset = _load_frames(sample, root)
            except VideoError as err:
                rec["face_status"] = f"error:{err.reason}"
                print(f"[extract] {sample.sample_id}: {err.one_line()}", file=log)
            else:
                rec.update(face_columns(apex, onset, detector, faces_cfg))
            records.append(rec)
            progress.update(i)
    finally:
        detector.close()
    frames = pd.DataFrame(records, columns=FRAME_COLUMNS, index=samples.index)
    return pd.concat([samples, frames], axis=1)
