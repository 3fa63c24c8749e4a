"""Reader for CMED-style annotation tables: one CSV row per clip with onset/apex/offset frames.

A row whose media file has an image extension (a still) becomes an ``image`` sample.

The table is read as text only (no media is opened) and every cell stays a string, so nothing is
silently coerced: frame cells that are plain integers become 0-based ints, anything else ("12.0",
"n/a") is kept as text for the validate stage to reject with the row's line number.

Text is decoded as UTF-8 (a BOM is dropped), else Windows-1252, else latin-1; the delimiter is
sniffed among , ; tab |. RawRow fields are stripped of surrounding whitespace; ``original`` keeps
each cell exactly as read. ``read_records`` (decode + sniff + parse) is shared with the FER+ reader.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..errors import DatasetError
from .base import RawRow, kind_of

DEFAULT_COLUMNS: dict[str, str] = {
    "id": "sample_id",
    "subject": "subject",
    "video": "video",
    "onset": "onset",
    "apex": "apex",
    "offset": "offset",
    "label": "emotion",
}
DELIMITERS = ",;\t|"
_SNIFF_LINES = 50
_INTEGER = re.compile(r"[+-]?[0-9]+")

Record = tuple[int, list[str]]  # (line number where the record starts, cells as read)


def decode_table(data: bytes, path: Path) -> str:
    """Text of a table file: UTF-8 (with or without BOM), else Windows-1252, else latin-1.

    latin-1 maps every byte, so only binary or UTF-16 content (NUL bytes) is refused.
    """
    if b"\x00" in data:
        raise DatasetError(
            f"dataset table {path} is not a text CSV (binary or UTF-16 content, e.g. an Excel "
            "workbook): export it as 'CSV UTF-8' and point dataset.table at that file"
        )
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def sniff_delimiter(text: str) -> str:
    """The delimiter among , ; tab | (csv.Sniffer; else the one most frequent in the first line)."""
    sample = "\n".join(text.splitlines()[:_SNIFF_LINES])
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        first_line = sample.split("\n", 1)[0]
        return max(DELIMITERS, key=first_line.count)


def read_records(path: Path) -> list[Record]:
    """Non-blank records of a delimited text file, each with the line number it starts on.

    Rows whose cells are all blank (e.g. the trailing ``,,,`` rows Excel writes) are skipped.
    Raises DatasetError when the file is missing, not text, not parseable, or has no records at all.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DatasetError(
            f"dataset table {path} cannot be read ({exc.strerror or exc}): fix dataset.table in the config"
        ) from exc
    text = decode_table(data, path)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(text))
    records: list[Record] = []
    start = 1
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                records.append((start, cells))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise DatasetError(
            f"dataset table {path} is not a valid CSV near line {start} ({exc}): check that line's quotes"
        ) from exc
    if not records:
        raise DatasetError(f"dataset table {path} is empty (no rows): add a header and one row per sample")
    return records


def is_integer_text(text: str) -> bool:
    """True for a plain ASCII integer such as "12", "-3" or "+7" (not "12.0", "1_000", "")."""
    return _INTEGER.fullmatch(text) is not None


def parse_frame(text: str, frame_base: int) -> int | str | None:
    """A 0-based frame index from a cell: None when blank, int when an integer, else the text."""
    value = text.strip()
    if not value:
        return None
    if is_integer_text(value):
        return int(value) - frame_base
    return value


def _header(cells: list[str], path: Path) -> list[str]:
    """Stripped column names (blank ones named columnN); refuses one column or duplicates."""
    header = [cell.strip() or f"column{i + 1}" for i, cell in enumerate(cells)]
    if len(header) == 1:
        raise DatasetError(
            f"dataset table {path} has a single column {header[0]!r}: its delimiter is not one of "
            "comma, semicolon, tab or |; save the table with one of those delimiters"
        )
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise DatasetError(f"dataset table {path} repeats column(s) {duplicates}: give each column a unique name")
    return header


def _check_columns(header: list[str], columns: Mapping[str, str], path: Path) -> None:
    missing = [f"{name!r} ({key})" for key, name in columns.items() if name not in header]
    if missing:
        raise DatasetError(
            f"dataset table {path} lacks required column(s) {', '.join(missing)}; found columns "
            f"{header}: map your column names in the config's dataset.columns "
            f"(keys {', '.join(DEFAULT_COLUMNS)})"
        )


def row_dict(header: Sequence[str], cells: list[str]) -> dict[str, str]:
    """Column -> text as read; short rows padded with "", extra cells kept as columnN."""
    names = [*header] + [f"column{i + 1}" for i in range(len(header), len(cells))]
    padded = cells + [""] * (len(header) - len(cells))
    return dict(zip(names, padded))


def _to_row(line: int, original: dict[str, str], columns: Mapping[str, str], frame_base: int) -> RawRow:
    def cell(key: str) -> str:
        return original[columns[key]].strip()

    return RawRow(
        sample_id=cell("id"),
        subject=cell("subject"),
        source=cell("video"),
        kind=kind_of(cell("video")),
        onset=parse_frame(cell("onset"), frame_base),
        apex=parse_frame(cell("apex"), frame_base),
        offset=parse_frame(cell("offset"), frame_base),
        label=cell("label"),
        row=line,
        original=original,
    )


def read_cmed_csv(path: Path, columns: Mapping[str, str] | None = None, frame_base: int = 0) -> list[RawRow]:
    """RawRows of an annotation CSV; ``columns`` overrides DEFAULT_COLUMNS key by key.

    ``row`` is the file line the record starts on (header = line 1). Row-level problems (bad frame
    cells, short rows, unknown labels) stay on the row; whole-file problems raise DatasetError.
    """
    colmap = {**DEFAULT_COLUMNS, **(columns or {})}
    (_, header_cells), *data = read_records(path)
    header = _header(header_cells, path)
    _check_columns(header, colmap, path)
    if not data:
        raise DatasetError(f"dataset table {path} has a header but no rows: add one row per sample below it")
    return [_to_row(line, row_dict(header, cells), colmap, frame_base) for line, cells in data]
