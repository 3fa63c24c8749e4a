"""Readers for the official coding tables of micro-expression datasets whose clips are frame folders.

CASME II (2014 and 2018 codings), SAMM, SMIC (HS), CAS(ME)^3 (part A) and DFME publish one table
row per micro-expression: subject, clip (folder) name, onset / apex / offset frame numbers and an
emotion. Their clips are folders of numbered images, so each row becomes a ``frames`` sample whose
``source`` is a path *template* relative to the dataset root, with one ``{frame}`` field left in it:
``sub01/EP02_01f/img{frame}.jpg``. Frame ``n`` of the clip is ``source.format(frame=n)``.

For ``frames`` samples ``onset`` / ``apex`` / ``offset`` are the datasets' own frame numbers (those
in the image file names), not 0-based positions: the images are read directly, nothing is decoded
from the start of the clip. A blank offset (7 SMIC rows) stays ``None``; validation accepts it for
frame samples (only onset and APEX are read).

``PRESETS`` holds, per format: the workbook sheet, the column of each field, how the sample id and
the subject are built, and the default ``frame_template`` (the layout of the dataset as distributed;
override it with ``dataset.frame_template`` for another layout, e.g. CASME II's cropped
``reg_img{frame}.jpg``). Template fields: ``{subject}``, ``{clip}``, ``{frame}`` (with a format spec
such as ``{frame:05d}`` where the dataset zero-pads). Tables may be ``.xlsx`` (as published) or a
CSV export with the same header.

Table quirks found in the real files, kept visible rather than silently fixed:
- CASME II 2018 coding: 18 rows have an APEX outside [onset, offset] (validate rejects them as
  ``index_order``); an unnamed last column holds (onset + offset) // 2 and is ignored; Sheet2 is a
  side list of clip names and is not read.
- SMIC: labels are codes 0 / 1 / 2 = negative / positive / surprise (matching the ``ne`` / ``po`` /
  ``sur`` in the clip names); the table's path columns zero-pad frame numbers to 6 digits (hence
  ``image{frame:06d}.jpg``) and disagree with the apex number by one frame in 4 clips (s3_ne_16,
  s3_po_08, s3_sur_01, s3_sur_05): the numeric apex column is used.
- CAS(ME)^3: a clip can hold several micro-expressions, so the sample id adds the onset; the label
  ``Others`` appears capitalised in 3 rows (labels are matched case-insensitively).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import DatasetError
from .base import RawRow

FRAMES = "frames"
_FRAME_FIELD = re.compile(r"\{frame(?::[^}]*)?\}")


@dataclass(frozen=True)
class Preset:
    sheet: str | int
    columns: dict[str, str]  # field -> column header (subject, clip, onset, apex, offset, label)
    frame_template: str
    sample_id: str  # format string over subject, clip, onset
    subject: str = "{raw}"  # format string over the raw subject cell (``raw``)
    label_codes: dict[str, str] | None = None


PRESETS: dict[str, Preset] = {
    "casme2": Preset(
        sheet=0,
        columns={"subject": "Subject", "clip": "Filename", "onset": "OnsetFrame", "apex": "ApexFrame",
                 "offset": "OffsetFrame", "label": "Estimated Emotion"},
        frame_template="sub{subject}/{clip}/img{frame}.jpg",
        sample_id="sub{subject}/{clip}",
    ),
    "samm": Preset(
        sheet=0,
        columns={"subject": "Subject", "clip": "Filename", "onset": "Onset Frame", "apex": "Apex Frame",
                 "offset": "Offset Frame", "label": "Estimated Emotion"},
        frame_template="{subject}/{clip}/{subject}_{frame:05d}.jpg",
        sample_id="{clip}",
    ),
    "smic": Preset(
        sheet=0,
        columns={"subject": "subject", "clip": "clip", "onset": "onset_frame", "apex": "apex_frame",
                 "offset": "offset_frame", "label": "label"},
        frame_template="{subject}/{clip}/image{frame:06d}.jpg",
        sample_id="{clip}",
        subject="s{raw:0>2}",
        label_codes={"0": "negative", "1": "positive", "2": "surprise"},
    ),
    "casme3": Preset(
        sheet="label",
        columns={"subject": "Subject", "clip": "Filename", "onset": "Onset", "apex": "Apex",
                 "offset": "Offset", "label": "emotion"},
        frame_template="{subject}/{clip}/color/{frame}.jpg",
        sample_id="{subject}/{clip}/{onset}",
    ),
    "dfme": Preset(
        sheet=0,
        columns={"subject": "Subject", "clip": "Filename", "onset": "OnsetFrame", "apex": "ApexFrame",
                 "offset": "OffsetFrame", "label": "Emotion"},
        frame_template="{clip}/{frame}.jpg",
        sample_id="{clip}",
    ),
}


def _cell_text(value: Any) -> str:
    """A cell as text: integral floats lose their ``.0`` (Excel stores every number as a float)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _frame(text: str) -> int | str | None:
    if not text:
        return None
    return int(text) if text.isascii() and text.isdigit() else text


def read_sheet(path: Path, sheet: str | int) -> list[tuple[int, dict[str, str]]]:
    """(row number, header -> text) for every non-blank data row of an .xlsx sheet or a CSV."""
    if not path.is_file():
        raise DatasetError(f"dataset table {path} does not exist: fix dataset.table in the config")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        try:
            book = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # noqa: BLE001 - any parse failure is one line for the user
            raise DatasetError(f"dataset table {path} is not a readable .xlsx workbook ({exc})") from exc
        try:
            ws = book[sheet] if isinstance(sheet, str) else book.worksheets[sheet]
        except (KeyError, IndexError):
            raise DatasetError(f"dataset table {path} has no sheet {sheet!r} (sheets: {book.sheetnames})") from None
        raw = [[_cell_text(v) for v in row] for row in ws.iter_rows(values_only=True)]
        book.close()
    else:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            raw = [[c.strip() for c in row] for row in csv.reader(fh)]
    if not raw:
        raise DatasetError(f"dataset table {path} is empty (no header row)")
    header = [h or f"column{i + 1}" for i, h in enumerate(raw[0])]
    rows = []
    for number, cells in enumerate(raw[1:], start=2):
        if any(cells):
            cells = cells + [""] * (len(header) - len(cells))
            rows.append((number, dict(zip(header, cells))))
    return rows


def read_coding_table(path: Path, fmt: str, frame_template: str | None = None) -> list[RawRow]:
    """RawRows (kind ``frames``) of a CASME II / SAMM / SMIC / CAS(ME)^3 / DFME coding table."""
    preset = PRESETS[fmt]
    template = frame_template or preset.frame_template
    if "{frame" not in template:
        raise DatasetError(f"dataset.frame_template {template!r} has no {{frame}} field")
    rows = read_sheet(path, preset.sheet)
    if not rows:
        raise DatasetError(f"dataset table {path} has a header but no rows")
    missing = [c for c in preset.columns.values() if c not in rows[0][1]]
    if missing:
        raise DatasetError(
            f"dataset table {path} lacks column(s) {missing} of the {fmt} coding table; found "
            f"{list(rows[0][1])}: is dataset.format right?"
        )
    out = []
    for number, original in rows:
        cell = {field: original[col] for field, col in preset.columns.items()}
        subject = preset.subject.format(raw=cell["subject"])
        label = cell["label"]
        if preset.label_codes is not None:
            label = preset.label_codes.get(label, label)
        fields = {"subject": subject, "clip": cell["clip"], "onset": cell["onset"]}
        # Fill subject and clip now; keep {frame...} for the reader of the images.
        source = _FRAME_FIELD.sub(lambda m: "{" + m.group(0) + "}", template).format(**fields)
        out.append(RawRow(
            sample_id=preset.sample_id.format(**fields),
            subject=subject,
            source=source,
            kind=FRAMES,
            onset=_frame(cell["onset"]),
            apex=_frame(cell["apex"]),
            offset=_frame(cell["offset"]),
            label=label,
            row=number,
            original=original,
        ))
    return out


def frame_path(source: str, frame: int) -> str:
    """The image file of frame number ``frame`` of a ``frames`` sample (``source`` is its template)."""
    return source.format(frame=int(frame))
