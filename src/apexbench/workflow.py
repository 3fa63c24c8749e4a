"""Glue between Snakemake and the package: one-line failures and logged script entry points."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn, TextIO

from .errors import ApexbenchError

# When set (benchmarks/overhead.py sets it), every rule script appends one JSON line to this file:
# its rule, wildcards, CPU seconds (user + system) at the start of its body (interpreter start,
# Snakemake's preamble and the script's imports) and at its end, and the process's wall time. Snakemake's
# `benchmark:` files sample CPU every 0.5 s, which misses most of a one-second job.
JOB_TIMES_ENV = "APEXBENCH_JOB_TIMES"


def fail(error: Exception | str) -> NoReturn:
    """Stop the workflow at DAG-build time with one line on stderr (no traceback)."""
    message = error.one_line() if isinstance(error, ApexbenchError) else str(error)
    print(f"apexbench: error: {message}", file=sys.stderr)
    raise SystemExit(1)


@contextlib.contextmanager
def script_log(snakemake) -> Iterator[TextIO]:
    """Run a rule script with its log file as stderr; user errors become one line and exit 1.

    On success the process ends right here (``os._exit(0)`` once stdout and stderr are flushed): every
    output is written and closed by then, and the interpreter's teardown of pandas, scikit-learn,
    matplotlib or LiteRT cost a job 0.1-0.3 s of CPU for nothing. So the ``with`` block is a rule
    script's last statement (``tests/test_lint.py`` checks every script).
    """
    startup = _cpu_seconds()
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
            if os.environ.get(JOB_TIMES_ENV):
                _record_job_time(os.environ[JOB_TIMES_ENV], snakemake, startup)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def _process_wall() -> float | None:
    """Seconds since this process started (Linux /proc), None elsewhere."""
    try:
        start_ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return round(uptime - start_ticks / os.sysconf("SC_CLK_TCK"), 3)


def _record_job_time(path: str, snakemake, startup: float) -> None:
    line = json.dumps({"rule": snakemake.rule, "wildcards": dict(snakemake.wildcards.items()),
                       "startup_cpu": round(startup, 4), "cpu": round(_cpu_seconds(), 4), "wall": _process_wall(),
                       "end": round(time.time(), 3)})  # epoch seconds: start = end - wall, for a run's timeline
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())  # one write: lines of parallel jobs do not interleave
    finally:
        os.close(fd)


def cancel_pending_timers() -> int:
    """Cancel the ``threading.Timer`` s still waiting in this process; return how many.

    Called from the Snakefile's ``onsuccess`` / ``onerror``, when Snakemake has nothing left to
    schedule. Its job rate limiter (``--max-jobs-per-timespan``, default ``100/1s``) ends every
    scheduling round by starting a non-daemon ``threading.Timer`` of one timespan that only wakes the
    scheduler again; the interpreter waits for the last one before it exits, so every run ended up to
    a second after its last job.
    """
    timers = [t for t in threading.enumerate() if isinstance(t, threading.Timer) and t.is_alive()]
    for timer in timers:
        timer.cancel()
    return len(timers)


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
