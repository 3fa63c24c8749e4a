"""apexbench.workflow: what the Snakefile's handlers call."""

from __future__ import annotations

import threading
import time

from apexbench.workflow import cancel_pending_timers


def test_pending_timers_are_cancelled_so_the_run_exits_at_once():
    fired = []
    timer = threading.Timer(30.0, lambda: fired.append(True))  # Snakemake's rate limiter leaves one of 1 s
    timer.start()
    start = time.perf_counter()
    assert cancel_pending_timers() >= 1
    timer.join(5.0)
    assert not timer.is_alive() and time.perf_counter() - start < 5.0
    assert fired == []
    assert cancel_pending_timers() == 0
