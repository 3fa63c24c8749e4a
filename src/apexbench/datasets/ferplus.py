"""Reader for Microsoft's FER+ ``label.csv``: crowd votes per FER2013 image, majority label.

The file has no header; each row is: image name, face box text like "(0, 0, 48, 48)", then ten
vote counts in the order of ``VOTE_COLUMNS``. The label is the majority vote; **ties go to the
first class in that column order** (what ``numpy.argmax`` does). This rule reproduces exactly the
majority counts published for ``ferplus-valid/label.csv`` (neutral 1329, happiness 899, surprise 458,
sadness 415, anger 325, fear 71, disgust 32, contempt 26, unknown 23, NF 1; 159 rows are ties),
whereas the last-max rule does not. Rows whose majority is unknown or NF (no face) are excluded,
as in FER+ evaluations. Labels are already canonical class names.

A row whose votes cannot be read (wrong cell count, non-integer or all-zero votes) is returned with
an empty label, so the validate stage rejects it with the original cells.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..errors import DatasetError
from ..labels import CANONICAL
from .base import RawRow
from .cmed_csv import is_integer_text, read_records, row_dict

VOTE_COLUMNS: tuple[str, ...] = (*CANONICAL, "unknown", "NF")  # FER+ order = canonical order
EXCLUDED: frozenset[str] = frozenset({"unknown", "NF"})
COLUMNS: tuple[str, ...] = ("image", "face_box", *VOTE_COLUMNS)


def majority_label(votes: Sequence[int]) -> str:
    """The class with most votes; a tie goes to the first such class in VOTE_COLUMNS order."""
    if len(votes) != len(VOTE_COLUMNS):
        raise ValueError(f"expected {len(VOTE_COLUMNS)} vote counts, got {len(votes)}")
    best = max(range(len(votes)), key=votes.__getitem__)  # max() keeps the first maximum
    return VOTE_COLUMNS[best]


def _label(cells: list[str]) -> str:
    """The majority label of a row, or "" when its votes are unreadable or all zero."""
    texts = [cell.strip() for cell in cells[2:]]
    if len(cells) != len(COLUMNS) or not all(is_integer_text(t) for t in texts):
        return ""
    votes = [int(t) for t in texts]
    return majority_label(votes) if any(votes) else ""


def _to_row(line: int, cells: list[str]) -> RawRow:
    image = cells[0].strip()
    stem = os.path.splitext(image)[0]
    return RawRow(
        sample_id=stem,
        subject=stem,
        source=image,
        kind="image",
        onset=0,
        apex=0,
        offset=0,
        label=_label(cells),
        row=line,
        original=row_dict(COLUMNS, cells),
    )


def read_ferplus(path: Path) -> list[RawRow]:
    """RawRows of a FER+ label.csv (``row`` = file line), without the unknown / NF majority rows."""
    records = read_records(path)
    first_line, first = records[0]
    if len(first) != len(COLUMNS):
        raise DatasetError(
            f"FER+ table {path} line {first_line} has {len(first)} columns, expected {len(COLUMNS)} "
            "(image, face box, 10 vote counts): point dataset.table at FER+'s label.csv"
        )
    rows = [_to_row(line, cells) for line, cells in records]
    return [row for row in rows if row.label not in EXCLUDED]
