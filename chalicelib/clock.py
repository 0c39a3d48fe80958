"""The one clock. Routes read `wiring.clock()`; sweeps use their event's `time`; domain code is given `now`."""
from __future__ import annotations

from datetime import datetime, timezone


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class FixedClock:
    """A clock tests can set and move; callable like `utc_now`."""

    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta) -> datetime:
        from datetime import timedelta

        self.at = self.at + timedelta(**delta)
        return self.at


def iso(dt: datetime | None) -> str | None:
    """UTC ISO 8601 with `Z`, to the second (or millisecond when it has them)."""
    if dt is None:
        return None
    dt = dt.astimezone(timezone.utc)
    if dt.microsecond:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str) -> datetime:
    """Parse an ISO 8601 instant; a time without an offset is refused (ValueError)."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("a time needs an offset, e.g. 2026-01-05T09:00:00Z")
    return dt.astimezone(timezone.utc)


def sortable(dt: datetime) -> str:
    """Fixed-width UTC text (always milliseconds) for index keys, where text order must be time order."""
    dt = dt.astimezone(timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
