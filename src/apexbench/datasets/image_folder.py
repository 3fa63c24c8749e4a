"""Reader for image datasets laid out as ``root/<class label>/<image file>`` (FER2013, CK+48).

Only directory listings are read, never the images. Hidden entries (names starting with ".") and
files with other extensions are ignored, as are files directly under the root and folders nested
inside class folders. Rows come in sorted (class, file name) order, so the result is deterministic.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from ..errors import ConfigError, DatasetError
from .base import IMAGE_EXTENSIONS, RawRow

DEFAULT_EXTENSIONS: tuple[str, ...] = IMAGE_EXTENSIONS


def _compile_subject_pattern(pattern: str | None) -> re.Pattern[str] | None:
    if pattern is None:
        return None
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise ConfigError(f"dataset.subject_pattern {pattern!r} is not a valid regex ({exc})") from exc
    if compiled.groups != 1:
        raise ConfigError(
            f"dataset.subject_pattern {pattern!r} must have exactly one (group) capturing the subject, "
            f"it has {compiled.groups}"
        )
    return compiled


def _normalise_extensions(extensions: Iterable[str]) -> frozenset[str]:
    """Lower-case extensions with a leading dot ("PNG" -> ".png")."""
    return frozenset("." + ext.lower().lstrip(".") for ext in extensions)


def _visible(entry: os.DirEntry[str]) -> bool:
    return not entry.name.startswith(".")


def _class_dirs(root: Path) -> list[str]:
    with os.scandir(root) as entries:
        return [e.name for e in entries if _visible(e) and e.is_dir()]


def _image_files(folder: Path, extensions: frozenset[str]) -> list[str]:
    with os.scandir(folder) as entries:
        return [
            e.name for e in entries if _visible(e) and os.path.splitext(e.name)[1].lower() in extensions and e.is_file()
        ]


def subject_of(stem: str, pattern: re.Pattern[str] | None) -> str:
    """The subject from a file stem: the pattern's group, or the stem without (or not matching) it."""
    match = pattern.search(stem) if pattern else None
    return match.group(1) if match else stem


def read_image_folder(
    root: Path,
    subject_pattern: str | None = None,
    extensions: Iterable[str] = DEFAULT_EXTENSIONS,
) -> list[RawRow]:
    """One RawRow per image: sample_id "<class>/<stem>", source "<class>/<file>", label = class."""
    if not root.is_dir():
        raise DatasetError(
            f"dataset root {root} is not a directory: set dataset.root to the folder that holds "
            "one subfolder per class"
        )
    pattern = _compile_subject_pattern(subject_pattern)
    wanted = _normalise_extensions(extensions)
    items = sorted((label, name) for label in _class_dirs(root) for name in _image_files(root / label, wanted))
    if not items:
        raise DatasetError(
            f"dataset root {root} has no images (no rows) in class subfolders with extensions "
            f"{sorted(wanted)}: lay it out as <root>/<label>/<image> or set dataset.image_extensions"
        )
    return [_to_row(number, label, name, pattern) for number, (label, name) in enumerate(items, start=1)]


def _to_row(number: int, label: str, name: str, pattern: re.Pattern[str] | None) -> RawRow:
    stem = os.path.splitext(name)[0]
    source = f"{label}/{name}"
    return RawRow(
        sample_id=f"{label}/{stem}",
        subject=subject_of(stem, pattern),
        source=source,
        kind="image",
        onset=0,
        apex=0,
        offset=0,
        label=label,
        row=number,
        original={"path": source, "label": label},
    )
