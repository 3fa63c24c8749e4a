"""Glue between Snakemake and the package: one-line failures and logged script entry points."""

from __future__ import annotations

import contextlib
import csv
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn, TextIO

from .errors import ApexbenchError


def fail(error: Exception | str) -> NoReturn:
    """Stop the workflow at DAG-build time with one line on stderr (no traceback)."""
    message = error.one_line() if isinstance(error, ApexbenchError) else str(error)
    print(f"apexbench: error: {message}", file=sys.stderr)
    raise SystemExit(1)


@contextlib.contextmanager
def script_log(snakemake) -> Iterator[TextIO]:
    """Run a rule script with its log file as stderr; user errors become one line and exit 1."""
    with open(snakemake.log[0], "w", encoding="utf-8", buffering=1) as log:
        saved = sys.stderr
        sys.stderr = log
        try:
            yield log
        except ApexbenchError as err:
            print(f"apexbench: error: {err.one_line()}", file=log)
            print(f"apexbench: error: {err.one_line()}", file=saved)
            raise SystemExit(1) from None
        except Exception:
            traceback.print_exc(file=log)
            raise
        finally:
            sys.stderr = saved


def closing_lines(leaderboard: str | Path, report: str | Path) -> str:
    """The last lines of a run: where to look, and every classifier that could not run with its fix
    (read from the leaderboard, whose rows say ``unavailable`` with the fix in ``note``)."""
    lines = [f"apexbench: done. Report: {report} (open it in a browser); leaderboard: "
             "results/leaderboard.csv; summary: results/summary.md; metrics: results/metrics.csv"]
    path = Path(leaderboard)
    if path.is_file():
        with open(path, encoding="utf-8", newline="") as fh:
            rows = [r for r in csv.DictReader(fh) if r["status"] == "unavailable"]
        fixes = {r["classifier"]: r["note"] for r in rows}
        lines += [f"apexbench: classifier {name} is unavailable: {note}" for name, note in fixes.items()]
        if fixes:
            lines.append(f"apexbench: {len(fixes)} classifier(s) did not run; fix as above and run the same "
                         "command again (only what is missing runs)")
    return "\n".join(lines)
