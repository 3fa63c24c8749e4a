"""A small content-addressed cache for work every Snakemake command repeats while it builds the DAG
(the code fingerprints of the rules' modules, the config's schema check): the same input always
gives the same result, so a result is looked up by a hash of everything it depends on.

Entries live in one JSON file per kind under ``$APEXBENCH_CACHE`` (default
``$XDG_CACHE_HOME/apexbench``, else ``~/.cache/apexbench``); ``APEXBENCH_CACHE=`` (empty) turns the
cache off. A missing, unreadable or unwritable cache is no error: the result is computed as without
it. A file keeps its newest ``MAX_ENTRIES`` entries.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

MAX_ENTRIES = 4000


def cache_dir() -> Path | None:
    configured = os.environ.get("APEXBENCH_CACHE")
    if configured is not None:
        return Path(configured) if configured else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "apexbench"


def digest(*parts: str | bytes) -> str:
    """sha256 of the parts (each length-prefixed, so ("ab", "c") and ("a", "bc") differ)."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8", "surrogateescape") if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big") + data)
    return h.hexdigest()


class JsonCache:
    """``key -> JSON value`` entries of one kind, read once, written back by ``save`` if changed."""

    def __init__(self, name: str):
        directory = cache_dir()
        self.path = directory / f"{name}.json" if directory else None
        self.entries: dict[str, Any] = {}
        self.changed = False
        if self.path is not None:
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                if isinstance(data, dict):
                    self.entries = data
            except (OSError, ValueError):
                pass

    def get(self, key: str) -> Any:
        return self.entries.get(key)

    def put(self, key: str, value: Any) -> None:
        self.entries.pop(key, None)
        self.entries[key] = value
        self.changed = True

    def save(self) -> None:
        if self.path is None or not self.changed:
            return
        entries = dict(list(self.entries.items())[-MAX_ENTRIES:])
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(entries, fh)
            os.replace(tmp, self.path)
            self.changed = False
        except OSError:
            try:
                os.unlink(tmp)
            except (OSError, UnboundLocalError):
                pass
