"""Glue between Snakemake and the package: one-line failures and logged script entry points."""

from __future__ import annotations

import contextlib
import sys
import traceback
from collections.abc import Iterator
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
