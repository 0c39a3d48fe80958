"""A scheduled run's time budget: sweeps work through what is due until the budget is spent,
instead of stopping at a fixed count, so a backlog drains in one run and what is left waits for
the next (nothing is lost: each due item stays in its index until it is acted on).

Kept per thread: on Lambda each function runs alone in its container, but the local scheduler
(`make run`) runs each sweep on its own thread, and one sweep's end must not lift another's budget.
"""
from __future__ import annotations

import threading
import time

_run = threading.local()


def start(seconds: float) -> None:
    _run.deadline = time.monotonic() + seconds


def stop() -> None:
    _run.deadline = None


def deadline() -> float | None:
    return getattr(_run, "deadline", None)


def exhausted() -> bool:
    at = deadline()
    return at is not None and time.monotonic() > at
