"""Progress lines for the logs of long steps: ``[step] name: done/total unit (rate/s)``."""

from __future__ import annotations

import time


class Progress:
    """Prints a line every ``every`` items and at the last one (``total`` None: unknown, shown as ?)."""

    def __init__(self, step: str, total: int | None, unit: str, log, every: int = 50, name: str = ""):
        self.step, self.total, self.unit, self.log, self.every = step, total, unit, log, every
        self.prefix = f"{name}: " if name else ""
        self.start = time.perf_counter()

    def update(self, done: int, force: bool = False) -> None:
        if self.log is None or not (force or done % self.every == 0 or done == self.total):
            return
        rate = done / max(time.perf_counter() - self.start, 1e-9)
        total = "?" if not self.total else self.total
        print(f"[{self.step}] {self.prefix}{done}/{total} {self.unit} ({rate:.1f}/s)", file=self.log)
