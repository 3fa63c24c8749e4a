"""What "the same results" means for two runs: metrics.csv byte-identical except its latency rows.

Every number in ``results/metrics.csv`` is a deterministic function of the inputs, the config and
the weights, except the ``latency_ms_*`` rows: wall-clock time per face differs between any two
runs (and between a laptop and a cluster node). ``comparable_metrics`` keeps every other line
exactly as written (header included), so two runs agree when those texts are equal.

    python -m apexbench.compare results/metrics.csv other/results/metrics.csv
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

TIMING_PREFIX = "latency_"


def comparable_metrics(text: str) -> str:
    """The lines of a metrics.csv text without the timing rows (metric ``latency_*``), unchanged."""
    lines = text.splitlines(keepends=True)
    if not lines:
        return ""
    header = next(csv.reader([lines[0]]))
    column = header.index("metric")
    kept = [lines[0]]
    for line in lines[1:]:
        cells = next(csv.reader([line]), [])
        if len(cells) > column and cells[column].startswith(TIMING_PREFIX):
            continue
        kept.append(line)
    return "".join(kept)


def first_difference(a: str | Path, b: str | Path) -> str | None:
    """None when the two metrics files agree (apart from timing rows), else the first differing line."""
    left = comparable_metrics(Path(a).read_text(encoding="utf-8")).splitlines()
    right = comparable_metrics(Path(b).read_text(encoding="utf-8")).splitlines()
    for n, (x, y) in enumerate(zip(left, right), 1):
        if x != y:
            return f"line {n} (timing rows left out): {x!r} != {y!r}"
    if len(left) != len(right):
        return f"{len(left)} vs {len(right)} lines (timing rows left out)"
    return None


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m apexbench.compare METRICS_A METRICS_B", file=sys.stderr)
        return 2
    diff = first_difference(*args)
    if diff:
        print(f"{args[0]} and {args[1]} differ: {diff}")
        return 1
    print(f"{args[0]} and {args[1]} agree (every row but latency_*, byte for byte)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
