"""Slot arithmetic: when a provider can be booked, and which time granules a booking claims.

Providers publish weekly availability windows in their own time zone. A slot starts on the
hour or half hour of the provider's *local* clock (a `step_minutes` grid from local midnight),
and the whole session must fit inside availability. Windows on one day that overlap or
touch, and a window ending 24:00 followed by one starting 00:00, form one stretch, so a
session may run across the seam.

DST: slots are listed as real instants, ascending, each once. A wall time inside a
spring-forward gap (02:30 on the night New York jumps from 02:00 to 03:00) is not a slot; a
wall time that happens twice on a fall-back night (01:30) gives two slots, one per real
instant, both of which `is_on_slot` accepts. Clients see UTC; converting to their zone is
theirs to do.

`claim_keys` names the UTC granules a booking occupies. The store writes one claim item per
key with `attribute_not_exists`, so two bookings that overlap always share at least one key
and cannot both be written.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import datetime, timedelta
from typing import Iterable

from chalicelib.domain.errors import DomainError
from chalicelib.domain.wallclock import (
    UTC, Window, dates_between, day_intervals, local_date, merge_intervals, parse_windows,
    to_utc as _utc, wall_instants, zone,
)

Interval = tuple[datetime, datetime]


def weekly_windows(items: Iterable) -> tuple[Window, ...]:
    """Validated, merged weekly windows from `(weekday, "HH:MM", "HH:MM")` tuples or
    `{"weekday","start","end"}` objects (ValueError when malformed)."""
    return parse_windows(items)


def availability(windows: Iterable, tz: str, from_utc: datetime, to_utc: datetime) -> list[Interval]:
    """Availability as merged UTC intervals, covering every local day that touches the range."""
    windows, tzinfo = parse_windows(windows), zone(tz)
    first, last = local_date(from_utc, tzinfo), local_date(to_utc, tzinfo)
    # One day each side, so a stretch running over midnight into the range is whole.
    intervals = []
    for day in dates_between(first - timedelta(days=1), last + timedelta(days=1)):
        intervals.extend(day_intervals(windows, day, tzinfo))
    return merge_intervals(intervals)


class _Intervals:
    """Sorted disjoint intervals with O(log n) containment and overlap questions."""

    def __init__(self, intervals: Iterable[Interval]):
        self.items = merge_intervals((_utc(start), _utc(end)) for start, end in intervals if end > start)
        self.starts = [start for start, _ in self.items]

    def contains(self, start: datetime, end: datetime) -> bool:
        index = bisect_right(self.starts, start) - 1  # the last interval starting by `start`
        return index >= 0 and self.items[index][1] >= end

    def overlaps(self, start: datetime, end: datetime) -> bool:
        # Disjoint and sorted: of the intervals starting before `end`, the last reaches furthest.
        index = bisect_left(self.starts, end) - 1
        return index >= 0 and self.items[index][1] > start


def free_slots(windows: Iterable, tz: str, from_utc: datetime, to_utc: datetime, busy: Iterable[Interval] = (),
               length_minutes: int = 45, step_minutes: int = 30) -> list[Interval]:
    """Bookable `(start, end)` pairs in UTC whose start lies in `[from_utc, to_utc)`.

    A slot starts on the `step_minutes` grid of the provider's local clock, lasts
    `length_minutes` of real time, lies wholly inside availability and overlaps no `busy`
    interval (end-exclusive: a session may start when another ends). The minimum-notice rule
    is the caller's: pass `from_utc = max(from, now + 48 h)`.
    """
    if length_minutes <= 0 or step_minutes <= 0:
        raise ValueError("slot length and step must be positive")
    windows, tzinfo = parse_windows(windows), zone(tz)
    from_utc, to_utc = _utc(from_utc), _utc(to_utc)
    if to_utc <= from_utc or not windows:
        return []
    length = timedelta(minutes=length_minutes)
    open_time = _Intervals(availability(windows, tz, from_utc, to_utc))
    taken = _Intervals(busy)
    slots: set[Interval] = set()
    for day in dates_between(local_date(from_utc, tzinfo) - timedelta(days=1), local_date(to_utc, tzinfo)):
        for window in windows:
            if window.weekday != day.weekday():
                continue
            first = -(-window.start // step_minutes) * step_minutes  # first grid minute in the window
            for minute in range(first, window.end, step_minutes):
                for start in wall_instants(day, minute, tzinfo):  # none in a gap, two on a repeat
                    end = start + length
                    if from_utc <= start < to_utc and open_time.contains(start, end) and not taken.overlaps(start, end):
                        slots.add((start, end))
    return sorted(slots)


def is_on_slot(starts_at: datetime, tz: str, step_minutes: int = 30) -> bool:
    """Whether `starts_at` is on the provider's local :00/:30 grid, to the second."""
    local = _utc(starts_at).astimezone(zone(tz))
    return local.second == 0 and local.microsecond == 0 and (local.hour * 60 + local.minute) % step_minutes == 0


def within_availability(windows: Iterable, tz: str, starts_at: datetime, ends_at: datetime) -> bool:
    """Whether `[starts_at, ends_at)` lies wholly inside the provider's availability."""
    starts_at, ends_at = _utc(starts_at), _utc(ends_at)
    if ends_at <= starts_at:
        return False
    return _Intervals(availability(windows, tz, starts_at, ends_at)).contains(starts_at, ends_at)


def check_slot(windows: Iterable, tz: str, starts_at: datetime, ends_at: datetime, step_minutes: int = 30) -> None:
    """`not_on_slot`, then `outside_availability`, for a time a client asks to book."""
    if not is_on_slot(starts_at, tz, step_minutes):
        raise DomainError("not_on_slot", f"Sessions start on the hour or half hour of the provider's time ({tz}).")
    if not within_availability(windows, tz, starts_at, ends_at):
        raise DomainError("outside_availability", "The provider is not available for the whole of that time.")


def claim_keys(starts_at: datetime, ends_at: datetime, step_minutes: int = 30) -> list[str]:
    """The UTC granules (`step_minutes` long, aligned to the UTC epoch) that `[starts_at,
    ends_at)` touches, as "YYYY-MM-DDTHH:MMZ".

    A 45-minute session at 10:00 claims 10:00 and 10:30; one at 10:30 claims 10:30 and 11:00,
    so they collide, as they should: they overlap. Overlapping bookings always share a granule.
    The converse is conservative: two sessions that merely share a granule without
    overlapping (10:00–10:45 and 10:45–11:30, possible only when providers' zones are offset
    by :15 or :45 from each other) also collide; a 15-minute step removes that for every
    zone in use today at the cost of more claim items.
    """
    starts_at, ends_at = _utc(starts_at), _utc(ends_at)
    if ends_at <= starts_at:
        raise ValueError("a claim must end after it starts")
    step = step_minutes * 60
    granule = int(starts_at.timestamp()) // step * step
    keys = []
    while granule < ends_at.timestamp():
        keys.append(datetime.fromtimestamp(granule, UTC).strftime("%Y-%m-%dT%H:%MZ"))
        granule += step
    return keys
