"""The receiving service: the real server process (`python -m apexbench serve`, waitress), a real HTTP
client (requests) on loopback, the real demo images and the real mini-Xception weights from the
mirror (downloads disabled: the service must start offline). Storage tests run on SQLite and on a
real PostgreSQL started here when the machine allows it (CI: APEXBENCH_REQUIRE_POSTGRES=1 makes a
missing PostgreSQL a failure, not a skip)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pytest
import requests
import yaml

from apexbench.annotate import Annotator, make_annotate_detector
from apexbench.classifiers import load_classifier
from apexbench.models import load_registry, model_status_record
from apexbench.serve import BadInput, clean_file_name, decode_upload, parse_threshold
from apexbench.store import MAX_PAGE, Store, StoreError, database_url, export_document
from apexbench.video import read_image

from conftest import REPO
from pg_cluster import LocalPostgres, PostgresUnavailable
from slurm_cluster import _die_with_parent

REGISTRY = REPO / "resources/models/registry.yaml"
STILLS = ["0-f1-su-ph.jpg", "0-f15-hao-ph.jpg", "15-f13-anc-ph.jpg", "45-m7-di-ph.jpg"]
MINIXCEPTION_SHA256 = load_registry(REGISTRY)["minixception"].sha256
CANONICAL7_WITHOUT_CONTEMPT = ["neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear"]
TIMEOUT = 120


# --- the server process ----------------------------------------------------------------------------
def write_config(base: Path, models_dir: Path, mirror: Path | None) -> Path:
    """The workflow's config with models from ``models_dir`` / ``mirror`` only (downloads off)."""
    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    config["models"] = {"dir": str(models_dir), "registry": str(REGISTRY),
                        "mirror": str(mirror) if mirror else None, "download": False}
    path = base / "config" / "config.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _env(extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("APEXBENCH_TOKEN", "APEXBENCH_MIRROR")}
    env["PYTHONPATH"] = str(REPO / "src")
    env.update(extra or {})
    return env


class Server:
    """`python -m apexbench serve --port 0 ...` in ``workdir``; ``url`` once it listens; ``stop()`` by PID."""

    count = 0

    def __init__(self, workdir: Path, *args: str, env: dict | None = None):
        Server.count += 1
        self.log = workdir / f"server-{Server.count}.log"
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "apexbench", "serve", "--port", "0", *args],
                                         cwd=workdir, stdout=log, stderr=subprocess.STDOUT, env=_env(env),
                                         stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        try:
            self.url = self._wait_listening()
        except BaseException:
            self.stop()
            raise

    def _wait_listening(self) -> str:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", self.log.read_text())
            if match:
                return match.group(1)
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.1)
        raise AssertionError(f"server not listening after {TIMEOUT} s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> int:
        """SIGTERM, then wait; returns the exit status (0 for a clean stop)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def post(url: str, data: bytes | None, name: str = "image.jpg", threshold=None, token: str | None = None,
         session=requests, field: str = "image", **extra) -> requests.Response:
    files = {field: (name, data, "application/octet-stream")} if data is not None else None
    form = {**({"threshold": str(threshold)} if threshold is not None else {}), **extra}
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return session.post(f"{url}/v1/images", files=files, data=form, headers=headers, timeout=TIMEOUT)


def db_counts(path: Path) -> tuple[int, int]:
    """(images, faces) rows, read with the standard library's sqlite3 (not the code under test)."""
    with sqlite3.connect(path) as conn:
        return tuple(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in ("images", "faces"))


def assert_one_line_error(resp: requests.Response, status: int, *fragments: str) -> str:
    assert resp.status_code == status, (resp.status_code, resp.text[:500])
    assert resp.headers["Content-Type"].startswith("application/json")
    body = resp.json()
    assert set(body) == {"error"} and isinstance(body["error"], str), body
    message = body["error"]
    assert message and "\n" not in message and len(message) < 300, message
    for fragment in fragments:
        assert fragment in message, message
    return message


@pytest.fixture(scope="module")
def service_dir(tmp_path_factory, mirror_dir) -> Path:
    base = tmp_path_factory.mktemp("serve")
    write_config(base, base / "models", mirror_dir)
    return base


@pytest.fixture(scope="module")
def haar_server(service_dir):
    """Haar + mini-Xception, SQLite, the default limits; shared by most tests of this module."""
    server = Server(service_dir, "--detector", "haar", "--db", "haar.sqlite")
    server.db = service_dir / "haar.sqlite"
    yield server
    assert server.stop() == 0, server.log.read_text()[-2000:]


@pytest.fixture(scope="module")
def images(demo_media) -> dict[str, bytes]:
    return {name: (demo_media / name).read_bytes() for name in STILLS + ["multi_face.jpg"]}


# --- pure functions ---------------------------------------------------------------------------------
def test_threshold_parsing():
    assert parse_threshold(None, 0.4) == 0.4
    assert parse_threshold("0", 0.4) == 0.0 and parse_threshold("1", 0.4) == 1.0 and parse_threshold(" .5 ", 0) == 0.5
    for raw, fragment in [("1.01", "outside 0..1"), ("-0.1", "outside 0..1"), ("nan", "outside 0..1"),
                          ("inf", "outside 0..1"), ("abc", "not a number"), ("", "not a number")]:
        with pytest.raises(BadInput, match=re.escape(fragment)):
            parse_threshold(raw, 0.4)


def test_file_names_lose_their_directories():
    assert clean_file_name("../../etc/passwd") == "passwd"
    assert clean_file_name("C:\\photos\\test.jpg") == "test.jpg"
    assert clean_file_name("") == clean_file_name(None) == "upload"
    assert len(clean_file_name("x" * 1000)) == 255


def test_database_urls():
    assert database_url("results/serve.sqlite").drivername == "sqlite"
    assert database_url("results/serve.sqlite").database == str((Path("results") / "serve.sqlite").resolve())
    assert database_url("postgresql://u:p@h:5433/db").drivername == "postgresql+psycopg"
    assert database_url("postgres://u@h/db").drivername == "postgresql+psycopg"
    with pytest.raises(StoreError, match="unsupported database 'mysql'"):
        database_url("mysql://u@h/db")
    with pytest.raises(StoreError, match="in-memory"):
        database_url("sqlite://")


def test_decode_upload_is_the_workflows_decode(demo_media):
    data = (demo_media / "multi_face.jpg").read_bytes()
    assert np.array_equal(decode_upload(data), read_image(demo_media / "multi_face.jpg"))
    with pytest.raises(BadInput, match=r"is 1000x667 \(0.7 megapixels\); the limit is 0.5 megapixels"):
        decode_upload(data, max_pixels=500_000)


# --- bad input ------------------------------------------------------------------------------------------
def bomb_png(side: int = 40_000) -> bytes:
    """A valid 1-bit PNG of side x side pixels (1.6 gigapixels for 40,000) in about 200 kB."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    row = b"\x00" * (1 + (side + 7) // 8)  # filter byte + packed bits
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def sixty_megapixel_jpeg(demo_media: Path) -> bytes:
    """The group photo scaled to 9,500 x 6,316 (60.0 MP): a real, well-formed JPEG of about 3.4 MB."""
    big = cv2.resize(read_image(demo_media / "multi_face.jpg"), (9500, 6316), interpolation=cv2.INTER_LINEAR)
    ok, jpeg = cv2.imencode(".jpg", big, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return jpeg.tobytes()


BAD_UPLOADS = {
    # case: (bytes maker, form threshold, status, fragments of the one-line error)
    "not_an_image": (lambda m: REGISTRY.read_bytes(), None, 400, ["not an image"]),
    "zero_bytes": (lambda m: b"", None, 400, ["empty (0 bytes)"]),
    "truncated_jpeg": (lambda m: (m / "multi_face.jpg").read_bytes()[:70_000], None, 400, ["JPEG image is truncated"]),
    "sixty_megapixels": (sixty_megapixel_jpeg, None, 400, ["9500x6316 (60.0 megapixels); the limit is 40 megapixels"]),
    "decompression_bomb": (lambda m: bomb_png(), None, 400, ["1600.0 megapixels (a decompression bomb?)"]),
    "threshold_over_1": (lambda m: (m / STILLS[0]).read_bytes(), "1.5", 400, ["threshold 1.5 is outside 0..1"]),
    "threshold_negative": (lambda m: (m / STILLS[0]).read_bytes(), "-0.2", 400, ["threshold -0.2 is outside 0..1"]),
    "threshold_not_a_number": (lambda m: (m / STILLS[0]).read_bytes(), "high", 400, ["'high' is not a number"]),
    "threshold_nan": (lambda m: (m / STILLS[0]).read_bytes(), "NaN", 400, ["outside 0..1"]),
    "over_max_bytes": (lambda m: os.urandom(11 * 1024 * 1024), None, 413, ["over the 10485760 byte limit"]),
}


@pytest.mark.parametrize("case", sorted(BAD_UPLOADS))
def test_bad_upload_is_refused_with_one_line_and_nothing_stored(haar_server, demo_media, case):
    make, threshold, status, fragments = BAD_UPLOADS[case]
    data = make(demo_media)
    before = db_counts(haar_server.db)
    assert_one_line_error(post(haar_server.url, data, threshold=threshold), status, *fragments)
    assert db_counts(haar_server.db) == before
    assert requests.get(f"{haar_server.url}/v1/health", timeout=TIMEOUT).status_code == 200  # still serving


@pytest.mark.parametrize("case", ["no_fields", "threshold_only", "wrong_field_name", "raw_body"])
def test_missing_image_field_is_400(haar_server, images, case):
    before = db_counts(haar_server.db)
    if case == "raw_body":  # the image as the request body instead of a multipart field
        resp = requests.post(f"{haar_server.url}/v1/images", data=images[STILLS[0]],
                             headers={"Content-Type": "image/jpeg"}, timeout=TIMEOUT)
    else:
        data = None if case in ("no_fields", "threshold_only") else images[STILLS[0]]
        resp = post(haar_server.url, data, threshold=0.5 if case == "threshold_only" else None, field="file")
    assert_one_line_error(resp, 400, "missing multipart field 'image'")
    assert db_counts(haar_server.db) == before


def test_unknown_routes_and_methods_are_json(haar_server):
    assert_one_line_error(requests.get(f"{haar_server.url}/v1/nothing", timeout=TIMEOUT), 404)
    assert_one_line_error(requests.get(f"{haar_server.url}/v1/images/999999", timeout=TIMEOUT), 404,
                          "no image record 999999")
    assert_one_line_error(requests.delete(f"{haar_server.url}/v1/images/1", timeout=TIMEOUT), 405)


# --- records ----------------------------------------------------------------------------------------------
def test_group_photo_record_matches_the_annotate_code_path(haar_server, service_dir, images, demo_media):
    resp = post(haar_server.url, images["multi_face.jpg"], name="multi_face.jpg", threshold=0.5)
    assert resp.status_code == 201, resp.text
    record = resp.json()
    with sqlite3.connect(haar_server.db) as conn:  # committed before the answer: visible to another connection
        assert conn.execute("SELECT file_name FROM images WHERE id = ?", (record["id"],)).fetchall() == [
            ("multi_face.jpg",)]
        assert conn.execute("SELECT count(*) FROM faces WHERE image_id = ?", (record["id"],)).fetchone()[0] == 4
    assert resp.headers["Location"] == f"/v1/images/{record['id']}"
    assert requests.get(f"{haar_server.url}/v1/images/{record['id']}", timeout=TIMEOUT).json() == record
    assert {k: record[k] for k in ("file_name", "threshold", "classifier", "model_sha256", "detector",
                                   "label_scheme", "width", "height")} == {
        "file_name": "multi_face.jpg", "threshold": 0.5, "classifier": "minixception",
        "model_sha256": MINIXCEPTION_SHA256, "detector": "haar", "label_scheme": "canonical7",
        "width": 1000, "height": 667}
    assert record["latency_ms"] >= record["detect_ms"] > 0 and re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+Z",
                                                                            record["created_at"])
    faces = record["faces"]
    assert [f["face_id"] for f in faces] == [1, 2, 3, 4]  # Haar finds 4 of the 5 faces, numbered left to right
    for face in faces:
        x, y, w, h = face["box"]
        assert face["bbox"] == [str(x), str(y), str(x + w), str(y + h)]  # corners x0, y0, x1, y1, as strings
        assert list(face["scores"]) == CANONICAL7_WITHOUT_CONTEMPT
        assert abs(sum(face["scores"].values()) - 1) < 1e-3
        top = max(face["scores"], key=face["scores"].get)
        assert face["emotion"] == (top if face["scores"][top] >= 0.5 else None)
        emotion_keys = set(face) & set(CANONICAL7_WITHOUT_CONTEMPT)
        assert emotion_keys == ({top} if face["emotion"] else set())
        assert face["latency_ms"] > 0 and 0 < face["detection_score"] <= 1
    assert list(faces[0])[:3] == ["face_id", "happiness", "emotion"]  # the seed's order: id, emotion key, ...

    # The same image through annotate's Annotator in this process: the same boxes and probabilities.
    models = yaml.safe_load((service_dir / "config/config.yaml").read_text())["models"]
    weights = model_status_record("minixception", models)["path"]
    annotator = Annotator(make_annotate_detector({"detector": "haar", "model_selection": "both", "min_score": 0.5}),
                          load_classifier("minixception", weights), "canonical7", "mask", 0.5, 224, 0.2)
    expected = annotator.faces(read_image(demo_media / "multi_face.jpg"))
    assert [f["box"] for f in faces] == [f["bbox"] for f in expected]
    assert [f["scores"] for f in faces] == [f["scores"] for f in expected]
    assert [f["emotion"] for f in faces] == [f["emotion"] for f in expected]


def test_threshold_decides_which_faces_carry_an_emotion(haar_server, images):
    data = images["multi_face.jpg"]
    default = post(haar_server.url, data).json()
    assert default["threshold"] == 0.4  # annotate.threshold of the config
    every = post(haar_server.url, data, threshold=0).json()
    assert all(f["emotion"] is not None and f[f["emotion"]] == max(f["scores"].values()) for f in every["faces"])
    none = post(haar_server.url, data, threshold=1).json()
    assert [f["emotion"] for f in none["faces"]] == [None] * 4
    assert all(set(f) & set(CANONICAL7_WITHOUT_CONTEMPT) == set() for f in none["faces"])
    assert [f["scores"] for f in none["faces"]] == [f["scores"] for f in every["faces"]]


def test_paging_walks_every_record_once(haar_server, images):
    for name in STILLS:
        assert post(haar_server.url, images[name], name=name).status_code == 201
    total = db_counts(haar_server.db)[0]
    seen, after, pages = [], 0, 0
    while True:
        page = requests.get(f"{haar_server.url}/v1/images", params={"limit": 3, "after": after},
                            timeout=TIMEOUT).json()
        seen += [r["id"] for r in page["images"]]
        pages += 1
        if page["next_after"] is None:
            break
        after = page["next_after"]
    assert len(seen) == total == len(set(seen)) and seen == sorted(seen)
    assert pages == total // 3 + 1
    everything = requests.get(f"{haar_server.url}/v1/images", params={"limit": MAX_PAGE}, timeout=TIMEOUT).json()
    assert [r["id"] for r in everything["images"]] == seen and everything["next_after"] is None
    for params, fragment in [({"limit": 0}, "limit 0 is outside 1..500"), ({"limit": 501}, "outside 1..500"),
                             ({"limit": "x"}, "limit 'x' is not an integer"), ({"after": -1}, "after -1")]:
        assert_one_line_error(requests.get(f"{haar_server.url}/v1/images", params=params, timeout=TIMEOUT), 400,
                              fragment)


def test_export_writes_the_seed_document(haar_server, images, service_dir):
    assert post(haar_server.url, images["multi_face.jpg"], name="test.jpg", threshold=0.5).status_code == 201
    out = service_dir / "export" / "results.json"
    proc = subprocess.run([sys.executable, "-m", "apexbench", "export", "--db", str(haar_server.db), "--out", str(out)],
                          cwd=service_dir, env=_env(), capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    document = json.loads(out.read_text())
    assert list(document) == ["images"] and len(document["images"]) == db_counts(haar_server.db)[0]
    assert f"{len(document['images'])} image(s)" in proc.stderr
    for image in document["images"]:
        assert list(image) == ["id", "file_name", "threshold", "faces"]
        for face in image["faces"]:
            keys = list(face)
            assert keys[0] == "face_id" and keys[-2:] == ["bbox", "detection_score"]
            assert len(keys) in (3, 4) and set(keys[1:-2]) <= set(CANONICAL7_WITHOUT_CONTEMPT)
            assert len(face["bbox"]) == 4 and all(isinstance(v, str) and v.isdigit() for v in face["bbox"])
    last = document["images"][-1]
    stored = requests.get(f"{haar_server.url}/v1/images/{last['id']}", timeout=TIMEOUT).json()
    assert last["file_name"] == "test.jpg" and last["threshold"] == 0.5
    assert [f["bbox"] for f in last["faces"]] == [f["bbox"] for f in stored["faces"]]
    for face, full in zip(last["faces"], stored["faces"]):
        if full["emotion"]:
            assert face[full["emotion"]] == full[full["emotion"]] >= 0.5


def test_export_of_a_missing_database_is_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "apexbench", "export", "--db", str(tmp_path / "none.sqlite"),
                           "--out", str(tmp_path / "x.json")], env=_env(), capture_output=True, text=True,
                          timeout=TIMEOUT)
    assert proc.returncode == 1 and proc.stderr.strip() == (
        f"apexbench export: error: no database at {tmp_path / 'none.sqlite'}; check --db")
    assert not (tmp_path / "x.json").exists()


def test_sqlite_runs_in_wal_mode(haar_server):
    with sqlite3.connect(haar_server.db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


# --- load ----------------------------------------------------------------------------------------------------
def test_sixteen_clients_times_twenty_five_requests(haar_server, images):
    """16 clients x 25 POSTs at once: 400 records, each stored exactly once (a unique tag per request in
    its file name); client-side p50 / p95 latency printed."""
    clients, per_client = 16, 25
    before = db_counts(haar_server.db)[0]
    results: list[tuple[str, int, int | None, float, float | None]] = []
    lock = threading.Lock()

    def client(c: int) -> None:
        with requests.Session() as session:
            for r in range(per_client):
                tag = f"load-c{c:02d}-r{r:02d}.jpg"
                start = time.perf_counter()
                resp = post(haar_server.url, images[STILLS[(c + r) % len(STILLS)]], name=tag, session=session)
                elapsed = (time.perf_counter() - start) * 1000.0
                body = resp.json()
                with lock:
                    results.append((tag, resp.status_code, body.get("id"), elapsed, body.get("latency_ms")))

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, range(clients)))
    wall = time.perf_counter() - start
    assert sorted(status for _, status, *_ in results) == [201] * clients * per_client
    ids = [i for _, _, i, *_ in results]
    assert len(set(ids)) == clients * per_client
    assert db_counts(haar_server.db)[0] == before + clients * per_client
    with sqlite3.connect(haar_server.db) as conn:
        stored = dict(conn.execute("SELECT file_name, count(*) FROM images WHERE file_name LIKE 'load-%' "
                                   "GROUP BY file_name").fetchall())
    assert stored == {tag: 1 for tag, *_ in results}
    for tag, _, image_id, *_ in results[:: 37]:  # the record behind an id is the request that got it
        assert requests.get(f"{haar_server.url}/v1/images/{image_id}", timeout=TIMEOUT).json()["file_name"] == tag
    client_ms = np.array([r[3] for r in results])
    server_ms = np.array([r[4] for r in results])
    line = (f"load: {clients}x{per_client} POSTs of the 512x512 demo stills (Haar + mini-Xception, 4 threads, "
            f"2 workers, SQLite) in {wall:.1f} s ({len(results) / wall:.1f}/s); client latency p50 "
            f"{np.percentile(client_ms, 50):.0f} ms, p95 {np.percentile(client_ms, 95):.0f} ms; server-side "
            f"latency_ms p50 {np.percentile(server_ms, 50):.0f}, p95 {np.percentile(server_ms, 95):.0f}")
    print(line)
    (haar_server.log.parent / "load.txt").write_text(line + "\n")


# --- restarts, token, detectors -------------------------------------------------------------------------
def test_restart_keeps_every_record(service_dir, images):
    db = service_dir / "restart.sqlite"
    first = Server(service_dir, "--detector", "haar", "--db", str(db))
    try:
        records = [post(first.url, images[name], name=name).json() for name in STILLS]
    finally:
        assert first.stop() == 0  # SIGTERM: a clean stop
    second = Server(service_dir, "--detector", "haar", "--db", str(db))
    try:
        for record in records:
            assert requests.get(f"{second.url}/v1/images/{record['id']}", timeout=TIMEOUT).json() == record
        last = post(second.url, images[STILLS[0]], name="last.jpg").json()
        assert last["id"] == records[-1]["id"] + 1
    finally:
        second.proc.kill()  # SIGKILL right after the answer: the record was committed before it
        second.proc.wait()
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT id, file_name FROM images ORDER BY id").fetchall() == [
            (r["id"], r["file_name"]) for r in records] + [(last["id"], "last.jpg")]


def test_token_guards_every_route_but_health(service_dir, images):
    """--token via APEXBENCH_TOKEN; this server also runs MediaPipe's two models merged (`both`)."""
    token = "s3cret-token"
    db = service_dir / "token.sqlite"
    server = Server(service_dir, "--detector", "both", "--db", str(db), env={"APEXBENCH_TOKEN": token})
    try:
        health = requests.get(f"{server.url}/v1/health", timeout=TIMEOUT)
        assert health.status_code == 200 and health.json()["detector"] == "mediapipe full-range + short-range"
        data = images["multi_face.jpg"]
        for resp in [post(server.url, data), post(server.url, data, token="wrong"),
                     requests.get(f"{server.url}/v1/images", timeout=TIMEOUT),
                     requests.get(f"{server.url}/v1/images/1", timeout=TIMEOUT),
                     requests.get(f"{server.url}/v1/nothing", timeout=TIMEOUT),
                     requests.get(f"{server.url}/v1/images", headers={"Authorization": token}, timeout=TIMEOUT)]:
            assert_one_line_error(resp, 401, "bearer token")
            assert resp.headers["WWW-Authenticate"].startswith("Bearer")
        assert db_counts(db) == (0, 0)
        resp = post(server.url, data, token=token, threshold=0.5)
        assert resp.status_code == 201, resp.text
        assert len(resp.json()["faces"]) == 5  # full-range finds all five; merged with short-range, still five
        assert requests.get(f"{server.url}/v1/images", headers={"Authorization": f"Bearer {token}"},
                            timeout=TIMEOUT).json()["images"][0]["id"] == resp.json()["id"]
        disgust = post(server.url, images["45-m7-di-ph.jpg"], token=token).json()
        assert len(disgust["faces"]) == 1  # the face full-range misses, found by short-range
    finally:
        assert server.stop() == 0


# --- start-up failures: one line each -----------------------------------------------------------------
def _serve(workdir: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "apexbench", "serve", *args], cwd=workdir, env=_env(env),
                          capture_output=True, text=True, timeout=TIMEOUT)


def test_bad_flag_is_one_line(service_dir):
    proc = _serve(service_dir, "--port", "http")
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == ["apexbench serve: error: argument --port: invalid port value: 'http' "
                                        "(see apexbench serve --help)"]


def test_unknown_classifier_is_one_line(service_dir):
    proc = _serve(service_dir, "--classifier", "nope", "--db", "x.sqlite")
    assert proc.returncode == 1
    [line] = proc.stderr.splitlines()
    assert line.startswith("apexbench serve: error: --classifier 'nope' is not one of the config's classifiers (")
    assert "minixception" in line


def test_missing_weights_is_one_line(tmp_path):
    write_config(tmp_path, tmp_path / "empty-models", mirror=None)
    proc = _serve(tmp_path, "--detector", "haar")
    assert proc.returncode == 1, proc.stderr
    [line] = proc.stderr.splitlines()
    assert line.startswith("apexbench serve: error: classifier 'minixception': model 'minixception' is not in ")
    assert "put fer2013_mini_XCEPTION_quantized.tflite at" in line and MINIXCEPTION_SHA256 in line


def test_unreachable_database_is_one_line(service_dir):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = _serve(service_dir, "--db", f"postgresql://apex:secret@127.0.0.1:{port}/records")
    assert proc.returncode == 1
    [line] = proc.stderr.splitlines()
    assert line.startswith(f"apexbench serve: error: cannot open the database "
                           f"postgresql+psycopg://apex:***@127.0.0.1:{port}/records: ")
    assert "secret" not in line


def test_port_in_use_is_one_line(service_dir):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        proc = _serve(service_dir, "--detector", "haar", "--db", "port.sqlite", "--port", str(port))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.splitlines()[-1] == (f"apexbench serve: error: cannot listen on 127.0.0.1:{port}: Address "
                                            "already in use; choose another --port (or stop what uses it)")


# --- storage on SQLite and PostgreSQL ------------------------------------------------------------------
@pytest.fixture(scope="module")
def postgres():
    reason = LocalPostgres.why_unavailable()
    if reason:
        if os.environ.get("APEXBENCH_REQUIRE_POSTGRES"):
            pytest.fail(f"APEXBENCH_REQUIRE_POSTGRES is set but PostgreSQL cannot run here: {reason}")
        pytest.skip(reason)
    server = LocalPostgres()
    try:
        server.start()
    except PostgresUnavailable as err:
        pytest.fail(f"the local PostgreSQL did not start: {err}")
    pid = server.proc.pid
    try:
        yield server
    finally:
        server.stop()
    assert not Path(f"/proc/{pid}").exists(), f"postgres (pid {pid}) still running after stop()"


_databases = iter(range(1, 1000))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    """A fresh, empty database of each kind."""
    if request.param == "sqlite":
        return str(tmp_path / "records.sqlite")
    import psycopg

    pg = request.getfixturevalue("postgres")
    name = f"records_{next(_databases)}"
    with psycopg.connect(pg.url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return pg.url.rsplit("/", 1)[0] + f"/{name}"


def fake_record(i: int, n_faces: int) -> dict:
    scores = {"neutral": 0.1, "happiness": 0.7, "surprise": 0.2}
    return {"file_name": f"img-{i}.jpg", "threshold": 0.5, "classifier": "minixception",
            "model_sha256": MINIXCEPTION_SHA256, "detector": "haar", "label_scheme": "canonical7", "width": 640,
            "height": 480, "image_sha256": f"{i:064x}", "latency_ms": 12.5, "detect_ms": 10.0,
            "created_at": "2026-12-02T10:00:00.000Z",
            "faces": [{"face_id": k + 1, "box": [10 * k, 20, 30, 40], "detection_score": 0.9,
                       "emotion": "happiness" if k % 2 == 0 else None, "scores": scores, "latency_ms": 1.5}
                      for k in range(n_faces)]}


def test_store_round_trip(db_url):
    store = Store(db_url)
    try:
        ids = [store.insert(fake_record(i, n_faces=i % 3)) for i in range(7)]
        assert ids == list(range(1, 8)) and store.count() == 7
        record = store.get(3)
        assert record["file_name"] == "img-2.jpg" and record["faces"] == [
            {"face_id": 1, "happiness": 0.7, "emotion": "happiness", "bbox": ["0", "20", "30", "60"],
             "box": [0, 20, 30, 40], "detection_score": 0.9, "scores": {"neutral": 0.1, "happiness": 0.7,
                                                                          "surprise": 0.2}, "latency_ms": 1.5},
            {"face_id": 2, "emotion": None, "bbox": ["10", "20", "40", "60"], "box": [10, 20, 30, 40],
             "detection_score": 0.9, "scores": {"neutral": 0.1, "happiness": 0.7, "surprise": 0.2},
             "latency_ms": 1.5}]
        assert store.get(99) is None
        assert [r["id"] for r in store.page(3, after=2)] == [3, 4, 5]
        assert [r["id"] for r in store.iter_all(page_size=2)] == ids
        document = export_document(store.iter_all())
        assert document["images"][2] == {"id": 3, "file_name": "img-2.jpg", "threshold": 0.5, "faces": [
            {"face_id": 1, "happiness": 0.7, "bbox": ["0", "20", "30", "60"], "detection_score": 0.9},
            {"face_id": 2, "bbox": ["10", "20", "40", "60"], "detection_score": 0.9}]}
        with pytest.raises(StoreError, match="cannot store the record"):  # a duplicate face id: nothing stored
            store.insert({**fake_record(9, 2), "faces": fake_record(9, 2)["faces"][:1] * 2})
        assert store.count() == 7
        assert store.journal_mode() == ("wal" if db_url.endswith(".sqlite") else None)
    finally:
        store.close()
    reopened = Store(db_url)
    try:
        assert [r["id"] for r in reopened.iter_all()] == ids
    finally:
        reopened.close()


def test_store_concurrent_inserts_each_once(db_url):
    store = Store(db_url)
    try:
        with ThreadPoolExecutor(8) as pool:
            ids = list(pool.map(lambda i: store.insert(fake_record(i, 2)), range(200)))
        assert sorted(ids) == list(range(1, 201)) and store.count() == 200
        names = [r["file_name"] for r in store.iter_all()]
        assert sorted(names) == sorted(f"img-{i}.jpg" for i in range(200))
    finally:
        store.close()


def test_server_on_postgresql_keeps_records_across_restarts(postgres, service_dir, images):
    import psycopg

    with psycopg.connect(postgres.url, autocommit=True) as conn:
        conn.execute("CREATE DATABASE serve_e2e")
    url = postgres.url.rsplit("/", 1)[0] + "/serve_e2e"
    server = Server(service_dir, "--detector", "haar", "--db", url)
    try:
        assert requests.get(f"{server.url}/v1/health", timeout=TIMEOUT).json()["database"] == "postgresql"
        record = post(server.url, images["multi_face.jpg"], name="multi_face.jpg", threshold=0.5).json()
        assert len(record["faces"]) == 4
        assert_one_line_error(post(server.url, b""), 400, "empty")
    finally:
        assert server.stop() == 0
    server = Server(service_dir, "--detector", "haar", "--db", url)
    try:
        assert requests.get(f"{server.url}/v1/images/{record['id']}", timeout=TIMEOUT).json() == record
    finally:
        assert server.stop() == 0
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM images").fetchone()[0] == 1
