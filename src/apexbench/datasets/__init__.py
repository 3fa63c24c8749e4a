"""Dataset readers behind one entry point: ``read_dataset(cfg) -> list[RawRow]``.

``cfg`` is the (schema-validated) ``dataset:`` section of the config; ``format`` picks the reader:

- ``cmed_csv``: an annotation CSV (``table``) with one row per video clip (see ``cmed_csv``);
- ``image_folder``: ``root/<label>/<image>`` trees such as FER2013 or CK+48 (see ``image_folder``);
- ``ferplus``: Microsoft's FER+ ``label.csv`` (``table``), labelled by majority vote (see ``ferplus``);
- ``casme2``, ``samm``, ``smic``, ``casme3``, ``dfme``: the official coding table (``table``, .xlsx or
  CSV) of a dataset whose clips are folders of frame images (``frames`` samples, see ``coding_tables``).

No reader opens media: they only read the table or list folders, because this runs while Snakemake
builds its DAG.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .base import RawRow, shard_of
from .cmed_csv import DEFAULT_COLUMNS, read_cmed_csv
from .coding_tables import PRESETS, read_coding_table
from .ferplus import read_ferplus
from .image_folder import DEFAULT_EXTENSIONS, read_image_folder

FORMATS: tuple[str, ...] = ("cmed_csv", "image_folder", "ferplus", *PRESETS)

__all__ = [
    "DEFAULT_COLUMNS",
    "DEFAULT_EXTENSIONS",
    "FORMATS",
    "RawRow",
    "read_cmed_csv",
    "read_coding_table",
    "read_dataset",
    "read_ferplus",
    "read_image_folder",
    "shard_of",
]


def _path(cfg: Mapping[str, Any], key: str, base_dir: Path) -> Path:
    """``dataset.<key>`` as a path, relative ones resolved against ``base_dir``."""
    if not cfg.get(key):
        raise ConfigError(f"dataset.{key} is required for format {cfg.get('format')!r}; set it in the config")
    return base_dir / Path(cfg[key]).expanduser()


def read_dataset(cfg: Mapping[str, Any], base_dir: str | Path = ".") -> list[RawRow]:
    """Read the dataset described by the config's ``dataset:`` section (see the module docstring)."""
    base = Path(base_dir)
    fmt = cfg.get("format")
    if fmt == "cmed_csv":
        return read_cmed_csv(_path(cfg, "table", base), cfg.get("columns"), int(cfg.get("frame_base", 0)))
    if fmt == "image_folder":
        return read_image_folder(
            _path(cfg, "root", base),
            cfg.get("subject_pattern"),
            cfg.get("image_extensions") or DEFAULT_EXTENSIONS,
        )
    if fmt == "ferplus":
        return read_ferplus(_path(cfg, "table", base))
    if fmt in PRESETS:
        return read_coding_table(_path(cfg, "table", base), fmt, cfg.get("frame_template"))
    raise ConfigError(f"dataset.format {fmt!r} is unknown; choose one of {', '.join(FORMATS)}")
