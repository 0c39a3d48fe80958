"""Subscription billing periods (SPEC §2 "Plans and credits").

A subscription bills monthly from its `period_anchor` (a date) in the client's time zone:
period n starts at local midnight on the anchor's day of the month, n months after the anchor.
An anchor on the 29th–31st is clamped to the last day of shorter months, always from the
anchor's own day (anchor Jan 31 → Feb 28/29 → Mar 31 → Apr 30), so periods never drift.

Periods include their start and exclude their end. Each has a `label`, its local start date
("2026-11-05"), used as part of the usage counter's key ("live#2026-11-05").

Instants before the anchor belong to no period: `period_containing` answers None. A plan
set up with a future anchor has not started billing, so nothing can be drawn from it yet.
"""
from __future__ import annotations

import calendar
from datetime import date, datetime
from typing import NamedTuple

from chalicelib.domain.wallclock import local_date, to_utc, wall_to_utc, zone


class Period(NamedTuple):
    """One billing period: `[start, end)` in UTC, and its label (local start date)."""
    start: datetime
    end: datetime
    label: str

    def contains(self, instant: datetime) -> bool:
        return self.start <= to_utc(instant) < self.end


def _start_date(anchor: date, index: int) -> date:
    month0 = anchor.month - 1 + index
    year, month = anchor.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(anchor.day, calendar.monthrange(year, month)[1]))


def nth_period(anchor: date, tz: str, index: int) -> Period:
    """Period number `index` (0 = the one starting on the anchor)."""
    if index < 0:
        raise ValueError("periods are numbered from 0")
    zone_info = zone(tz)
    first, following = _start_date(anchor, index), _start_date(anchor, index + 1)
    # Local midnight can fall in a DST gap in a few zones; wall_to_utc resolves it to the jump.
    return Period(wall_to_utc(first, 0, zone_info), wall_to_utc(following, 0, zone_info), first.isoformat())


def period_index(anchor: date, tz: str, instant: datetime) -> int | None:
    """The number of the period holding `instant`, or None before the anchor."""
    day = local_date(instant, zone(tz))
    index = (day.year - anchor.year) * 12 + (day.month - anchor.month)
    # The local month pins the period to one of two: this month's or the previous month's.
    if index >= 0 and _start_date(anchor, index) > day:
        index -= 1
    if index < 0:
        return None
    # The date test above decides it: period boundaries are local midnights (or the jump
    # after one), so an instant belongs to the period whose start date is ≤ its local date.
    return index


def period_containing(anchor: date, tz: str, instant: datetime) -> Period | None:
    """The period that includes `instant` (start inclusive, end exclusive); None before the anchor."""
    index = period_index(anchor, tz, instant)
    return None if index is None else nth_period(anchor, tz, index)


def next_period(anchor: date, tz: str, instant: datetime) -> Period:
    """The period after the one holding `instant`; before the anchor, the first period."""
    index = period_index(anchor, tz, instant)
    return nth_period(anchor, tz, 0 if index is None else index + 1)
