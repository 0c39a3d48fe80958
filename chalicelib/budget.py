"""A scheduled run's time budget: sweeps work through what is due until the budget is spent,
instead of stopping at a fixed count, so a backlog drains in one run and what is left waits for
the next (nothing is lost: each due item stays in its index until it is acted on)."""
from __future__ import annotations

import time

_deadline: float | None = None


def start(seconds: float) -> None:
    global _deadline
    _deadline = time.monotonic() + seconds


def stop() -> None:
    global _deadline
    _deadline = None


def exhausted() -> bool:
    return _deadline is not None and time.monotonic() > _deadline


def deadline() -> float | None:
    return _deadline
