"""Provenance of a run: config hash, model checksums and package versions."""

from __future__ import annotations

import hashlib
import json
import platform
from importlib import metadata

from . import __version__

PACKAGES = ("snakemake", "numpy", "pandas", "pyarrow", "scikit-learn", "scipy", "matplotlib", "onnxruntime",
            "opencv-contrib-python-headless", "mediapipe", "ai-edge-litert")


def config_hash(config: dict) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()


def package_versions() -> dict[str, str | None]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def provenance(config: dict, models: list[dict]) -> dict:
    return {
        "apexbench": __version__,
        "config_sha256": config_hash(config),
        "models": {m["key"]: {"file": m["file"], "sha256": m["sha256"], "available": m["available"],
                              "license": m["license"]} for m in models},
        "packages": package_versions(),
        "python": platform.python_version(),
    }
