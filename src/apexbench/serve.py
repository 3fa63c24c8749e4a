"""The receiving service: images in over HTTP, every face's emotion out as JSON and into a database.

``apexbench serve`` (see :mod:`apexbench.cli`) runs a Flask app under waitress (a production WSGI
server, several threads). Per ``POST /v1/images`` (multipart ``image`` and an optional
``threshold``) the upload is checked and decoded (:func:`decode_upload`), every face is detected,
cropped and classified by :meth:`apexbench.annotate.Annotator.analyse` (the code path of the
workflow's ``annotate`` rule: same detectors, crop and classifier adapters), and the record is
committed to the store (:mod:`apexbench.store`) before the 201 answer, which is the stored record
read back.

Routes: ``POST /v1/images``, ``GET /v1/images/<id>``, ``GET /v1/images?limit=&after=`` (paged by
id, ``limit`` 1..500, default 50), ``GET /v1/health`` (open even with a token). Every error is
``{"error": "<one line>"}`` with 400 (bad input), 401 (token), 404, 405, 413 (body over
``--max-bytes``) or 503 (database), and nothing is stored.

Detectors and classifiers are not thread-safe: the service holds ``workers`` copies (detector +
classifier each) in a queue, and a request borrows one for its detection and classification.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import queue
import re
import signal
import sys
import time
import traceback
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from io import BytesIO
from pathlib import Path
from typing import TextIO

import numpy as np
import yaml

from .annotate import Annotator, FrameFaces, make_annotate_detector
from .classifiers import load_classifier
from .convert import converted_status_path
from .errors import ApexbenchError, ConfigError, ModelUnavailableError
from .kinds import CONVERTED_KINDS, adapter_options, kind_of
from .extract import decode_image
from .models import model_status_record
from .plan import make_plan, merge_configs
from .store import MAX_PAGE, Store, StoreError

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_PIXELS = 40_000_000
DEFAULT_PAGE = 50
IMAGE_FORMATS = ("JPEG", "PNG", "BMP", "WEBP", "TIFF")
FILE_NAME_MAX = 255


class BadInput(ApexbenchError):
    """A request the service refuses with 400: not a readable image, a bad threshold or query value."""


# --- the upload -----------------------------------------------------------------------------------
def decode_upload(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """The upload as a BGR array, decoded as the workflow decodes images; BadInput (one line) for an
    empty file, a non-image, an image over ``max_pixels`` (checked on the header, before any pixel
    is decoded: a decompression bomb is a small file with huge dimensions) or a truncated or
    corrupt one (Pillow decodes it fully first; a JPEG at 1/8 scale, which still reads every byte)."""
    from PIL import Image

    if not data:
        raise BadInput("the image is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(BytesIO(data), formats=IMAGE_FORMATS)
    except Image.DecompressionBombError as err:
        pixels = re.search(r"\((\d+) pixels\)", str(err))
        size = f"{int(pixels.group(1)) / 1e6:.1f} megapixels" if pixels else "too many pixels"
        raise BadInput(f"the image has {size} (a decompression bomb?); the limit is "
                       f"{max_pixels / 1e6:g} megapixels") from None
    except Exception:  # noqa: BLE001 - Pillow raises several types for what it cannot identify
        raise BadInput(f"not an image ({len(data)} bytes); send one of {', '.join(IMAGE_FORMATS)}") from None
    width, height = image.size
    if width * height > max_pixels:
        raise BadInput(f"the image is {width}x{height} ({width * height / 1e6:.1f} megapixels); the limit is "
                       f"{max_pixels / 1e6:g} megapixels")
    if width == 0 or height == 0:
        raise BadInput(f"the image is {width}x{height}")
    try:
        if image.format == "JPEG":
            image.draft("L", (max(1, width // 8), max(1, height // 8)))
        image.load()
    except Exception as err:  # noqa: BLE001 - truncated or corrupt data: OSError, SyntaxError, ValueError...
        raise BadInput(f"the {image.format} image is truncated or corrupt ({' '.join(str(err).split())})") from None
    frame = decode_image(data)
    if frame is None or frame.size == 0:
        raise BadInput(f"the {image.format} image cannot be decoded")
    return frame


def parse_threshold(raw: str | None, default: float) -> float:
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise BadInput(f"threshold {raw[:40]!r} is not a number; give one in 0..1") from None
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise BadInput(f"threshold {raw[:40]} is outside 0..1")
    return value


def clean_file_name(name: str | None) -> str:
    base = Path((name or "").replace("\\", "/")).name.strip()
    return base[:FILE_NAME_MAX] or "upload"


# --- the models ------------------------------------------------------------------------------------
@dataclass
class Settings:
    """What the service runs: from the config's ``annotate``, ``faces``, ``classifiers`` and ``models``
    sections, with the command line's overrides."""

    classifier: str
    kind: str
    options: dict  # the adapter's options from the classifier's config (kinds.adapter_options)
    weights: str
    model_sha256: str | None
    contempt: str
    scheme: str
    detector: dict
    crop_size: int
    margin: float
    threshold: float


WORKFLOW_DIR = Path(__file__).resolve().parents[2]
WORKFLOW_CONFIG = WORKFLOW_DIR / "config" / "config.yaml"


def _read_yaml(path: Path) -> dict:
    if not path.is_file():
        raise ConfigError(f"config file {path} not found; pass --configfile")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML ({' '.join(str(err).split())[:200]})") from None


def load_config(path: str | Path | None = None) -> dict:
    """The workflow's config with ``path`` over it, as `snakemake --configfile path` reads them (a
    user config's datasets and classifiers replace the default's), validated; the registry and the
    models directory resolved as the workflow resolves them."""
    default = _read_yaml(WORKFLOW_CONFIG)
    user = _read_yaml(Path(path)) if path else {}
    return make_plan(merge_configs(default, user), user, WORKFLOW_DIR, source=str(path or WORKFLOW_CONFIG)).config


def settings_from_config(cfg: dict, classifier: str | None = None, detector: str | None = None,
                         model_selection: str | None = None, min_score: float | None = None,
                         threshold: float | None = None) -> Settings:
    """Resolve the classifier's weights (local, mirror, then download: the registry's order) and the
    detector choice. ``detector`` may be ``haar``, ``mediapipe`` or ``both`` (MediaPipe's two models
    merged, as ``annotate.model_selection: both``)."""
    annotate = dict(cfg["annotate"])
    name = classifier or annotate["classifier"]
    clf = cfg["classifiers"].get(name)
    if clf is None:
        raise ConfigError(f"--classifier {name!r} is not one of the config's classifiers ({', '.join(cfg['classifiers'])})")
    kind = clf["kind"]
    row = kind_of(kind)
    if row.stage != "infer" or row.trained_by_workflow:
        raise ConfigError(f"classifier {name!r} (kind {kind}) is trained by the workflow and cannot be served; "
                          "choose a pretrained one (e.g. minixception)")
    if row.own_detector:
        raise ConfigError(f"classifier {name!r} (kind {kind}) detects faces itself; the service needs one that "
                          "reads face crops (e.g. minixception)")
    if detector == "both":
        detector, model_selection = "mediapipe", "both"
    if detector is not None:
        annotate["detector"] = detector
    if model_selection is not None:
        annotate["model_selection"] = model_selection if model_selection == "both" else int(model_selection)
    if min_score is not None:
        annotate["min_score"] = min_score
    record = _model_record(name, clf, cfg["models"])
    return Settings(classifier=name, kind=kind, options=adapter_options(name, clf), weights=record["path"],
                    model_sha256=record["sha256"],
                    contempt=clf["contempt"], scheme=cfg["label_scheme"],
                    detector={k: annotate[k] for k in ("detector", "model_selection", "min_score")},
                    crop_size=cfg["faces"]["crop_size"], margin=cfg["faces"]["margin"],
                    threshold=annotate["threshold"] if threshold is None else threshold)


def _model_record(name: str, clf: dict, models_cfg: dict) -> dict:
    if clf["kind"] in CONVERTED_KINDS:
        path = converted_status_path(models_cfg["dir"], clf["model"])
        record = json.loads(path.read_text()) if path.is_file() else {"available": False}
        if not record.get("available"):
            raise ModelUnavailableError(f"classifier {name!r} runs the ONNX the workflow converts from its checkpoint; "
                                        f"run `snakemake {path}` first")
        return record
    record = model_status_record(clf["model"], models_cfg)
    if not record["available"]:
        raise ModelUnavailableError(f"classifier {name!r}: {record['message']}")
    return record


class Service:
    """``workers`` annotators (detector + classifier each), lent to one request at a time."""

    def __init__(self, settings: Settings, workers: int = 2):
        self.settings = settings
        self._pool: queue.Queue[Annotator] = queue.Queue()
        self._all: list[Annotator] = []
        try:
            for _ in range(max(1, workers)):
                annotator = self._annotator()
                self._all.append(annotator)
                self._pool.put(annotator)
        except BaseException:
            self.close()
            raise
        self.detector_name = self._all[0].detector.name

    def _annotator(self) -> Annotator:
        s = self.settings
        classifier = load_classifier(s.kind, s.weights, threads=1, **s.options)
        detector = make_annotate_detector(s.detector)
        return Annotator(detector, classifier, s.scheme, s.contempt, s.threshold, s.crop_size, s.margin)

    def analyse(self, frame: np.ndarray, threshold: float) -> FrameFaces:
        annotator = self._pool.get()
        try:
            return annotator.analyse(frame, threshold)
        finally:
            self._pool.put(annotator)

    def record(self, data: bytes, file_name: str, threshold: float, max_pixels: int) -> dict:
        """Decode, detect, classify: the record to store (without ``id``)."""
        start = time.perf_counter()
        frame = decode_upload(data, max_pixels)
        found = self.analyse(frame, threshold)
        latency = (time.perf_counter() - start) * 1000.0
        faces = [{"face_id": face["id"] + 1, "box": face["bbox"], "detection_score": face["detection_score"],
                  "emotion": face["emotion"], "scores": face["scores"],
                  "latency_ms": round(found.classify_ms_per_face, 3)} for face in found.faces]
        s = self.settings
        return {"file_name": file_name, "threshold": threshold, "classifier": s.classifier,
                "model_sha256": s.model_sha256, "detector": self.detector_name, "label_scheme": s.scheme,
                "width": int(frame.shape[1]), "height": int(frame.shape[0]),
                "image_sha256": hashlib.sha256(data).hexdigest(), "latency_ms": round(latency, 3),
                "detect_ms": round(found.detect_ms, 3), "created_at": utc_now(), "faces": faces}

    def close(self) -> None:
        for annotator in self._all:
            annotator.detector.close()


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- the app ---------------------------------------------------------------------------------------
def create_app(service: Service, store: Store, token: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES,
               max_pixels: int = DEFAULT_MAX_PIXELS, log: TextIO = sys.stderr):
    from flask import Flask, g, jsonify, request
    from werkzeug.exceptions import HTTPException

    app = Flask("apexbench.serve")
    app.config["MAX_CONTENT_LENGTH"] = max_bytes
    app.json.sort_keys = False  # keep the record's field order (the seed's: face_id, emotion, bbox)
    default_threshold = service.settings.threshold

    def error(status: int, message: str, headers: dict | None = None):
        response = jsonify(error=" ".join(message.split()))
        response.status_code = status
        response.headers.update(headers or {})
        return response

    @app.before_request
    def _authenticate():
        g.start = time.perf_counter()
        if token and request.endpoint != "health":
            scheme, _, given = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
                return error(401, "missing or wrong bearer token: send 'Authorization: Bearer <token>'",
                             {"WWW-Authenticate": 'Bearer realm="apexbench"'})
        return None

    @app.after_request
    def _access_log(response):
        elapsed = (time.perf_counter() - g.get("start", time.perf_counter())) * 1000.0
        print(f'{request.remote_addr} "{request.method} {request.full_path.rstrip("?")}" {response.status_code} '
              f"{elapsed:.1f} ms", file=log, flush=True)
        return response

    @app.errorhandler(HTTPException)
    def _http_error(err):
        if err.code == 413:
            return error(413, f"request body over the {max_bytes} byte limit (--max-bytes)")
        return error(err.code or 500, err.description or err.name)

    @app.errorhandler(BadInput)
    def _bad_input(err):
        return error(400, err.one_line())

    @app.errorhandler(StoreError)
    def _store_error(err):
        print(f"apexbench serve: {err.one_line()}", file=log, flush=True)
        return error(503, err.one_line())

    @app.errorhandler(Exception)
    def _internal(err):
        traceback.print_exc(file=log)
        return error(500, f"internal error ({type(err).__name__}); see the server log")

    @app.post("/v1/images")
    def post_image():
        upload = request.files.get("image")  # parses the body: 413 over MAX_CONTENT_LENGTH
        if upload is None:
            return error(400, "missing multipart field 'image' (send multipart/form-data with the image file)")
        threshold = parse_threshold(request.form.get("threshold"), default_threshold)
        file_name = clean_file_name(request.form.get("file_name") or upload.filename)
        record = service.record(upload.read(), file_name, threshold, max_pixels)
        stored = store.get(store.insert(record))
        response = jsonify(stored)
        response.status_code = 201
        response.headers["Location"] = f"/v1/images/{stored['id']}"
        return response

    @app.get("/v1/images/<int:image_id>")
    def get_image(image_id: int):
        record = store.get(image_id)
        if record is None:
            return error(404, f"no image record {image_id}")
        return jsonify(record)

    @app.get("/v1/images")
    def list_images():
        limit = _int_arg("limit", DEFAULT_PAGE, 1, MAX_PAGE)
        after = _int_arg("after", 0, 0, None)
        records = store.page(limit, after)
        next_after = records[-1]["id"] if len(records) == limit else None
        return jsonify({"images": records, "next_after": next_after})

    def _int_arg(name: str, default: int, low: int, high: int | None) -> int:
        raw = request.args.get(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise BadInput(f"{name} {raw[:40]!r} is not an integer") from None
        if value < low or (high is not None and value > high):
            raise BadInput(f"{name} {value} is outside {low}..{high if high is not None else ''}")
        return value

    @app.get("/v1/health")
    def health():
        try:
            store.ping()
        except StoreError as err:
            return error(503, err.one_line())
        s = service.settings
        return jsonify(status="ok", classifier=s.classifier, model_sha256=s.model_sha256,
                       detector=service.detector_name, database=store.kind)

    return app


# --- the server ------------------------------------------------------------------------------------
def run_server(app, host: str, port: int, threads: int, max_bytes: int, log: TextIO = sys.stderr) -> None:
    """Serve ``app`` with waitress until SIGTERM or SIGINT. Bodies far over the limit (4x + 1 MiB) are
    cut off by waitress itself (its own plain-text 413) before they are buffered."""
    from waitress import create_server

    try:
        server = create_server(app, host=host, port=port, threads=threads, ident="apexbench",
                               max_request_body_size=4 * max_bytes + (1 << 20))
    except OSError as err:
        raise ApexbenchError(f"cannot listen on {host}:{port}: {err.strerror or err}; "
                             "choose another --port (or stop what uses it)") from None

    def _stop(signum, _frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _stop)
    bound_port = server.effective_port
    print(f"apexbench serve: listening on http://{host}:{bound_port}", file=log, flush=True)
    try:
        server.run()  # returns on SystemExit / KeyboardInterrupt after finishing running requests
    finally:
        server.close()
